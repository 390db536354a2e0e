//! Participant tokens (SPEC §6.3).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One grant of a participant token: `room`, `role`, `api`, `site` or `agent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantGrant {
    pub name: String,
    /// The room name, the role, an `ApiScope` object, …
    #[schema(value_type = Object)]
    pub scope: serde_json::Value,
}

/// `POST /accounts/projects/{project_id}/participant-tokens`: either `room_name`, `role` and `api`,
/// or `grants`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateParticipantToken {
    /// The participant's identity.
    #[schema(schema_with = crate::text::participant_name)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_name: Option<String>,
    /// `user` (default), `agent` or `tool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// An `ApiScope` object (members absent deny their surface, `{}` allows with defaults), or
    /// the name of a preset: `user_default`, `agent_default` or `full`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub api: Option<serde_json::Value>,
    /// The grants themselves, instead of `room_name`, `role` and `api`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<ParticipantGrant>>,
    /// Lifetime, 1 s to 30 days (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 2_592_000)]
    pub ttl_seconds: Option<u32>,
}

/// A participant token (an HS256 JWT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantToken {
    pub token: String,
}

/// `POST /api/participant-token/validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateParticipantToken {
    pub token: String,
}
