//! Signing keys at run time (SPEC §5.3): loading and parsing them once, creating the first ones,
//! rotation (manual and scheduled), removal of expired keys, and the JWKS.

use std::sync::Arc;

use tracing::instrument;

use super::super::Gatehouse;
use crate::error::{Error, Result};
use crate::jose::{SigningAlg, SigningKey};
use crate::keyring::{signing_key_context, write};
use crate::oauth::SigningKeyRecord;
use crate::oauth::keys::{KeySet, LoadedKey};
use crate::ports::Invalidation;
use crate::rng::random_uuid;
use crate::time::Timestamp;

impl Gatehouse {
    /// Reads every stored key and swaps the in-memory set: keys are parsed here once, not per request.
    pub async fn reload_signing_keys(&self) -> Result<()> {
        let records = self.store.list_signing_keys().await?;
        let current = self.provider.keys();
        let mut loaded = Vec::with_capacity(records.len());
        for r in records {
            // Reuse already parsed keys; only their schedule can change.
            let parsed = current.find(&r.kid).filter(|k| k.activate_at == r.activate_at).cloned();
            let key = match parsed {
                Some(k) => k,
                None => Arc::new(self.parse_signing_key(&r)?),
            };
            loaded.push(key);
        }
        *write(&self.provider.keys) = Arc::new(KeySet::new(loaded));
        Ok(())
    }

    fn parse_signing_key(&self, r: &SigningKeyRecord) -> Result<LoadedKey> {
        let alg = SigningAlg::parse(&r.alg)
            .ok_or_else(|| Error::unexpected(anyhow::anyhow!("signing key {} has unknown alg {}", r.kid, r.alg)))?;
        let der = self
            .keys
            .unwrap_blob(r.private_key.as_bytes(), &signing_key_context(&r.kid))?;
        Ok(LoadedKey {
            signer: SigningKey::from_pkcs8(r.kid.clone(), alg, &der)?,
            created_at: r.created_at,
            activate_at: r.activate_at,
        })
    }

    async fn create_signing_key(&self, alg: SigningAlg, activate_at: Option<Timestamp>) -> Result<()> {
        let kid = random_uuid(self.rng.as_ref()).simple().to_string();
        let (key, der) = SigningKey::generate(kid.clone(), alg)?;
        let record = SigningKeyRecord {
            private_key: self
                .keys
                .master()
                .wrap_blob(self.rng.as_ref(), der.expose_secret(), &signing_key_context(&kid))
                .into(),
            public_jwk: key.public_key().jwk().to_string(),
            kid,
            alg: alg.as_str().to_owned(),
            created_at: self.clock.now(),
            activate_at,
        };
        self.store.insert_signing_key(&record).await
    }

    /// At start: every algorithm gets a current key (signing at once: nothing can have cached a
    /// JWKS without it yet) and a next key, then the set is loaded.
    pub async fn ensure_signing_keys(&self) -> Result<()> {
        self.reload_signing_keys().await?;
        let now = self.clock.now();
        let keys = self.provider.keys();
        let mut created = false;
        for alg in SigningAlg::ALL {
            if keys.current(alg, now).is_none() && !keys.has_scheduled(alg, now) {
                self.create_signing_key(alg, Some(now)).await?;
                created = true;
            }
            if keys.unscheduled(alg).is_none() {
                self.create_signing_key(alg, None).await?;
                created = true;
            }
        }
        if created {
            self.reload_signing_keys().await?;
            self.invalidate(Invalidation::SigningKeys).await;
        }
        Ok(())
    }

    /// Rotates the keys of `algs`: each *next* key is scheduled to sign once it has been published
    /// for a full JWKS cache period, and a new *next* key is created. Returns the activation times.
    #[instrument(level = "debug", skip_all)]
    pub async fn rotate_signing_keys(&self, algs: &[SigningAlg]) -> Result<Vec<(SigningAlg, String, Timestamp)>> {
        self.reload_signing_keys().await?;
        let now = self.clock.now();
        let keys = self.provider.keys();
        let mut out = Vec::new();
        for &alg in algs {
            // Whoever schedules the next key creates its successor; a node that lost the race to
            // another leaves it to that node, so there is never more than one next key.
            let scheduled = match keys.unscheduled(alg) {
                Some(next) => {
                    let at = now.max(next.created_at.plus_secs(self.provider.config.jwks_max_age_secs));
                    let won = self.store.schedule_signing_key(next.signer.kid(), at).await?;
                    if won {
                        out.push((alg, next.signer.kid().to_owned(), at));
                    }
                    won
                }
                None => true,
            };
            if scheduled {
                self.create_signing_key(alg, None).await?;
            }
        }
        self.reload_signing_keys().await?;
        self.invalidate(Invalidation::SigningKeys).await;
        Ok(out)
    }

    /// Periodic upkeep, run by every node: scheduled rotation, removal of keys no longer
    /// published, purging of expired codes and tokens, and a reload of the key set.
    pub async fn provider_maintenance(&self) -> Result<()> {
        self.reload_signing_keys().await?;
        let now = self.clock.now();
        let keys = self.provider.keys();
        let due: Vec<SigningAlg> = SigningAlg::ALL
            .into_iter()
            .filter(|a| keys.rotation_due(*a, now, self.provider.config.key_rotation_secs))
            .collect();
        if !due.is_empty() {
            let rotated = self.rotate_signing_keys(&due).await?;
            for (alg, kid, at) in rotated {
                tracing::info!(alg = alg.as_str(), kid, activate_at = %at.rfc3339(), "scheduled signing key rotation");
            }
        }
        let removable = self.provider.keys().removable(now);
        for kid in &removable {
            self.store.delete_signing_key(kid).await?;
        }
        if !removable.is_empty() {
            self.reload_signing_keys().await?;
        }
        let purged = self.store.purge_expired(now).await?
            + self.purge_oauth_requests().await?
            + self.store.purge_links(now).await?;
        if purged > 0 {
            tracing::debug!(
                rows = purged,
                "purged expired codes, tokens, sessions, consent requests and mailed links"
            );
        }
        Ok(())
    }

    /// The JWK Set (RFC 7517 §5) of every published key.
    pub fn jwks(&self) -> serde_json::Value {
        self.provider.keys().jwks(self.clock.now())
    }
}
