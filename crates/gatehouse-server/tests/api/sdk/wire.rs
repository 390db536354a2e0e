//! The SDK protocol's edge cases with a raw WebSocket client speaking its packets: split
//! payloads, oversized and malformed messages, packets out of order or for unknown ids, unknown
//! message types. Each answers an error or closes only that connection; the room stays up.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use gatehouse_core::rooms::sdk::packets::{Message as Packet, Reassembler, packets};
use gatehouse_core::rooms::sdk::payload::{self, Content};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::{ROOM, participant};
use crate::rooms::{Ws, call, event, join};
use crate::{Backend, TestServer, backends};

struct Raw {
    ws: Ws,
    reader: Reassembler,
}

async fn open(s: &TestServer, token: &str, protocols: Option<&str>) -> Result<Ws, WsError> {
    let url = format!("{}/rooms/{ROOM}?v=0.44.13", s.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    req.headers_mut().insert("authorization", bearer);
    if let Some(p) = protocols {
        req.headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_str(p).unwrap());
    }
    Ok(tokio_tungstenite::connect_async(req).await?.0)
}

impl Raw {
    /// Joins [`ROOM`] over the SDK protocol; reads `room_ready` and `connected`.
    async fn join(s: &TestServer, token: &str) -> (Self, String) {
        let mut raw = Self {
            ws: open(s, token, None).await.expect("joins"),
            reader: Reassembler::new(1 << 20),
        };
        let ready = raw.next().await;
        assert_eq!(ready.kind, "room_ready");
        let (header, _) = payload::unpack(&ready.data).unwrap();
        assert_eq!(header["room_name"], ROOM);
        assert!(header["session_id"].is_string() && header["room_url"].is_string());
        let connected = raw.next().await;
        assert_eq!(connected.kind, "connected");
        let (me, _) = payload::unpack(&connected.data).unwrap();
        assert_eq!(me["type"], "init");
        (raw, me["participantId"].as_str().unwrap().to_owned())
    }

    async fn next(&mut self) -> Packet {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a message within 10 s")
                .expect("open")
                .expect("a frame");
            if let Message::Binary(b) = frame
                && let Some(m) = self.reader.push(&b).expect("well-formed packets")
            {
                return m;
            }
        }
    }

    async fn send_packet(&mut self, packet: Vec<u8>) {
        self.ws.send(Message::Binary(packet.into())).await.unwrap();
    }

    /// Sends request `id` of `kind` with `data` and returns the content of its answer.
    async fn request(&mut self, id: u64, kind: &str, data: &[u8]) -> Content {
        for p in packets(id, kind, data) {
            self.send_packet(p).await;
        }
        loop {
            let m = self.next().await;
            if m.kind == "__response__" && m.id == id {
                let (header, binary) = payload::unpack(&m.data).unwrap();
                return Content::from_parts(&header, binary).unwrap();
            }
        }
    }

    async fn closed_with(&mut self) -> (CloseCode, String) {
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("closed within 5 s")
            {
                Some(Ok(Message::Close(Some(f)))) => return (f.code, f.reason.to_string()),
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }
}

fn invoke(toolkit: &str, tool: &str, input: Value) -> Vec<u8> {
    let header = json!({ "toolkit": toolkit, "tool": tool, "arguments": { "type": "json", "json": input }, "tool_call_id": "t" });
    payload::pack(&header, &[])
}

