//! The LLM proxy gate's cost, side by side with its mock upstream called directly, in one run:
//! added latency at a steady 2,000 requests/s (p50, p99), time to the first streamed byte, and
//! non-streamed throughput on one core. The gate runs with limits configured (far above the
//! load), so their check is on every request's path.
//!
//! ```sh
//! cargo build --release -p gatehouse -p gatehouse-bench --bin gatehouse --bin llm_gate --bin llm_mock
//! $CARGO_TARGET_DIR/release/llm_gate
//! ```
//!
//! Processes and CPUs (`taskset`): on CPU 1, what is measured, one at a time: the mock
//! (`llm_mock`, a one-thread runtime) called directly, or the release `gatehouse serve` (SQLite)
//! in front of a second mock. On CPU 0: this process (the load, one thread, reqwest with
//! keep-alive) and that second mock, the gate's upstream. Both modes send the same body with the
//! same client, and each phase alternates them in batches, so drift of the machine falls on both.
//! Throughput "on one core" is answers per CPU-second of the process on CPU 1 (from `/proc`), so
//! it does not depend on whether CPU 0 kept up; the wall-clock rates are printed beside it. The
//! floor of any proxy built on the gate's parts is measured the same way: a bare forwarder
//! (`llm_mock … forward`) that checks and counts nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use gatehouse_bench::cpu::Sample;
use gatehouse_bench::server::{Gatehouse, Pinned, sibling_binary};
use gatehouse_bench::{percentile, rate};
use serde_json::{Value, json};

/// The steady rate of the latency phase, its batches per mode and each batch's length.
const RATE: u64 = 2_000;
const BATCHES: u32 = 4;
const BATCH: Duration = Duration::from_secs(1);
/// Streams per mode for the time to the first byte.
const STREAMS: u32 = 500;
/// Concurrent requests and rounds per mode of the throughput phase.
const CONCURRENCY: usize = 32;
const ROUNDS: u32 = 5;
const ROUND: Duration = Duration::from_secs(2);

/// Where a request goes: straight to the mock, or through the gate.
#[derive(Clone)]
struct Target {
    url: String,
    key: String,
    /// The process on [`MEASURED_CPU`] that answers it.
    pid: u32,
}

/// The CPU of what is measured, and the CPU of the load and the gate's upstream.
const MEASURED_CPU: &str = "1";
const SIDE_CPU: &str = "0";

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

/// One round of the closed loop.
#[derive(Default)]
struct Round {
    answers: u64,
    wall: Duration,
    /// CPU time of the process on [`MEASURED_CPU`] meanwhile.
    cpu: Duration,
}

impl Round {
    fn add(&mut self, other: &Round) {
        self.answers += other.answers;
        self.wall += other.wall;
        self.cpu += other.cpu;
    }

    /// Answers per CPU-second of the measured process: its throughput on one core.
    fn per_cpu_second(&self) -> f64 {
        rate(self.answers, self.cpu)
    }
}

/// Closed loop: [`CONCURRENCY`] requests at a time for `len`.
async fn throughput(http: &reqwest::Client, t: &Target, len: Duration) -> anyhow::Result<Round> {
    let before = Sample::now(Some(t.pid));
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
    let mut answers = 0;
    for w in workers {
        answers += w.await??;
    }
    let wall = start.elapsed();
    Ok(Round {
        answers,
        wall,
        cpu: Sample::now(Some(t.pid)).since(&before).server,
    })
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

/// The gate's own latency histogram of answered proxied requests (`/metrics`): `(le, count)`
/// per bucket, in seconds, from the moment it has read a request's head to its answer's head,
/// the call to its upstream included.
async fn gate_histogram(http: &reqwest::Client, base: &str) -> anyhow::Result<Vec<(f64, u64)>> {
    let text = http.get(format!("{base}/metrics")).send().await?.text().await?;
    let series =
        r#"gatehouse_http_request_duration_seconds_bucket{method="POST",route="/openai/v1/{*path}",status="200",le=""#;
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix(series))
        .filter_map(|rest| {
            let (le, n) = rest.split_once("\"} ")?;
            Some((le.parse().ok()?, n.parse().ok()?))
        })
        .collect())
}

