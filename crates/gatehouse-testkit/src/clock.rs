//! A clock tests move forward to expire tokens and credentials without sleeping (core's
//! `ManualClock` stands still, which a running server's timeouts cannot live with).

use std::sync::atomic::{AtomicI64, Ordering};

use gatehouse_core::time::{Clock, SystemClock, Timestamp};

/// A clock that runs with the system's and can be moved forward.
#[derive(Debug, Default)]
pub struct ShiftedClock(AtomicI64);

impl ShiftedClock {
    /// Moves the clock forward by `secs` seconds.
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(SystemClock.now().millis() + self.0.load(Ordering::SeqCst))
    }
}
