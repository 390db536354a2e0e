//! Upstream identity providers ("Continue with …" on the sign-in page), managed by server admins.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::secret::SecretString;

/// A new provider, with the fields of the config file's `[[identity_providers]]` tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityProviderInput {
    /// The provider's id: its name in `/login/with/{name}` and in linked identities.
    #[schema(pattern = "^[-a-z0-9]{1,40}$", min_length = 1, max_length = 40)]
    pub name: String,
    /// `oidc` (default), `google`, `microsoft`, `gitlab` or `github`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(oidc|google|microsoft|gitlab|github)$")]
    pub kind: Option<String>,
    /// The button says "Continue with {display_name}"; the preset's name by default (required for `oidc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: Option<String>,
    /// The OpenID Connect issuer (required for `oidc` and `microsoft`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048)]
    pub issuer: Option<String>,
    /// GitHub Enterprise Server's URL (default `https://github.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048)]
    pub github_url: Option<String>,
    /// GitHub's REST API (default `https://api.github.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048)]
    pub github_api_url: Option<String>,
    #[schema(min_length = 1, max_length = 2048)]
    pub client_id: String,
    /// Write-only: stored encrypted, never returned.
    #[schema(value_type = String, min_length = 1, max_length = 2048)]
    pub client_secret: SecretString,
    /// Default `openid email profile` (GitHub: `read:user user:email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 50)]
    pub scopes: Option<Vec<String>>,
    /// Create accounts for people without one (verified emails only). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_signup: Option<bool>,
}

/// A change to a provider: absent fields keep their value. The name and kind do not change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityProviderPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048)]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048)]
    pub github_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048)]
    pub github_api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 2048)]
    pub client_id: Option<String>,
    /// Write-only: a new secret replaces the stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2048)]
    pub client_secret: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 50)]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_signup: Option<bool>,
}

/// A provider as every read returns it: never its client secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdentityProvider {
    /// The provider's name, its id in these routes.
    pub id: String,
    /// `config` (the config file's, read-only here) or `api` (managed over REST).
    pub source: String,
    pub kind: String,
    pub display_name: String,
    /// OpenID Connect providers.
    pub issuer: Option<String>,
    /// GitHub.
    pub github_url: Option<String>,
    pub github_api_url: Option<String>,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub allow_signup: bool,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
    /// Providers managed over REST.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// `GET /accounts/identity-providers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdentityProviderList {
    pub identity_providers: Vec<IdentityProvider>,
}
