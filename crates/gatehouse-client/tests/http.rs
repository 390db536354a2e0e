//! The client against a canned HTTP peer: what goes on the wire and how answers are decoded.
//!
//! The peer is a plain `std::net` listener that answers one request with a fixed response, so
//! these tests need no server crate and no network beyond loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use gatehouse_client::{Client, Credential, Error, ExportFormat};
use uuid::Uuid;

/// Serves one request with a fixed response and returns the base URL and, on join, the request
/// head and body it received.
fn one_shot(status: &str, headers: &[(&str, &str)], body: &[u8]) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut response = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut response = response.into_bytes();
    response.extend_from_slice(body);
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read");
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("length");
            }
            let end = line == "\r\n";
            head.push_str(&line);
            if end {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        head.push_str(&String::from_utf8_lossy(&body));
        reader.get_mut().write_all(&response).expect("write");
        head
    });
    (base, handle)
}

fn client(base: &str) -> Client {
    Client::new(base, Some(Credential::new("ma-test-key"))).expect("client")
}

#[tokio::test]
async fn requests_carry_the_bearer_credential_and_encoded_path() {
    let (base, peer) = one_shot(
        "404 Not Found",
        &[("Content-Type", "application/json")],
        br#"{"error":"not_found","message":"client not found"}"#,
    );
    let err = client(&base).get_client(Uuid::nil(), "a b").await.expect_err("404");
    assert_eq!(err.to_string(), "404 not_found: client not found");
    let request = peer.join().expect("peer");
    assert!(
        request.starts_with(
            "GET /accounts/projects/00000000-0000-0000-0000-000000000000/oauth/clients/a%20b HTTP/1.1\r\n"
        ),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: bearer ma-test-key\r\n"),
        "{request}"
    );
}

#[tokio::test]
async fn json_bodies_are_sent_and_decoded() {
    let (base, peer) = one_shot(
        "200 OK",
        &[("Content-Type", "application/json")],
        br#"{"id":"00000000-0000-0000-0000-000000000001","name":"demo","is_system":false,"created_at":"t","updated_at":"t"}"#,
    );
    let project = client(&base)
        .create_project(&gatehouse_client::types::ProjectInput { name: "demo".into() })
        .await
        .expect("project");
    assert_eq!(project.name, "demo");
    let request = peer.join().expect("peer");
    assert!(request.starts_with("POST /accounts/projects HTTP/1.1"), "{request}");
    assert!(request.ends_with(r#"{"name":"demo"}"#), "{request}");
}

#[tokio::test]
async fn non_json_success_body_is_a_decode_error() {
    let (base, peer) = one_shot("200 OK", &[("Content-Type", "text/plain")], b"hello");
    let err = client(&base).list_projects().await.expect_err("not json");
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    peer.join().expect("peer");
}

#[tokio::test]
async fn non_json_error_body_is_named_after_the_status() {
    let (base, peer) = one_shot("503 Service Unavailable", &[], b"upstream down\n");
    let err = client(&base).readyz().await.expect_err("503");
    assert_eq!(err.to_string(), "503 http_503: upstream down");
    peer.join().expect("peer");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (base, peer) = one_shot("302 Found", &[("Location", "http://elsewhere.invalid/")], b"");
    let err = client(&base).list_projects().await.expect_err("302");
    assert_eq!(err.status(), Some(302));
    assert_eq!(err.code(), Some("http_302"));
    peer.join().expect("peer");
}

#[tokio::test]
async fn exports_return_bytes_type_and_file_name() {
    let (base, peer) = one_shot(
        "200 OK",
        &[
            ("Content-Type", "text/csv"),
            ("Content-Disposition", "attachment; filename=\"clients.csv\""),
        ],
        b"client_id,name\nweb,Web\n",
    );
    let file = client(&base)
        .export_clients(Uuid::nil(), ExportFormat::Csv, Some("we"))
        .await
        .expect("export");
    assert_eq!(file.bytes, b"client_id,name\nweb,Web\n");
    assert_eq!(file.content_type.as_deref(), Some("text/csv"));
    assert_eq!(file.filename.as_deref(), Some("clients.csv"));
    let request = peer.join().expect("peer");
    assert!(
        request.contains("/oauth/clients/export?format=csv&filter=we HTTP/1.1"),
        "{request}"
    );
}

#[tokio::test]
async fn unreachable_server_is_a_transport_error() {
    // Bind and drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let err = client(&format!("http://127.0.0.1:{port}"))
        .healthz()
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(!err.to_string().contains('\n'));
}

#[tokio::test]
async fn device_authorization_posts_the_client_id_as_a_form_without_the_bearer_credential() {
    let (base, peer) = one_shot(
        "200 OK",
        &[("Content-Type", "application/json")],
        br#"{"device_code":"dc","user_code":"BCDF-GHJK","verification_uri":"http://h/device",
"verification_uri_complete":"http://h/device?user_code=BCDF-GHJK","expires_in":600,"interval":5}"#,
    );
    let started = client(&base)
        .device_authorization("gatehouse-cli", "openid gatehouse_api")
        .await
        .expect("device authorization");
    assert_eq!((started.user_code.expose_secret(), started.interval), ("BCDF-GHJK", 5));
    let request = peer.join().expect("peer");
    assert!(
        request.starts_with("POST /oauth/device_authorization HTTP/1.1\r\n"),
        "{request}"
    );
    let lower = request.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/x-www-form-urlencoded\r\n"),
        "{request}"
    );
    assert!(!lower.contains("authorization: bearer"), "{request}");
    assert!(
        request.ends_with("client_id=gatehouse-cli&scope=openid+gatehouse_api"),
        "{request}"
    );
}

