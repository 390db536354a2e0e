//! What the broker refuses and bounds: requests outside a grant, plain-http providers without the
//! insecure flag, and provider answers too big or too slow.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::time::SystemClock;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{CALLBACK, ROOM, ask, insecure, offline, participant, provider, request, rest, scene};
use crate::rooms::{call, event, token};
use crate::{Backend, TestServer, backends};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_leave_requests_and_secrets_as_they_were() {
    let p = provider(Arc::new(SystemClock)).await;
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, insecure).await;
        let mut sc = scene(&s).await;
        let ask_alice = request(&p, &sc.alice_id);

        // No `secrets` grant: every operation is refused.
        let plain = token(&s, &sc.key, &sc.project, "plain", ROOM, json!({ "messaging": {} })).await;
        for (op, body) in [
            ("list", json!({})),
            ("request_oauth_token", ask_alice.clone()),
            ("get_offline_oauth_token", json!({ "oauth": p.oauth() })),
            ("provide_oauth_authorization", json!({ "request_id": "x", "code": "y" })),
            (
                "reject_oauth_authorization",
                json!({ "request_id": "x", "error": "no" }),
            ),
            ("delete", json!({ "id": uuid::Uuid::new_v4() })),
        ] {
            let (st, v) = rest(&s, &plain, op, body).await;
            assert_eq!((st, v["error"].as_str()), (403, Some("forbidden")), "{op}: {v}");
        }
        // An allow-list that does not name this provider.
        let narrow = json!({ "request_oauth_token": [{ "endpoint": "https://accounts.example.com/*", "client_id": p.client_id }] });
        let limited = participant(&s, &sc.key, &sc.project, "limited", narrow).await;
        let (st, v) = rest(&s, &limited, "request_oauth_token", ask_alice.clone()).await;
        assert_eq!(st, 403, "{v}");
        let (st, v) = rest(&s, &limited, "get_offline_oauth_token", json!({ "oauth": p.oauth() })).await;
        assert_eq!(st, 403, "{v}");
        // One that does.
        let prefix =
            json!({ "request_oauth_token": [{ "endpoint": format!("{}/*", p.s.base), "client_id": p.client_id }] });
        let allowed = participant(&s, &sc.key, &sc.project, "allowed", prefix).await;
        assert_eq!(
            offline(&s, &allowed, json!({ "oauth": p.oauth() })).await,
            Value::Null,
            "nothing stored, no prompt"
        );

        // Malformed, missing, oversized and wrong-room input.
        let bad = [
            (
                json!({ "redirect_uri": CALLBACK, "participant_id": sc.alice_id }),
                "oauth",
            ),
            (
                json!({ "oauth": p.oauth(), "participant_id": sc.alice_id }),
                "redirect_uri",
            ),
            (
                json!({ "oauth": p.oauth(), "redirect_uri": CALLBACK, "participant_id": uuid::Uuid::new_v4() }),
                "participant_id",
            ),
            (
                json!({ "oauth": p.oauth(), "redirect_uri": CALLBACK, "participant_id": sc.alice_id, "timeout": 901 }),
                "timeout",
            ),
            (
                json!({ "oauth": p.oauth(), "redirect_uri": "not a url", "participant_id": sc.alice_id }),
                "redirect_uri",
            ),
            (
                json!({ "oauth": p.oauth(), "redirect_uri": CALLBACK, "participant_id": sc.alice_id, "surprise": 1 }),
                "surprise",
            ),
            (
                json!({ "oauth": p.oauth(), "registration_id": uuid::Uuid::new_v4(), "redirect_uri": CALLBACK, "participant_id": sc.alice_id }),
                "oauth",
            ),
        ];
        for (body, field) in bad {
            let (st, v) = rest(&s, &sc.agent, "request_oauth_token", body).await;
            assert_eq!(st, 400, "{field}: {v}");
            assert!(v["message"].as_str().unwrap().contains(field), "{field}: {v}");
        }
        let (st, v) = rest(&s, &sc.agent, "no_such_operation", json!({})).await;
        assert_eq!(st, 404, "{v}");
        let res = s
            .req_as(&sc.agent, Method::POST, &format!("/rooms/{ROOM}/secrets/list"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let huge = json!({ "request_id": "x".repeat(70_000), "code": "c" });
        let (st, _) = rest(&s, &sc.alice, "provide_oauth_authorization", huge).await;
        assert_eq!(st, 413);
        let (st, _) = s
            .call_as(
                &sc.agent,
                Method::POST,
                "/rooms/another-room/secrets/list",
                Some(json!({})),
            )
            .await;
        assert_eq!(st, 401, "the token's room only");
        let (other_project, other_key) = s.project("Other").await;
        let stranger = token(&s, &other_key, &other_project, "agent", ROOM, json!({ "secrets": {} })).await;

        // A prompt: only alice may answer; strangers, other projects and bad ids change nothing.
        let asked = ask(&s, &sc.agent, request(&p, &sc.alice_id));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let rid = prompt["request_id"].clone();
        let (st, v) = rest(
            &s,
            &sc.agent,
            "provide_oauth_authorization",
            json!({ "request_id": rid, "code": "c" }),
        )
        .await;
        assert_eq!(st, 403, "another identity: {v}");
        let (st, _) = rest(
            &s,
            &stranger,
            "reject_oauth_authorization",
            json!({ "request_id": rid, "error": "x" }),
        )
        .await;
        assert_eq!(st, 404, "another project's participant does not see it");
        let (st, _) = rest(
            &s,
            &sc.alice,
            "provide_oauth_authorization",
            json!({ "request_id": "unknown", "code": "c" }),
        )
        .await;
        assert_eq!(st, 404);
        let (st, v) = rest(
            &s,
            &sc.alice,
            "provide_oauth_authorization",
            json!({ "request_id": rid, "code": "c", "state": "forged" }),
        )
        .await;
        assert_eq!(st, 400, "{v}");
        let (st, v) = rest(
            &s,
            &sc.alice,
            "reject_oauth_authorization",
            json!({ "request_id": rid, "error": "user_cancelled" }),
        )
        .await;
        assert_eq!((st, v), (200, json!({})));
        let (st, v) = asked.await.unwrap();
        assert_eq!((st, v["error"].as_str()), (403, Some("rejected")), "{v}");
        assert!(v["message"].as_str().unwrap().contains("user_cancelled"), "{v}");
        let (st, _) = rest(
            &s,
            &sc.alice,
            "provide_oauth_authorization",
            json!({ "request_id": rid, "code": "c" }),
        )
        .await;
        assert_eq!(st, 404, "a rejected request is gone");

        // A mix-up: the code comes back naming another issuer.
        let asked = ask(&s, &sc.agent, request(&p, &sc.alice_id));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let (code, _) = p.consent(&prompt).await;
        let wrong = json!({ "request_id": prompt["request_id"], "code": code, "iss": "https://evil.example" });
        let (st, v) = rest(&s, &sc.alice, "provide_oauth_authorization", wrong).await;
        assert_eq!(st, 400, "{v}");
        assert!(v["message"].as_str().unwrap().contains("iss"), "{v}");
        let (st, v) = asked.await.unwrap();
        assert_eq!(st, 502, "the requester hears the request was abandoned: {v}");

        // Nobody answers.
        let started = Instant::now();
        let mut quick = request(&p, &sc.alice_id);
        quick["timeout"] = json!(1);
        let asked = ask(&s, &sc.agent, quick);
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let (st, v) = asked.await.unwrap();
        assert_eq!((st, v["error"].as_str()), (504, Some("timeout")), "{v}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let late = json!({ "request_id": prompt["request_id"], "error": "late" });
        let (st, _) = rest(&s, &sc.alice, "reject_oauth_authorization", late).await;
        assert_eq!(st, 404, "a timed-out request is gone");

        // A participant who is not connected cannot be asked.
        drop(sc.alice_ws);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (st, v) = rest(&s, &sc.agent, "request_oauth_token", request(&p, &sc.alice_id)).await;
        assert_eq!(st, 400, "{v}");
        assert_eq!(rest(&s, &sc.agent, "list", json!({})).await.1, json!({ "secrets": [] }));
        s.stop().await;
    }
    p.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_providers_need_the_insecure_flag() {
    let s = TestServer::spawn(Backend::Sqlite).await;
    let mut sc = scene(&s).await;
    let oauth = json!({
        "client_id": "c",
        "authorization_endpoint": "http://127.0.0.1:9/authorize",
        "token_endpoint": "http://127.0.0.1:9/token",
    });
    let body = json!({ "oauth": oauth, "redirect_uri": CALLBACK, "participant_id": sc.alice_id });
    let (st, v) = rest(&s, &sc.agent, "request_oauth_token", body).await;
    assert_eq!(st, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("oauth.token_endpoint"), "{v}");
    let _ = call(&mut sc.alice_ws, 1, "participants.list", json!({})).await;
    s.stop().await;
}

/// A token endpoint that answers too much or too late.
async fn misbehaving(mode: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                if mode == "slow" {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
                let body = format!(
                    "{{\"access_token\":\"{}\",\"token_type\":\"Bearer\"}}",
                    "a".repeat(100_000)
                );
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(body.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_answers_are_bounded_in_size_and_time() {
    let s = TestServer::spawn_fresh(Backend::Sqlite, |c| {
        c.allow_insecure_upstreams = true;
        c.upstream_timeout_secs = 1;
    })
    .await;
    let mut sc = scene(&s).await;
    for (mode, expected) in [("big", "65536 bytes"), ("slow", "within 1 s")] {
        let base = misbehaving(mode).await;
        let oauth = json!({
            "client_id": "c",
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
        });
        let asked = ask(
            &s,
            &sc.agent,
            json!({ "oauth": oauth, "redirect_uri": CALLBACK, "participant_id": sc.alice_id }),
        );
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let started = Instant::now();
        let (st, v) = rest(
            &s,
            &sc.alice,
            "provide_oauth_authorization",
            json!({ "request_id": prompt["request_id"], "code": "c" }),
        )
        .await;
        assert_eq!(st, 502, "{mode}: {v}");
        assert!(v["message"].as_str().unwrap().contains(expected), "{mode}: {v}");
        assert!(started.elapsed() < Duration::from_secs(3), "{mode}");
        let (st, v) = asked.await.unwrap();
        assert_eq!(st, 502, "{mode}: the requester hears it too: {v}");
    }
    s.stop().await;
}
