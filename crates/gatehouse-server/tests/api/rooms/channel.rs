//! The room channel on one node (SPEC §6.4, §6.5): entry, events between participants, bad frames,
//! revocation, token expiry and dead sockets.

use std::time::Duration;

use futures::SinkExt as _;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::{Carry, call, closed_with, event, join, names, next, open, status_of, token};
use crate::{TestServer, api_test, backends};

api_test!(the_room_channel_takes_the_token_from_header_query_or_subprotocol, |s| {
    let (p, key) = s.project("Rooms").await;
    let good = token(&s, &key, &p, "alice", "lobby", json!({})).await;
    let mut joined = Vec::new();
    for carry in [Carry::Header, Carry::Query, Carry::Subprotocol] {
        let mut ws = open(&s, "lobby", &good, carry)
            .await
            .unwrap_or_else(|e| panic!("{carry:?}: {e}"));
        assert_eq!(next(&mut ws).await["type"], "room_ready", "{carry:?}");
        joined.push(ws);
    }
    // Refused with 401 before any upgrade: no token, another room, a revoked key.
    let e = open(&s, "lobby", "", Carry::Query).await.err().unwrap();
    assert_eq!(status_of(e), 401);
    let res = s.http.get(format!("{}/rooms/lobby", s.base)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401, "no token at all");
    let other_room = token(&s, &key, &p, "alice", "elsewhere", json!({})).await;
    for carry in [Carry::Header, Carry::Query, Carry::Subprotocol] {
        let e = open(&s, "lobby", &other_room, carry).await.err().unwrap();
        assert_eq!(status_of(e), 401, "{carry:?}");
    }
    let no_room = {
        let body = json!({ "name": "alice", "role": "user" });
        let path = format!("/accounts/projects/{p}/participant-tokens");
        s.call_as(&key, Method::POST, &path, Some(body)).await.1["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        status_of(open(&s, "lobby", &no_room, Carry::Header).await.err().unwrap()),
        401
    );
    // The subprotocol is chosen wherever the token came from; a lone bearer entry is echoed,
    // since a browser needs one of its own protocols back; unknown protocols are not chosen.
    for (offered, chosen) in [
        ("gatehouse.room.v1", "gatehouse.room.v1"),
        ("other.v2, gatehouse.room.v1", "gatehouse.room.v1"),
    ] {
        let url = format!("{}/rooms/lobby?token={good}", s.base.replacen("http", "ws", 1));
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static(offered));
        let (ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(
            res.headers().get("sec-websocket-protocol").unwrap(),
            chosen,
            "{offered}"
        );
        joined.push(ws);
    }
    let url = format!("{}/rooms/lobby", s.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    let lone = HeaderValue::from_str(&format!("bearer.{good}")).unwrap();
    req.headers_mut().insert("sec-websocket-protocol", lone.clone());
    let (ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(res.headers().get("sec-websocket-protocol"), Some(&lone));
    joined.push(ws);
    // A locally signed token may carry any name; a participant's is at most 256 characters.
    let k = gatehouse_core::api_key::ApiKeyValue::parse(&key).unwrap();
    let claims = json!({ "name": "n".repeat(300), "grants": [{ "name": "room", "scope": "lobby" }], "sub": p, "kid": k.id.to_string() });
    let long = gatehouse_core::jose::sign_hs256(k.secret.expose_secret().as_bytes(), &json!({ "typ": "JWT" }), &claims)
        .unwrap();
    assert_eq!(
        status_of(open(&s, "lobby", &long, Carry::Header).await.err().unwrap()),
        401
    );
    // A valid token but a plain GET: a clear 400, not a hang.
    let res = s
        .http
        .get(format!("{}/rooms/lobby", s.base))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    // The participants over REST with the same token.
    let res = s
        .http
        .get(format!("{}/rooms/lobby/participants?token={good}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(names(&list).len(), 6, "{list}");
    let res = s
        .http
        .get(format!("{}/rooms/lobby/participants", s.base))
        .bearer_auth(&other_room)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // Offered protocols that are not the channel's: the server agrees to none.
    let url = format!("{}/rooms/lobby?token={good}", s.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("other.v2"));
    let refused = tokio_tungstenite::connect_async(req)
        .await
        .expect_err("no protocol of ours");
    assert!(
        matches!(
            refused,
            WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(_))
        ),
        "the server agrees to no protocol it does not speak: {refused}"
    );
});

api_test!(participants_see_each_other_join_talk_and_leave, |s| {
    let (p, key) = s.project("Rooms").await;
    let talk = json!({ "messaging": {} });
    let (mut alice, alice_id) = join(&s, "lobby", &token(&s, &key, &p, "alice", "lobby", talk.clone()).await).await;
    let (mut bob, bob_id) = join(&s, "lobby", &token(&s, &key, &p, "bob", "lobby", json!({})).await).await;
    let joined = event(&mut alice, "participant_joined").await;
    assert_eq!(
        (joined["participant_id"].as_str(), joined["name"].as_str()),
        (Some(bob_id.as_str()), Some("bob"))
    );
    assert_eq!(joined["role"], "agent");
    assert!(joined["connected_at"].is_string());
    let list = call(&mut bob, 1, "participants.list", json!({})).await;
    assert_eq!(list["ok"], true, "{list}");
    assert_eq!(names(&list["body"]), ["alice", "bob"], "oldest first");
    // Someone in another room of the same name in another project is not here.
    let (q, other) = s.project("Other").await;
    let (mut eve, _) = join(&s, "lobby", &token(&s, &other, &q, "eve", "lobby", talk.clone()).await).await;
    assert_eq!(
        names(&call(&mut eve, 1, "participants.list", json!({})).await["body"]),
        ["eve"]
    );

    // Messaging: to one participant, by identity; only with the messaging surface.
    let send = json!({ "participant_id": bob_id, "message": { "hello": "bob" } });
    let r = call(&mut alice, 2, "messaging.send", send).await;
    assert_eq!((r["ok"].as_bool(), &r["body"]), (Some(true), &json!({})), "{r}");
    let m = event(&mut bob, "messaging.message").await;
    assert_eq!(m["message"], json!({ "hello": "bob" }));
    assert_eq!(m["from"]["participant_id"], alice_id.as_str());
    let r = call(&mut bob, 2, "messaging.send", json!({ "name": "alice", "message": 1 })).await;
    assert_eq!(
        (r["ok"].as_bool(), r["error"]["code"].as_str()),
        (Some(false), Some("forbidden")),
        "{r}"
    );
    let r = call(&mut alice, 3, "messaging.send", json!({ "message": 1 })).await;
    assert_eq!(r["error"]["code"], "invalid_request", "{r}");
    let r = call(
        &mut alice,
        4,
        "messaging.send",
        json!({ "name": "bob", "message": "x".repeat(8000) }),
    )
    .await;
    assert_eq!(
        r["error"]["code"], "invalid_request",
        "an event too large to cross nodes: {r}"
    );
    let r = call(&mut alice, 5, "rooms.teleport", json!({})).await;
    assert_eq!(
        (r["ok"].as_bool(), r["error"]["code"].as_str()),
        (Some(false), Some("unknown_operation")),
        "{r}"
    );
    // Eve's message to "bob" stays in her project.
    call(
        &mut eve,
        2,
        "messaging.send",
        json!({ "name": "bob", "message": "psst" }),
    )
    .await;

    bob.close(None).await.unwrap();
    let left = event(&mut alice, "participant_left").await;
    assert_eq!(left["participant_id"], bob_id.as_str());
    let list = call(&mut alice, 6, "participants.list", json!({})).await;
    assert_eq!(names(&list["body"]), ["alice"]);
});

api_test!(bad_frames_close_only_their_own_connection_with_a_reason, |s| {
    let (p, key) = s.project("Rooms").await;
    let t = token(&s, &key, &p, "bystander", "lobby", json!({})).await;
    let (mut bystander, _) = join(&s, "lobby", &t).await;
    let bad: [(Message, CloseCode, &str); 5] = [
        (Message::Text("{not json".into()), CloseCode::Invalid, "JSON"),
        (
            Message::Text(r#"{"type":"hello"}"#.into()),
            CloseCode::Policy,
            "unknown frame",
        ),
        (Message::Text(r#"[1,2]"#.into()), CloseCode::Policy, "unknown frame"),
        (Message::Binary(vec![1, 2, 3].into()), CloseCode::Unsupported, "binary"),
        (Message::Text("x".repeat(70 * 1024).into()), CloseCode::Size, "65536"),
    ];
    for (i, (frame, code, reason)) in bad.into_iter().enumerate() {
        let t = token(&s, &key, &p, &format!("bad-{i}"), "lobby", json!({})).await;
        let (mut ws, _) = join(&s, "lobby", &t).await;
        ws.send(frame).await.unwrap();
        let (got, why) = closed_with(&mut ws).await;
        assert_eq!(got, code, "{why}");
        assert!(why.contains(reason), "{why}");
    }
    // The bystander saw them come and go and still gets answers.
    let mut left = Vec::new();
    for _ in 0..5 {
        left.push(
            event(&mut bystander, "participant_left").await["name"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    left.sort();
    assert_eq!(left, ["bad-0", "bad-1", "bad-2", "bad-3", "bad-4"]);
    let list = call(&mut bystander, 1, "participants.list", json!({})).await;
    assert_eq!(names(&list["body"]), ["bystander"]);
});

api_test!(revoking_the_api_key_closes_its_participants, |s| {
    let (p, key) = s.project("Rooms").await;
    let (st, k) = s
        .call(
            Method::POST,
            &format!("/accounts/projects/{p}/api-keys"),
            Some(json!({ "name": "agents" })),
        )
        .await;
    assert_eq!(st, 201);
    let doomed_key = k["value"].as_str().unwrap().to_owned();
    let (mut doomed, _) = join(
        &s,
        "lobby",
        &token(&s, &doomed_key, &p, "agent", "lobby", json!({})).await,
    )
    .await;
    let (mut stays, _) = join(&s, "lobby", &token(&s, &key, &p, "user", "lobby", json!({})).await).await;
    let path = format!("/accounts/projects/{p}/api-keys/{}", k["id"].as_str().unwrap());
    assert_eq!(s.call(Method::DELETE, &path, None).await.0, 204);
    let (code, why) = closed_with(&mut doomed).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(why.contains("revoked"), "{why}");
    assert_eq!(event(&mut stays, "participant_left").await["name"], "agent");
});

api_test!(a_connection_ends_when_its_token_expires, |s| {
    let (p, key) = s.project("Rooms").await;
    let body = json!({ "name": "brief", "room_name": "lobby", "ttl_seconds": 2 });
    let path = format!("/accounts/projects/{p}/participant-tokens");
    let (st, t) = s.call_as(&key, Method::POST, &path, Some(body)).await;
    assert_eq!(st, 200, "{t}");
    let (mut ws, _) = join(&s, "lobby", t["token"].as_str().unwrap()).await;
    let (code, why) = closed_with(&mut ws).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(why.contains("expired"), "{why}");
});

/// A socket that stops answering pings is dropped after two keep-alive periods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_socket_leaves_the_room_after_two_keepalive_periods() {
    let backend = backends().into_iter().next().unwrap();
    let s = TestServer::spawn_fresh(backend, |c| c.room_keepalive_secs = 1).await;
    let (p, key) = s.project("Rooms").await;
    let (mut watcher, _) = join(&s, "lobby", &token(&s, &key, &p, "watcher", "lobby", json!({})).await).await;
    // A raw TCP connection that completes the handshake and then never reads again.
    let t = token(&s, &key, &p, "frozen", "lobby", json!({})).await;
    let frozen = open(&s, "lobby", &t, Carry::Header).await.unwrap();
    assert_eq!(event(&mut watcher, "participant_joined").await["name"], "frozen");
    let started = std::time::Instant::now();
    let left = event(&mut watcher, "participant_left").await;
    assert_eq!(left["name"], "frozen");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(4),
        "{took:?}"
    );
    drop(frozen);
    s.stop().await;
}