fn error_text(c: &Content) -> (&str, i64) {
    match c {
        Content::Error { text, code } => (text, *code),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A server with a JSON-channel participant watching the room, and an SDK token.
async fn watched(backend: Backend) -> (TestServer, Ws, String) {
    let s = TestServer::spawn(backend).await;
    let (project, key) = s.project("Wire").await;
    let watcher = participant(&s, &key, &project, "watcher", json!({})).await;
    let (ws, _) = join(&s, ROOM, &watcher).await;
    let sdk = participant(&s, &key, &project, "raw", json!({ "secrets": {} })).await;
    (s, ws, sdk)
}

/// The room still serves its other participant, which heard the SDK connection leave.
async fn room_stays_up(watcher: &mut Ws, left: &str) {
    let gone = event(watcher, "participant_left").await;
    assert_eq!(gone["participant_id"], left);
    let listed = call(watcher, 99, "participants.list", json!({})).await;
    assert_eq!(listed["ok"], true, "{listed}");
    assert_eq!(listed["body"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_split_over_many_packets_is_answered() {
    for backend in backends() {
        let (s, _watcher, token) = watched(backend).await;
        let (mut raw, _) = Raw::join(&s, &token).await;
        let padded = invoke("secrets", "list_secrets", json!({ "padding": "x".repeat(40_000) }));
        assert!(padded.len() > 39 * 1024, "about forty packets");
        assert_eq!(
            raw.request(1, "room.invoke_tool", &padded).await,
            Content::Json(json!({ "secrets": [] }))
        );
        // Requests and answers keep their own ids, in any order.
        assert_eq!(
            raw.request(77, "room.invoke_tool", &invoke("secrets", "list_secrets", json!({})))
                .await,
            Content::Json(json!({ "secrets": [] }))
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_message_types_and_malformed_payloads_are_answered_with_errors() {
    let (s, _watcher, token) = watched(Backend::Sqlite).await;
    let (mut raw, _) = Raw::join(&s, &token).await;
    let answer = raw.request(1, "storage.fancy", &[]).await;
    assert!(
        error_text(&answer).0.contains("not supported by Gatehouse"),
        "{answer:?}"
    );
    let answer = raw
        .request(2, "room.invoke_tool", b"\x00\x00\x00\x00\x00\x00\x00\x09{}")
        .await;
    assert_eq!(error_text(&answer).1, 1002, "invalid request: {answer:?}");
    let answer = raw
        .request(
            3,
            "room.invoke_tool",
            &payload::pack(&json!({ "tool": "list_secrets" }), &[]),
        )
        .await;
    assert_eq!(error_text(&answer).1, 1002, "{answer:?}");
    let answer = raw
        .request(
            4,
            "room.invoke_tool",
            &invoke("secrets", "request_oauth_token", json!({ "redirect_uri": 7 })),
        )
        .await;
    assert_eq!(error_text(&answer).1, 1002, "{answer:?}");
    assert_eq!(
        raw.request(5, "room.invoke_tool", &invoke("secrets", "list_secrets", json!({})))
            .await,
        Content::Json(json!({ "secrets": [] }))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_closes_only_that_connection() {
    for backend in backends() {
        let (s, mut watcher, token) = watched(backend).await;
        let (mut raw, id) = Raw::join(&s, &token).await;
        // The header alone announces 100 KiB: refused before any data is held.
        raw.send_packet(packets(1, "room.invoke_tool", &vec![b' '; 100 * 1024]).remove(0))
            .await;
        let (code, reason) = raw.closed_with().await;
        assert_eq!(code, CloseCode::Size);
        assert!(reason.contains("65536"), "{reason}");
        room_stays_up(&mut watcher, &id).await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_or_out_of_order_packets_close_only_that_connection() {
    let (s, mut watcher, token) = watched(Backend::Sqlite).await;
    let full = packets(
        9,
        "room.invoke_tool",
        &invoke("secrets", "list_secrets", json!({ "pad": "y".repeat(3000) })),
    );
    let cases: [(&str, Vec<Vec<u8>>); 4] = [
        ("malformed", vec![vec![1, 2, 3]]),
        ("out of order", vec![full[0].clone(), full[2].clone()]),
        ("unknown message id", vec![full[1].clone()]),
        (
            "another message's packet",
            vec![full[0].clone(), packets(10, "x", b"z")[1].clone()],
        ),
    ];
    for (case, sent) in cases {
        let (mut raw, id) = Raw::join(&s, &token).await;
        let _ = event(&mut watcher, "participant_joined").await;
        for p in sent {
            raw.send_packet(p).await;
        }
        let (code, reason) = raw.closed_with().await;
        assert_eq!(code, CloseCode::Protocol, "{case}: {reason}");
        assert!(!reason.is_empty(), "{case}");
        room_stays_up(&mut watcher, &id).await;
    }
    // A text frame on an SDK connection.
    let (mut raw, id) = Raw::join(&s, &token).await;
    raw.ws.send(Message::Text("{}".into())).await.unwrap();
    assert_eq!(raw.closed_with().await.0, CloseCode::Unsupported);
    room_stays_up(&mut watcher, &id).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_both_protocols_at_once_is_refused() {
    let (s, _watcher, token) = watched(Backend::Sqlite).await;
    match open(&s, &token, Some("gatehouse.room.v1")).await {
        Err(WsError::Http(res)) => assert_eq!(res.status().as_u16(), 400),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    s.stop().await;
}
