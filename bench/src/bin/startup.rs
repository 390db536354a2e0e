//! Start-to-ready time and idle memory of `gatehouse serve` on an existing SQLite database.
//!
//! `cargo build --release -p gatehouse -p gatehouse-bench && target/release/startup`
//! (uses the `gatehouse` binary next to this one, or the path in `GATEHOUSE_BIN`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

fn spawn(bin: &Path, dir: &Path, port: u16) -> anyhow::Result<Child> {
    Ok(Command::new(bin)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("GATEHOUSE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

async fn wait_ready(http: &reqwest::Client, port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let res = http.get(format!("http://127.0.0.1:{port}/readyz")).send().await;
        if res.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    anyhow::bail!("not ready within 30 s")
}

fn stop(mut child: Child) -> anyhow::Result<()> {
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
    child.wait()?;
    Ok(())
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bin = gatehouse_bench::server::sibling_binary("gatehouse")?;
    let dir = std::env::temp_dir().join(format!("gatehouse-startup-{}", uuid::Uuid::new_v4()));
    let http = reqwest::Client::new();
    let port = 18_000 + (std::process::id() % 1000) as u16;
    // First start: creates the database, keys and bootstrap data.
    let first = spawn(&bin, &dir, port)?;
    wait_ready(&http, port).await?;
    stop(first)?;
    let mut times = Vec::new();
    let mut rss = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let child = spawn(&bin, &dir, port)?;
        wait_ready(&http, port).await?;
        times.push(t.elapsed());
        tokio::time::sleep(Duration::from_secs(2)).await;
        rss = rss_kib(child.id())?;
        stop(child)?;
    }
    times.sort();
    println!(
        "start to ready on an existing SQLite database: median {:.0} ms, worst {:.0} ms (5 starts)",
        times[2].as_secs_f64() * 1000.0,
        times[4].as_secs_f64() * 1000.0
    );
    println!("idle RSS after 2 s: {:.1} MB", rss as f64 / 1024.0);
    Ok(())
}
