//! The MeshAgent SDK's room protocol on `/rooms/{room_name}`, next to the JSON room channel
//! (docs/rooms.md): binary frames of packets ([`packets`]) carrying `[header][binary]` payloads
//! ([`payload`]). A connection gets `room_ready` and its `connected` participant, then sends
//! requests that are answered `__response__` with the request's message id: `room.invoke_tool`
//! for the `secrets` toolkit ([`secrets`]) and the `messaging` presence calls; anything else is
//! answered at once with an error saying Gatehouse does not support it. Room events are the
//! room's own, rewritten for the SDK ([`events`]), so SDK and JSON-channel participants share
//! one room on every node.

mod secrets;

use std::pin::Pin;

use axum::extract::ws::{Message, WebSocket};
use axum::http::HeaderMap;
use futures::stream::FuturesUnordered;
use futures::{SinkExt as _, StreamExt as _};
use gatehouse_core::rooms::sdk::events::{self, Event};
use gatehouse_core::rooms::sdk::packets::{self, PacketError, Reassembler};
use gatehouse_core::rooms::sdk::payload::{self, Content, code};
use gatehouse_core::rooms::{Close, Membership, room_url};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::room_channel::{
    self, EXPIRED, Gone, MAX_FRAME_BYTES, MAX_IN_FLIGHT, Participant, SEND_TIMEOUT, TOO_LARGE, send,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::offered_protocols;

/// Largest message a participant may send, however many packets carry it.
const MAX_MESSAGE_BYTES: usize = MAX_FRAME_BYTES;
/// The type of every answer; it repeats the request's message id.
const RESPONSE: &str = "__response__";

const TEXT: Close = Close {
    code: 1003,
    reason: "this connection speaks the MeshAgent protocol (binary packets); text frames are not part of it",
};

/// Whether a room connection speaks the SDK's protocol: its URL has a `v` query parameter, which
/// the SDK's `WebSocketClientProtocol` always adds (its version). Offering the JSON channel's
/// subprotocol as well is ambiguous, and refused.
pub fn speaks_sdk(query: Option<&str>, headers: &HeaderMap) -> ApiResult<bool> {
    let sdk = query.is_some_and(|q| url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "v"));
    if sdk && offered_protocols(headers).any(|p| p == room_channel::PROTOCOL) {
        return Err(ApiError::bad_request(format!(
            "a `v` parameter selects the MeshAgent protocol, the {} subprotocol the JSON channel: give one",
            room_channel::PROTOCOL
        )));
    }
    Ok(sdk)
}

/// How much an SDK connection buffers before writing: a whole message, so that its packets leave
/// in one write (separate small writes of one message would wait on each other's ACK, Nagle's
/// algorithm against delayed ACKs, for tens of milliseconds).
pub const WRITE_BUFFER_BYTES: usize = MAX_MESSAGE_BYTES + 16 * 1024;

/// The message's packets, each a binary frame, written together.
async fn send_message(socket: &mut WebSocket, id: u64, kind: &str, payload: &[u8]) -> Result<(), Gone> {
    let all = async {
        for packet in packets::packets(id, kind, payload) {
            socket.feed(Message::Binary(packet.into())).await?;
        }
        socket.flush().await
    };
    match tokio::time::timeout(SEND_TIMEOUT, all).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(Gone),
    }
}

/// The server's own messages, numbered apart from the client's requests.
struct Unasked(u64);

impl Unasked {
    async fn send(&mut self, socket: &mut WebSocket, (kind, header): Event) -> Result<(), Gone> {
        self.0 += 1;
        send_message(socket, self.0, kind, &payload::pack(&header, &[])).await
    }
}

/// An SDK error answer for a failed use case, with the SDK's code where it has one.
fn failure(e: gatehouse_core::Error) -> Content {
    let api = ApiError::from(e);
    let code = match api.code() {
        "forbidden" | "unauthorized" | "rejected" => code::PERMISSION_DENIED,
        "invalid_request" => code::INVALID_REQUEST,
        "not_found" => code::NOT_FOUND,
        "conflict" => code::CONFLICT,
        "timeout" => code::TIMEOUT,
        "unavailable" => code::INVALID_STATE,
        _ => code::OPERATION_FAILED,
    };
    Content::error(code, api.message())
}

