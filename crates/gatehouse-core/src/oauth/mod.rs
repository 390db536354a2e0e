//! The authorization server's domain (SPEC §5): the records it stores, the protocol errors it
//! answers with, and the pure rules (scopes, PKCE, response types, redirect matching, user codes,
//! brute-force delays) that the use cases in [`crate::service::oauth`] apply.

mod code;
mod error;
mod issued;
pub mod keys;
pub mod limiter;
pub mod opaque;
pub mod pkce;
pub mod refresh;
mod response_type;
pub mod scope;
pub mod user_code;

pub use error::{OAuthError, OAuthErrorCode};
pub use issued::{DeviceAuthorization, IssuedTokens, TokenType};
pub use response_type::ResponseType;

use crate::factors::AuthMethods;
use crate::ids::{ClientId, GrantId, ProjectId, ResourceId, SessionId, UserId};
use crate::model::Sealed;
use crate::secret::{Redacted, SecretString};
use crate::time::Timestamp;

/// Authorization codes live 60 s (SPEC §5.2).
pub const CODE_TTL_SECS: i64 = 60;
/// Device codes live 10 minutes (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_CODE_TTL_SECS: i64 = 600;
/// The polling interval a device starts with (RFC 8628 §3.2 default 5 s).
pub const DEVICE_INTERVAL_SECS: i64 = 5;

/// A stored signing key; `private_key` is PKCS#8 wrapped by the master key (SPEC §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: String,
    pub private_key: Redacted<Vec<u8>>,
    pub public_jwk: String,
    pub created_at: Timestamp,
    /// `None` while the key is *next*: published but not scheduled to sign.
    pub activate_at: Option<Timestamp>,
}

/// A browser sign-in session. The cookie holds `id.secret`; only a keyed hash of the secret is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub secret_hash: Redacted<Vec<u8>>,
    pub created_at: Timestamp,
    /// When the user last signed in (OIDC `auth_time`): after the last factor.
    pub auth_time: Timestamp,
    /// What that sign-in used (RFC 8176 `amr`).
    pub amr: AuthMethods,
    pub expires_at: Timestamp,
    pub user_agent: String,
    pub ip: String,
}

/// An authorization grant: every token issued from one code redemption or device approval
/// belongs to it, so revoking it revokes them all (RFC 6749 §4.1.2, §10.5; SPEC §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: GrantId,
    pub project_id: ProjectId,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub session_id: Option<SessionId>,
    pub scope: String,
    /// The API resources the authorization request named (RFC 8707 §2.1): its tokens may be
    /// for any of them. Empty when it named none (see [`crate::resources::grant_target`]).
    pub resources: Vec<ResourceId>,
    pub auth_time: Timestamp,
    /// What the sign-in behind the grant used (RFC 8176 `amr`).
    pub amr: AuthMethods,
    pub created_at: Timestamp,
    /// When the last token of the grant expires; the row is purged afterwards.
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// The grant's refresh token, when it has one.
    pub refresh: Option<RefreshState>,
}

/// A grant's refresh token (SPEC §5.2). The token a client holds is the grant id, this
/// generation and a keyed hash of both ([`refresh`]), so nothing stored can be turned into a
/// token; rotating it is a compare-and-set of the generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshState {
    pub generation: i64,
    /// When the current generation expires.
    pub expires_at: Timestamp,
    /// When the current generation replaced the previous one; `None` for the first.
    pub rotated_at: Option<Timestamp>,
    /// The sealed token response that carries the current generation, returned again to the
    /// previous generation inside the client's grace window.
    pub successor: Option<Sealed>,
}

/// What an authorization code carries, sealed and bound to the client it was issued to (see
/// the `code` module), so the code is its own record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    /// Allocated with the code: redeeming writes this grant, so a second redemption collides with
    /// the first and revokes what it issued.
    pub grant_id: GrantId,
    pub user_id: UserId,
    pub session_id: SessionId,
    pub redirect_uri: String,
    /// Whether the request named it: then the token request must repeat it (RFC 6749 §4.1.3).
    pub redirect_uri_given: bool,
    pub scope: String,
    /// The API resources the request named (RFC 8707 §2.1).
    pub resources: Vec<ResourceId>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: Timestamp,
    pub amr: AuthMethods,
    pub expires_at: Timestamp,
}

/// The state of a device authorization (RFC 8628).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Redeemed,
}

impl DeviceStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "redeemed" => Self::Redeemed,
            _ => return None,
        })
    }
}

/// The user who approved a device authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceApproval {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub auth_time: Timestamp,
    pub amr: AuthMethods,
}

/// A device authorization request, stored under the keyed hash of its device code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    pub device_code_hash: Redacted<Vec<u8>>,
    /// Normalised: eight characters of [`user_code::ALPHABET`], no dash.
    pub user_code: SecretString,
    pub grant_id: GrantId,
    pub project_id: ProjectId,
    pub client_id: ClientId,
    pub scope: String,
    /// The API resources the request named (RFC 8707 §2.1).
    pub resources: Vec<ResourceId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub interval_secs: i64,
    pub last_polled_at: Option<Timestamp>,
    pub status: DeviceStatus,
    pub approval: Option<DeviceApproval>,
}
