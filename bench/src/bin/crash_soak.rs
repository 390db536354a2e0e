//! Crash soak: mixed REST writes from several writers against `gatehouse serve`, SIGKILLed at
//! random moments (also during its first start) and restarted on the same data; after every
//! restart every acknowledged write must read back intact. Exits non-zero on any problem.
//!
//! `crash_soak [--backend sqlite|postgres|both] [--rounds 20] [--seed N] [--writers 4]
//! [--max-load-ms 5000] [--first-start-kills 3] [--first-start-ms 500] [--start-kills 0.2]`:
//! the first rounds kill the first start (until one start gets ready): as the master key file
//! appears, as the first-start credentials appear, then within `--first-start-ms` of spawning it;
//! later rounds kill a restart with the chance `--start-kills` and otherwise the loaded server
//! after 0.3 s to `--max-load-ms`. PostgreSQL needs `GATEHOUSE_BENCH_POSTGRES_URL`
//! (a fresh `gh_bench_…` database is created and dropped). Uses the `gatehouse` binary next to
//! this one, or the path in `GATEHOUSE_BIN`.

use std::time::Duration;

use anyhow::Context as _;
use gatehouse_bench::server::{PgDatabase, own_cpus};
use gatehouse_bench::soak::Rng;
use gatehouse_bench::soak::ledger::Kind;
use gatehouse_bench::soak::run::{Node, Plan, Report, soak};

struct Args {
    backends: Vec<&'static str>,
    seed: u64,
    plan: Plan,
}

fn parse() -> anyhow::Result<Args> {
    let mut args = Args {
        backends: vec!["sqlite", "postgres"],
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos() as u64,
        plan: Plan {
            rounds: 20,
            writers: 4,
            max_load: Duration::from_millis(5000),
            first_start_kills: 3,
            first_start_window: Duration::from_millis(500),
            start_kill_chance: 0.2,
            cpus: std::env::var("GATEHOUSE_BENCH_SERVER_CPUS").unwrap_or_else(|_| own_cpus()),
        },
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--backend" => {
                args.backends = match value()?.as_str() {
                    "sqlite" => vec!["sqlite"],
                    "postgres" => vec!["postgres"],
                    "both" => vec!["sqlite", "postgres"],
                    other => anyhow::bail!("--backend sqlite|postgres|both, not {other}"),
                }
            }
            "--rounds" => args.plan.rounds = value()?.parse()?,
            "--seed" => args.seed = value()?.parse()?,
            "--writers" => args.plan.writers = value()?.parse()?,
            "--max-load-ms" => args.plan.max_load = Duration::from_millis(value()?.parse()?),
            "--first-start-kills" => args.plan.first_start_kills = value()?.parse()?,
            "--first-start-ms" => args.plan.first_start_window = Duration::from_millis(value()?.parse()?),
            "--start-kills" => args.plan.start_kill_chance = value()?.parse()?,
            other => anyhow::bail!("unknown argument {other} (see the header of bench/src/bin/crash_soak.rs)"),
        }
    }
    anyhow::ensure!(
        args.plan.rounds > args.plan.first_start_kills && args.plan.writers >= 1,
        "more rounds than first-start kills, and writers ≥ 1"
    );
    anyhow::ensure!(args.plan.max_load >= Duration::from_millis(300), "--max-load-ms ≥ 300");
    Ok(args)
}

fn print(backend: &str, r: &Report) {
    println!("== {backend}");
    println!(
        "kills: {} ({} before /readyz answered, {} of them in the first start; {} with a first-start credentials file pending on disk)",
        r.kills, r.kills_while_starting, r.kills_in_first_start, r.kills_with_pending_bootstrap
    );
    let total: u64 = r.acknowledged.values().sum();
    println!("acknowledged writes, all verified: {total}");
    for kind in Kind::ALL {
        println!(
            "  {:<16} {:>6} writes; {:>6} objects checked at the end",
            kind.name(),
            r.acknowledged.get(&kind).copied().unwrap_or(0),
            r.final_objects.get(&kind).copied().unwrap_or(0)
        );
    }
    println!("writes left unanswered by a kill: {}", r.unanswered);
    println!(
        "lost writes: {}; other problems: {}",
        r.lost(),
        r.problems.len() - r.lost()
    );
    println!("unexpected answers: {}", r.unexpected.len());
    for u in r.unexpected.iter().take(10) {
        println!("  {u}");
    }
    println!(
        "restart to /readyz: mean {:.0} ms over {} restarts",
        r.mean_restart().as_secs_f64() * 1e3,
        r.restarts.len()
    );
    println!("total time: {:.0} s", r.elapsed.as_secs_f64());
}

async fn run_backend(backend: &str, args: &Args, rng: &mut Rng) -> anyhow::Result<bool> {
    let dir = std::env::temp_dir().join(format!("gatehouse-soak-{backend}-{}", uuid::Uuid::new_v4().simple()));
    let mut db = match backend {
        "postgres" => Some(PgDatabase::create()?),
        _ => None,
    };
    let node = Node {
        dir: dir.clone(),
        database_url: db.as_ref().map(|d| d.url.clone()),
    };
    println!("== {backend}: data in {}", dir.display());
    let report = soak(&node, &args.plan, rng).await;
    let ok = match &report {
        Ok(r) => {
            print(backend, r);
            r.problems.is_empty() && r.unexpected.is_empty()
        }
        Err(e) => {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            println!("== {backend}: FAILED: {e:#}\nthe server log ends:");
            for line in tail.into_iter().rev() {
                println!("  {line}");
            }
            false
        }
    };
    if ok && std::env::var_os("GATEHOUSE_BENCH_KEEP").is_none() {
        if let Some(db) = db.as_mut() {
            db.drop_now()?;
        }
        std::fs::remove_dir_all(&dir)?;
    } else {
        // Kept for investigating: the data directory, its server.log, and the database.
        println!("kept {} for investigating", dir.display());
        if let Some(db) = db.take() {
            println!("kept database {}", db.keep());
        }
    }
    Ok(ok)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse()?;
    println!(
        "crash soak: seed {} ({} rounds per backend, {} writers, load ≤ {} ms, server on CPUs {})",
        args.seed,
        args.plan.rounds,
        args.plan.writers,
        args.plan.max_load.as_millis(),
        args.plan.cpus
    );
    let mut ok = true;
    for (i, backend) in args.backends.iter().enumerate() {
        let mut rng = Rng::new(args.seed).fork(i as u64);
        ok &= run_backend(backend, &args, &mut rng).await?;
    }
    anyhow::ensure!(ok, "the crash soak found problems (seed {})", args.seed);
    println!("crash soak passed (seed {})", args.seed);
    Ok(())
}
