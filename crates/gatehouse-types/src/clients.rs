//! The OAuth client registry (SPEC §4).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use uuid::Uuid;

use crate::secret::SecretString;

/// A registered OAuth client as every read returns it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OAuthClient {
    pub client_id: String,
    pub project_id: Uuid,
    pub name: String,
    pub enabled: bool,
    pub client_uri: Option<String>,
    /// The app's logo, shown on its sign-in and consent pages (RFC 7591 §2).
    pub logo_uri: Option<String>,
    /// The app's privacy policy, linked from its sign-in and consent pages (RFC 7591 §2).
    pub policy_uri: Option<String>,
    /// The app's terms of service, linked from its sign-in and consent pages (RFC 7591 §2).
    pub tos_uri: Option<String>,
    pub require_client_secret: bool,
    /// Whether a secret is currently set (confidential clients).
    pub has_client_secret: bool,
    pub token_endpoint_auth_method: String,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub allowed_cors_origins: Vec<String>,
    /// Space-separated allowed scopes.
    pub scope: String,
    pub offline_access: bool,
    pub require_pkce: bool,
    pub access_token_ttl: u32,
    pub refresh_token_ttl: u32,
    pub id_token_ttl: u32,
    pub refresh_grace_seconds: u32,
    pub id_token_signed_response_alg: String,
    pub revoke_on_logout: bool,
    pub metadata: BTreeMap<String, String>,
    /// The API resource (its identifier) tokens are for when a request names none (RFC 8707).
    pub default_resource: Option<String>,
    /// The API resources (identifiers) a token exchange by this client may issue tokens for
    /// (RFC 8693).
    #[serde(default)]
    pub token_exchange_resources: Vec<String>,
    /// Created by the server itself at first start (SPEC §4.7).
    pub official: bool,
    pub created_at: String,
    pub updated_at: String,
    pub secret_rotated_at: Option<String>,
}

/// A client together with its freshly generated secret: the create response only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientWithSecret {
    #[serde(flatten)]
    pub client: OAuthClient,
    /// Present for confidential clients; shown once.
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<SecretString>,
}

/// `POST …/oauth/clients` → 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedClient {
    pub client: ClientWithSecret,
}

/// `GET`/`PUT …/oauth/clients/{client_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientResponse {
    pub client: OAuthClient,
}

/// `GET …/oauth/clients`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<OAuthClient>,
    /// Number of clients matching the filter, across all pages.
    pub total: u64,
}

/// Body of create (`name` required) and update (any subset; `client_id` must equal the path's).
///
/// On update, `client_uri: null` (likewise `logo_uri`, `policy_uri`, `tos_uri`) clears the URI;
/// an absent field is left unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_uri: Option<Option<String>>,
    /// The app's logo: absolute https URL (http only on loopback), on a host named by domain or IPv4.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub logo_uri: Option<Option<String>>,
    /// The app's privacy policy: absolute https URL (http only on loopback).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub policy_uri: Option<Option<String>>,
    /// The app's terms of service: absolute https URL (http only on loopback).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub tos_uri: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_client_secret: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_cors_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_access: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pkce: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_ttl: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_grace_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_on_logout: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// The identifier of one of the project's API resources; `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_resource: Option<String>,
    /// Identifiers of the project's API resources a token exchange may issue tokens for; `[]`
    /// allows none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_exchange_resources: Option<Vec<String>>,
}

/// Distinguishes an explicit `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `POST …/oauth/clients/{client_id}/secret`: `{}` lets the server generate the secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetClientSecret {
    /// Caller-chosen secret, at least 32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<SecretString>,
    /// Keep the previous secret valid for this many seconds (default 0, at most 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_seconds: Option<u32>,
}

/// The new secret: shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientSecret {
    #[schema(value_type = String)]
    pub client_secret: SecretString,
}

/// Query of `DELETE …/oauth/clients/{client_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteClientQuery {
    /// Required to delete an official client (SPEC §4.7).
    #[serde(default)]
    pub force: bool,
}

/// Query of `GET …/oauth/clients/export`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `xlsx`, `pdf` or `csv`.
    #[param(pattern = "^(xlsx|pdf|csv)$")]
    pub format: String,
    /// Case-insensitive substring filter, as in the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub filter: Option<String>,
}
