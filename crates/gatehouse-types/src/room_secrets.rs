//! Room secrets and the third-party OAuth broker (SPEC §7): the bodies of the `secrets.*`
//! operations, the same on the room channel and over REST.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A third-party provider given inline, instead of a `registration_id`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientConfig {
    pub client_id: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// RFC 7009 endpoint: deleting the credential revokes it there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The provider's issuer, for the RFC 9207 `iss` check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Stored encrypted with the credential, for refreshes; never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_pkce: Option<bool>,
}

impl std::fmt::Debug for OAuthClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClientConfig")
            .field("client_id", &self.client_id)
            .field("authorization_endpoint", &self.authorization_endpoint)
            .field("token_endpoint", &self.token_endpoint)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// `secrets.request_oauth_token`: a token of the provider, with the target participant's consent
/// when no stored credential covers the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestOAuthToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthClientConfig>,
    /// An external OAuth registration of the project or of this room, instead of `oauth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<Uuid>,
    /// Where the provider sends the participant back; must be one of the registration's.
    pub redirect_uri: String,
    /// The participant who must consent (MeshAgent: `from_participant_id`).
    #[serde(alias = "from_participant_id")]
    pub participant_id: Uuid,
    /// Seconds to wait for the answer: 1–900, default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// The identity the new credential is delegated to (default: the requester).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegate_to: Option<String>,
}

/// The answer to `request_oauth_token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OAuthToken {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthToken")
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// `secrets.get_offline_oauth_token`: a stored token, never a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetOfflineOAuthToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthClientConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<Uuid>,
    /// The identity that owns the credential (default: the caller).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "participant_name")]
    pub delegated_by: Option<String>,
    /// Only the credential delegated to this identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegated_to: Option<String>,
}

/// The answer to `get_offline_oauth_token`: `null` when nothing usable is stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OfflineOAuthToken {
    pub access_token: Option<String>,
}

impl std::fmt::Debug for OfflineOAuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineOAuthToken")
            .field("access_token", &self.access_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// `secrets.provide_oauth_authorization`: the code from the provider's redirect.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvideOAuthAuthorization {
    pub request_id: String,
    pub code: String,
    /// The redirect's `iss` (RFC 9207); must equal the provider's issuer when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The redirect's `state`; checked against the prompt's when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl std::fmt::Debug for ProvideOAuthAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvideOAuthAuthorization")
            .field("iss", &self.iss)
            .finish_non_exhaustive()
    }
}

/// `secrets.reject_oauth_authorization`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectOAuthAuthorization {
    pub request_id: String,
    /// A short reason, e.g. `user_cancelled` (1–200 characters).
    pub error: String,
}

impl std::fmt::Debug for RejectOAuthAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RejectOAuthAuthorization")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// `secrets.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRoomSecret {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegated_to: Option<String>,
}

/// A stored secret, as `secrets.list` shows it (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomSecretInfo {
    pub id: Uuid,
    /// `oauth`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub owner: String,
    pub delegated_to: Option<String>,
    pub authorization_endpoint: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
    /// The provider refused the refresh token: the next request prompts again.
    pub needs_consent: bool,
}

/// `secrets.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomSecretList {
    pub secrets: Vec<RoomSecretInfo>,
}

/// Who asks, in a consent prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Requester {
    /// `null` when the request came over REST rather than a room connection.
    pub participant_id: Option<Uuid>,
    pub name: String,
}

/// What the participant is asked to authorize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentRequest {
    pub client_id: String,
    pub authorization_endpoint: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
}

/// The body of the `secrets.request_oauth_token` event (SPEC §7.3).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentPrompt {
    pub request_id: String,
    pub requested_by: Requester,
    pub request: ConsentRequest,
    /// The S256 PKCE challenge to send, or `null` when the provider is used without PKCE.
    pub challenge: Option<String>,
    pub state: String,
    pub expires_at: String,
}

impl std::fmt::Debug for ConsentPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentPrompt")
            .field("requested_by", &self.requested_by)
            .field("request", &self.request)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
