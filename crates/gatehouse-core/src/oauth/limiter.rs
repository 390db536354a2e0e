//! Brute-force delays (SPEC §5.2). After the `after`-th failure for a key, each attempt for that
//! key waits: 1 s after that failure, then 2 s, 4 s, … up to 5 minutes, each further failure
//! doubling the wait. A throttled attempt is answered at once with the usual error and a retry
//! time: it never hangs a connection and never touches another key. Failures are forgotten 15
//! minutes after the last one, and a success forgets them at once.
//!
//! Keys always include the address an attempt comes from (an IPv4 address, or the /64 network
//! of an IPv6 address, which one subscriber usually holds whole), so whoever fails slows only
//! themselves:
//!
//! - Client authentication ([`ClientLimiter`]): per client and address. The right secret from an
//!   address without failures is always served, whatever others send in the client's name. No
//!   account-wide count is kept: client secrets are 256-bit random values, which no delay needs
//!   to protect, and one would let anyone who knows a client id lock the client out.
//! - Sign-in ([`SignInLimiter`]): per account and address, and per address whatever the account.
//!   A third count per account from any address slows guessing spread over many addresses, but
//!   only addresses that have themselves failed for the account wait for it: an address with no
//!   failures for the account is always let through to the password check, so an attacker
//!   cannot lock the owner out from elsewhere. Under such an attack each new address gets one
//!   guess before the account-wide wait applies to it too.
//!
//! The counts live in each node's memory, bounded: at capacity, forgotten entries go first, then
//! the oldest tenth by last failure (entries still delaying someone failed within the last 5
//! minutes, so they go last). A spray of random client ids or addresses costs a bounded amount of
//! memory. The check for a key that never failed takes no lock while nothing has failed at all.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::time::Timestamp;

/// Failures are forgotten after this long without a new one.
const WINDOW_MS: i64 = 15 * 60 * 1000;
/// The longest wait imposed.
const MAX_DELAY_MS: i64 = 5 * 60 * 1000;
/// Entries kept per limiter.
const CAPACITY: usize = 100_000;

/// The part of an address that attempts are counted by: an IPv4 address (also when written as
/// an IPv4-mapped IPv6 address), or the /64 network of an IPv6 address.
pub fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Timestamp,
    blocked_until: Timestamp,
}

impl Entry {
    fn forgotten(&self, now: Timestamp) -> bool {
        now.millis() - self.last_failure.millis() >= WINDOW_MS
    }
}

/// Failure counts per key, in memory on this node.
#[derive(Debug)]
pub struct Limiter<K> {
    after: u32,
    capacity: usize,
    /// The number of entries, read without the lock: zero means nothing to check or forget.
    len: AtomicUsize,
    entries: Mutex<HashMap<K, Entry>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter whose delays start with the `after`-th failure (at least the first).
    pub fn new(after: u32) -> Self {
        Self::with_capacity(after, CAPACITY)
    }

    fn with_capacity(after: u32, capacity: usize) -> Self {
        Self {
            after: after.max(1),
            capacity: capacity.max(1),
            len: AtomicUsize::new(0),
            entries: Mutex::default(),
        }
    }

    /// `Err(seconds)` while `key` must wait.
    pub fn check(&self, key: &K, now: Timestamp) -> Result<(), u64> {
        if self.len.load(Ordering::Acquire) == 0 {
            return Ok(());
        }
        match self.lock().get(key) {
            Some(e) if e.blocked_until > now => {
                let ms = e.blocked_until.millis() - now.millis();
                Err(u64::try_from((ms + 999) / 1000).unwrap_or(1))
            }
            _ => Ok(()),
        }
    }

    /// The failures of `key` not yet forgotten.
    pub fn failures(&self, key: &K, now: Timestamp) -> u32 {
        if self.len.load(Ordering::Acquire) == 0 {
            return 0;
        }
        self.lock()
            .get(key)
            .filter(|e| !e.forgotten(now))
            .map_or(0, |e| e.failures)
    }

