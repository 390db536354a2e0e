//! External OAuth registrations: third-party providers used by the room broker (SPEC §4.5).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use uuid::Uuid;

use crate::secret::SecretString;

/// Endpoints and options of a third-party provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalOAuthEndpoints {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Expected `iss` of authorization responses (RFC 9207).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_pkce: Option<bool>,
}

/// Create or replace a registration. `client_secret` is write-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalOAuthInput {
    pub name: String,
    pub oauth: ExternalOAuthEndpoints,
    pub client_id: String,
    /// Stored encrypted; never returned. On update, absent keeps the stored secret and `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<SecretString>,
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegated_to: Option<String>,
}

/// A stored registration as every read returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExternalOAuthRegistration {
    pub id: Uuid,
    pub project_id: Uuid,
    /// Set for room-scoped registrations.
    pub room_name: Option<String>,
    pub name: String,
    pub oauth: ExternalOAuthEndpoints,
    pub client_id: String,
    pub has_client_secret: bool,
    pub redirect_uris: Vec<String>,
    pub delegated_to: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET …/external-oauth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExternalOAuthList {
    pub registrations: Vec<ExternalOAuthRegistration>,
}
