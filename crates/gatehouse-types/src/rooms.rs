//! Rooms, room grants, `connect` and the participants of a room (SPEC §6.3, §6.5).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /accounts/projects/{project_id}/rooms`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    /// 1–63 characters of `a-z`, `0-9` and `-`, not starting or ending with `-`.
    #[schema(schema_with = crate::text::room_name)]
    pub name: String,
    /// Return the existing room (200) instead of 409 when the name is taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_not_exists: Option<bool>,
    /// Any JSON object without NUL in a key or string, at most 16 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::text::JsonObject>)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoomInfo {
    pub name: String,
    pub project_id: Uuid,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub created_at: String,
}

/// `GET /accounts/projects/{project_id}/rooms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoomList {
    pub rooms: Vec<RoomInfo>,
    /// Rooms in the project, across all pages.
    pub total: u64,
}

/// Query of the room list: `limit` (1–1000, default 100) and `offset`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoomListQuery {
    /// Page size, 1–1000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Rows to skip (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    pub offset: Option<u64>,
}

/// Query of the room-grant list: one room's grants (`room_name`) or all, `limit` and `offset`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoomGrantQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_name: Option<String>,
    /// Page size, 1–1000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Rows to skip (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    pub offset: Option<u64>,
}

/// `POST /accounts/projects/{project_id}/room-grants`: creates or replaces the grant of one user
/// (by `user_id` or `email`) in one room.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoomGrant {
    #[schema(schema_with = crate::text::room_name)]
    pub room_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::text::email_ref)]
    pub email: Option<String>,
    /// An `ApiScope` object, stored and handed out exactly as given, or the name of a preset:
    /// `user_default`, `agent_default` or `full`.
    #[schema(value_type = Object)]
    pub permissions: serde_json::Value,
}

/// A room grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoomGrantInfo {
    pub room_name: String,
    pub user_id: Uuid,
    pub email: String,
    #[schema(value_type = Object)]
    pub permissions: serde_json::Map<String, serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /accounts/projects/{project_id}/room-grants`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoomGrantList {
    pub grants: Vec<RoomGrantInfo>,
    /// Grants matching the query, across all pages.
    pub total: u64,
}

/// `POST /accounts/projects/{project_id}/rooms/{room_name}/connect` takes `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRoom {}

/// What a signed-in user connects to a room with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomConnection {
    /// A participant token for this room, with the `ApiScope` of the user's grant.
    pub jwt: String,
    pub room_name: String,
    pub project_id: Uuid,
    /// The room channel's WebSocket URL.
    pub room_url: String,
}

/// One participant of a room: the items of `GET /rooms/{room_name}/participants` and of the body
/// of `participants.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Participant {
    pub participant_id: Uuid,
    /// The participant's identity (the token's `name`).
    pub name: String,
    pub role: String,
    pub connected_at: String,
}

/// Body of the room channel's `messaging.send` request: `message` goes to one participant
/// (`participant_id`) or to every connection of one identity (`name`), as a `messaging.message`
/// event `{from, message}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub message: serde_json::Value,
}
