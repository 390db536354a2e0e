//! Rooms, room grants and `connect` over REST (SPEC §6.3), and the room channel (SPEC §6.4, §6.5)
//! with a real WebSocket client: entry with the token in each of its three places, requests,
//! events, bad frames, revocation, dead sockets, and two nodes on one PostgreSQL.
//!
//! This module holds the room-channel client the tests share (also used by the broker tests);
//! the tests are in [`rest`], [`channel`] and [`nodes`].

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

mod channel;
mod nodes;
mod rest;

use crate::TestServer;

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