/// Pins this process, every thread, to `cpu`.
fn pin_self(cpu: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("taskset")
        .args(["-a", "-pc", cpu, &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .context("running taskset (util-linux)")?;
    anyhow::ensure!(status.success(), "taskset could not pin the load to CPU {cpu}");
    Ok(())
}

/// A project with an API key, the gate's OpenAI upstream at `base_url` and limits far above
/// the load; returns the key.
async fn prepare_gate(gh: &Gatehouse, base_url: &str) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let admin = &gh.bootstrap.api_key;
    let send = async |method: reqwest::Method, path: String, body: Value| -> anyhow::Result<Value> {
        let res = http
            .request(method, format!("{}{path}", gh.base))
            .bearer_auth(admin)
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await?;
        anyhow::ensure!(status.is_success(), "{path} answered {status}: {body}");
        Ok(body)
    };
    let project = send(
        reqwest::Method::POST,
        "/accounts/projects".into(),
        json!({ "name": "Bench" }),
    )
    .await?;
    let project = project["id"].as_str().context("a project id")?.to_owned();
    let key = send(
        reqwest::Method::POST,
        format!("/accounts/projects/{project}/api-keys"),
        json!({ "name": "bench" }),
    )
    .await?;
    let key = key["value"].as_str().context("an API key")?.to_owned();
    send(
        reqwest::Method::PUT,
        format!("/accounts/projects/{project}/llm/providers/openai"),
        json!({ "api_key": "sk-bench-upstream", "base_url": base_url }),
    )
    .await?;
    let far = json!({ "requests_per_minute": 10_000_000, "tokens_per_day": 1_000_000_000_000_u64 });
    send(
        reqwest::Method::PUT,
        format!("/accounts/projects/{project}/llm/limits"),
        json!({ "project": far, "per_caller": far }),
    )
    .await?;
    Ok(key)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    pin_self(SIDE_CPU)?;
    let dir = std::env::temp_dir().join(format!("gatehouse-llm-gate-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let mock = sibling_binary("llm_mock")?;
    let addr = vec!["{addr}".to_owned()];
    let mut direct_mock = Pinned::spawn(MEASURED_CPU, &mock, &addr, &[], &dir.join("direct-mock.log"))?;
    let mut upstream = Pinned::spawn(SIDE_CPU, &mock, &addr, &[], &dir.join("upstream-mock.log"))?;
    direct_mock.wait_ready("/v1/models").await?;
    upstream.wait_ready("/v1/models").await?;
    let forward = vec![
        "{addr}".to_owned(),
        "forward".to_owned(),
        format!("http://{}", upstream.addr),
    ];
    let mut forwarder = Pinned::spawn(MEASURED_CPU, &mock, &forward, &[], &dir.join("forwarder.log"))?;
    forwarder.wait_ready("/v1/models").await?;
    let insecure = [("GATEHOUSE_ALLOW_INSECURE_UPSTREAMS".to_owned(), "true".to_owned())];
    let gh = Gatehouse::start_on(MEASURED_CPU, &dir.join("gate"), None, &insecure).await?;
    let key = prepare_gate(&gh, &format!("http://{}/v1", upstream.addr)).await?;
    let direct = Target {
        url: format!("http://{}/v1/chat/completions", direct_mock.addr),
        key: "sk-bench-upstream".into(),
        pid: direct_mock.pid(),
    };
    let proxied = Target {
        url: format!("{}/openai/v1/chat/completions", gh.base),
        key,
        pid: gh.process.pid(),
    };
    let floor = Target {
        url: format!("http://{}/v1/chat/completions", forwarder.addr),
        key: "unused".into(),
        pid: forwarder.pid(),
    };
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    // Warm all: connections, caches.
    for t in [&direct, &proxied, &floor] {
        for _ in 0..200 {
            call(&http, t, &chat(false)).await?;
        }
    }

    let (mut d, mut p) = (Vec::new(), Vec::new());
    let before = gate_histogram(&http, &gh.base).await?;
    for _ in 0..BATCHES {
        paced(&http, &direct, BATCH, &mut d).await?;
        paced(&http, &proxied, BATCH, &mut p).await?;
    }
    let after = gate_histogram(&http, &gh.base).await?;
    compare(&format!("non-streamed latency at {RATE} requests/s"), &mut d, &mut p);
    let counted = after.iter().zip(&before).map(|((le, n), (_, m))| (*le, n - m));
    let within: Vec<String> = counted
        .filter(|(le, _)| *le <= 0.005)
        .map(|(le, n)| format!("{:.1} % within {} ms", 100.0 * n as f64 / p.len() as f64, le * 1e3))
        .collect();
    println!(
        "  the gate's own time, its upstream call included: {}",
        within.join(", ")
    );

    let (mut d, mut p) = (Vec::new(), Vec::new());
    for _ in 0..STREAMS {
        d.push(first_byte(&http, &direct).await?);
        p.push(first_byte(&http, &proxied).await?);
    }
    compare("time to the first streamed byte, one at a time", &mut d, &mut p);

    let (mut d, mut p, mut f) = (Round::default(), Round::default(), Round::default());
    let mut ratios = Vec::new();
    for _ in 0..ROUNDS {
        let (rd, rp, rf) = (
            throughput(&http, &direct, ROUND).await?,
            throughput(&http, &proxied, ROUND).await?,
            throughput(&http, &floor, ROUND).await?,
        );
        ratios.push(100.0 * rp.per_cpu_second() / rd.per_cpu_second());
        d.add(&rd);
        p.add(&rp);
        f.add(&rf);
    }
    ratios.sort_by(f64::total_cmp);
    let wall = |r: &Round| rate(r.answers, r.wall);
    let busy = |r: &Round| 100.0 * r.cpu.as_secs_f64() / r.wall.as_secs_f64();
    println!("non-streamed throughput, {CONCURRENCY} at a time, CPU {MEASURED_CPU}:");
    println!(
        "  direct:  {:.0}/s wall, the mock {:.0} % busy, {:.0} answers per CPU-second",
        wall(&d),
        busy(&d),
        d.per_cpu_second()
    );
    println!(
        "  proxied: {:.0}/s wall, the gate {:.0} % busy, {:.0} answers per CPU-second",
        wall(&p),
        busy(&p),
        p.per_cpu_second()
    );
    println!(
        "  the gate on one core: {:.0} % of the mock served directly (rounds: {})",
        100.0 * p.per_cpu_second() / d.per_cpu_second(),
        ratios
            .iter()
            .map(|r| format!("{r:.0} %"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  a bare forwarder (the floor of a proxy on axum and reqwest): {:.0}/s wall, {:.0} % busy, {:.0} answers per CPU-second, {:.0} % of the mock; the gate {:.0} % of it",
        wall(&f),
        busy(&f),
        f.per_cpu_second(),
        100.0 * f.per_cpu_second() / d.per_cpu_second(),
        100.0 * p.per_cpu_second() / f.per_cpu_second()
    );
    drop(gh);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
