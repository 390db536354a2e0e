//! The OAuth client registry's domain (SPEC §4): a client's settings, built only through
//! validation, and the secret that confidential clients authenticate with.

mod brand;
pub mod risks;
mod settings;
pub mod uri;
pub mod usage;

pub use brand::AppBrand;
pub use settings::{
    AUTH_METHODS, ClientSettings, GRANT_TYPES, KNOWN_SCOPES, RESPONSE_TYPES, SIGNING_ALGS, TOKEN_EXCHANGE,
};

use crate::crypto::KeyedHasher;
use crate::ids::{ClientId, ProjectId};
use crate::secret::Redacted;
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
    /// When the client last got a token, as last written (at most once a minute per client).
    pub last_used_at: Option<Timestamp>,
}

/// Keyed hashes of the current and (during a grace period) the previous client secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretHashes {
    pub current: Option<Redacted<Vec<u8>>>,
    pub previous: Option<Redacted<Vec<u8>>>,
    pub previous_expires_at: Option<Timestamp>,
    pub rotated_at: Option<Timestamp>,
}

impl Client {
    /// Whether `secret` authenticates this client at `now`: the current secret, or the previous
    /// one while its grace period lasts. Keyed hash and constant-time comparison (SPEC §4.3).
    pub fn verify_secret(&self, hasher: &KeyedHasher, secret: &str, now: Timestamp) -> bool {
        let id = self.id.as_str();
        let current = self
            .secret
            .current
            .as_ref()
            .is_some_and(|h| hasher.verify(SECRET_HASH_DOMAIN, id, secret, h.as_bytes()));
        let previous = match (&self.secret.previous, self.secret.previous_expires_at) {
            (Some(h), Some(until)) if now < until => hasher.verify(SECRET_HASH_DOMAIN, id, secret, h.as_bytes()),
            _ => false,
        };
        // Both are always computed so timing does not reveal which one matched.
        current | previous
    }
}
