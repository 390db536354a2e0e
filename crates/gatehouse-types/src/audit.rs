//! The audit log of administrative changes and secret access (SPEC §9.7).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One audit event: who did what to which object, when. Never a secret value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: String,
    /// `api_key` or `user` (or `system` for first-start bootstrap).
    pub actor_type: String,
    pub actor_id: String,
    /// Dotted verb, e.g. `client.create`, `client.secret.rotate`, `api_key.revoke`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// Non-secret detail, e.g. the fields an update changed.
    pub details: serde_json::Value,
}

/// `GET /accounts/projects/{project_id}/audit`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    pub events: Vec<AuditEvent>,
    pub total: u64,
}
