//! Project secrets: encrypted key/value sets and registry credentials (SPEC §7.6).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::secret::SecretString;
use uuid::Uuid;

/// Create or update a project secret. `type` is `keys` (a JSON map of environment variables) or
/// `docker` (`{server, username, password, email}`); `data_base64` is that JSON, base64-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSecretInput {
    #[schema(schema_with = crate::text::name)]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = String)]
    pub data_base64: SecretString,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProjectSecret {
    #[serde(flatten)]
    pub info: ProjectSecretInfo,
    #[schema(value_type = String)]
    pub data_base64: SecretString,
}

/// `GET …/secrets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProjectSecretList {
    pub secrets: Vec<ProjectSecretInfo>,
}