fn unsupported(what: &str) -> Content {
    Content::error(
        code::NOT_FOUND,
        format!("{what} is not supported by Gatehouse, which serves the secrets toolkit and messaging"),
    )
}

/// A `room.invoke_tool` request: its toolkit, tool and input.
fn invocation(data: &[u8]) -> Result<(String, String, Content), Content> {
    let bad = |why: &str| Content::error(code::INVALID_REQUEST, why);
    let (header, binary) = payload::unpack(data).map_err(|e| bad(e.0))?;
    let text = |k: &str| header.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(toolkit), Some(tool)) = (text("toolkit"), text("tool")) else {
        return Err(bad("room.invoke_tool names a `toolkit` and a `tool`"));
    };
    let arguments = header
        .get("arguments")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(|| {
            let mut empty = Map::new();
            empty.insert("type".into(), "empty".into());
            empty
        });
    let input = Content::from_parts(&arguments, binary).map_err(|e| bad(e.0))?;
    Ok((toolkit, tool, input))
}

type Answers<'a> = FuturesUnordered<Pin<Box<dyn Future<Output = (u64, Content)> + Send + 'a>>>;

/// One SDK connection's state beside its socket.
struct Session<'a, 'p> {
    p: &'a Participant<'p>,
    unasked: Unasked,
    /// The client enabled messaging: it hears participants come and go.
    messaging: bool,
}

impl<'a> Session<'a, '_> {
    /// Handles one request: answers it at once, or queues a secrets call in `answers`.
    async fn request(
        &mut self,
        socket: &mut WebSocket,
        m: packets::Message,
        answers: &mut Answers<'a>,
    ) -> Result<(), Gone> {
        if m.kind != "room.invoke_tool" {
            let answer = unsupported(&format!("the {:?} request", m.kind));
            return send_message(socket, m.id, RESPONSE, &answer.pack()).await;
        }
        let answer = match invocation(&m.data) {
            Err(bad) => bad,
            Ok((toolkit, tool, input)) => match toolkit.as_str() {
                "secrets" if answers.len() >= MAX_IN_FLIGHT => Content::error(
                    code::INVALID_STATE,
                    format!("at most {MAX_IN_FLIGHT} secrets requests may be under way at once"),
                ),
                "secrets" => {
                    let p = self.p;
                    answers.push(Box::pin(async move { (m.id, secrets::invoke(p, &tool, input).await) }));
                    return Ok(());
                }
                "messaging" => return self.messaging(socket, m.id, &tool, input).await,
                other => unsupported(&format!("the {other:?} toolkit")),
            },
        };
        send_message(socket, m.id, RESPONSE, &answer.pack()).await
    }

    /// The `messaging` toolkit: presence (`enable`, `disable`) and `send` to one participant.
    async fn messaging(&mut self, socket: &mut WebSocket, id: u64, tool: &str, input: Content) -> Result<(), Gone> {
        let p = self.p;
        let answer = match tool {
            "enable" => match p.s.gh.room_participants(&p.me.room()).await {
                Ok(everyone) => {
                    self.messaging = true;
                    send_message(socket, id, RESPONSE, &Content::Empty.pack()).await?;
                    return self
                        .unasked
                        .send(socket, events::messaging_enabled(p.me, &everyone))
                        .await;
                }
                Err(e) => failure(e),
            },
            "disable" => {
                self.messaging = false;
                Content::Empty
            }
            "send" => match send_to_participant(p, input).await {
                Ok(()) => Content::Empty,
                Err(e) => e,
            },
            other => unsupported(&format!("the messaging tool {other:?}")),
        };
        send_message(socket, id, RESPONSE, &answer.pack()).await
    }
}

