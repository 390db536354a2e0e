//! Load benchmark of the room channel (SPEC §6.5): one node holding many WebSocket participants.
//!
//! `taskset -c 1 target/release/rooms_load [sqlite|postgres] [--connections N] [--room-size N]
//! [--paced N] [--rate N] [--fanout N] [--probes N]` — the server runs pinned to `GATEHOUSE_BENCH_SERVER_CPUS` (default
//! `0`); PostgreSQL needs `GATEHOUSE_BENCH_POSTGRES_URL`. Both processes need a file-descriptor
//! limit above the connection count (`ulimit -n`).
//!
//! 1. **Joins and memory:** `N` participants (default 10,000) join rooms of `room-size` (default
//!    100), 64 handshakes in flight at a time (as fast as the server goes); each join is timed
//!    from the TCP connect to its `room_ready`. The server's resident memory is read before and
//!    2 s after.
//! 2. **Steady joins:** `paced` more participants (default 1,000) join those rooms at `rate` per
//!    second (default 200), started on the clock whatever the answers, and are timed the same way.
//! 3. **Fan-out:** `fanout` participants (default 1,000) join one more room; then `probes`
//!    participants (default 50) join it one after another, 200 ms apart, and every member times
//!    its `participant_joined` from the moment the probe started connecting.
//!
//! Every participant reads its socket all along, as a client must; tokens are signed locally
//! with the project's API key, as an SDK does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use gatehouse_bench::server::{Gatehouse, PgDatabase};
use gatehouse_bench::{ms, percentile, project_minter, rss_mib};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// Handshakes in flight at once while joining.
const IN_FLIGHT: usize = 64;

