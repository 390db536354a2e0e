//! Randomness as a port, so that tests can make it deterministic where they need to.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::secret::Secret;

/// A source of cryptographically secure random bytes.
pub trait Rng: Send + Sync + 'static {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// aws-lc's CSPRNG, seeded by the operating system.
///
/// aws-lc's generator costs about a microsecond a call whatever the length (it mixes in fresh
/// CPU entropy and checks for a fork each time), so requests of up to [`POOLED_MAX`] bytes are
/// served from a per-thread pool of [`POOL_LEN`] bytes drawn from it at once. Each pooled byte is
/// handed out once and zeroed as it goes. Gatehouse never forks without `exec`, so no two
/// processes share a pool.
#[derive(Debug, Default, Clone)]
pub struct SystemRng(SystemRandom);

/// Largest request served from the pool; longer ones go straight to aws-lc.
const POOLED_MAX: usize = 64;
/// Bytes drawn from aws-lc per refill.
const POOL_LEN: usize = 1024;

/// Random bytes drawn ahead; those before `next` are spent (and zero).
struct Pool {
    bytes: [u8; POOL_LEN],
    next: usize,
}

thread_local! {
    static POOL: std::cell::RefCell<Pool> = const {
        std::cell::RefCell::new(Pool {
            bytes: [0; POOL_LEN],
            next: POOL_LEN,
        })
    };
}

impl SystemRng {
    fn draw(&self, dest: &mut [u8]) {
        // The OS generator only fails if the kernel cannot supply entropy; nothing safe can go on then.
        #[allow(clippy::expect_used)]
        self.0
            .fill(dest)
            .expect("the operating system's random generator failed");
    }
}

impl Rng for SystemRng {
    fn fill(&self, dest: &mut [u8]) {
        if dest.len() > POOLED_MAX {
            return self.draw(dest);
        }
        POOL.with_borrow_mut(|pool| {
            if POOL_LEN - pool.next < dest.len() {
                self.draw(&mut pool.bytes);
                pool.next = 0;
            }
            let taken = &mut pool.bytes[pool.next..pool.next + dest.len()];
            dest.copy_from_slice(taken);
            taken.fill(0);
            pool.next += dest.len();
        });
    }
}

/// `N` random bytes.
pub fn random_bytes<const N: usize>(rng: &dyn Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill(&mut b);
    b
}

/// A 256-bit random secret as base64url without padding (43 characters). It is a [`Secret`]:
/// each one is made for one use and moves there.
pub fn random_token(rng: &dyn Rng) -> Secret<String> {
    Secret::new(URL_SAFE_NO_PAD.encode(random_bytes::<32>(rng)))
}

/// A random version-4 UUID drawn from `rng`.
pub fn random_uuid(rng: &dyn Rng) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(random_bytes::<16>(rng)).into_uuid()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn pooled_draws_never_repeat_across_refills() {
        let rng = SystemRng::default();
        let mut seen = HashSet::new();
        // 5,000 draws of 16 bytes: about 80 refills of the pool.
        for _ in 0..5_000 {
            assert!(seen.insert(random_bytes::<16>(&rng)), "a 128-bit draw repeated");
        }
        assert!(!seen.contains(&[0u8; 16]));
    }

    #[test]
    fn spent_pool_bytes_are_zeroed_and_long_draws_bypass_the_pool() {
        let rng = SystemRng::default();
        let _ = random_bytes::<7>(&rng);
        let next = POOL.with_borrow(|p| {
            assert!(
                p.bytes[..p.next].iter().all(|b| *b == 0),
                "spent bytes left in the pool"
            );
            assert!(p.bytes[p.next..].iter().any(|b| *b != 0), "no unspent random bytes");
            p.next
        });
        let long = random_bytes::<{ POOLED_MAX + 1 }>(&rng);
        assert!(long.iter().any(|b| *b != 0));
        assert_eq!(POOL.with_borrow(|p| p.next), next, "a long draw took pooled bytes");
        // Every length up to the limit is served, across refills.
        for len in 0..=POOLED_MAX {
            let mut buf = vec![0u8; len];
            rng.fill(&mut buf);
            assert!(len < 8 || buf.iter().any(|b| *b != 0), "{len} bytes all zero");
        }
    }
}
