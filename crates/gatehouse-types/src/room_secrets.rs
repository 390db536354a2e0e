//! Room secrets and the third-party OAuth broker (SPEC §7): the bodies of the `secrets.*`
//! operations, the same on the room channel and over REST.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::secret::SecretString;

/// A third-party provider given inline, instead of a `registration_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_pkce: Option<bool>,
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
    #[schema(schema_with = crate::text::optional_participant_name)]
    pub delegate_to: Option<String>,
}

/// The answer to `request_oauth_token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OAuthToken {
    #[schema(value_type = String)]
    pub access_token: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub scopes: Vec<String>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OfflineOAuthToken {
    #[schema(value_type = Option<String>)]
    pub access_token: Option<SecretString>,
}

/// `secrets.provide_oauth_authorization`: the code from the provider's redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvideOAuthAuthorization {
    /// Answers the prompt: whoever holds it may answer, so it is kept like a secret.
    #[schema(value_type = String)]
    pub request_id: SecretString,
    #[schema(value_type = String)]
    pub code: SecretString,
    /// The redirect's `iss` (RFC 9207); must equal the provider's issuer when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The redirect's `state`; checked against the prompt's when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// `secrets.reject_oauth_authorization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectOAuthAuthorization {
    /// Answers the prompt: whoever holds it may answer, so it is kept like a secret.
    #[schema(value_type = String)]
    pub request_id: SecretString,
    /// A short reason, e.g. `user_cancelled` (1–200 characters).
    #[schema(schema_with = crate::text::name)]
    pub error: String,
}

/// `secrets.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRoomSecret {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::text::optional_participant_name)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentPrompt {
    /// Answers the prompt: whoever holds it may answer, so it is kept like a secret.
    #[schema(value_type = String)]
    pub request_id: SecretString,
    pub requested_by: Requester,
    pub request: ConsentRequest,
    /// The S256 PKCE challenge to send, or `null` when the provider is used without PKCE.
    pub challenge: Option<String>,
    pub state: String,
    pub expires_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt() -> ConsentPrompt {
        ConsentPrompt {
            request_id: "rid-hunter2".into(),
            requested_by: Requester {
                participant_id: None,
                name: "agent".into(),
            },
            request: ConsentRequest {
                client_id: "c".into(),
                authorization_endpoint: "https://p.example/authorize".into(),
                scopes: vec!["read".into()],
                redirect_uri: "https://app.example/cb".into(),
            },
            challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            state: "st".into(),
            expires_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn broker_shapes_debug_without_their_secrets() {
        let config = OAuthClientConfig {
            client_id: "c".into(),
            authorization_endpoint: "https://p.example/authorize".into(),
            token_endpoint: "https://p.example/token".into(),
            revocation_endpoint: None,
            issuer: None,
            client_secret: Some("cs-hunter2".into()),
            scopes: None,
            no_pkce: None,
        };
        let token = OAuthToken {
            access_token: "at-hunter2".into(),
            expires_at: None,
            scopes: vec![],
        };
        let offline = OfflineOAuthToken {
            access_token: Some("at-hunter2".into()),
        };
        let provide = ProvideOAuthAuthorization {
            request_id: "rid-hunter2".into(),
            code: "code-hunter2".into(),
            iss: None,
            state: None,
        };
        let reject = RejectOAuthAuthorization {
            request_id: "rid-hunter2".into(),
            error: "user_cancelled".into(),
        };
        for shown in [
            format!("{config:?}"),
            format!("{token:?}"),
            format!("{offline:?}"),
            format!("{provide:?}"),
            format!("{reject:?}"),
            format!("{:?}", prompt()),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
    }

    #[test]
    fn broker_shapes_keep_their_json() {
        let json = r#"{"request_id":"rid","requested_by":{"participant_id":null,"name":"agent"},"request":{"client_id":"c","authorization_endpoint":"https://p.example/authorize","scopes":["read"],"redirect_uri":"https://app.example/cb"},"challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","state":"st","expires_at":"2026-01-01T00:00:00Z"}"#;
        let mut p = prompt();
        p.request_id = "rid".into();
        assert_eq!(serde_json::to_string(&p).unwrap(), json);
        assert_eq!(serde_json::from_str::<ConsentPrompt>(json).unwrap(), p);
        let provide = r#"{"request_id":"rid","code":"c","state":"st"}"#;
        let parsed: ProvideOAuthAuthorization = serde_json::from_str(provide).unwrap();
        assert_eq!(parsed.code.expose_secret(), "c");
        assert_eq!(serde_json::to_string(&parsed).unwrap(), provide);
        let offline = OfflineOAuthToken { access_token: None };
        assert_eq!(serde_json::to_string(&offline).unwrap(), r#"{"access_token":null}"#);
    }
}
