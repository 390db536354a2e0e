//! The app backend's seat in the room: one room channel connection (SPEC §6.5), held by a
//! background task.
//!
//! The task mints a participant token with the project's API key, joins the room, files every
//! `secrets.request_oauth_token` event (SPEC §7.3) into the [`Prompts`], and sends the page's
//! answers as requests on the same connection. When the connection ends (a token expires after
//! an hour, Gatehouse restarts, the network drops) it mints a new token and joins again, with a
//! growing pause between attempts; prompts already listed stay answerable, since Gatehouse takes
//! an answer from any connection of the identity that was asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use futures::{SinkExt as _, StreamExt as _};
use gatehouse_client::{Client, Credential};
use gatehouse_types::{ConsentPrompt, CreateParticipantToken};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::prompts::Prompts;
use crate::{Line, Settings};

/// How long the page waits for Gatehouse to answer one request on the channel.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest pause between two attempts to join again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a request on the channel came back with.
type Answer = Result<Value, String>;

/// One request for the connection task to send.
struct Call {
    op: &'static str,
    body: Value,
    reply: oneshot::Sender<Answer>,
}

/// The page's way to send requests on the room channel. Cheap to clone.
#[derive(Clone)]
pub struct Room {
    calls: mpsc::Sender<Call>,
}

impl Room {
    /// Sends request `op` with `body` and waits for Gatehouse's answer: its body, or an error
    /// that says what went wrong (Gatehouse's code and message, or the connection's trouble).
    pub async fn call(&self, op: &'static str, body: Value) -> anyhow::Result<Value> {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send(Call { op, body, reply })
            .await
            .map_err(|_| anyhow!("the room connection has stopped"))?;
        match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
            Ok(Ok(Ok(body))) => Ok(body),
            Ok(Ok(Err(message))) => Err(anyhow!(message)),
            Ok(Err(_)) => bail!("the room connection closed before Gatehouse answered; try again"),
            Err(_) => bail!(
                "no answer from Gatehouse within {} s (is the room connection down?)",
                ANSWER_TIMEOUT.as_secs()
            ),
        }
    }
}

/// Joins the room once (so that a wrong setting fails here, at start) and spawns the task that
/// holds the connection from then on. The task runs until every [`Room`] handle is dropped.
pub async fn join(settings: &Settings, prompts: Arc<Mutex<Prompts>>) -> anyhow::Result<(Room, JoinHandle<()>)> {
    let seat = Seat::new(settings)?;
    let socket = seat.connect().await?;
    let (calls, queue) = mpsc::channel(16);
    let task = tokio::spawn(hold(seat, socket, queue, prompts));
    Ok((Room { calls }, task))
}

/// What it takes to join: where, as whom, and the client that mints the tokens.
struct Seat {
    client: Client,
    project_id: uuid::Uuid,
    room: String,
    identity: String,
    url: url::Url,
}

impl Seat {
    fn new(settings: &Settings) -> anyhow::Result<Self> {
        let client = Client::new(&settings.gatehouse_url, Some(Credential::new(&settings.api_key)))
            .context("the Gatehouse URL or the API key")?;
        Ok(Self {
            client,
            project_id: settings.project_id,
            room: settings.room.clone(),
            identity: settings.identity.clone(),
            url: channel_url(&settings.gatehouse_url, &settings.room)?,
        })
    }

    /// Mints a participant token and joins the room; the socket after `room_ready`.
    async fn connect(&self) -> anyhow::Result<Socket> {
        let request = CreateParticipantToken {
            name: self.identity.clone(),
            room_name: Some(self.room.clone()),
            role: Some("user".into()),
            // The preset includes the `secrets` surface the answers need (SPEC §6.2).
            api: Some(json!("user_default")),
            ..CreateParticipantToken::default()
        };
        let token = self
            .client
            .mint_participant_token(self.project_id, &request)
            .await
            .context("minting a participant token with the API key")?
            .token;
        let mut request = self.url.as_str().into_client_request()?;
        let bearer = HeaderValue::from_str(&format!("Bearer {token}")).context("the minted token")?;
        request.headers_mut().insert(header::AUTHORIZATION, bearer);
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| match e {
                WsError::Http(response) => anyhow!("Gatehouse refused the room connection: {}", response.status()),
                other => anyhow!(other),
            })
            .with_context(|| format!("joining {}", self.url))?;
        let ready = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .context("no room_ready frame within 10 s")?;
        let ready: Value = match ready {
            Some(Ok(Message::Text(text))) => serde_json::from_str(text.as_str())?,
            other => bail!("expected the room_ready frame, got {other:?}"),
        };
        if ready["type"] != "room_ready" {
            bail!("expected the room_ready frame, got {ready}");
        }
        crate::print_line(&Line::Joined {
            room: &self.room,
            identity: &self.identity,
            participant_id: ready["participant_id"].as_str().unwrap_or_default(),
        });
        Ok(socket)
    }
}