struct Args {
    backend: String,
    connections: usize,
    room_size: usize,
    fanout: usize,
    probes: usize,
    paced: usize,
    rate: f64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        backend: "sqlite".into(),
        connections: 10_000,
        room_size: 100,
        fanout: 1_000,
        probes: 50,
        paced: 1_000,
        rate: 200.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = || -> anyhow::Result<usize> { Ok(it.next().context("a value")?.parse()?) };
        match arg.as_str() {
            "sqlite" | "postgres" => a.backend = arg,
            "--connections" => a.connections = number()?,
            "--room-size" => a.room_size = number()?,
            "--fanout" => a.fanout = number()?,
            "--probes" => a.probes = number()?,
            "--paced" => a.paced = number()?,
            "--rate" => a.rate = number()? as f64,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

/// A `participant_joined` event seen by a member: whom it announced and when it arrived.
type Seen = (String, Instant);

/// Joins `room` as `name`; returns how long until `room_ready`. The socket is then read until
/// it closes, reporting `participant_joined` events to `seen` when given.
async fn join(
    base: &str,
    token: &str,
    room: &str,
    seen: Option<mpsc::UnboundedSender<Seen>>,
) -> anyhow::Result<(Duration, tokio::task::JoinHandle<()>)> {
    let started = Instant::now();
    let mut req = format!("{base}/rooms/{room}").into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    loop {
        match ws.next().await.context("closed before room_ready")?? {
            Message::Text(t) if t.as_str().contains("\"room_ready\"") => break,
            Message::Text(_) | Message::Ping(_) | Message::Pong(_) => {}
            other => anyhow::bail!("unexpected frame before room_ready: {other:?}"),
        }
    }
    let took = started.elapsed();
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let (Some(seen), Message::Text(t)) = (&seen, &msg) {
                let at = Instant::now();
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                if v["type"] == "participant_joined"
                    && let Some(name) = v["body"]["name"].as_str()
                {
                    let _ = seen.send((name.to_owned(), at));
                }
            }
        }
    });
    Ok((took, reader))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let dir = std::env::temp_dir().join(format!("gatehouse-rooms-bench-{}", uuid::Uuid::new_v4().simple()));
    let pg = if a.backend == "postgres" {
        Some(PgDatabase::create()?)
    } else {
        None
    };
    let gh = Gatehouse::start(&dir, pg.as_ref().map(|d| d.url.as_str()), &[]).await?;
    let minter = Arc::new(project_minter(&gh, "rooms bench").await?);
    let base: Arc<str> = Arc::from(gh.base.replacen("http", "ws", 1));
    let pid = gh.process.pid();
    println!(
        "== rooms_load on {} ({}), server pid {pid} on CPUs {}",
        a.backend,
        gh.base,
        gatehouse_bench::server::server_cpus()
    );

    // 1. Many participants.
    let before = rss_mib(pid)?;
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let started = Instant::now();
    let mut joins = Vec::with_capacity(a.connections);
    for i in 0..a.connections {
        let permit = gate.clone().acquire_owned().await?;
        let room = format!("room-{}", i / a.room_size);
        let token = minter.token(&format!("p-{i}"), &room)?;
        let base = base.clone();
        joins.push(tokio::spawn(async move {
            let joined = join(&base, &token, &room, None).await;
            drop(permit);
            joined
        }));
    }
    let mut latencies = Vec::with_capacity(a.connections);
    let mut readers = Vec::with_capacity(a.connections);
    for j in joins {
        let (took, reader) = j.await??;
        latencies.push(took);
        readers.push(reader);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_mib(pid)?;
    println!(
        "joins: {} participants in rooms of {} in {:.1} s ({:.0} joins/s, {IN_FLIGHT} in flight); join → room_ready p50 {} p99 {} max {} (target p99 < 50 ms)",
        a.connections,
        a.room_size,
        elapsed.as_secs_f64(),
        a.connections as f64 / elapsed.as_secs_f64(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0)),
    );
    println!(
        "memory: server RSS {before:.1} MiB before, {after:.1} MiB holding {} connections ({:.1} KiB each; target < 200 MB in all)",
        a.connections,
        (after - before) * 1024.0 / a.connections as f64
    );

    // 2. Joins at a steady rate into the busy rooms, as a node sees them in service.
    let started = Instant::now();
    let mut paced = Vec::with_capacity(a.paced);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / a.rate));
    for i in 0..a.paced {
        tick.tick().await;
        let room = format!("room-{}", i % a.connections.div_ceil(a.room_size));
        let token = minter.token(&format!("late-{i}"), &room)?;
        let base = base.clone();
        paced.push(tokio::spawn(async move { join(&base, &token, &room, None).await }));
    }
    let mut latencies = Vec::with_capacity(a.paced);
    for j in paced {
        let (took, reader) = j.await??;
        latencies.push(took);
        readers.push(reader);
    }
    latencies.sort_unstable();
    println!(
        "steady joins: {} joins at {:.0}/s into those rooms ({:.1} s); join → room_ready p50 {} p99 {} max {} (target p99 < 50 ms)",
        a.paced,
        a.rate,
        started.elapsed().as_secs_f64(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0)),
    );

    // 3. Fan-out to one big room.
    let (tx, mut rx) = mpsc::unbounded_channel::<Seen>();
    for i in 0..a.fanout {
        let _permit = gate.acquire().await?;
        let token = minter.token(&format!("member-{i}"), "fan")?;
        let (_, reader) = join(&base, &token, "fan", Some(tx.clone())).await?;
        readers.push(reader);
    }
    drop(tx);
    // The members' own joins announced each other; forget those.
    tokio::time::sleep(Duration::from_secs(1)).await;
    while rx.try_recv().is_ok() {}
    let mut delivery = Vec::with_capacity(a.fanout * a.probes);
    let mut last = Vec::with_capacity(a.probes);
    for n in 0..a.probes {
        let name = format!("probe-{n}");
        let token = minter.token(&name, "fan")?;
        let t0 = Instant::now();
        let (_, probe) = join(&base, &token, "fan", None).await?;
        let mut reached = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while reached < a.fanout {
            let (who, at) = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .context("not every member heard the probe within 10 s")?
                .context("members gone")?;
            if who == name {
                reached += 1;
                delivery.push(at - t0);
                if reached == a.fanout {
                    last.push(at - t0);
                }
            }
        }
        probe.abort();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    delivery.sort_unstable();
    last.sort_unstable();
    println!(
        "fan-out: participant_joined to {} members, {} probes: delivery p50 {} p99 {} max {}; all {} reached p50 {} p99 {} (target p99 < 50 ms)",
        a.fanout,
        a.probes,
        ms(percentile(&delivery, 0.5)),
        ms(percentile(&delivery, 0.99)),
        ms(percentile(&delivery, 1.0)),
        a.fanout,
        ms(percentile(&last, 0.5)),
        ms(percentile(&last, 0.99)),
    );
    println!("server RSS at the end: {:.1} MiB", rss_mib(pid)?);
    for r in readers {
        r.abort();
    }
    drop(gh);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
