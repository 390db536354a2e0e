//! Shared helpers of the Gatehouse benchmarks: timing, the HTTP load generator, CPU accounting,
//! servers as pinned child processes, and the setup of the authorization-server scenarios.

pub mod cpu;
pub mod load;
pub mod oauth;
pub mod server;

use std::time::{Duration, Instant};

/// Runs `f` `iterations` times and returns the elapsed time.
pub fn time<F: FnMut()>(iterations: u64, mut f: F) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed()
}

/// Operations per second.
pub fn rate(iterations: u64, elapsed: Duration) -> f64 {
    iterations as f64 / elapsed.as_secs_f64()
}