/// `messaging.send` from the SDK: `{to_participant_id, type, message_json}` to one participant.
async fn send_to_participant(p: &Participant<'_>, input: Content) -> Result<(), Content> {
    let bad = |why: &str| Content::error(code::INVALID_REQUEST, why);
    let Content::Json(v) = input else {
        return Err(bad("messaging.send takes JSON input"));
    };
    if !v["attachment_base64"].is_null() {
        return Err(unsupported("a message attachment"));
    }
    let to = v["to_participant_id"]
        .as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok());
    let kind = v["type"].as_str();
    let message = v["message_json"].as_str().and_then(|m| serde_json::from_str(m).ok());
    let (Some(to), Some(kind), Some(message)) = (to, kind, message) else {
        return Err(bad("messaging.send takes a participant id, a type and a JSON message"));
    };
    let message = events::outgoing_message(kind, message);
    p.s.gh
        .send_message(p.me, p.who, Some(to), None, message)
        .await
        .map_err(failure)
}

fn packet_close(e: PacketError) -> Close {
    match e {
        PacketError::TooLarge => TOO_LARGE,
        e => Close {
            code: 1002,
            reason: e.reason(),
        },
    }
}

/// Runs a joined SDK connection until it ends; what to close it with, if the peer can still
/// hear it. Keep-alive, expiry and closing are those of the JSON channel.
pub(super) async fn run(p: &Participant<'_>, socket: &mut WebSocket, m: Membership) -> Option<Close> {
    let Membership { mut frames, mut closed } = m;
    let mut session = Session {
        p,
        unasked: Unasked(0),
        messaging: false,
    };
    let url = room_url(&p.s.gh.provider_config().issuer, &p.me.room_name);
    let ready = events::room_ready(&p.me.room_name, &url, uuid::Uuid::new_v4());
    session.unasked.send(socket, ("room_ready", ready)).await.ok()?;
    session
        .unasked
        .send(socket, ("connected", events::connected(p.me)))
        .await
        .ok()?;
    let keepalive = p.s.room_keepalive;
    let mut ping = tokio::time::interval_at(Instant::now() + keepalive, keepalive);
    let silence = tokio::time::sleep(2 * keepalive);
    tokio::pin!(silence);
    let expired = tokio::time::sleep(p.s.gh.token_lifetime(p.who).unwrap_or(std::time::Duration::MAX));
    tokio::pin!(expired);
    let mut reader = Reassembler::new(MAX_MESSAGE_BYTES);
    let mut answers: Answers<'_> = FuturesUnordered::new();
    loop {
        tokio::select! {
            biased;
            _ = closed.changed() => return Some(closed.borrow().unwrap_or(Close::TOO_SLOW)),
            () = &mut expired => return Some(EXPIRED),
            () = &mut silence => return None,
            incoming = socket.recv() => {
                let msg = match room_channel::received(incoming) {
                    Ok(msg) => msg,
                    Err(end) => return end,
                };
                silence.as_mut().reset(Instant::now() + 2 * keepalive);
                match msg {
                    Message::Binary(packet) => match reader.push(&packet) {
                        Err(e) => return Some(packet_close(e)),
                        Ok(None) => {}
                        Ok(Some(request)) => session.request(socket, request, &mut answers).await.ok()?,
                    },
                    Message::Text(_) => return Some(TEXT),
                    Message::Ping(_) | Message::Pong(_) => {}
                    Message::Close(_) => return None,
                }
            }
            out = frames.recv() => match out {
                Some(frame) => {
                    if let Some(event) = events::translate(&frame, p.me.id.uuid(), session.messaging) {
                        session.unasked.send(socket, event).await.ok()?;
                    }
                }
                None => return Some(closed.borrow().unwrap_or(Close::TOO_SLOW)),
            },
            Some((id, answer)) = answers.next(), if !answers.is_empty() => {
                send_message(socket, id, RESPONSE, &answer.pack()).await.ok()?;
            }
            _ = ping.tick() => send(socket, Message::Ping(Default::default())).await.ok()?,
        }
    }
}
