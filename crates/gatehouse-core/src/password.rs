//! Password hashing: Argon2id with OWASP parameters on a bounded pool of blocking threads, so a
//! burst of sign-ins cannot starve other work (SPEC §5.2).

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::rng::{Rng, random_bytes};
use crate::secret::SecretString;

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// Longest password accepted (hashing cost grows with length).
pub const MAX_PASSWORD: usize = 1024;

/// Hashes and verifies passwords with at most `permits` running at once.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

fn argon2() -> Argon2<'static> {
    // OWASP: Argon2id, m = 19 MiB, t = 2, p = 1.
    #[allow(clippy::expect_used)]
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl PasswordHasher {
    /// A hasher running at most `permits` hashes at once.
    pub fn new(permits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
        }
    }

    /// Checks the length rules and hashes `password`.
    pub async fn hash(&self, rng: &dyn Rng, password: &SecretString) -> Result<String> {
        let len = password.expose_secret().chars().count();
        if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&len) {
            return Err(Error::invalid(
                "password",
                format!("must be {MIN_PASSWORD}-{MAX_PASSWORD} characters"),
            ));
        }
        let salt =
            SaltString::encode_b64(&random_bytes::<16>(rng)).map_err(|e| Error::unexpected(anyhow::anyhow!("{e}")))?;
        let password = password.clone();
        self.run(move || {
            argon2()
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| Error::unexpected(anyhow::anyhow!("password hashing failed: {e}")))
        })
        .await
    }

    /// Whether `password` matches the PHC string `hash`.
    pub async fn verify(&self, password: &SecretString, hash: &str) -> Result<bool> {
        let password = password.clone();
        let hash = hash.to_owned();
        self.run(move || {
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| Error::unexpected(anyhow::anyhow!("stored hash unreadable: {e}")))?;
            Ok(argon2()
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok())
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(Error::unexpected)?;
        tokio::task::spawn_blocking(f).await.map_err(Error::unexpected)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SystemRng;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let h = PasswordHasher::new(2);
        let pw = SecretString::new("correct horse battery");
        let hash = h.hash(&SystemRng::default(), &pw).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!hash.contains("correct horse"));
        assert!(h.verify(&pw, &hash).await.unwrap());
        assert!(
            !h.verify(&SecretString::new("wrong horse battery"), &hash)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn short_passwords_are_rejected() {
        let e = PasswordHasher::new(1)
            .hash(&SystemRng::default(), &SecretString::new("short"))
            .await;
        assert!(matches!(e, Err(Error::Invalid { field, .. }) if field == "password"));
    }
}
