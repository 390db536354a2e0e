//! Brute-force delays (SPEC §5.2): after a few free failures, each further failure for a key
//! (an account from one address, an address, a client id) doubles the wait before the next
//! attempt is even considered. A throttled attempt is answered at once with the usual error and
//! a retry time: it never hangs a connection and never touches another key.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::time::Timestamp;

/// Failures are forgotten after this long without a new one.
const WINDOW_MS: i64 = 15 * 60 * 1000;
/// The longest wait imposed.
const MAX_DELAY_MS: i64 = 5 * 60 * 1000;
/// Entries kept before old ones are swept.
const CAPACITY: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Timestamp,
    blocked_until: Timestamp,
}

/// Failure counts per key, in memory on this node.
#[derive(Debug)]
pub struct Limiter {
    free: u32,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Limiter {
    /// A limiter that lets `free` failures pass before delays begin.
    pub fn new(free: u32) -> Self {
        Self {
            free,
            entries: Mutex::default(),
        }
    }

    /// `Err(seconds)` while `key` must wait.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), u64> {
        let entries = self.lock();
        match entries.get(key) {
            Some(e) if e.blocked_until > now => {
                let ms = e.blocked_until.millis() - now.millis();
                Err(u64::try_from((ms + 999) / 1000).unwrap_or(1))
            }
            _ => Ok(()),
        }
    }

    /// Records a failure: the wait after it is 1 s, 2 s, 4 s, … up to 5 minutes.
    pub fn failure(&self, key: &str, now: Timestamp) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.blocked_until > now || now.millis() - e.last_failure.millis() < WINDOW_MS);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        let e = entries.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            blocked_until: now,
        });
        if now.millis() - e.last_failure.millis() > WINDOW_MS {
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        e.last_failure = now;
        if e.failures > self.free {
            let exp = (e.failures - self.free - 1).min(20);
            let delay = (1000_i64 << exp).min(MAX_DELAY_MS);
            e.blocked_until = Timestamp::from_millis(now.millis() + delay);
        }
    }

    /// Forgets `key`'s failures after a success.
    pub fn success(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn delays_begin_after_the_free_failures_and_grow() {
        let l = Limiter::new(2);
        l.failure("a", at(0));
        l.failure("a", at(0));
        assert!(l.check("a", at(0)).is_ok());
        l.failure("a", at(0));
        assert_eq!(l.check("a", at(0)), Err(1));
        l.failure("a", at(1000));
        assert_eq!(l.check("a", at(1000)), Err(2));
        assert!(l.check("a", at(3000)).is_ok());
    }

    #[test]
    fn other_keys_are_never_delayed() {
        let l = Limiter::new(0);
        for i in 0..10 {
            l.failure("attacker", at(i));
        }
        assert!(l.check("attacker", at(10)).is_err());
        assert!(l.check("victim", at(10)).is_ok());
    }

    #[test]
    fn success_and_time_forget_failures() {
        let l = Limiter::new(0);
        l.failure("a", at(0));
        l.success("a");
        assert!(l.check("a", at(0)).is_ok());
        l.failure("b", at(0));
        l.failure("b", at(WINDOW_MS + 10));
        assert_eq!(l.check("b", at(WINDOW_MS + 10)), Err(1));
    }
}
