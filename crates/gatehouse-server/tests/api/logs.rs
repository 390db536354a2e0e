//! No token, code, password, PKCE verifier, provider key or secret ever reaches the logs
//! (SPEC §2): a capturing subscriber at TRACE level is installed for the test process, a server
//! runs every flow, then the captured text is searched for every secret the flows handled.

use std::sync::{Arc, Mutex};

use gatehouse_testkit::Browser;
use reqwest::Method;
use serde_json::json;

use crate::broker::{ask, insecure, offline, provider, request, rest, scene};
use crate::oauth_flows::{app, authorize_url, pkce, post_form, refresh, token};
use crate::rooms::event;
use crate::{Backend, TestServer};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs_at_any_level() {
    let capture = Capture::default();
    let writer = capture.clone();
    // The process-wide subscriber: scoped ones miss events when tests run in parallel threads.
    // Only this test installs one; the other tests' logs land here too, which does no harm.
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "trace,hyper=debug,hyper_util=debug,h2=info",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("no other test installs a subscriber");
    let secrets = run_every_flow().await;
    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    for expected in ["signed in", "sign-in failed", "presented twice"] {
        assert!(logs.contains(expected), "the capture holds {expected:?}");
    }
    for (what, secret) in &secrets {
        assert!(secret.len() >= 12, "{what} is a real secret");
        assert!(!logs.contains(secret.as_str()), "{what} appears in the logs");
    }
}

/// Runs sign-in, consent, code, refresh, client credentials, device, introspection, revocation,
/// logout and a failed sign-in; returns every secret value involved.
async fn run_every_flow() -> Vec<(&'static str, String)> {
    let s = TestServer::spawn(Backend::Sqlite).await;
    let mut secrets = vec![("admin API key", s.admin_key.clone())];
    let password = "log test password 1";
    s.user("log@example.com", password).await;
    secrets.push(("password", password.to_owned()));
    let a = app(&s, json!({ "grant_types": ["authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"] })).await;
    secrets.push(("client secret", a.secret.clone()));
    let b = Browser::new(&s.base);
    let (verifier, challenge) = pkce();
    secrets.push(("PKCE verifier", verifier.clone()));
    let page = b
        .authorize(&authorize_url(&s, &a, &challenge, &[]), "log@example.com", password)
        .await;
    let code = page.redirect_params()["code"].clone();
    secrets.push(("authorization code", code.clone()));
    secrets.push(("session cookie", b.cookie("gh_session").unwrap()));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1/cb"),
        ("code_verifier", verifier.as_str()),
    ];
    let (_, t) = token(&s, &a, &form).await;
    for k in ["access_token", "refresh_token", "id_token"] {
        secrets.push(("token", t[k].as_str().unwrap().to_owned()));
    }
    let (_, r) = refresh(&s, &a, t["refresh_token"].as_str().unwrap()).await;
    secrets.push(("rotated refresh token", r["refresh_token"].as_str().unwrap().to_owned()));
    let (_, cc) = token(&s, &a, &[("grant_type", "client_credentials")]).await;
    secrets.push((
        "client credentials token",
        cc["access_token"].as_str().unwrap().to_owned(),
    ));
    let (_, d) = post_form(&s, "/oauth/device_authorization", Some(&a), &[("scope", "openid")]).await;
    secrets.push(("device code", d["device_code"].as_str().unwrap().to_owned()));
    let _ = token(
        &s,
        &a,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", d["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(s.introspect(r["access_token"].as_str().unwrap()).await["active"], true);
    token(&s, &a, &form).await; // a replayed code, logged as a warning
    post_form(
        &s,
        "/oauth/revoke",
        Some(&a),
        &[("token", r["refresh_token"].as_str().unwrap())],
    )
    .await;
    let (_, key) = s
        .call(
            Method::POST,
            &format!("/accounts/projects/{}/api-keys", s.system_project),
            Some(json!({ "name": "k" })),
        )
        .await;
    let key = key["value"].as_str().unwrap().to_owned();
    let (_, minted) = s
        .call_as(
            &key,
            Method::POST,
            &format!("/accounts/projects/{}/participant-tokens", s.system_project),
            Some(json!({ "name": "p", "room_name": "r" })),
        )
        .await;
    let participant = minted["token"].as_str().unwrap().to_owned();
    for token in [participant.as_str(), "eyJhbGciOiJub25lIn0.e30."] {
        s.http
            .post(format!("{}/api/participant-token/validate", s.base))
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap();
    }
    // The room channel with the token in the query and in the subprotocol, a request, a bad frame.
    {
        use futures::{SinkExt as _, StreamExt as _};
        use tokio_tungstenite::tungstenite::Message;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let ws_base = s.base.replacen("http", "ws", 1);
        let by_query = format!("{ws_base}/rooms/r?token={participant}")
            .into_client_request()
            .unwrap();
        let mut by_protocol = format!("{ws_base}/rooms/r").into_client_request().unwrap();
        let offered = format!("gatehouse.room.v1, bearer.{participant}");
        by_protocol
            .headers_mut()
            .insert("sec-websocket-protocol", offered.parse().unwrap());
        for req in [by_query, by_protocol] {
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            ws.next().await.unwrap().unwrap();
            let list = r#"{"id": 1, "type": "participants.list", "body": {}}"#;
            ws.send(Message::Text(list.into())).await.unwrap();
            ws.next().await.unwrap().unwrap();
            ws.send(Message::Text("{not json".into())).await.unwrap();
            while let Some(Ok(_)) = ws.next().await {}
        }
    }
    secrets.push(("participant token", participant));
    let signing_secret = key.splitn(4, '-').nth(3).unwrap().to_owned();
    secrets.push(("API key secret (the participant token's HMAC key)", signing_secret));
    secrets.push(("new API key", key));
    let wrong = "a wrong password here";
    let form = b.get("/login").await.form();
    b.submit(&form, &[("email", "log@example.com"), ("password", wrong)], None)
        .await;
    secrets.push(("wrong password", wrong.to_owned()));
    secrets.extend(crate::oauth_flows::second_factor::logged_flow(&s).await);
    s.stop().await;
    secrets.extend(broker_flow().await);
    secrets.extend(crate::llm::logged_flow().await);
    secrets.extend(crate::people::logged_flow().await);
    secrets.extend(crate::idp::logged_flow().await);
    secrets
}

