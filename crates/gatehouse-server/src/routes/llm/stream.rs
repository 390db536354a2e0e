//! The answer's way back (SPEC §8): a task reads the upstream's body and hands each chunk to the
//! caller as it arrives, reading the usage as it passes ([`UsageMeter`]). When the caller goes
//! away mid-answer, the task keeps reading to the end, so the usage is still counted, bounded in
//! time ([`DRAIN_LIMIT`]) and in how many answers drain at once ([`MAX_DRAINS`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use gatehouse_core::llm::Provider;
use gatehouse_core::llm::usage::{Passed, Usage, UsageMeter};
use tokio::sync::{Semaphore, mpsc};

/// The longest an answer is read after its caller went away.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(300);
/// The most answers read at once after their callers went away.
pub const MAX_DRAINS: usize = 64;

/// Counters of the gate for `/metrics`, per provider: requests answered and tokens reported.
#[derive(Debug, Default)]
pub struct Counters {
    /// `[requests, input tokens, output tokens]` for OpenAI, then Anthropic.
    counts: [[AtomicU64; 3]; 2],
}

impl Counters {
    fn add(&self, provider: Provider, usage: Option<Usage>) {
        let c = &self.counts[provider as usize];
        let u = usage.unwrap_or_default();
        c[0].fetch_add(1, Ordering::Relaxed);
        c[1].fetch_add(u.input_tokens, Ordering::Relaxed);
        c[2].fetch_add(u.output_tokens, Ordering::Relaxed);
    }

    /// The counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP gatehouse_llm_requests_total Requests the LLM gate forwarded and got an answer to, by provider.\n# TYPE gatehouse_llm_requests_total counter\n",
        );
        let each = |i: usize| {
            Provider::ALL
                .iter()
                .map(move |p| (p.as_str(), self.counts[*p as usize][i].load(Ordering::Relaxed)))
        };
        for (p, n) in each(0) {
            out.push_str(&format!("gatehouse_llm_requests_total{{provider=\"{p}\"}} {n}\n"));
        }
        out.push_str("# HELP gatehouse_llm_tokens_total Tokens the upstreams reported, by provider and direction.\n# TYPE gatehouse_llm_tokens_total counter\n");
        for (i, kind) in [(1, "input"), (2, "output")] {
            for (p, n) in each(i) {
                out.push_str(&format!(
                    "gatehouse_llm_tokens_total{{provider=\"{p}\",kind=\"{kind}\"}} {n}\n"
                ));
            }
        }
        out
    }
}

/// Where an answer's chunks go and what happens at its end.
pub struct Pump {
    pub meter: UsageMeter,
    /// The longest silence between two chunks.
    pub idle: Duration,
    pub drains: Arc<Semaphore>,
    pub counters: Arc<Counters>,
    pub provider: Provider,
    /// Called once with the usage read, when the answer has been read (or given up on).
    pub done: Box<dyn FnOnce(Option<Usage>) + Send>,
}

impl Pump {
    /// The caller's body: the upstream's chunks as the meter passes them.
    pub fn start(self, mut resp: reqwest::Response) -> Body {
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
        tokio::spawn(async move {
            let Self {
                mut meter,
                idle,
                drains,
                counters,
                provider,
                done,
            } = self;
            let mut caller = Some(tx);
            let mut draining: Option<(tokio::sync::OwnedSemaphorePermit, tokio::time::Instant)> = None;
            loop {
                let failure = match tokio::time::timeout(idle, resp.chunk()).await {
                    Ok(Ok(Some(chunk))) => {
                        let out = match meter.feed(&chunk) {
                            Passed::Whole => chunk,
                            Passed::Part(part) => Bytes::from(part),
                        };
                        if let Some(tx) = &caller
                            && !out.is_empty()
                            && tx.send(Ok(out)).await.is_err()
                        {
                            caller = None;
                            match drains.clone().try_acquire_owned() {
                                Ok(permit) => draining = Some((permit, tokio::time::Instant::now() + DRAIN_LIMIT)),
                                Err(_) => break,
                            }
                        }
                        if draining
                            .as_ref()
                            .is_some_and(|(_, until)| tokio::time::Instant::now() > *until)
                        {
                            break;
                        }
                        continue;
                    }
                    Ok(Ok(None)) => break,
                    Ok(Err(e)) => std::io::Error::other(e),
                    Err(_) => std::io::Error::other("the upstream went silent"),
                };
                if let Some(tx) = &caller {
                    let _ = tx.send(Err(failure)).await;
                }
                break;
            }
            drop(caller);
            let usage = meter.finish();
            // Counted before the metrics show it, so that what they show is already counted.
            done(usage);
            counters.add(provider, usage);
            drop(draining);
        });
        Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    }
}
