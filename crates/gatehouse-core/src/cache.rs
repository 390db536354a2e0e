//! A read-through cache of stored records that cannot resurrect what was invalidated.
//!
//! A reader that misses loads from storage and then inserts; if an invalidation lands between its
//! load and its insert, the loaded record may already be stale. Every invalidation bumps a
//! generation, and an insert is dropped when the generation moved since its load began. Entries
//! also expire after [`TTL_MS`] (or the cache's own shorter lifetime), a backstop for a
//! notification another node failed to send.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use crate::keyring::{read, write};
use crate::time::Timestamp;

/// Longest time an entry is trusted without reloading it.
pub const TTL_MS: i64 = 30_000;
/// Most entries kept: past it, expired entries are swept, and if none were, the cache starts over.
pub const MAX_ENTRIES: usize = 100_000;

struct Inner<K, V> {
    generation: u64,
    entries: HashMap<K, (Arc<V>, Timestamp)>,
}

/// Records by key, with generation-checked inserts and expiry.
pub struct Cache<K, V> {
    inner: RwLock<Inner<K, V>>,
    ttl_ms: i64,
    max_entries: usize,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Self::with_ttl(TTL_MS)
    }
}

impl<K, V> Cache<K, V> {
    /// A cache whose entries are trusted for `ttl_ms` at most.
    pub fn with_ttl(ttl_ms: i64) -> Self {
        Self::with_limits(ttl_ms, MAX_ENTRIES)
    }

    /// A cache whose entries are trusted for `ttl_ms` at most, holding `max_entries` at most.
    pub fn with_limits(ttl_ms: i64, max_entries: usize) -> Self {
        Self {
            inner: RwLock::new(Inner {
                generation: 0,
                entries: HashMap::new(),
            }),
            ttl_ms,
            max_entries,
        }
    }
}

impl<K, V> std::fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("entries", &read(&self.inner).entries.len())
            .finish()
    }
}

/// Where a load started: pass it back to [`Cache::insert`].
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl<K: Eq + Hash, V> Cache<K, V> {
    /// The entry for `key`, unless it is missing or older than the cache's lifetime at `now`.
    pub fn get<Q>(&self, key: &Q, now: Timestamp) -> Option<Arc<V>>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let inner = read(&self.inner);
        inner
            .entries
            .get(key)
            .filter(|(_, at)| now.millis() - at.millis() < self.ttl_ms)
            .map(|(v, _)| v.clone())
    }

    /// Call before loading a missing entry from storage.
    pub fn ticket(&self) -> Ticket {
        Ticket(read(&self.inner).generation)
    }

    /// Caches `value` loaded at `now`, unless an invalidation happened since `ticket` was taken.
    pub fn insert(&self, ticket: Ticket, key: K, value: Arc<V>, now: Timestamp) {
        let mut inner = write(&self.inner);
        if inner.generation != ticket.0 {
            return;
        }
        if inner.entries.len() >= self.max_entries {
            let ttl = self.ttl_ms;
            inner.entries.retain(|_, (_, at)| now.millis() - at.millis() < ttl);
            if inner.entries.len() >= self.max_entries {
                inner.entries.clear();
            }
        }
        inner.entries.insert(key, (value, now));
    }

    /// Replaces an entry that is still cached (never re-adds a removed one).
    pub fn refresh(&self, key: &K, value: Arc<V>) {
        if let Some(slot) = write(&self.inner).entries.get_mut(key) {
            slot.0 = value;
        }
    }

    /// Drops the entries `keep` rejects, and fences off loads in flight.
    pub fn invalidate(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        let mut inner = write(&self.inner);
        inner.generation += 1;
        inner.entries.retain(|k, (v, _)| keep(k, v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn a_load_that_raced_an_invalidation_is_not_cached() {
        let c: Cache<&str, u32> = Cache::default();
        let ticket = c.ticket();
        c.invalidate(|k, _| *k != "key");
        c.insert(ticket, "key", Arc::new(1), at(0));
        assert!(c.get("key", at(0)).is_none());
        let fresh = c.ticket();
        c.insert(fresh, "key", Arc::new(2), at(0));
        assert_eq!(c.get("key", at(0)).as_deref(), Some(&2));
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let c: Cache<&str, u32> = Cache::default();
        c.insert(c.ticket(), "key", Arc::new(1), at(0));
        assert!(c.get("key", at(TTL_MS - 1)).is_some());
        assert!(c.get("key", at(TTL_MS)).is_none());
        let short: Cache<&str, u32> = Cache::with_ttl(1_000);
        short.insert(short.ticket(), "key", Arc::new(1), at(0));
        assert!(short.get("key", at(999)).is_some());
        assert!(short.get("key", at(1_000)).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let c: Cache<usize, u32> = Cache::default();
        for i in 0..=MAX_ENTRIES {
            c.insert(c.ticket(), i, Arc::new(1), at(0));
        }
        assert!(read(&c.inner).entries.len() <= MAX_ENTRIES);
        assert!(c.get(&MAX_ENTRIES, at(0)).is_some(), "the newest entry is kept");
    }

    #[test]
    fn refresh_never_re_adds_a_removed_entry() {
        let c: Cache<&str, u32> = Cache::default();
        c.refresh(&"key", Arc::new(1));
        assert!(c.get("key", at(0)).is_none());
    }
}
