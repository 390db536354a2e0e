//! The MeshAgent SDK's room protocol beside the JSON room channel, measured side by side in one
//! run (docs/rooms.md). Both clients are Rust (tokio-tungstenite; the SDK side frames its packets
//! with core's codec), so the figures are the server's, not a Python client's.
//!
//! `taskset -c 1 target/release/sdk_load [sqlite|postgres] [--requests N] [--connections N]
//! [--room-size N]` — the server runs pinned to `GATEHOUSE_BENCH_SERVER_CPUS` (default `0`);
//! PostgreSQL needs `GATEHOUSE_BENCH_POSTGRES_URL`; `ulimit -n` above the connection count.
//!
//! 1. **Round trip:** one participant with the `secrets` grant, connected once over each
//!    protocol, sends `list_secrets` (SDK: `room.invoke_tool` of the `secrets` toolkit; JSON:
//!    `secrets.list`) `requests` times on each (default 2,000), one at a time, alternating
//!    batches of 100 so that both see the same machine; each is timed from the send to its answer.
//! 2. **Memory:** `connections` participants (default 10,000) in rooms of `room-size` (default 100)
//!    over the JSON channel, the server's RSS read before and 2 s after; then the same over the
//!    SDK protocol on a fresh server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::{SinkExt as _, StreamExt as _};
use gatehouse_bench::server::{Gatehouse, PgDatabase};
use gatehouse_bench::{Minter, ms, percentile, project_minter, rss_mib};
use gatehouse_core::rooms::sdk::packets::{Reassembler, packets};
use gatehouse_core::rooms::sdk::payload;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const IN_FLIGHT: usize = 64;
const BATCH: usize = 100;

struct Args {
    backend: String,
    requests: usize,
    connections: usize,
    room_size: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        backend: "sqlite".into(),
        requests: 2_000,
        connections: 10_000,
        room_size: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = || -> anyhow::Result<usize> { Ok(it.next().context("a value")?.parse()?) };
        match arg.as_str() {
            "sqlite" | "postgres" => a.backend = arg,
            "--requests" => a.requests = number()?,
            "--connections" => a.connections = number()?,
            "--room-size" => a.room_size = number()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

/// Opens `/rooms/{room}`, over the SDK protocol when `sdk`, and reads until the client is ready
/// (`room_ready`; for the SDK also `connected`).
async fn join(base: &str, token: &str, room: &str, sdk: bool) -> anyhow::Result<Ws> {
    let url = if sdk {
        format!("{base}/rooms/{room}?v=bench")
    } else {
        format!("{base}/rooms/{room}")
    };
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    // Without Nagle's algorithm, as the SDK's aiohttp client connects.
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true).await?;
    let mut reader = Reassembler::new(1 << 20);
    loop {
        match ws.next().await.context("closed while joining")?? {
            Message::Text(t) if !sdk && t.as_str().contains("\"room_ready\"") => return Ok(ws),
            Message::Binary(b) if sdk => {
                if reader
                    .push(&b)
                    .map_err(|e| anyhow::anyhow!(e.reason()))?
                    .is_some_and(|m| m.kind == "connected")
                {
                    return Ok(ws);
                }
            }
            Message::Ping(_) | Message::Pong(_) | Message::Text(_) | Message::Binary(_) => {}
            other => anyhow::bail!("unexpected frame while joining: {other:?}"),
        }
    }
}

/// One `list_secrets` over the SDK protocol, request id `id`; the time to its answer.
async fn sdk_round_trip(ws: &mut Ws, reader: &mut Reassembler, id: u64) -> anyhow::Result<Duration> {
    let header = json!({ "toolkit": "secrets", "tool": "list_secrets", "arguments": { "type": "json", "json": {} } });
    let started = Instant::now();
    for p in packets(id, "room.invoke_tool", &payload::pack(&header, &[])) {
        ws.send(Message::Binary(p.into())).await?;
    }
    loop {
        if let Message::Binary(b) = ws.next().await.context("closed")??
            && let Some(m) = reader.push(&b).map_err(|e| anyhow::anyhow!(e.reason()))?
            && m.id == id
            && m.kind == "__response__"
        {
            anyhow::ensure!(m.data.windows(7).any(|w| w == b"secrets"), "an answer with secrets");
            return Ok(started.elapsed());
        }
    }
}

/// One `secrets.list` over the JSON channel, request id `id`; the time to its answer.
async fn json_round_trip(ws: &mut Ws, id: u64) -> anyhow::Result<Duration> {
    let frame = json!({ "id": id, "type": "secrets.list", "body": {} }).to_string();
    let started = Instant::now();
    ws.send(Message::Text(frame.into())).await?;
    loop {
        if let Message::Text(t) = ws.next().await.context("closed")?? {
            let answer: serde_json::Value = serde_json::from_str(t.as_str())?;
            if answer["id"] == id {
                anyhow::ensure!(answer["ok"] == true, "{t}");
                return Ok(started.elapsed());
            }
        }
    }
}

fn summary(sorted: &[Duration]) -> String {
    let mean = sorted.iter().sum::<Duration>() / sorted.len().max(1) as u32;
    format!(
        "p50 {} p99 {} mean {}",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99)),
        ms(mean)
    )
}

