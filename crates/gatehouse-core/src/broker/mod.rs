//! The room secrets vault and third-party OAuth broker (SPEC §7): who may ask for which
//! provider's tokens, the consent requests waiting for a participant's answer, and the
//! credentials kept for participants, sealed under the project's data key.

mod signals;

pub use signals::{InFlight, Signals};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::crypto::RowAad;
use crate::ids::{OAuthRequestId, ParticipantId, ProjectId, RegistrationId, RoomSecretId};
use crate::model::Sealed;
use crate::secret::{Redacted, Secret, SecretString};
use crate::time::Timestamp;

/// Whether the `secrets` member of a participant's ApiScope lets it obtain tokens of the
/// provider at `authorization_endpoint` for `client_id` (SPEC §6.2), exactly as the MeshAgent
/// SDK decides it (`SecretsGrant.can_request_oauth_token`):
/// - without a `request_oauth_token` list every provider is allowed, even with no provider given;
/// - with a list, the request's endpoint and client id (trimmed) must be non-empty, and an entry
///   matches when its client id is equal and its endpoint is equal or ends in `*` with the
///   request's endpoint starting with the part before the `*` (a plain string prefix);
/// - entries are taken verbatim (not trimmed) and comparisons are case-sensitive.
pub fn can_request_oauth_token(secrets: &Map<String, Value>, provider: Option<(&str, &str)>) -> bool {
    let list = match secrets.get("request_oauth_token") {
        None | Some(Value::Null) => return true,
        Some(Value::Array(list)) => list,
        Some(_) => return false,
    };
    let Some((endpoint, client_id)) = provider.map(|(e, c)| (e.trim(), c.trim())) else {
        return false;
    };
    if endpoint.is_empty() || client_id.is_empty() {
        return false;
    }
    list.iter().any(|entry| {
        let field = |name: &str| entry.get(name).and_then(Value::as_str).unwrap_or("");
        let (allowed, allowed_client) = (field("endpoint"), field("client_id"));
        let endpoint_matches = match allowed.strip_suffix('*') {
            Some(prefix) => endpoint.starts_with(prefix),
            None => endpoint == allowed,
        };
        !allowed_client.is_empty() && allowed_client == client_id && endpoint_matches
    })
}

/// A third-party provider as one request or credential uses it. Never holds a client secret:
/// those stay sealed (inline) or in the registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderSettings {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The `iss` authorization responses must carry when given (RFC 9207).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    pub client_id: String,
    /// Set when the settings come from an external OAuth registration, whose client secret is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<uuid::Uuid>,
    /// A display name: the registration's name, or the authorization endpoint's host.
    pub name: String,
}

impl ProviderSettings {
    /// The registration these settings come from, if any.
    pub fn registration(&self) -> Option<RegistrationId> {
        self.registration_id.map(RegistrationId::from_uuid)
    }
}

/// What is sealed with a credential or a pending request: the secrets that must never be stored
/// in plaintext nor returned (only `access_token` ever leaves the server).
/// Each field serializes as the plain string, so the sealed JSON is unchanged by the wrapper.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretString>,
    /// A client secret given inline by the requester (registrations keep their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretString>,
    /// The PKCE verifier of a pending request: made for its one code exchange, never copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<Secret<String>>,
}

/// A stored OAuth credential: owned by the identity that consented, usable by it and by the
/// identity it is delegated to (SPEC §7.2 step 4).
#[derive(Debug, Clone)]
pub struct OAuthCredential {
    pub id: RoomSecretId,
    pub project_id: ProjectId,
    pub room_name: String,
    pub owner: String,
    /// `""` when the credential is not delegated.
    pub delegated_to: String,
    pub provider: ProviderSettings,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// [`SealedSecrets`] as JSON, bound by [`OAuthCredential::aad`].
    pub sealed: Sealed,
    pub expires_at: Option<Timestamp>,
    /// The provider refused the refresh token: a new consent is needed (offline gets return null).
    pub needs_consent: bool,
    /// Bumped by every change of the sealed tokens; also the AEAD binding's version.
    pub generation: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl OAuthCredential {
    /// The associated data binding the sealed tokens to this row and generation (SPEC §7.5).
    pub fn aad(&self) -> RowAad {
        credential_aad(self.project_id, &self.room_name, &self.owner, self.id, self.generation)
    }

    /// Its lookup key ([`owner_key`]).
    pub fn owner_key(&self) -> Vec<u8> {
        owner_key(
            self.project_id,
            &self.room_name,
            &self.owner,
            &self.provider.authorization_endpoint,
            &self.provider.client_id,
        )
    }

    /// Whether `identity` may use it: it owns it, or it is delegated to it.
    pub fn usable_by(&self, identity: &str) -> bool {
        self.owner == identity || (!self.delegated_to.is_empty() && self.delegated_to == identity)
    }

    /// Whether it grants every scope of `wanted`.
    pub fn covers(&self, wanted: &[String]) -> bool {
        wanted.iter().all(|s| self.scopes.contains(s))
    }

    /// Whether its access token must be refreshed before use: it expires within `margin_secs`.
    pub fn expiring(&self, now: Timestamp, margin_secs: i64) -> bool {
        self.expires_at
            .is_some_and(|at| at.millis() <= now.plus_secs(margin_secs).millis())
    }
}

/// The key credentials are looked up by: SHA-256 over (project, room, owner, authorization
/// endpoint, client id), each part length-prefixed.
pub fn owner_key(
    project: ProjectId,
    room: &str,
    owner: &str,
    authorization_endpoint: &str,
    client_id: &str,
) -> Vec<u8> {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in [
        project.to_string().as_str(),
        room,
        owner,
        authorization_endpoint,
        client_id,
    ] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    ctx.finish().as_ref().to_vec()
}

/// The binding of a credential's sealed tokens (SPEC §7.5: project, room, owner, secret id, version).
pub fn credential_aad(project: ProjectId, room: &str, owner: &str, id: RoomSecretId, generation: i64) -> RowAad {
    RowAad::new(
        "room_secret",
        &project.to_string(),
        room,
        owner,
        &id.to_string(),
        generation,
    )
}

/// Where a pending request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestStatus {
    /// Waiting for the participant's answer.
    Pending,
    /// Answered with a code that is being exchanged.
    Exchanging,
    /// The credential was stored.
    Done(RoomSecretId),
    /// Rejected by the participant, or the exchange failed.
    Failed(RequestFailure),
}

