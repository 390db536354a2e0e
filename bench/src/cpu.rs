//! CPU time from `/proc`, to tell what a load window cost the server and how much of the machine
//! other processes took meanwhile (this machine is shared; a figure taken while something else ran
//! says so).

use std::time::Duration;

/// Clock ticks per second of `/proc` figures (`USER_HZ`, 100 on every Linux architecture we run).
const TICKS_PER_SEC: f64 = 100.0;

/// One reading.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// User and system time of the watched process, all threads.
    server: u64,
    /// The same for this process.
    own: u64,
    /// Busy time of every CPU of the machine.
    busy: u64,
}

/// CPU use between two samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// CPU time of the watched process.
    pub server: Duration,
    /// CPU time of the load generator.
    pub own: Duration,
    /// CPU time of everything else (other processes, PostgreSQL, the kernel's own threads).
    pub others: Duration,
}

fn process_ticks(pid: &str) -> u64 {
    // Fields after the parenthesised command name: state is 3rd, utime 14th, stime 15th.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

fn busy_ticks() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let line = s.lines().next()?;
            let f: Vec<u64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
            // user nice system idle iowait irq softirq steal …
            let idle = f.get(3)? + f.get(4)?;
            Some(f.iter().take(8).sum::<u64>() - idle)
        })
        .unwrap_or(0)
}

impl Sample {
    /// Reads the counters now, watching `pid`.
    pub fn now(pid: Option<u32>) -> Self {
        Self {
            server: pid.map_or(0, |p| process_ticks(&p.to_string())),
            own: process_ticks("self"),
            busy: busy_ticks(),
        }
    }

    /// What was used since `earlier`.
    pub fn since(&self, earlier: &Sample) -> Usage {
        let d = |ticks: u64| Duration::from_secs_f64(ticks as f64 / TICKS_PER_SEC);
        let server = self.server.saturating_sub(earlier.server);
        let own = self.own.saturating_sub(earlier.own);
        let busy = self.busy.saturating_sub(earlier.busy);
        Usage {
            server: d(server),
            own: d(own),
            others: d(busy.saturating_sub(server + own)),
        }
    }
}