/// `http://host:port` → `ws://host:port/rooms/{room}`.
fn channel_url(gatehouse: &str, room: &str) -> anyhow::Result<url::Url> {
    let mut url = url::Url::parse(gatehouse).with_context(|| format!("the Gatehouse URL {gatehouse:?}"))?;
    match url.scheme() {
        "http" => url
            .set_scheme("ws")
            .map_err(|()| anyhow!("cannot make a ws:// URL of {gatehouse}"))?,
        "https" => bail!(
            "this example speaks plain ws:// only (its WebSocket client is built without TLS); \
             give an http:// Gatehouse URL, e.g. a local `gatehouse serve`"
        ),
        other => bail!("the Gatehouse URL must be http://…, not {other}://"),
    }
    url.path_segments_mut()
        .map_err(|()| anyhow!("the Gatehouse URL {gatehouse:?} cannot have a path"))?
        .pop_if_empty()
        .extend(["rooms", room]);
    Ok(url)
}

/// The connection task: serves the socket, and joins again whenever it ends.
async fn hold(seat: Seat, mut socket: Socket, mut queue: mpsc::Receiver<Call>, prompts: Arc<Mutex<Prompts>>) {
    loop {
        let reason = match serve(&mut socket, &mut queue, &prompts).await {
            Ended::Lost(reason) => reason,
            Ended::Unused => return,
        };
        eprintln!("room connection lost ({reason}); joining again");
        let mut pause = Duration::from_secs(1);
        socket = loop {
            tokio::time::sleep(pause).await;
            if queue.is_closed() {
                return;
            }
            match seat.connect().await {
                Ok(socket) => break socket,
                Err(e) => {
                    eprintln!("joining the room failed: {e:#}; trying again in {} s", pause.as_secs());
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
            }
        };
    }
}

/// Why [`serve`] returned.
enum Ended {
    /// The socket ended; join again.
    Lost(String),
    /// Nobody can send requests any more: the app is gone.
    Unused,
}

/// Reads frames (events, answers; pongs go out as tungstenite reads) and sends the queued
/// requests, until the socket ends.
async fn serve(socket: &mut Socket, queue: &mut mpsc::Receiver<Call>, prompts: &Mutex<Prompts>) -> Ended {
    // Requests sent on this socket, by id, waiting for their answer. Dropped with the socket, so
    // their callers hear the connection closed.
    let mut waiting: HashMap<u64, oneshot::Sender<Answer>> = HashMap::new();
    let mut next_id: u64 = 1;
    loop {
        tokio::select! {
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => on_frame(text.as_str(), &mut waiting, prompts),
                Some(Ok(Message::Close(close))) => {
                    return Ended::Lost(close.map_or_else(
                        || "closed".to_owned(),
                        |c| format!("closed with {}: {}", u16::from(c.code), c.reason),
                    ));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Ended::Lost(e.to_string()),
                None => return Ended::Lost("closed".into()),
            },
            call = queue.recv() => {
                let Some(call) = call else {
                    let _ = socket.close(None).await;
                    return Ended::Unused;
                };
                // The page stopped waiting (timed out): an answer sent now would surprise it.
                if call.reply.is_closed() {
                    continue;
                }
                let id = next_id;
                next_id += 1;
                let frame = json!({ "id": id, "type": call.op, "body": call.body });
                if let Err(e) = socket.send(Message::Text(frame.to_string().into())).await {
                    let _ = call.reply.send(Err(format!("sending on the room channel failed: {e}")));
                    return Ended::Lost(e.to_string());
                }
                waiting.insert(id, call.reply);
            }
        }
    }
}

/// One text frame from Gatehouse: an answer to one of our requests, or an event.
fn on_frame(text: &str, waiting: &mut HashMap<u64, oneshot::Sender<Answer>>, prompts: &Mutex<Prompts>) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        eprintln!("ignoring a frame that is not JSON");
        return;
    };
    if let Some(id) = frame.get("id").and_then(Value::as_u64) {
        if let Some(reply) = waiting.remove(&id) {
            let answer = if frame["ok"] == true {
                Ok(frame["body"].clone())
            } else {
                let error = &frame["error"];
                Err(format!(
                    "Gatehouse answered {}: {}",
                    error["code"].as_str().unwrap_or("an error"),
                    error["message"].as_str().unwrap_or("")
                ))
            };
            let _ = reply.send(answer);
        }
        return;
    }
    if frame["type"] != "secrets.request_oauth_token" {
        return;
    }
    match serde_json::from_value::<ConsentPrompt>(frame["body"].clone()) {
        Ok(prompt) => {
            let added = prompts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add(prompt.clone(), OffsetDateTime::now_utc());
            if let Some(n) = added {
                crate::print_line(&Line::Prompt {
                    prompt: n,
                    requested_by: &prompt.requested_by.name,
                    provider: crate::provider_host(&prompt.request.authorization_endpoint),
                    client_id: &prompt.request.client_id,
                    scopes: &prompt.request.scopes,
                    expires_at: &prompt.expires_at,
                });
            }
        }
        Err(e) => eprintln!("ignoring a consent prompt of an unexpected shape: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_url_is_under_the_gatehouse_url() {
        let url = channel_url("http://127.0.0.1:8080", "demo").expect("a URL");
        assert_eq!(url.as_str(), "ws://127.0.0.1:8080/rooms/demo");
        let url = channel_url("http://gate.example/base/", "demo").expect("a URL");
        assert_eq!(url.as_str(), "ws://gate.example/base/rooms/demo");
        assert!(channel_url("https://gate.example", "demo").is_err());
        assert!(channel_url("not a url", "demo").is_err());
    }
}
