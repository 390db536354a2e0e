//! Rooms (SPEC §6): the stored room and room-grant records, the participants connected to a room,
//! and the per-node [`Hub`] that holds this node's connections and delivers events to them.

mod hub;

pub use hub::{Close, Hub, Membership, RoomKey};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{ApiKeyId, NodeId, ParticipantId, ProjectId, UserId};
use crate::time::Timestamp;

/// A room of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub project_id: ProjectId,
    pub name: String,
    pub metadata: Map<String, Value>,
    pub created_at: Timestamp,
}

impl Room {
    /// The wire shape.
    pub fn to_dto(&self) -> gatehouse_types::RoomInfo {
        gatehouse_types::RoomInfo {
            name: self.name.clone(),
            project_id: self.project_id.uuid(),
            metadata: self.metadata.clone(),
            created_at: self.created_at.rfc3339(),
        }
    }
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

impl RoomGrant {
    /// The wire shape.
    pub fn to_dto(&self) -> gatehouse_types::RoomGrantInfo {
        gatehouse_types::RoomGrantInfo {
            room_name: self.room_name.clone(),
            user_id: self.user_id.uuid(),
            email: self.email.clone(),
            permissions: self.permissions.clone(),
            created_at: self.created_at.rfc3339(),
            updated_at: self.updated_at.rfc3339(),
        }
    }
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

    /// The wire shape (`participants.list`, events).
    pub fn to_dto(&self) -> gatehouse_types::Participant {
        gatehouse_types::Participant {
            participant_id: self.id.uuid(),
            name: self.name.clone(),
            role: self.role.clone(),
            connected_at: self.connected_at.rfc3339(),
        }
    }
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
