//! OAuth 2.0 / OpenID Connect wire shapes: the token response (RFC 6749 §5.1), the device
//! authorization response (RFC 8628 §3.2), error bodies (RFC 6749 §5.2) and a user's sessions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::secret::SecretString;

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    #[schema(value_type = String)]
    pub access_token: SecretString,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id_token: Option<SecretString>,
    /// The granted scopes (RFC 6749 §3.3: always sent, so a narrowed grant is visible).
    pub scope: String,
    /// What a token exchange issued (RFC 8693 §2.2.1):
    /// `urn:ietf:params:oauth:token-type:access_token`. Absent from other grants' responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceAuthorizationResponse {
    #[schema(value_type = String)]
    pub device_code: SecretString,
    /// `XXXX-XXXX`.
    #[schema(value_type = String)]
    pub user_code: SecretString,
    pub verification_uri: String,
    /// Carries the user code.
    #[schema(value_type = String)]
    pub verification_uri_complete: SecretString,
    pub expires_in: u64,
    pub interval: u64,
}

/// An OAuth error response (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OAuthErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// One of the signed-in user's browser sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    pub id: uuid::Uuid,
    pub created_at: String,
    pub auth_time: String,
    pub expires_at: String,
    pub user_agent: String,
    pub ip: String,
    /// Whether this is the session making the request.
    pub current: bool,
}