#[tokio::test]
async fn a_pending_device_grant_is_an_error_carrying_the_oauth_code() {
    let (base, peer) = one_shot(
        "400 Bad Request",
        &[("Content-Type", "application/json")],
        br#"{"error":"authorization_pending","error_description":"the user has not answered yet"}"#,
    );
    let err = client(&base)
        .device_token("gatehouse-cli", "the-device-code")
        .await
        .expect_err("pending");
    assert_eq!(err.code(), Some("authorization_pending"));
    let request = peer.join().expect("peer");
    assert!(request.starts_with("POST /oauth/token HTTP/1.1\r\n"), "{request}");
    assert!(
        request.ends_with(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=the-device-code&client_id=gatehouse-cli"
        ),
        "{request}"
    );
}

#[tokio::test]
async fn a_refresh_returns_the_rotated_pair() {
    let (base, peer) = one_shot(
        "200 OK",
        &[("Content-Type", "application/json")],
        br#"{"access_token":"at2","token_type":"Bearer","expires_in":900,"refresh_token":"rt2","scope":"openid"}"#,
    );
    let tokens = client(&base)
        .refresh_token("gatehouse-cli", "rt1")
        .await
        .expect("refresh");
    assert_eq!(tokens.refresh_token.as_ref().map(|t| t.expose_secret()), Some("rt2"));
    let request = peer.join().expect("peer");
    assert!(
        request.ends_with("grant_type=refresh_token&refresh_token=rt1&client_id=gatehouse-cli"),
        "{request}"
    );
}

#[tokio::test]
async fn revocation_names_the_token_type() {
    let (base, peer) = one_shot("200 OK", &[], b"");
    client(&base)
        .revoke_refresh_token("gatehouse-cli", "rt1")
        .await
        .expect("revoke");
    let request = peer.join().expect("peer");
    assert!(request.starts_with("POST /oauth/revoke HTTP/1.1\r\n"), "{request}");
    assert!(
        request.ends_with("token=rt1&token_type_hint=refresh_token&client_id=gatehouse-cli"),
        "{request}"
    );
}
