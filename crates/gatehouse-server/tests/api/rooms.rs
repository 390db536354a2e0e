//! Rooms, room grants and `connect` over REST (SPEC §6.3), and the room channel (SPEC §6.4, §6.5)
//! with a real WebSocket client: entry with the token in each of its three places, requests,
//! events, bad frames, revocation, dead sockets, and two nodes on one PostgreSQL.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::nodes::{two_nodes, within_a_second};
use crate::{TestServer, api_test, backends};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where a room entry point finds the token.
#[derive(Debug, Clone, Copy)]
enum Carry {
    Header,
    Query,
    Subprotocol,
}

/// A participant token for `name` in `room`, minted over REST with `api`.
pub(crate) async fn token(s: &TestServer, key: &str, project: &str, name: &str, room: &str, api: Value) -> String {
    let body = json!({ "name": name, "room_name": room, "role": "agent", "api": api });
    let (st, t) = s
        .call_as(
            key,
            Method::POST,
            &format!("/accounts/projects/{project}/participant-tokens"),
            Some(body),
        )
        .await;
    assert_eq!(st, 200, "{t}");
    t["token"].as_str().unwrap().to_owned()
}

/// Opens the room channel; the handshake's error (with the HTTP status) when refused.
async fn open(s: &TestServer, room: &str, token: &str, carry: Carry) -> Result<Ws, WsError> {
    let base = s.base.replacen("http", "ws", 1);
    let url = match carry {
        Carry::Query => format!("{base}/rooms/{room}?token={token}"),
        _ => format!("{base}/rooms/{room}"),
    };
    let mut req = url.into_client_request().unwrap();
    match carry {
        Carry::Header => {
            let v = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
            req.headers_mut().insert("authorization", v);
        }
        Carry::Subprotocol => {
            let v = HeaderValue::from_str(&format!("gatehouse.room.v1, bearer.{token}")).unwrap();
            req.headers_mut().insert("sec-websocket-protocol", v);
        }
        Carry::Query => {}
    }
    let (ws, res) = tokio_tungstenite::connect_async(req).await?;
    if let Carry::Subprotocol = carry {
        assert_eq!(
            res.headers().get("sec-websocket-protocol").unwrap(),
            "gatehouse.room.v1",
            "the server picks the offered protocol that is not the token"
        );
    }
    Ok(ws)
}

/// Joins and reads `room_ready`; returns the socket and the participant id.
pub(crate) async fn join(s: &TestServer, room: &str, token: &str) -> (Ws, String) {
    let mut ws = open(s, room, token, Carry::Header).await.expect("joins");
    let ready = next(&mut ws).await;
    assert_eq!(ready["type"], "room_ready", "{ready}");
    assert_eq!(ready["room_name"], room);
    assert!(ready["session_id"].is_string());
    (ws, ready["participant_id"].as_str().unwrap().to_owned())
}

/// The next JSON text frame, within 10 s.
pub(crate) async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("the socket is open")
            .expect("a frame");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The next event of `kind`, skipping others.
pub(crate) async fn event(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let f = next(ws).await;
        if f["type"] == kind {
            return f["body"].clone();
        }
    }
}

/// Sends request `id` and returns its response, skipping events.
pub(crate) async fn call(ws: &mut Ws, id: i64, op: &str, body: Value) -> Value {
    let frame = json!({ "id": id, "type": op, "body": body });
    ws.send(Message::Text(frame.to_string().into())).await.unwrap();
    loop {
        let f = next(ws).await;
        if f["id"] == id {
            return f;
        }
    }
}

/// The close frame the server ends the connection with.
async fn closed_with(ws: &mut Ws) -> (CloseCode, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("closed within 5 s")
        {
            Some(Ok(Message::Close(Some(f)))) => return (f.code, f.reason.to_string()),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a reason"),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("socket failed instead of closing: {e}"),
        }
    }
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

