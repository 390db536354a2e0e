//! Randomness as a port, so that tests can make it deterministic where they need to.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::secret::SecretString;

/// A source of cryptographically secure random bytes.
pub trait Rng: Send + Sync + 'static {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// The operating system's CSPRNG (through aws-lc).
#[derive(Debug, Default, Clone)]
pub struct SystemRng(SystemRandom);

impl Rng for SystemRng {
    fn fill(&self, dest: &mut [u8]) {
        // The OS generator only fails if the kernel cannot supply entropy; nothing safe can go on then.
        #[allow(clippy::expect_used)]
        self.0
            .fill(dest)
            .expect("the operating system's random generator failed");
    }
}

/// `N` random bytes.
pub fn random_bytes<const N: usize>(rng: &dyn Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill(&mut b);
    b
}

/// A 256-bit random secret as base64url without padding (43 characters).
pub fn random_token(rng: &dyn Rng) -> SecretString {
    SecretString::new(URL_SAFE_NO_PAD.encode(random_bytes::<32>(rng)))
}

/// A random version-4 UUID drawn from `rng`.
pub fn random_uuid(rng: &dyn Rng) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(random_bytes::<16>(rng)).into_uuid()
}
