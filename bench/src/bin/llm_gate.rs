//! The LLM proxy gate's cost, side by side with the mock upstream called directly, in one run:
//! added latency at a steady 2,000 requests/s (p50, p99), time to the first streamed byte, and
//! non-streamed throughput of the gate on one core. The gate runs with limits configured (far
//! above the load), so their check is on every request's path.
//!
//! `cargo build --release -p gatehouse-bench --bin llm_gate && $CARGO_TARGET_DIR/release/llm_gate`
//!
//! Gatehouse (SQLite, in-process) runs on a runtime of its own with one worker thread, the mock
//! upstream (`gatehouse-testkit`'s) on another, the load on a third: the gate's throughput is one
//! core's. Both modes send the same body with the same client; each phase alternates them in
//! batches, so drift of the machine falls on both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_bench::{percentile, rate};
use gatehouse_testkit::llm_upstream::LlmUpstream;
use gatehouse_testkit::{Backend, TestServer};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The steady rate of the latency phase, its batches per mode and each batch's length.
const RATE: u64 = 2_000;
const BATCHES: u32 = 4;
const BATCH: Duration = Duration::from_secs(1);
/// Streams per mode for the time to the first byte.
const STREAMS: u32 = 500;
/// Concurrent requests and rounds per mode of the throughput phase.
const CONCURRENCY: usize = 32;
const ROUNDS: u32 = 3;
const ROUND: Duration = Duration::from_secs(2);

/// Where a request goes: straight to the mock, or through the gate.
#[derive(Clone)]
struct Target {
    url: String,
    key: String,
}

/// Runs `setup` then waits on a one-thread runtime of its own thread until told to stop.
fn on_own_core<T: Send + 'static, F>(setup: F) -> (T, oneshot::Sender<()>)
where
    F: AsyncFnOnce(oneshot::Receiver<()>, std::sync::mpsc::Sender<T>) + Send + 'static,
{
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(setup(stop_rx, ready_tx));
    });
    (ready_rx.recv().expect("started"), stop_tx)
}

fn chat(stream: bool) -> Value {
    json!({ "model": "gpt-4o-mini", "stream": stream, "messages": [{ "role": "user", "content": "Hi" }] })
}

async fn call(http: &reqwest::Client, t: &Target, body: &Value) -> anyhow::Result<()> {
    let res = http.post(&t.url).bearer_auth(&t.key).json(body).send().await?;
    anyhow::ensure!(res.status() == 200, "{} answered {}", t.url, res.status());
    res.bytes().await?;
    Ok(())
}

/// Open loop at [`RATE`] for `len`: each request's latency from its scheduled start.
async fn paced(http: &reqwest::Client, t: &Target, len: Duration, out: &mut Vec<Duration>) -> anyhow::Result<()> {
    let n = RATE * len.as_secs();
    let gap = Duration::from_secs(1) / u32::try_from(RATE)?;
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    let body = Arc::new(chat(false));
    for i in 0..n {
        let due = start + gap * u32::try_from(i)?;
        tokio::time::sleep_until(due).await;
        let (http, t, body) = (http.clone(), t.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            call(&http, &t, &body).await.map(|()| due.elapsed())
        }));
    }
    for task in tasks {
        out.push(task.await??);
    }
    Ok(())
}

/// Time from sending a streamed request to its first body bytes.
async fn first_byte(http: &reqwest::Client, t: &Target) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut res = http.post(&t.url).bearer_auth(&t.key).json(&chat(true)).send().await?;
    anyhow::ensure!(res.status() == 200, "{} answered {}", t.url, res.status());
    res.chunk().await?.ok_or_else(|| anyhow::anyhow!("an empty stream"))?;
    let took = start.elapsed();
    while res.chunk().await?.is_some() {}
    Ok(took)
}

