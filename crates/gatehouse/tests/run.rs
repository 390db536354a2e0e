//! The command runner used in-process, as end-to-end tests against a real server will use it:
//! parse a `Cli`, run it with a buffer for stdout, inspect the buffer.
//!
//! The peer here is a canned one-request HTTP responder, enough to check the wiring.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use clap::Parser;
use gatehouse::Cli;

/// Answers one request with a JSON `body`; returns the base URL and the request line on join.
fn one_shot(status: &str, body: &str) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let response = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        reader.read_line(&mut request_line).expect("read");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read");
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        reader.get_mut().write_all(response.as_bytes()).expect("write");
        request_line.trim_end().to_owned()
    });
    (base, handle)
}

fn cli(base: &str, args: &[&str]) -> Cli {
    let config = std::env::temp_dir().join(format!(
        "gatehouse-cli-run-{}-does-not-exist/cli.json",
        std::process::id()
    ));
    let mut argv = vec![
        "gatehouse".to_owned(),
        format!("--server={base}"),
        "--api-key=ma-test".to_owned(),
        format!("--cli-config={}", config.display()),
    ];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    Cli::try_parse_from(argv).expect("parses")
}

const CLIENTS: &str = r#"{"clients":[{"client_id":"web","project_id":"11111111-1111-1111-1111-111111111111",
"name":"Web app","enabled":true,"client_uri":"https://app.example","logo_uri":null,"policy_uri":null,"tos_uri":null,"require_client_secret":true,
"has_client_secret":true,"token_endpoint_auth_method":"client_secret_basic","grant_types":["authorization_code"],
"response_types":["code"],"redirect_uris":["https://app.example/cb"],"post_logout_redirect_uris":[],
"allowed_cors_origins":[],"scope":"openid","offline_access":false,"require_pkce":true,"access_token_ttl":3600,
"refresh_token_ttl":2592000,"id_token_ttl":3600,"refresh_grace_seconds":10,"id_token_signed_response_alg":"ES256",
"revoke_on_logout":true,"metadata":{},"official":false,"created_at":"2025-01-01T00:00:00Z",
"updated_at":"2025-01-01T00:00:00Z","secret_rotated_at":null,"default_resource":null,"token_exchange_resources":[]}],"total":1}"#;

#[tokio::test]
async fn client_list_prints_a_table() {
    let (base, peer) = one_shot("200 OK", CLIENTS);
    let mut out = Vec::new();
    gatehouse::run_with_output(
        cli(
            &base,
            &[
                "--project=11111111-1111-1111-1111-111111111111",
                "client",
                "list",
                "--filter=web",
            ],
        ),
        &mut out,
    )
    .await
    .expect("runs");
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        "CLIENT ID  NAME     ENABLED  TYPE          URI\n\
         web        Web app  yes      confidential  https://app.example\n"
    );
    assert_eq!(
        peer.join().expect("peer"),
        "GET /accounts/projects/11111111-1111-1111-1111-111111111111/oauth/clients?filter=web HTTP/1.1"
    );
}

#[tokio::test]
async fn json_output_is_the_response_body() {
    let (base, peer) = one_shot("200 OK", CLIENTS);
    let mut out = Vec::new();
    gatehouse::run_with_output(
        cli(
            &base,
            &[
                "-o",
                "json",
                "--project=11111111-1111-1111-1111-111111111111",
                "client",
                "list",
            ],
        ),
        &mut out,
    )
    .await
    .expect("runs");
    let printed: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let sent: serde_json::Value = serde_json::from_str(CLIENTS).expect("json");
    assert_eq!(printed, sent);
    peer.join().expect("peer");
}

#[tokio::test]
async fn api_errors_become_one_line_errors_with_exit_code_one() {
    let (base, peer) = one_shot("404 Not Found", r#"{"error":"not_found","message":"client not found"}"#);
    let mut out = Vec::new();
    let err = gatehouse::run_with_output(
        cli(
            &base,
            &[
                "--project=11111111-1111-1111-1111-111111111111",
                "client",
                "get",
                "nope",
            ],
        ),
        &mut out,
    )
    .await
    .expect_err("404");
    assert_eq!(format!("{err:#}"), "404 not_found: client not found");
    assert_eq!(gatehouse::exit_code(&err), 1);
    assert!(out.is_empty());
    peer.join().expect("peer");
}

#[tokio::test]
async fn missing_project_is_a_usage_error() {
    if std::env::var_os("GATEHOUSE_PROJECT").is_some() {
        // clap reads it into --project; the case under test cannot arise.
        return;
    }
    let mut out = Vec::new();
    let err = gatehouse::run_with_output(cli("http://127.0.0.1:9", &["client", "list"]), &mut out)
        .await
        .expect_err("no project");
    assert!(err.to_string().contains("no project selected"), "{err}");
    assert_eq!(gatehouse::exit_code(&err), 2);
}
