//! Rooms (SPEC §6): the stored room and room-grant records, the participants connected to a room,
//! and the per-node [`Hub`] that holds this node's connections and delivers events to them.

mod hub;
pub mod sdk;

pub use hub::{Close, Hub, Membership, RoomKey};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{ApiKeyId, NodeId, ParticipantId, ProjectId, UserId};
use crate::secret::SecretString;
use crate::time::Timestamp;

/// A room of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub project_id: ProjectId,
    pub name: String,
    pub metadata: Map<String, Value>,
    pub created_at: Timestamp,
}

/// What a user gets when they connect to a room through the server (SPEC §6.3): an `ApiScope`,
/// kept exactly as given.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomGrant {
    pub project_id: ProjectId,
    pub room_name: String,
    pub user_id: UserId,
    /// The user's email, read with the grant.
    pub email: String,
    pub permissions: Map<String, Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A grant to create or replace (SPEC §6.3): the user named by id or by email (exactly one), and
/// the permissions as given, an `ApiScope` object or the name of a preset.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantRequest {
    pub room_name: String,
    pub user_id: Option<UserId>,
    pub email: Option<String>,
    pub permissions: Value,
}

/// What `connect` hands a user (SPEC §6.3): a participant token for the room, and where to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomConnection {
    /// The participant token, with the `ApiScope` of the user's grant.
    pub token: SecretString,
    pub room_name: String,
    pub project_id: ProjectId,
    /// The room channel's WebSocket URL.
    pub room_url: String,
}

/// The room channel's WebSocket URL under `issuer` (`https` becomes `wss`, `http` becomes `ws`).
pub fn room_url(issuer: &str, room: &str) -> String {
    let ws = match issuer.strip_prefix("http") {
        Some(rest) => format!("ws{rest}"),
        None => issuer.to_owned(),
    };
    format!("{ws}/rooms/{room}")
}

/// A participant: one live connection to a room, as every node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub id: ParticipantId,
    pub project_id: ProjectId,
    pub room_name: String,
    /// The token's `name`: the participant's identity.
    pub name: String,
    pub role: String,
    /// The API key that signed the participant's token.
    pub api_key_id: ApiKeyId,
    /// The node holding the connection.
    pub node_id: NodeId,
    pub connected_at: Timestamp,
}

impl Presence {
    /// The room this participant is in.
    pub fn room(&self) -> RoomKey {
        RoomKey::new(self.project_id, &self.room_name)
    }

    /// How room events name this participant (SPEC §6.5: `participant_joined`,
    /// `participant_left`, the sender of `messaging.message`).
    pub fn in_event(&self) -> EventParticipant<'_> {
        EventParticipant {
            participant_id: self.id.uuid(),
            name: &self.name,
            role: &self.role,
            connected_at: self.connected_at.rfc3339(),
        }
    }
}

/// A participant as room events carry it: the same members, in the same order, as a participant
/// in the REST list of a room's participants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventParticipant<'a> {
    pub participant_id: uuid::Uuid,
    pub name: &'a str,
    pub role: &'a str,
    pub connected_at: String,
}

/// Who in a room an event is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Audience {
    /// Everyone in the room, except perhaps one participant (the one the event is about).
    Room { except: Option<uuid::Uuid> },
    /// One participant.
    Participant { id: uuid::Uuid },
    /// Every connection of one identity (the token's `name`).
    Identity { name: String },
}

impl Audience {
    /// Whether `p` is in the audience.
    pub fn includes(&self, p: &Presence) -> bool {
        match self {
            Self::Room { except } => *except != Some(p.id.uuid()),
            Self::Participant { id } => p.id.uuid() == *id,
            Self::Identity { name } => p.name == *name,
        }
    }
}

/// An event frame on its way to participants of one room on other nodes (SPEC §6.5: events and
/// answers cross nodes through the notification channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomNotice {
    /// The node that sent it, which has delivered it to its own participants already.
    pub origin: uuid::Uuid,
    pub project_id: uuid::Uuid,
    pub room_name: String,
    pub to: Audience,
    /// The frame's JSON text, as participants receive it.
    pub frame: String,
}

/// The JSON text of an event frame: `{"type": …, "body": …}`.
pub fn event_frame(kind: &str, body: &impl Serialize) -> crate::Result<String> {
    #[derive(Serialize)]
    struct Event<'a, B> {
        #[serde(rename = "type")]
        kind: &'a str,
        body: &'a B,
    }
    serde_json::to_string(&Event { kind, body }).map_err(crate::Error::unexpected)
}
