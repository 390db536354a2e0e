//! Signing key states (SPEC §5.3), derived from timestamps so that every node agrees without
//! coordination: a key is *next* until its `activate_at`, *current* while it is the newest active
//! key of its algorithm, then *retired* — still published until every token it can have signed
//! has expired — and finally removed.

use std::sync::Arc;

use crate::jose::{PublicKey, SigningAlg, SigningKey};
use crate::time::Timestamp;

/// Longest lifetime of anything a key signs (access and ID tokens are capped at a day, SPEC §4.1),
/// plus clock skew: how long a retired key stays in the JWKS.
pub const RETIRED_PUBLISH_SECS: i64 = 86_400 + 300;

/// A parsed key and when it signs.
#[derive(Debug)]
pub struct LoadedKey {
    pub signer: SigningKey,
    pub created_at: Timestamp,
    pub activate_at: Option<Timestamp>,
}

impl LoadedKey {
    fn active_at(&self, now: Timestamp) -> bool {
        self.activate_at.is_some_and(|t| t <= now)
    }
}

/// Every stored key, parsed once and shared by all requests.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<Arc<LoadedKey>>,
}

impl KeySet {
    /// A set of loaded keys.
    pub fn new(keys: Vec<Arc<LoadedKey>>) -> Self {
        Self { keys }
    }

    /// The loaded key with `kid`, published or not.
    pub fn find(&self, kid: &str) -> Option<&Arc<LoadedKey>> {
        self.keys.iter().find(|k| k.signer.kid() == kid)
    }

    /// The key that signs `alg` tokens at `now`: the active key activated last.
    pub fn current(&self, alg: SigningAlg, now: Timestamp) -> Option<&Arc<LoadedKey>> {
        self.of(alg)
            .filter(|k| k.active_at(now))
            .max_by_key(|k| (k.activate_at, k.created_at))
    }

    /// When the key following `key` (same algorithm) started signing, if one has.
    fn superseded_at(&self, key: &LoadedKey, now: Timestamp) -> Option<Timestamp> {
        let since = key.activate_at?;
        self.of(key.signer.alg())
            .filter(|k| k.active_at(now))
            .filter_map(|k| k.activate_at)
            .filter(|t| *t > since)
            .min()
    }

    /// Whether `key` is in the JWKS at `now`: next, current, or retired less than
    /// [`RETIRED_PUBLISH_SECS`] ago.
    fn is_published(&self, key: &LoadedKey, now: Timestamp) -> bool {
        match self.superseded_at(key, now) {
            Some(t) => now < t.plus_secs(RETIRED_PUBLISH_SECS),
            None => true,
        }
    }

    /// Keys that are no longer published and can be deleted.
    pub fn removable(&self, now: Timestamp) -> Vec<String> {
        self.keys
            .iter()
            .filter(|k| !self.is_published(k, now))
            .map(|k| k.signer.kid().to_owned())
            .collect()
    }

    /// The public key with `kid`, if it is published (tokens signed by a removed key fail).
    pub fn verifier(&self, kid: &str, now: Timestamp) -> Option<&PublicKey> {
        self.keys
            .iter()
            .find(|k| k.signer.kid() == kid)
            .filter(|k| self.is_published(k, now))
            .map(|k| k.signer.public_key())
    }

    /// The JWK Set document (RFC 7517 §5).
    pub fn jwks(&self, now: Timestamp) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .filter(|k| self.is_published(k, now))
            .map(|k| k.signer.public_key().jwk())
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The key of `alg` waiting to be scheduled, if any.
    pub fn unscheduled(&self, alg: SigningAlg) -> Option<&Arc<LoadedKey>> {
        self.of(alg).find(|k| k.activate_at.is_none())
    }

    /// Whether `alg` has a key scheduled to activate after `now`.
    pub fn has_scheduled(&self, alg: SigningAlg, now: Timestamp) -> bool {
        self.of(alg).any(|k| k.activate_at.is_some_and(|t| t > now))
    }

    /// Whether the scheduled rotation is due for `alg`: its current key has signed for `period_secs`
    /// and no successor is scheduled yet.
    pub fn rotation_due(&self, alg: SigningAlg, now: Timestamp, period_secs: i64) -> bool {
        let old = self
            .current(alg, now)
            .and_then(|k| k.activate_at)
            .is_none_or(|t| t.plus_secs(period_secs) <= now);
        old && !self.has_scheduled(alg, now)
    }

    fn of(&self, alg: SigningAlg) -> impl Iterator<Item = &Arc<LoadedKey>> {
        self.keys.iter().filter(move |k| k.signer.alg() == alg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, created: i64, activate: Option<i64>) -> Arc<LoadedKey> {
        let (signer, _) = SigningKey::generate(kid.into(), SigningAlg::Es256).unwrap();
        Arc::new(LoadedKey {
            signer,
            created_at: Timestamp::from_millis(created * 1000),
            activate_at: activate.map(|s| Timestamp::from_millis(s * 1000)),
        })
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_millis(secs * 1000)
    }

    #[test]
    fn a_next_key_is_published_before_it_signs() {
        let set = KeySet::new(vec![key("a", 0, Some(0)), key("b", 10, Some(400))]);
        assert_eq!(set.current(SigningAlg::Es256, at(399)).unwrap().signer.kid(), "a");
        assert!(set.verifier("b", at(399)).is_some());
        assert_eq!(set.current(SigningAlg::Es256, at(400)).unwrap().signer.kid(), "b");
    }

    #[test]
    fn a_retired_key_stays_published_until_its_tokens_expire() {
        let set = KeySet::new(vec![key("a", 0, Some(0)), key("b", 10, Some(400))]);
        let last = 400 + RETIRED_PUBLISH_SECS;
        assert!(set.verifier("a", at(last - 1)).is_some());
        assert!(set.verifier("a", at(last)).is_none());
        assert_eq!(set.removable(at(last)), vec!["a".to_owned()]);
        assert_eq!(set.jwks(at(last))["keys"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn rotation_is_due_after_the_period_unless_a_successor_is_scheduled() {
        let set = KeySet::new(vec![key("a", 0, Some(0)), key("n", 0, None)]);
        assert!(!set.rotation_due(SigningAlg::Es256, at(99), 100));
        assert!(set.rotation_due(SigningAlg::Es256, at(100), 100));
        let set = KeySet::new(vec![key("a", 0, Some(0)), key("n", 0, Some(500))]);
        assert!(!set.rotation_due(SigningAlg::Es256, at(100), 100));
    }
}