/// Why a request ended without a token: what the requester is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestFailure {
    /// The participant said no, with this reason.
    Rejected { error: String },
    /// The provider refused the code, or could not be reached.
    Upstream { error: String, description: String },
    /// The authorization response named another issuer (RFC 9207).
    WrongIssuer,
    /// Nobody answered before the request's timeout.
    Timeout,
}

/// A consent request waiting in storage for the target participant's answer (SPEC §7.2 step 3).
#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub id: OAuthRequestId,
    /// The keyed hash of the `request_id` given to the participant.
    pub request_hash: Redacted<Vec<u8>>,
    pub project_id: ProjectId,
    pub room_name: String,
    /// The identity that asked, and its connection when it asked over the room channel.
    pub requester: String,
    pub requester_participant: Option<ParticipantId>,
    /// The participant asked, and its identity: only that identity may answer.
    pub target: ParticipantId,
    pub target_name: String,
    /// The identity the credential will be delegated to.
    pub delegate_to: String,
    pub provider: ProviderSettings,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    /// [`SealedSecrets`] with the PKCE verifier and any inline client secret.
    pub sealed: Sealed,
    /// The `state` the provider must return, for the participant's UI to check.
    pub state: String,
    pub status: RequestStatus,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}

impl PendingRequest {
    /// The binding of its sealed secrets.
    pub fn aad(&self) -> RowAad {
        request_aad(self.project_id, &self.room_name, &self.target_name, self.id)
    }
}

/// The binding of a pending request's sealed secrets to its row.
pub fn request_aad(project: ProjectId, room: &str, target: &str, id: OAuthRequestId) -> RowAad {
    RowAad::new("oauth_request", &project.to_string(), room, target, &id.to_string(), 1)
}

/// The RFC 7636 S256 challenge of `verifier`.
pub fn s256_challenge(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest)
}

/// Scopes as the provider's `scope` parameter or response gives them (space-separated).
pub fn split_scopes(raw: &str) -> Vec<String> {
    raw.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every case the MeshAgent SDK computed for `SecretsGrant.can_request_oauth_token`.
    #[test]
    fn secrets_allow_list_matches_the_sdk() {
        let fixture = crate::meshagent_fixture("apiscope_semantics.json");
        let cases = fixture["secrets_can_request_oauth_token"].as_array().unwrap();
        assert_eq!(cases.len(), 21);
        for case in cases {
            let grant = case["grant"].as_object().unwrap();
            let provider = case["oauth_present"].as_bool().unwrap().then(|| {
                (
                    case["authorization_endpoint"].as_str().unwrap_or(""),
                    case["client_id"].as_str().unwrap_or(""),
                )
            });
            assert_eq!(
                can_request_oauth_token(grant, provider),
                case["allowed"].as_bool().unwrap(),
                "{}",
                case["description"]
            );
        }
    }

    #[test]
    fn a_malformed_list_allows_nothing() {
        let grant = serde_json::json!({"request_oauth_token": "https://a.example/*"});
        let provider = Some(("https://a.example/x", "c"));
        assert!(!can_request_oauth_token(grant.as_object().unwrap(), provider));
        let grant = serde_json::json!({"request_oauth_token": [{"endpoint": "*"}]});
        assert!(!can_request_oauth_token(grant.as_object().unwrap(), provider));
    }

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(s256_challenge(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(crate::oauth::pkce::verify(verifier, &s256_challenge(verifier)));
    }
}
