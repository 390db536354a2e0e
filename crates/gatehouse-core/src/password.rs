//! Password hashing: Argon2id with OWASP parameters on a bounded pool of dedicated threads that
//! run at a lower scheduling priority, so a burst of sign-ins cannot starve token requests
//! (SPEC §5.2): when the CPU is contended, request handling wins and sign-ins queue.

use std::sync::{Arc, Mutex, mpsc};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};
use crate::rng::{Rng, random_bytes};
use crate::secret::SecretString;

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// Longest password accepted (hashing cost grows with length).
pub const MAX_PASSWORD: usize = 1024;

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords on `permits` low-priority threads.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
}

fn argon2() -> Argon2<'static> {
    // OWASP: Argon2id, m = 19 MiB, t = 2, p = 1.
    #[allow(clippy::expect_used)]
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl PasswordHasher {
    /// A hasher running at most `permits` hashes at once, on threads of its own.
    pub fn new(permits: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..permits.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("gatehouse-argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // Every hasher handle is gone.
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self { jobs }
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
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| Error::unexpected(anyhow::anyhow!("the password hashing threads stopped")))?;
        rx.await
            .map_err(|_| Error::unexpected(anyhow::anyhow!("a password hashing thread failed")))?
    }
}

/// Niceness 9 with `SCHED_BATCH`: under contention the request threads get about nine tenths
/// of the CPU, and hashing still progresses. Where this is not possible, hashing runs at normal
/// priority.
fn lower_priority() {
    use thread_priority::{ThreadPriority, ThreadPriorityValue};
    #[cfg(target_os = "linux")]
    let result = {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy, thread_native_id,
        };
        ThreadPriorityValue::try_from(25u8)
            .map_err(|e| format!("{e:?}"))
            .and_then(|p| {
                set_thread_priority_and_policy(
                    thread_native_id(),
                    ThreadPriority::Crossplatform(p),
                    ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch),
                )
                .map_err(|e| format!("{e:?}"))
            })
    };
    #[cfg(not(target_os = "linux"))]
    let result = ThreadPriorityValue::try_from(25u8)
        .map_err(|e| format!("{e:?}"))
        .and_then(|p| {
            thread_priority::set_current_thread_priority(ThreadPriority::Crossplatform(p)).map_err(|e| format!("{e:?}"))
        });
    if let Err(e) = result {
        tracing::warn!(error = %e, "password hashing runs at normal priority");
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