    /// Records a failure: from the `after`-th on, the next attempt waits 1 s, 2 s, 4 s, … up to
    /// 5 minutes.
    pub fn failure(&self, key: &K, now: Timestamp) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            evict(&mut entries, self.capacity, now);
        }
        let e = entries.entry(key.clone()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            blocked_until: now,
        });
        if e.forgotten(now) {
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        e.last_failure = now;
        if e.failures >= self.after {
            let exp = (e.failures - self.after).min(20);
            let delay = (1000_i64 << exp).min(MAX_DELAY_MS);
            e.blocked_until = Timestamp::from_millis(now.millis() + delay);
        }
        self.len.store(entries.len(), Ordering::Release);
    }

    /// Forgets `key`'s failures after a success.
    pub fn success(&self, key: &K) {
        if self.len.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.remove(key).is_some() {
            self.len.store(entries.len(), Ordering::Release);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Makes room in a full map: drops forgotten entries, then, if still full, the oldest tenth by
/// last failure. Evicting a batch keeps the cost of a full map at a few entries per insertion.
fn evict<K: Hash + Eq>(entries: &mut HashMap<K, Entry>, capacity: usize, now: Timestamp) {
    entries.retain(|_, e| e.blocked_until > now || !e.forgotten(now));
    if entries.len() < capacity {
        return;
    }
    let n = (capacity / 10).max(1).min(entries.len());
    let mut ages: Vec<i64> = entries.values().map(|e| e.last_failure.millis()).collect();
    let (_, &mut cutoff, _) = ages.select_nth_unstable(n - 1);
    // Entries at the cutoff itself go only as far as `n` in all.
    let mut ties = n - ages.iter().filter(|&&t| t < cutoff).count();
    entries.retain(|_, e| {
        let t = e.last_failure.millis();
        if t < cutoff {
            false
        } else if t == cutoff && ties > 0 {
            ties -= 1;
            false
        } else {
            true
        }
    });
}

/// Turns a client id or an email into a fixed-size key, with a per-process random key so nobody
/// can aim for collisions.
#[derive(Debug, Default)]
struct Fingerprint(RandomState);

impl Fingerprint {
    fn of(&self, s: &str) -> u64 {
        self.0.hash_one(s)
    }
}

/// Client authentication failures per client and address (RFC 6749 §2.3, SPEC §5.2).
#[derive(Debug)]
pub struct ClientLimiter {
    ids: Fingerprint,
    attempts: Limiter<(u64, IpAddr)>,
}

/// One client from one address, as [`ClientLimiter`] counts it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAttempt((u64, IpAddr));

impl ClientLimiter {
    /// Delays start with the `after`-th failure of a client from one address.
    pub fn new(after: u32) -> Self {
        Self {
            ids: Fingerprint::default(),
            attempts: Limiter::new(after),
        }
    }

    /// The key of an attempt for `client_id` from `peer`; computing it allocates nothing.
    pub fn attempt(&self, client_id: &str, peer: IpAddr) -> ClientAttempt {
        ClientAttempt((self.ids.of(client_id), network(peer)))
    }

    /// `Err(seconds)` while this client must wait at this address.
    pub fn check(&self, attempt: ClientAttempt, now: Timestamp) -> Result<(), u64> {
        self.attempts.check(&attempt.0, now)
    }

    /// Records a failure of this client from this address.
    pub fn failure(&self, attempt: ClientAttempt, now: Timestamp) {
        self.attempts.failure(&attempt.0, now);
    }

    /// Forgets this address's failures for this client.
    pub fn success(&self, attempt: ClientAttempt) {
        self.attempts.success(&attempt.0);
    }
}

/// Sign-in failures (SPEC §5.2): see the module documentation for why the account-wide count
/// never delays an address without failures for the account.
#[derive(Debug)]
pub struct SignInLimiter {
    emails: Fingerprint,
    /// One account from one address.
    account: Limiter<(u64, IpAddr)>,
    /// One account from anywhere, applied only to addresses that failed for it.
    account_any: Limiter<u64>,
    /// One address, whatever the account.
    address: Limiter<IpAddr>,
}

/// One account from one address, as [`SignInLimiter`] counts it.
#[derive(Debug, Clone, Copy)]
pub struct SignInAttempt {
    account: u64,
    from: IpAddr,
}

impl SignInLimiter {
    /// Delays start with the `account`-th failure for an account from one address, the
    /// `account_any`-th for an account from anywhere, and the `address`-th from one address.
    pub fn new(account: u32, account_any: u32, address: u32) -> Self {
        Self {
            emails: Fingerprint::default(),
            account: Limiter::new(account),
            account_any: Limiter::new(account_any),
            address: Limiter::new(address),
        }
    }

    /// The key of an attempt for the (normalised) `email` from `peer`.
    pub fn attempt(&self, email: &str, peer: IpAddr) -> SignInAttempt {
        SignInAttempt {
            account: self.emails.of(email),
            from: network(peer),
        }
    }

    /// `Err(seconds)` while this attempt must wait.
    pub fn check(&self, a: SignInAttempt, now: Timestamp) -> Result<(), u64> {
        self.address.check(&a.from, now)?;
        let here = (a.account, a.from);
        self.account.check(&here, now)?;
        if self.account.failures(&here, now) > 0 {
            self.account_any.check(&a.account, now)?;
        }
        Ok(())
    }

    /// Records a wrong password (or an unknown email) in all three counts.
    pub fn failure(&self, a: SignInAttempt, now: Timestamp) {
        self.account.failure(&(a.account, a.from), now);
        self.account_any.failure(&a.account, now);
        self.address.failure(&a.from, now);
    }

    /// Forgets this address's failures for this account. The account-wide and address-wide
    /// counts stay: one right password must not reopen guessing elsewhere.
    pub fn success(&self, a: SignInAttempt) {
        self.account.success(&(a.account, a.from));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn times(n: usize, f: impl Fn()) {
        (0..n).for_each(|_| f());
    }

    #[test]
    fn the_delay_starts_with_the_after_th_failure_and_doubles() {
        let l = Limiter::new(3);
        l.failure(&"a", at(0));
        l.failure(&"a", at(0));
        assert_eq!(l.check(&"a", at(0)), Ok(()), "two failures of three are free");
        l.failure(&"a", at(0));
        assert_eq!(l.check(&"a", at(0)), Err(1), "the third failure starts the delay");
        assert_eq!(l.check(&"a", at(999)), Err(1));
        assert_eq!(l.check(&"a", at(1000)), Ok(()));
        l.failure(&"a", at(1000));
        assert_eq!(l.check(&"a", at(1000)), Err(2));
        l.failure(&"a", at(3000));
        assert_eq!(l.check(&"a", at(3000)), Err(4));
    }

    #[test]
    fn the_documented_thresholds_hold_at_the_boundary() {
        for after in [5, 10, 20, 100] {
            let l = Limiter::new(after);
            for _ in 1..after {
                l.failure(&"k", at(0));
            }
            assert_eq!(l.check(&"k", at(0)), Ok(()), "after {after}");
            l.failure(&"k", at(0));
            assert_eq!(l.check(&"k", at(0)), Err(1), "after {after}");
        }
    }

    #[test]
    fn the_wait_never_exceeds_five_minutes() {
        let l = Limiter::new(1);
        for i in 0..40 {
            l.failure(&"a", at(i * MAX_DELAY_MS));
        }
        let now = at(39 * MAX_DELAY_MS);
        assert_eq!(l.check(&"a", now), Err(300));
    }

    #[test]
    fn other_keys_are_never_delayed() {
        let l = Limiter::new(1);
        for i in 0..10 {
            l.failure(&"attacker", at(i));
        }
        assert!(l.check(&"attacker", at(10)).is_err());
        assert!(l.check(&"victim", at(10)).is_ok());
    }

    #[test]
    fn success_and_time_forget_failures() {
        let l = Limiter::new(1);
        l.failure(&"a", at(0));
        l.success(&"a");
        assert_eq!(l.check(&"a", at(0)), Ok(()));
        assert_eq!(l.failures(&"a", at(0)), 0);
        let l = Limiter::new(2);
        l.failure(&"b", at(0));
        assert_eq!(l.failures(&"b", at(WINDOW_MS - 1)), 1);
        assert_eq!(l.failures(&"b", at(WINDOW_MS)), 0);
        l.failure(&"b", at(WINDOW_MS + 10));
        assert_eq!(
            l.check(&"b", at(WINDOW_MS + 10)),
            Ok(()),
            "the old failure is forgotten"
        );
    }

    #[test]
    fn a_full_limiter_evicts_forgotten_entries_then_the_oldest() {
        let l = Limiter::with_capacity(1, 20);
        for i in 0..20 {
            l.failure(&i, at(i64::from(i)));
        }
        // Full: the oldest tenth goes, the rest and the newcomer stay.
        l.failure(&100, at(100));
        assert_eq!(l.len.load(Ordering::Relaxed), 19);
        assert_eq!(l.failures(&0, at(100)), 0);
        assert_eq!(l.failures(&1, at(100)), 0);
        assert_eq!(l.failures(&2, at(100)), 1);
        assert!(l.check(&100, at(100)).is_err());
        // Much later everything but the newcomer has been forgotten.
        let later = at(100 + WINDOW_MS);
        l.failure(&200, later);
        l.failure(&201, later);
        assert_eq!(l.failures(&201, later), 1);
        assert!(l.len.load(Ordering::Relaxed) < 20);
    }

    #[test]
    fn a_spray_of_keys_stays_bounded_and_spares_recent_delays() {
        let l = Limiter::with_capacity(1, 1000);
        l.failure(&u64::MAX, at(1_000_000));
        for i in 0..10_000 {
            l.failure(&i, at(i64::try_from(i).unwrap()));
        }
        assert!(l.len.load(Ordering::Relaxed) <= 1000);
        assert!(l.check(&u64::MAX, at(1_000_000)).is_err());
    }

    #[test]
    fn equal_ages_are_evicted_only_as_far_as_needed() {
        let l = Limiter::with_capacity(5, 20);
        for i in 0..20 {
            l.failure(&i, at(0));
        }
        l.failure(&20, at(0));
        assert_eq!(l.len.load(Ordering::Relaxed), 19);
    }

    #[test]
    fn addresses_count_per_ipv4_address_and_ipv6_network() {
        assert_eq!(network(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(network(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(network(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(network(ip("2001:db8:1:2:ffff::9")), network(ip("2001:db8:1:2::1")));
        assert_ne!(network(ip("2001:db8:1:3::1")), network(ip("2001:db8:1:2::1")));
    }

    #[test]
    fn client_failures_delay_only_the_failing_address_and_a_success_resets_it() {
        let l = ClientLimiter::new(10);
        let attacker = l.attempt("app", ip("192.0.2.1"));
        let owner = l.attempt("app", ip("198.51.100.1"));
        times(9, || l.failure(attacker, at(0)));
        assert_eq!(l.check(attacker, at(0)), Ok(()));
        l.success(attacker);
        times(9, || l.failure(attacker, at(0)));
        assert_eq!(l.check(attacker, at(0)), Ok(()), "the success reset the count");
        times(30, || l.failure(attacker, at(0)));
        assert!(l.check(attacker, at(0)).is_err());
        assert_eq!(l.check(owner, at(0)), Ok(()));
        assert_eq!(l.check(l.attempt("other", ip("192.0.2.1")), at(0)), Ok(()));
    }

    #[test]
    fn the_owner_signs_in_from_a_clean_address_whatever_others_did() {
        let l = SignInLimiter::new(5, 20, 100);
        for n in 0..10u8 {
            let a = l.attempt("ada@example.com", IpAddr::from([203, 0, 113, n]));
            times(5, || l.failure(a, at(0)));
            assert!(l.check(a, at(0)).is_err());
        }
        // A new address gets one guess, then waits for the account-wide delay.
        let fresh = l.attempt("ada@example.com", ip("192.0.2.1"));
        assert_eq!(l.check(fresh, at(0)), Ok(()));
        l.failure(fresh, at(0));
        assert!(l.check(fresh, at(0)).is_err());
        // The owner's own address has no failures: never delayed.
        let owner = l.attempt("ada@example.com", ip("198.51.100.1"));
        assert_eq!(l.check(owner, at(0)), Ok(()));
        assert_eq!(l.check(l.attempt("bob@example.com", ip("192.0.2.1")), at(0)), Ok(()));
    }

    #[test]
    fn sign_in_delays_start_at_the_documented_failures_and_a_success_resets_the_address() {
        let l = SignInLimiter::new(5, 20, 100);
        let a = l.attempt("ada@example.com", ip("192.0.2.1"));
        times(4, || l.failure(a, at(0)));
        assert_eq!(l.check(a, at(0)), Ok(()));
        l.success(a);
        times(4, || l.failure(a, at(0)));
        assert_eq!(l.check(a, at(0)), Ok(()));
        l.failure(a, at(0));
        assert_eq!(l.check(a, at(0)), Err(1));
        // One address is delayed across accounts from its 100th failure.
        let l = SignInLimiter::new(5, 20, 100);
        for n in 0..99 {
            l.failure(l.attempt(&format!("u{n}@example.com"), ip("192.0.2.1")), at(0));
        }
        let next = l.attempt("ada@example.com", ip("192.0.2.1"));
        assert_eq!(l.check(next, at(0)), Ok(()));
        l.failure(l.attempt("u99@example.com", ip("192.0.2.1")), at(0));
        assert_eq!(l.check(next, at(0)), Err(1));
    }
}
