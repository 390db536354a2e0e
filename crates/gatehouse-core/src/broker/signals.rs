//! Wake-ups for callers waiting on a row another task or node will change (a consent answer,
//! a refresh), and the count of exchanges and refreshes still talking to a provider.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

/// One signal per watched id. A waiter subscribes before reading the row, so a change made
/// after the read is never missed; readers still re-read on a timer in case a cross-node
/// notification was lost.
#[derive(Debug, Default)]
pub struct Signals(Mutex<HashMap<uuid::Uuid, watch::Sender<u64>>>);

impl Signals {
    /// A receiver that changes whenever `id` is signalled.
    pub fn subscribe(&self, id: uuid::Uuid) -> watch::Receiver<u64> {
        let mut map = lock(&self.0);
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(id).or_insert_with(|| watch::channel(0).0).subscribe()
    }

    /// Wakes whoever waits on `id` on this node.
    pub fn signal(&self, id: uuid::Uuid) {
        if let Some(tx) = lock(&self.0).get(&id) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// Counts work that must not be cut short by a shutdown: an exchange or refresh whose answer
/// the provider may already have sent (a rotated refresh token exists only in that answer).
#[derive(Debug)]
pub struct InFlight(watch::Sender<usize>);

impl Default for InFlight {
    fn default() -> Self {
        Self(watch::channel(0).0)
    }
}

impl InFlight {
    /// Counts one piece of work until the guard drops.
    pub fn enter(&self) -> InFlightGuard {
        self.0.send_modify(|n| *n += 1);
        InFlightGuard(self.0.clone())
    }

    /// Waits until nothing is in flight, or `limit` passes; whether everything finished.
    pub async fn settled(&self, limit: Duration) -> bool {
        let mut rx = self.0.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|n| *n == 0)).await.is_ok()
    }
}

/// Holds one unit of [`InFlight`].
#[derive(Debug)]
pub struct InFlightGuard(watch::Sender<usize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signal_after_subscribing_is_seen() {
        let s = Signals::default();
        let id = uuid::Uuid::new_v4();
        let mut rx = s.subscribe(id);
        s.signal(id);
        tokio::time::timeout(Duration::from_secs(1), rx.changed())
            .await
            .unwrap()
            .unwrap();
        // Nobody listens to another id: signalling it is a no-op.
        s.signal(uuid::Uuid::new_v4());
    }

    #[tokio::test]
    async fn settles_when_the_last_guard_drops() {
        let f = InFlight::default();
        assert!(f.settled(Duration::from_millis(1)).await);
        let g = f.enter();
        assert!(!f.settled(Duration::from_millis(20)).await);
        drop(g);
        assert!(f.settled(Duration::from_millis(20)).await);
    }
}