fn status_of(e: WsError) -> u16 {
    match e {
        WsError::Http(res) => res.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

api_test!(rooms_are_created_listed_and_deleted, |s| {
    let (p, key) = s.project("Rooms").await;
    let rooms = format!("/accounts/projects/{p}/rooms");
    let body = json!({ "name": "lobby", "metadata": { "topic": "hi" } });
    let (st, r) = s.call_as(&key, Method::POST, &rooms, Some(body)).await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(
        (r["name"].as_str(), r["project_id"].as_str()),
        (Some("lobby"), Some(p.as_str()))
    );
    assert_eq!(r["metadata"], json!({ "topic": "hi" }));
    let (st, e) = s
        .call_as(&key, Method::POST, &rooms, Some(json!({ "name": "lobby" })))
        .await;
    assert_eq!((st, e["error"].as_str()), (409, Some("conflict")), "{e}");
    let again = json!({ "name": "lobby", "if_not_exists": true });
    let (st, same) = s.call_as(&key, Method::POST, &rooms, Some(again)).await;
    assert_eq!((st, &same), (200, &r), "if_not_exists returns the room as stored");
    for (bad, field) in [
        (json!({ "name": "Lobby" }), "room_name"),
        (json!({ "name": "" }), "room_name"),
        (json!({ "name": "a".repeat(64) }), "room_name"),
        (
            json!({ "name": "ok", "metadata": { "x": "y".repeat(17 * 1024) } }),
            "metadata",
        ),
        (json!({ "name": "ok", "metadata": [1] }), "metadata"),
        (json!({ "name": "ok", "colour": "red" }), "colour"),
        (json!({}), "name"),
    ] {
        let (st, e) = s.call_as(&key, Method::POST, &rooms, Some(bad.clone())).await;
        assert_eq!(st, 400, "{bad}: {e}");
        assert!(e["message"].as_str().unwrap().contains(field), "{bad}: {e}");
    }
    let big = json!({ "name": "ok", "metadata": { "x": "y".repeat(70 * 1024) } });
    assert_eq!(s.call_as(&key, Method::POST, &rooms, Some(big)).await.0, 413);
    for name in ["b-room", "c-room"] {
        assert_eq!(
            s.call_as(&key, Method::POST, &rooms, Some(json!({ "name": name })))
                .await
                .0,
            201
        );
    }
    let (st, l) = s
        .call_as(&key, Method::GET, &format!("{rooms}?limit=2&offset=1"), None)
        .await;
    assert_eq!(st, 200, "{l}");
    assert_eq!(l["total"], 3);
    let listed: Vec<&str> = l["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["b-room", "c-room"], "oldest first");
    for bad in ["limit=0", "limit=1001", "count=5"] {
        assert_eq!(
            s.call_as(&key, Method::GET, &format!("{rooms}?{bad}"), None).await.0,
            400,
            "{bad}"
        );
    }
    // Another project's key sees none of it.
    let (q, other) = s.project("Other").await;
    assert_eq!(s.call_as(&other, Method::GET, &rooms, None).await.0, 404);
    assert_eq!(
        s.call_as(&other, Method::DELETE, &format!("{rooms}/lobby"), None)
            .await
            .0,
        404
    );
    let (_, theirs) = s
        .call_as(&other, Method::GET, &format!("/accounts/projects/{q}/rooms"), None)
        .await;
    assert_eq!(theirs["total"], 0);
    let (st, one) = s.call_as(&key, Method::GET, &format!("{rooms}/lobby"), None).await;
    assert_eq!((st, &one), (200, &r));
    assert_eq!(
        s.call_as(&key, Method::GET, &format!("{rooms}/nowhere"), None).await.0,
        404
    );
    assert_eq!(
        s.call_as(&key, Method::GET, &format!("{rooms}/Bad_Name"), None).await.0,
        400
    );
    assert_eq!(
        s.call_as(&other, Method::GET, &format!("{rooms}/lobby"), None).await.0,
        404
    );
    assert_eq!(
        s.call_as(&key, Method::DELETE, &format!("{rooms}/lobby"), None).await.0,
        204
    );
    assert_eq!(
        s.call_as(&key, Method::DELETE, &format!("{rooms}/lobby"), None).await.0,
        404,
        "deleted once"
    );
});

api_test!(room_grants_give_signed_in_users_a_room_token_through_connect, |s| {
    use crate::oauth_flows::{EMAIL, PASSWORD, app};
    let uid = s.user(EMAIL, PASSWORD).await;
    let (p, key) = s.project("Rooms").await;
    let grants = format!("/accounts/projects/{p}/room-grants");
    let perms = json!({ "messaging": {}, "secrets": { "request_oauth_token": [] }, "future": { "x": 1 } });
    let grant = json!({ "room_name": "lobby", "email": EMAIL, "permissions": perms });
    let (st, e) = s.call_as(&key, Method::POST, &grants, Some(grant.clone())).await;
    assert_eq!(st, 400, "not a member yet: {e}");
    let members = format!("/accounts/projects/{p}/users");
    assert_eq!(
        s.call(Method::POST, &members, Some(json!({ "user_id": uid }))).await.0,
        201
    );
    let (st, e) = s.call_as(&key, Method::POST, &grants, Some(grant.clone())).await;
    assert_eq!((st, e["message"].as_str()), (404, Some("room not found")), "{e}");
    let rooms = format!("/accounts/projects/{p}/rooms");
    assert_eq!(
        s.call_as(&key, Method::POST, &rooms, Some(json!({ "name": "lobby" })))
            .await
            .0,
        201
    );
    let (st, g) = s.call_as(&key, Method::POST, &grants, Some(grant.clone())).await;
    assert_eq!(st, 200, "{g}");
    assert_eq!(
        (g["user_id"].as_str(), g["email"].as_str()),
        (Some(uid.as_str()), Some(EMAIL))
    );
    assert_eq!(g["permissions"], perms, "kept exactly");
    for (bad, status) in [
        (json!({ "room_name": "lobby", "permissions": {} }), 400),
        (
            json!({ "room_name": "lobby", "email": EMAIL, "user_id": uid, "permissions": {} }),
            400,
        ),
        (json!({ "room_name": "lobby", "email": EMAIL, "permissions": [] }), 400),
        (json!({ "room_name": "lobby", "email": EMAIL }), 400),
        (json!({ "room_name": "Lobby", "email": EMAIL, "permissions": {} }), 400),
        (
            json!({ "room_name": "lobby", "email": "nobody@example.com", "permissions": {} }),
            400,
        ),
        (
            json!({ "room_name": "lobby", "email": EMAIL, "permissions": { "x": "y".repeat(17 * 1024) } }),
            400,
        ),
        (
            json!({ "room_name": "lobby", "email": EMAIL, "permissions": "everything" }),
            400,
        ),
    ] {
        let (st, e) = s.call_as(&key, Method::POST, &grants, Some(bad.clone())).await;
        assert_eq!(st, status, "{bad}: {e}");
    }
    // A preset's name stands for its surfaces; the grant is then replaced by the exact scope again.
    let preset = json!({ "room_name": "lobby", "email": EMAIL, "permissions": "user_default" });
    let (st, g) = s.call_as(&key, Method::POST, &grants, Some(preset)).await;
    assert_eq!(st, 200, "{g}");
    assert!(
        g["permissions"]["secrets"].is_object() && g["permissions"].get("llm").is_none(),
        "{g}"
    );
    assert_eq!(s.call_as(&key, Method::POST, &grants, Some(grant.clone())).await.0, 200);
    let (st, l) = s
        .call_as(&key, Method::GET, &format!("{grants}?room_name=lobby&limit=10"), None)
        .await;
    assert_eq!((st, l["total"].as_u64()), (200, Some(1)), "{l}");
    let (_, none) = s
        .call_as(&key, Method::GET, &format!("{grants}?room_name=elsewhere"), None)
        .await;
    assert_eq!(none["total"], 0);

    // The user connects with their own access token.
    let a = app(&s, json!({ "scope": "openid gatehouse_api gatehouse_api.read_only" })).await;
    let b = gatehouse_testkit::Browser::new(&s.base);
    let user = crate::participants::api_token(&s, &a, &b, "openid gatehouse_api").await;
    let connect = format!("/accounts/projects/{p}/rooms/lobby/connect");
    let (st, c) = s.call_as(&user, Method::POST, &connect, Some(json!({}))).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["room_name"], "lobby");
    assert_eq!(c["project_id"], p.as_str());
    assert_eq!(
        c["room_url"],
        format!("{}/rooms/lobby", s.base.replacen("http", "ws", 1))
    );
    let jwt = c["jwt"].as_str().unwrap();
    let res = s
        .http
        .post(format!("{}/api/participant-token/validate", s.base))
        .json(&json!({ "token": jwt }))
        .send()
        .await
        .unwrap();
    let claims: Value = res.json().await.unwrap();
    assert_eq!(claims["name"], EMAIL);
    assert_eq!(
        claims["grants"],
        json!([
            { "name": "room", "scope": "lobby" },
            { "name": "role", "scope": "user" },
            { "name": "api", "scope": perms },
        ])
    );
    let (mut ws, _) = join(&s, "lobby", jwt).await;
    let list = call(&mut ws, 1, "participants.list", json!({})).await;
    assert_eq!(names(&list["body"]), [EMAIL]);
    drop(ws);
    // No grant, the wrong caller, a read-only token, a bad body.
    let (st, e) = s
        .call_as(
            &user,
            Method::POST,
            &format!("/accounts/projects/{p}/rooms/other/connect"),
            Some(json!({})),
        )
        .await;
    assert_eq!((st, e["message"].as_str()), (404, Some("room grant not found")), "{e}");
    assert_eq!(
        s.call_as(&key, Method::POST, &connect, Some(json!({}))).await.0,
        403,
        "an API key is not a user"
    );
    let read_only = crate::participants::api_token(&s, &a, &b, "openid gatehouse_api.read_only").await;
    assert_eq!(
        s.call_as(&read_only, Method::POST, &connect, Some(json!({}))).await.0,
        403
    );
    assert_eq!(
        s.call_as(&user, Method::POST, &connect, Some(json!({ "x": 1 })))
            .await
            .0,
        400
    );
    // Members read no grants and create no rooms without the flag; grants go with their room.
    assert_eq!(s.call_as(&user, Method::GET, &grants, None).await.0, 403);
    assert_eq!(
        s.call_as(&user, Method::POST, &rooms, Some(json!({ "name": "mine" })))
            .await
            .0,
        403
    );
    let flag = json!({ "can_create_rooms": true });
    assert_eq!(
        s.call(Method::PUT, &format!("{members}/{uid}"), Some(flag)).await.0,
        200
    );
    assert_eq!(
        s.call_as(&user, Method::POST, &rooms, Some(json!({ "name": "mine" })))
            .await
            .0,
        201
    );
    assert_eq!(
        s.call_as(&user, Method::DELETE, &format!("{rooms}/mine"), None).await.0,
        403,
        "deleting is for developers"
    );
    assert_eq!(
        s.call_as(&key, Method::DELETE, &format!("{grants}/lobby/{uid}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        s.call_as(&key, Method::DELETE, &format!("{grants}/lobby/{uid}"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        s.call_as(&user, Method::POST, &connect, Some(json!({}))).await.0,
        404,
        "the grant is gone"
    );
});

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

/// Two nodes on one PostgreSQL: participants on either see each other, their events cross, and
/// a key revoked on one node ends its participants on the other within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_on_two_nodes_share_one_room() {
    let Some((a, b)) = two_nodes().await else { return };
    let (p, key) = a.project("Rooms").await;
    let talk = json!({ "messaging": {} });
    let (mut on_a, a_id) = join(&a, "lobby", &token(&a, &key, &p, "alice", "lobby", talk.clone()).await).await;
    let (mut on_b, b_id) = join(&b, "lobby", &token(&a, &key, &p, "bob", "lobby", talk).await).await;
    assert_eq!(
        event(&mut on_a, "participant_joined").await["participant_id"],
        b_id.as_str()
    );
    for ws in [&mut on_a, &mut on_b] {
        assert_eq!(
            names(&call(ws, 1, "participants.list", json!({})).await["body"]),
            ["alice", "bob"]
        );
    }
    let res = a
        .http
        .get(format!("{}/rooms/lobby/participants", b.base))
        .bearer_auth(token(&a, &key, &p, "observer", "lobby", json!({})).await)
        .send()
        .await
        .unwrap();
    assert_eq!(
        names(&res.json().await.unwrap()),
        ["alice", "bob"],
        "over REST on either node"
    );
    // A message to one participant and an answer back, across nodes.
    call(
        &mut on_a,
        2,
        "messaging.send",
        json!({ "participant_id": b_id, "message": "ping" }),
    )
    .await;
    assert_eq!(event(&mut on_b, "messaging.message").await["message"], "ping");
    call(
        &mut on_b,
        2,
        "messaging.send",
        json!({ "participant_id": a_id, "message": "pong" }),
    )
    .await;
    assert_eq!(event(&mut on_a, "messaging.message").await["message"], "pong");
    // Leaving on B is heard on A.
    on_b.close(None).await.unwrap();
    assert_eq!(
        event(&mut on_a, "participant_left").await["participant_id"],
        b_id.as_str()
    );
    // Revoking the key on node B ends the participant on node A within a second.
    let (mut again_b, _) = join(&b, "lobby", &token(&a, &key, &p, "carol", "lobby", json!({})).await).await;
    assert_eq!(event(&mut on_a, "participant_joined").await["name"], "carol");
    let kid = gatehouse_core::api_key::ApiKeyValue::parse(&key)
        .unwrap()
        .id
        .to_string();
    let started = std::time::Instant::now();
    let path = format!("/accounts/projects/{p}/api-keys/{kid}");
    assert_eq!(b.call(Method::DELETE, &path, None).await.0, 204);
    let (code, _) = closed_with(&mut on_a).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(closed_with(&mut again_b).await.0, CloseCode::Policy);
    within_a_second("node A to forget its participant", async || {
        a.gatehouse().room_connections() == 0
    })
    .await;
    b.stop().await;
    a.stop().await;
}

/// A node that stops closes its sockets with a reason and its participants leave at once; one
/// that dies without a word loses its participants to the other nodes' upkeep, announced as
/// `participant_left`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_of_a_stopped_or_dead_node_leave_the_room() {
    let Some((a, b)) = two_nodes().await else { return };
    let (p, key) = a.project("Rooms").await;
    let (mut on_a, _) = join(&a, "lobby", &token(&a, &key, &p, "alice", "lobby", json!({})).await).await;
    let (mut on_b, _) = join(&b, "lobby", &token(&a, &key, &p, "bob", "lobby", json!({})).await).await;
    event(&mut on_a, "participant_joined").await;
    b.stop().await;
    let (code, why) = closed_with(&mut on_b).await;
    assert_eq!(code, CloseCode::Away, "{why}");
    assert_eq!(event(&mut on_a, "participant_left").await["name"], "bob");
    // A participant of a node that died 40 s ago, as its rows would be left behind.
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&a.database_url)
        .await
        .unwrap();
    let (dead, stale) = (uuid::Uuid::new_v4(), now_millis() - 40_000);
    sqlx::query("INSERT INTO room_nodes (node_id, last_seen) VALUES ($1, $2)")
        .bind(dead)
        .bind(stale)
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO room_participants (id, project_id, room_name, name, role, api_key_id, node_id, connected_at) VALUES ($1, $2, 'lobby', 'ghost', 'user', $3, $4, $5)")
        .bind(uuid::Uuid::now_v7())
        .bind(uuid::Uuid::parse_str(&p).unwrap())
        .bind(uuid::Uuid::new_v4())
        .bind(dead)
        .bind(stale)
        .execute(&mut db)
        .await
        .unwrap();
    let list = call(&mut on_a, 1, "participants.list", json!({})).await;
    assert_eq!(
        names(&list["body"]),
        ["alice"],
        "a dead node's participants are not listed"
    );
    // The upkeep (every 5 s) removes the row and announces it.
    let left = tokio::time::timeout(Duration::from_secs(8), event(&mut on_a, "participant_left"))
        .await
        .expect("the ghost leaves within one upkeep period");
    assert_eq!(left["name"], "ghost");
    a.stop().await;
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
