//! The room channel (SPEC §6.4, §6.5): `GET /rooms/{room_name}` upgraded to a WebSocket of JSON
//! text frames, and the room's participants over REST.
//!
//! Every entry point takes the participant token from `Authorization: Bearer`, else `?token=`,
//! else a `Sec-WebSocket-Protocol` entry `bearer.<token>` ([`RoomToken`]), and refuses anything
//! but a valid token with a grant for the room with 401 before upgrading.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use gatehouse_core::Error;
use gatehouse_core::participant::Verified;
use gatehouse_core::rooms::{Close, Membership, Presence, RoomKey};
use gatehouse_types as t;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{room_sdk, room_secrets};
use crate::dto::participant_dto;
use crate::error::{ApiError, ApiResult};
use crate::extract::{BEARER_PROTOCOL, Json, Path, RoomToken, offered_protocols};
use crate::state::AppState;

/// Largest frame a participant may send; a larger one closes the connection (1009).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// How long a send to a participant may wait on its socket before the participant counts as gone.
pub(super) const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// `secrets.*` requests a connection may have under way at once (a consent request waits for
/// minutes, so they run side by side); more are answered `too_many_requests` at once.
pub(super) const MAX_IN_FLIGHT: usize = 32;
/// How long the close frame may take: a peer that does not read gets no more time than this.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The subprotocol of the room channel; a client that offers subprotocols should offer it.
pub const PROTOCOL: &str = "gatehouse.room.v1";
/// The subprotocol to answer with, wherever the token came from: [`PROTOCOL`] when offered;
/// else, when the client offered only a `bearer.` entry, that entry (a browser fails a handshake
/// whose protocol it did not offer, and has no other way to send the token); else none.
fn chosen_protocol(headers: &HeaderMap) -> Option<String> {
    let offered: Vec<&str> = offered_protocols(headers).collect();
    if offered.contains(&PROTOCOL) {
        return Some(PROTOCOL.to_owned());
    }
    match offered.as_slice() {
        [only] if only.starts_with(BEARER_PROTOCOL) => Some((*only).to_owned()),
        _ => None,
    }
}

/// Join a room: upgrades to the room channel, or to the MeshAgent SDK's protocol when the URL
/// carries the SDK's `v` parameter ([`room_sdk::speaks_sdk`]). The first message is `room_ready`.
#[utoipa::path(get, operation_id = "room_channel_join", path = "/rooms/{room_name}", tag = "rooms", security(("participant" = []), ("participant_query" = [])),
    responses((status = 101, description = "the room channel"), (status = 400, body = t::ErrorBody), (status = 401, body = t::ErrorBody)))]
pub async fn join(
    State(s): State<Arc<AppState>>,
    Path(room): Path<String>,
    token: RoomToken,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let verified = token.admit(&s, &room).await?;
    let upgrade = upgrade.map_err(|e| ApiError::bad_request(format!("the room channel is a WebSocket: {e}")))?;
    let sdk = room_sdk::speaks_sdk(query.as_deref(), &headers)?;
    let upgrade = match chosen_protocol(&headers) {
        Some(p) => upgrade.protocols([p]),
        None => upgrade,
    };
    Ok(upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // Small buffers: a node holds thousands of mostly idle connections.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(if sdk { room_sdk::WRITE_BUFFER_BYTES } else { 0 })
        .on_upgrade(move |socket| serve(s, socket, verified, room, sdk))
        .into_response())
}

/// The participants of a room on every node, oldest first.
#[utoipa::path(get, operation_id = "room_channel_participants", path = "/rooms/{room_name}/participants", tag = "rooms", security(("participant" = []), ("participant_query" = [])),
    responses((status = 200, body = Vec<t::Participant>), (status = 401, body = t::ErrorBody)))]
pub async fn participants(
    State(s): State<Arc<AppState>>,
    Path(room): Path<String>,
    token: RoomToken,
) -> ApiResult<Json<Vec<t::Participant>>> {
    let verified = token.admit(&s, &room).await?;
    let key = RoomKey::new(verified.project_id, &room);
    Ok(Json(participant_list(&s, &key).await?))
}

async fn participant_list(s: &AppState, room: &RoomKey) -> gatehouse_core::Result<Vec<t::Participant>> {
    Ok(s.gh
        .room_participants(room)
        .await?
        .iter()
        .map(participant_dto)
        .collect())
}

