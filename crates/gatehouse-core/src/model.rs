//! Stored records of the accounts side: projects, users, members, API keys, encrypted values.

use crate::access::MemberFlags;
use crate::ids::{ApiKeyId, DataKeyId, ProjectId, RegistrationId, SecretId, UserId};
use crate::people::ProjectSettings;
use crate::secret::Redacted;
use crate::time::Timestamp;

/// A project (tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub is_system: bool,
    /// How people sign in to the project's apps.
    pub settings: ProjectSettings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A user account. `password_hash` is an Argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: Redacted<String>,
    /// When the address was shown to be the owner's (a followed sign-up or reset link, an upstream
    /// identity provider's verified email); `None` for an account an admin made until then.
    pub email_verified_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl User {
    /// Whether the account has a password: one made by an upstream sign-in ([`crate::idp`]) has
    /// none (an empty hash) until one is set.
    pub fn has_password(&self) -> bool {
        !self.password_hash.expose().is_empty()
    }
}

/// A member of a project with their flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub flags: MemberFlags,
}

/// A value sealed with a project's data key (SPEC §7.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub data_key_id: DataKeyId,
    pub ciphertext: Redacted<Vec<u8>>,
}

/// A value the master key wraps directly, as `gatehouse keys rotate-master` re-wraps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterWrapped {
    pub kind: MasterWrappedKind,
    pub wrapped: Redacted<Vec<u8>>,
}

/// Which value: its table and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterWrappedKind {
    /// A server setting (the keyed-hash key).
    Setting { key: String },
    /// A signing key's private key.
    SigningKey { kid: String },
    /// A project's data key.
    DataKey { project: ProjectId, id: DataKeyId },
}

/// A project's data key, wrapped by the master key whose fingerprint is `master_key_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKeyRecord {
    pub id: DataKeyId,
    pub project_id: ProjectId,
    pub wrapped: Redacted<Vec<u8>>,
    pub master_key_id: String,
    pub created_at: Timestamp,
}

/// An API key: a keyed hash for REST authentication and the sealed secret, which the server
/// needs to verify HS256 participant tokens (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub project_id: ProjectId,
    pub name: String,
    pub description: String,
    pub secret_hash: Redacted<Vec<u8>>,
    pub secret: Sealed,
    pub server_admin: bool,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// Endpoints of a third-party OAuth provider (SPEC §4.5).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderEndpoints {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub issuer: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub no_pkce: bool,
}

/// An external OAuth registration, project- or room-scoped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: RegistrationId,
    pub project_id: ProjectId,
    pub room_name: Option<String>,
    pub name: String,
    pub endpoints: ProviderEndpoints,
    pub client_id: String,
    pub client_secret: Option<Sealed>,
    pub redirect_uris: Vec<String>,
    pub delegated_to: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// A project secret (SPEC §7.6); `data` is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSecretRecord {
    pub id: SecretId,
    pub project_id: ProjectId,
    pub name: String,
    pub kind: String,
    pub data: Sealed,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// One audit event (SPEC §9.7). `details` never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: uuid::Uuid,
    pub project_id: ProjectId,
    pub at: Timestamp,
    pub actor_type: String,
    pub actor_id: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub details: serde_json::Value,
}

/// Everything the first start creates; the admin joins the system project with every right, written in one transaction (SPEC §2, §4.7).
#[derive(Debug, Clone)]
pub struct BootstrapPlan {
    pub project: Project,
    pub clients: Vec<crate::clients::Client>,
    pub admin: User,
    pub api_key: ApiKeyRecord,
    pub audit: Vec<AuditRecord>,
}
