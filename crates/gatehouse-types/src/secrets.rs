//! Project secrets: encrypted key/value sets and registry credentials (SPEC §7.6).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Create or update a project secret. `type` is `keys` (a JSON map of environment variables) or
/// `docker` (`{server, username, password, email}`); `data_base64` is that JSON, base64-encoded.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSecretInput {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data_base64: String,
}

impl std::fmt::Debug for ProjectSecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectSecretInput")
            .field("name", &self.name)
            .field("type", &self.kind)
            .field("data_base64", &"[redacted]")
            .finish()
    }
}

/// A project secret's metadata, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProjectSecretInfo {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET …/secrets/{id}`: metadata and the decrypted data (developers and admins only).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProjectSecret {
    #[serde(flatten)]
    pub info: ProjectSecretInfo,
    pub data_base64: String,
}

impl std::fmt::Debug for ProjectSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectSecret")
            .field("info", &self.info)
            .field("data_base64", &"[redacted]")
            .finish()
    }
}

/// `GET …/secrets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProjectSecretList {
    pub secrets: Vec<ProjectSecretInfo>,
}