/// Closed loop: [`CONCURRENCY`] requests at a time for `len`; answers per second.
async fn throughput(http: &reqwest::Client, t: &Target, len: Duration) -> anyhow::Result<f64> {
    let until = Instant::now() + len;
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (http, t) = (http.clone(), t.clone());
        workers.push(tokio::spawn(async move {
            let (body, mut n) = (chat(false), 0u64);
            while Instant::now() < until {
                call(&http, &t, &body).await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut total = 0;
    for w in workers {
        total += w.await??;
    }
    Ok(rate(total, start.elapsed()))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// p50 and p99 of both modes and what the gate adds, in µs.
fn compare(what: &str, direct: &mut [Duration], proxied: &mut [Duration]) {
    direct.sort();
    proxied.sort();
    println!("{what} ({} direct, {} proxied)", direct.len(), proxied.len());
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        let (d, g) = (percentile(direct, p), percentile(proxied, p));
        println!(
            "  {name}: direct {:8.0} µs  proxied {:8.0} µs  added {:8.0} µs",
            micros(d),
            micros(g),
            micros(g) - micros(d)
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let (upstream, stop_upstream) = on_own_core(async |stop, ready| {
        let up = LlmUpstream::start().await;
        ready.send(up.base.clone()).expect("main waits");
        let _ = stop.await;
    });
    let base = upstream.clone();
    let (gate, stop_gate) = on_own_core(async move |stop, ready| {
        let s = TestServer::spawn_fresh(Backend::Sqlite, |c| c.allow_insecure_upstreams = true).await;
        let (project, key) = s.project("Bench").await;
        let path = format!("/accounts/projects/{project}/llm/providers/openai");
        let body = json!({ "api_key": "sk-bench-upstream", "base_url": format!("{base}/v1") });
        assert_eq!(s.call_as(&key, Method::PUT, &path, Some(body)).await.0, 200);
        let limits = json!({ "project": { "requests_per_minute": 10_000_000, "tokens_per_day": 1_000_000_000_000_u64 },
                             "per_caller": { "requests_per_minute": 10_000_000, "tokens_per_day": 1_000_000_000_000_u64 } });
        let path = format!("/accounts/projects/{project}/llm/limits");
        assert_eq!(s.call(Method::PUT, &path, Some(limits)).await.0, 200);
        ready.send((s.base.clone(), key)).expect("main waits");
        let _ = stop.await;
        s.stop().await;
    });
    let direct = Target {
        url: format!("{upstream}/v1/chat/completions"),
        key: "sk-bench-upstream".into(),
    };
    let proxied = Target {
        url: format!("{}/openai/v1/chat/completions", gate.0),
        key: gate.1,
    };
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    // Warm both: connections, caches.
    for t in [&direct, &proxied] {
        for _ in 0..200 {
            call(&http, t, &chat(false)).await?;
        }
    }

    let (mut d, mut p) = (Vec::new(), Vec::new());
    for _ in 0..BATCHES {
        paced(&http, &direct, BATCH, &mut d).await?;
        paced(&http, &proxied, BATCH, &mut p).await?;
    }
    compare(&format!("non-streamed latency at {RATE} requests/s"), &mut d, &mut p);

    let (mut d, mut p) = (Vec::new(), Vec::new());
    for _ in 0..STREAMS {
        d.push(first_byte(&http, &direct).await?);
        p.push(first_byte(&http, &proxied).await?);
    }
    compare("time to the first streamed byte, one at a time", &mut d, &mut p);

    let (mut d, mut p) = (0.0, 0.0);
    for _ in 0..ROUNDS {
        d += throughput(&http, &direct, ROUND).await? / f64::from(ROUNDS);
        p += throughput(&http, &proxied, ROUND).await? / f64::from(ROUNDS);
    }
    println!(
        "non-streamed throughput, {CONCURRENCY} at a time: direct {d:.0}/s, proxied on one core {p:.0}/s ({:.0} %)",
        100.0 * p / d
    );
    let _ = stop_gate.send(());
    let _ = stop_upstream.send(());
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}
