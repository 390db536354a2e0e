//! When each client last got a token, kept cheaply: in memory on every token, and written to
//! storage at most once a minute per client (never a write per token request).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::time::Timestamp;

/// How often one client's last use is written, at most.
pub const WRITE_EVERY_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy)]
struct Seen {
    last: Timestamp,
    written: Timestamp,
}

/// This node's view of recent client use.
#[derive(Debug, Default)]
pub struct Usage(Mutex<HashMap<String, Seen>>);

impl Usage {
    /// Notes a use of client `id` at `now`; true when it is due to be written.
    pub fn note(&self, id: &str, now: Timestamp) -> bool {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get_mut(id) {
            Some(seen) => {
                seen.last = seen.last.max(now);
                let due = now.millis() - seen.written.millis() >= WRITE_EVERY_MS;
                if due {
                    seen.written = now;
                }
                due
            }
            None => {
                map.insert(
                    id.to_owned(),
                    Seen {
                        last: now,
                        written: now,
                    },
                );
                true
            }
        }
    }

    /// The last use of client `id` this node saw.
    pub fn last(&self, id: &str) -> Option<Timestamp> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(id).map(|s| s.last)
    }

    /// Forgets a deleted client.
    pub fn forget(&self, id: &str) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_written_on_first_use_then_at_most_once_a_minute() {
        let u = Usage::default();
        let at = Timestamp::from_millis;
        assert!(u.note("a", at(1_000)));
        assert!(!u.note("a", at(2_000)));
        assert!(!u.note("a", at(60_999)));
        assert_eq!(u.last("a"), Some(at(60_999)));
        assert!(u.note("a", at(61_000)));
        assert!(u.note("b", at(61_000)), "clients are counted apart");
        u.forget("a");
        assert_eq!(u.last("a"), None);
    }
}