/// A fresh server (on a fresh database) with a project and its API key.
async fn server(postgres: bool) -> anyhow::Result<(Gatehouse, Arc<Minter>, std::path::PathBuf, Option<PgDatabase>)> {
    let dir = std::env::temp_dir().join(format!("gatehouse-sdk-bench-{}", uuid::Uuid::new_v4().simple()));
    let pg = if postgres { Some(PgDatabase::create()?) } else { None };
    let gh = Gatehouse::start(&dir, pg.as_ref().map(|d| d.url.as_str()), &[]).await?;
    let minter = Arc::new(project_minter(&gh, "sdk bench").await?);
    Ok((gh, minter, dir, pg))
}

/// Holds `connections` participants over one protocol; the server's RSS growth in MiB.
async fn hold(a: &Args, gh: &Gatehouse, minter: &Arc<Minter>, sdk: bool) -> anyhow::Result<(f64, f64)> {
    let base: Arc<str> = Arc::from(gh.base.replacen("http", "ws", 1));
    let pid = gh.process.pid();
    let before = rss_mib(pid)?;
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut joins = Vec::with_capacity(a.connections);
    for i in 0..a.connections {
        let permit = gate.clone().acquire_owned().await?;
        let room = format!("room-{}", i / a.room_size);
        let token = minter.token(&format!("p-{i}"), &room)?;
        let base = base.clone();
        joins.push(tokio::spawn(async move {
            let ws = join(&base, &token, &room, sdk).await;
            drop(permit);
            // Read all along, as a client must.
            let mut ws = ws?;
            Ok::<_, anyhow::Error>(tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} }))
        }));
    }
    let mut readers = Vec::with_capacity(a.connections);
    for j in joins {
        readers.push(j.await??);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_mib(pid)?;
    for r in readers {
        r.abort();
    }
    Ok((before, after))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let postgres = a.backend == "postgres";
    let (gh, minter, dir, pg) = server(postgres).await?;
    let base = gh.base.replacen("http", "ws", 1);
    println!(
        "== sdk_load on {} ({}), server pid {} on CPUs {}",
        a.backend,
        gh.base,
        gh.process.pid(),
        gatehouse_bench::server::server_cpus()
    );

    // 1. Round trips, alternating batches.
    let token = minter.token_with("agent", "rt", Some(json!({ "secrets": {} })))?;
    let mut sdk_ws = join(&base, &token, "rt", true).await?;
    let mut json_ws = join(&base, &token, "rt", false).await?;
    let mut reader = Reassembler::new(1 << 20);
    let (mut sdk, mut plain) = (Vec::with_capacity(a.requests), Vec::with_capacity(a.requests));
    let mut id = 0u64;
    while sdk.len() < a.requests {
        for _ in 0..BATCH.min(a.requests - sdk.len()) {
            id += 1;
            sdk.push(sdk_round_trip(&mut sdk_ws, &mut reader, id).await?);
            plain.push(json_round_trip(&mut json_ws, id).await?);
        }
    }
    sdk.sort_unstable();
    plain.sort_unstable();
    let ratio = |p: f64| percentile(&sdk, p).as_secs_f64() / percentile(&plain, p).as_secs_f64();
    println!("round trip, list_secrets x {} each, one at a time:", a.requests);
    println!("  SDK protocol : {}", summary(&sdk));
    println!("  JSON channel : {}", summary(&plain));
    println!(
        "  SDK / JSON   : p50 {:.2}, p99 {:.2} (target within 1.20)",
        ratio(0.5),
        ratio(0.99)
    );
    drop((sdk_ws, json_ws));

    // 2. Memory, each protocol on a fresh server.
    let (before, after) = hold(&a, &gh, &minter, false).await?;
    let per = |b: f64, a2: f64| (a2 - b) * 1024.0 / a.connections as f64;
    println!(
        "memory, JSON channel: server RSS {before:.1} MiB before, {after:.1} MiB holding {} ({:.1} KiB each)",
        a.connections,
        per(before, after)
    );
    drop(gh);
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
    let (gh, minter, dir, pg) = server(postgres).await?;
    let (b2, a2) = hold(&a, &gh, &minter, true).await?;
    println!(
        "memory, SDK protocol: server RSS {b2:.1} MiB before, {a2:.1} MiB holding {} ({:.1} KiB each); SDK / JSON growth {:.2} (target 0.80–1.20)",
        a.connections,
        per(b2, a2),
        (a2 - b2) / (after - before)
    );
    drop(gh);
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