/// A consent through the room secrets broker, a refresh-free offline get and a delete; returns
/// the secrets involved.
async fn broker_flow() -> Vec<(&'static str, String)> {
    let p = provider(Arc::new(gatehouse_core::time::SystemClock)).await;
    let s = TestServer::spawn_fresh(Backend::Sqlite, insecure).await;
    let mut sc = scene(&s).await;
    let asked = ask(&s, &sc.agent, request(&p, &sc.alice_id));
    let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
    let (code, iss) = p.consent(&prompt).await;
    let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss, "state": prompt["state"] });
    assert_eq!(rest(&s, &sc.alice, "provide_oauth_authorization", provide).await.0, 200);
    let (st, answer) = asked.await.unwrap();
    assert_eq!(st, 200, "{answer}");
    let access = answer["access_token"].as_str().unwrap().to_owned();
    let by_alice = json!({ "oauth": p.oauth(), "delegated_by": "alice" });
    assert_eq!(offline(&s, &sc.agent, by_alice).await, access.as_str());
    let id = rest(&s, &sc.agent, "list", json!({})).await.1["secrets"][0]["id"].clone();
    assert_eq!(rest(&s, &sc.agent, "delete", json!({ "id": id })).await.0, 200);
    let secrets = vec![
        ("third-party access token", access),
        ("third-party client secret", p.secret.clone()),
        ("third-party authorization code", code),
        ("consent request_id", prompt["request_id"].as_str().unwrap().to_owned()),
        ("consent state", prompt["state"].as_str().unwrap().to_owned()),
        ("agent's participant token", sc.agent.clone()),
    ];
    s.stop().await;
    p.s.stop().await;
    secrets
}
