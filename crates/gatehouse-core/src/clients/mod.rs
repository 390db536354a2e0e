//! The OAuth client registry's domain (SPEC §4): a client's settings, built only through
//! validation, and the secret that confidential clients authenticate with.

mod settings;
pub mod uri;

pub use settings::{ClientSettings, KNOWN_SCOPES};

use crate::crypto::KeyedHasher;
use crate::ids::{ClientId, ProjectId};
use crate::time::Timestamp;

/// Domain separator of client-secret hashes.
pub const SECRET_HASH_DOMAIN: &str = "oauth-client-secret";

/// A registered client as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub project_id: ProjectId,
    pub settings: ClientSettings,
    pub official: bool,
    pub secret: SecretHashes,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Bumped on every change; guards concurrent updates.
    pub version: i64,
}

/// Keyed hashes of the current and (during a grace period) the previous client secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretHashes {
    pub current: Option<Vec<u8>>,
    pub previous: Option<Vec<u8>>,
    pub previous_expires_at: Option<Timestamp>,
    pub rotated_at: Option<Timestamp>,
}

impl std::fmt::Debug for SecretHashes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretHashes")
            .field("current", &self.current.as_ref().map(|_| "[hash]"))
            .field("previous", &self.previous.as_ref().map(|_| "[hash]"))
            .field("previous_expires_at", &self.previous_expires_at)
            .field("rotated_at", &self.rotated_at)
            .finish()
    }
}

impl Client {
    /// Whether `secret` authenticates this client at `now`: the current secret, or the previous
    /// one while its grace period lasts. Keyed hash and constant-time comparison (SPEC §4.3).
    pub fn verify_secret(&self, hasher: &KeyedHasher, secret: &str, now: Timestamp) -> bool {
        let id = self.id.as_str();
        let current = self
            .secret
            .current
            .as_deref()
            .is_some_and(|h| hasher.verify(SECRET_HASH_DOMAIN, id, secret, h));
        let previous = match (&self.secret.previous, self.secret.previous_expires_at) {
            (Some(h), Some(until)) if now < until => hasher.verify(SECRET_HASH_DOMAIN, id, secret, h),
            _ => false,
        };
        // Both are always computed so timing does not reveal which one matched.
        current | previous
    }
}