/// One connection: joins, answers requests and forwards events until either side closes, then
/// leaves the room. `sdk`: the connection speaks the MeshAgent SDK's protocol.
async fn serve(s: Arc<AppState>, mut socket: WebSocket, who: Verified, room: String, sdk: bool) {
    let (me, membership) = match s.gh.join_room(&who, &room).await {
        Ok(joined) => joined,
        Err(e) => {
            let why = match e {
                gatehouse_core::Error::Unavailable(_) => Close::SHUTDOWN,
                e => {
                    tracing::error!(error = %e, "joining a room failed");
                    Close {
                        code: 1011,
                        reason: "the room is unavailable; try again",
                    }
                }
            };
            send_close(&mut socket, why).await;
            return;
        }
    };
    let ctx = Participant {
        s: &s,
        who: &who,
        me: &me,
    };
    let ended = if sdk {
        room_sdk::run(&ctx, &mut socket, membership).await
    } else {
        run(&ctx, &mut socket, membership).await
    };
    if let Some(why) = ended {
        send_close(&mut socket, why).await;
    }
    s.gh.leave_room(&me).await;
}

async fn send_close(socket: &mut WebSocket, why: Close) {
    let frame = CloseFrame {
        code: why.code,
        reason: why.reason.into(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

/// A joined participant: what its requests are answered with.
pub(super) struct Participant<'a> {
    pub(super) s: &'a AppState,
    pub(super) who: &'a Verified,
    pub(super) me: &'a Presence,
}

/// The connection ended without anything left to say (the peer closed or is unreachable).
pub(super) struct Gone;

pub(super) const EXPIRED: Close = Close {
    code: 1008,
    reason: "the participant token expired",
};

/// Runs a joined connection until it ends; what to close it with, if the peer can still hear it.
async fn run(p: &Participant<'_>, socket: &mut WebSocket, m: Membership) -> Option<Close> {
    let Membership { mut frames, mut closed } = m;
    let ready = json!({
        "type": "room_ready",
        "room_name": p.me.room_name,
        "session_id": uuid::Uuid::new_v4(),
        "participant_id": p.me.id.uuid(),
    });
    send(socket, Message::Text(ready.to_string().into())).await.ok()?;
    let keepalive = p.s.room_keepalive;
    let mut ping = tokio::time::interval_at(Instant::now() + keepalive, keepalive);
    // Silent for two periods: the socket is dead (SPEC §6.5: gone within 30 s).
    let silence = tokio::time::sleep(2 * keepalive);
    tokio::pin!(silence);
    // The connection lasts no longer than its token.
    let expired = tokio::time::sleep(p.s.gh.token_lifetime(p.who).unwrap_or(Duration::MAX));
    tokio::pin!(expired);
    // Secrets requests run side by side, each answered when done: a consent wait delays nothing
    // else. Other requests are answered in order.
    let mut answers: FuturesUnordered<Pin<Box<dyn Future<Output = String> + Send + '_>>> = FuturesUnordered::new();
    loop {
        tokio::select! {
            biased;
            // A reason, or none when the hub dropped a participant that fell behind.
            _ = closed.changed() => return Some(closed.borrow().unwrap_or(Close::TOO_SLOW)),
            () = &mut expired => return Some(EXPIRED),
            () = &mut silence => return None,
            incoming = socket.recv() => {
                let msg = match received(incoming) {
                    Ok(msg) => msg,
                    Err(end) => return end,
                };
                silence.as_mut().reset(Instant::now() + 2 * keepalive);
                match msg {
                    Message::Text(text) => {
                        let (id, op, body) = match parse_request(text.as_str()) {
                            Ok(request) => request,
                            Err(why) => return Some(why),
                        };
                        if !op.starts_with("secrets.") {
                            // Quick operations answer in order (messages keep their order).
                            let answer = reply(&id, p.operation(&op, body).await);
                            send(socket, Message::Text(answer.into())).await.ok()?;
                        } else if answers.len() >= MAX_IN_FLIGHT {
                            let busy = ("too_many_requests", format!("at most {MAX_IN_FLIGHT} secrets requests may be under way at once"));
                            send(socket, Message::Text(reply(&id, Err(busy)).into())).await.ok()?;
                        } else {
                            answers.push(Box::pin(async move { reply(&id, p.operation(&op, body).await) }));
                        }
                    }
                    Message::Binary(_) => return Some(BINARY),
                    Message::Ping(_) | Message::Pong(_) => {}
                    Message::Close(_) => return None,
                }
            }
            out = frames.recv() => match out {
                Some(frame) => send(socket, Message::Text(frame.as_ref().into())).await.ok()?,
                None => return Some(closed.borrow().unwrap_or(Close::TOO_SLOW)),
            },
            Some(answer) = answers.next(), if !answers.is_empty() => {
                send(socket, Message::Text(answer.into())).await.ok()?;
            }
            _ = ping.tick() => send(socket, Message::Ping(Default::default())).await.ok()?,
        }
    }
}

pub(super) async fn send(socket: &mut WebSocket, msg: Message) -> Result<(), Gone> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(Gone),
    }
}

pub(super) const TOO_LARGE: Close = Close {
    code: 1009,
    reason: "a frame is at most 65536 bytes",
};
const BINARY: Close = Close {
    code: 1003,
    reason: "binary frames are not supported; send JSON text",
};
const NOT_JSON: Close = Close {
    code: 1007,
    reason: "frames are JSON text",
};
const NOT_A_REQUEST: Close = Close {
    code: 1008,
    reason: "unknown frame: requests are {\"id\": <number>, \"type\": <operation>, \"body\": {...}}",
};

/// A request frame's id, operation and body, or why to close.
pub fn parse_request(text: &str) -> Result<(Value, String, Value), Close> {
    let mut frame: Value = serde_json::from_str(text).map_err(|_| NOT_JSON)?;
    let (Some(id), Some(op)) = (
        frame.get("id").filter(|id| id.is_number()).cloned(),
        frame.get("type").and_then(Value::as_str).map(str::to_owned),
    ) else {
        return Err(NOT_A_REQUEST);
    };
    let body = frame.get_mut("body").map(Value::take).unwrap_or(Value::Null);
    Ok((id, op, body))
}

/// The response frame to request `id`.
fn reply(id: &Value, outcome: Result<Value, (&'static str, String)>) -> String {
    match outcome {
        Ok(body) => json!({ "id": id, "ok": true, "body": body }),
        Err((code, message)) => json!({ "id": id, "ok": false, "error": { "code": code, "message": message } }),
    }
    .to_string()
}

impl Participant<'_> {
    /// Runs one operation: its response body, or an error code and message.
    async fn operation(&self, op: &str, body: Value) -> Result<Value, (&'static str, String)> {
        let result = match op {
            "participants.list" => participant_list(self.s, &self.me.room())
                .await
                .and_then(|list| serde_json::to_value(list).map_err(Error::unexpected)),
            "messaging.send" => match serde_json::from_value::<t::SendMessage>(body) {
                Ok(req) => self
                    .s
                    .gh
                    .send_message(self.me, self.who, req.participant_id, req.name, req.message)
                    .await
                    .map(|()| json!({})),
                Err(e) => Err(Error::invalid("body", e.to_string())),
            },
            _ => match op.strip_prefix("secrets.") {
                Some(secrets_op) => {
                    let room = &self.me.room_name;
                    match room_secrets::operation(self.s, self.who, room, Some(self.me.id), secrets_op, body).await {
                        Some(answer) => answer,
                        None => return Err(("unknown_operation", format!("unknown operation {op:?}"))),
                    }
                }
                None => return Err(("unknown_operation", format!("unknown operation {op:?}"))),
            },
        };
        result.map_err(|e| {
            let api = ApiError::from(e);
            (api.code(), api.message().to_owned())
        })
    }
}

/// A received frame, or how the connection ends: closed with a reason (a frame over the limit,
/// which the WebSocket layer itself refuses), or gone.
pub(super) fn received(incoming: Option<Result<Message, axum::Error>>) -> Result<Message, Option<Close>> {
    match incoming {
        Some(Ok(msg)) => Ok(msg),
        Some(Err(e)) if is_capacity(&e) => Err(Some(TOO_LARGE)),
        Some(Err(_)) | None => Err(None),
    }
}

fn is_capacity(e: &axum::Error) -> bool {
    use std::error::Error as _;
    e.source()
        .and_then(|s| s.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}
