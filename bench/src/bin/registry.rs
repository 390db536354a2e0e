//! Load benchmark of the OAuth client registry: seeds a project with many clients over REST, then
//! measures the median latency of creates and of filtered list pages, on SQLite or PostgreSQL.
//!
//! `cargo run --release -p gatehouse-bench --bin registry -- [sqlite|postgres] [CLIENTS]`
//! (PostgreSQL: `GATEHOUSE_BENCH_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/test`;
//! a fresh database is created, and dropped at the end.)

use std::time::{Duration, Instant};

use anyhow::Context as _;
use gatehouse_bench::server::{PgDatabase, post, psql};
use gatehouse_server::Config;
use serde_json::{Value, json};

const CONCURRENCY: usize = 16;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gatehouse_server::init_logging("text");
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let clients: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("gatehouse-bench-{}", uuid::Uuid::new_v4()));
    let mut pg = None;
    let database_url = match backend.as_str() {
        "sqlite" => format!("sqlite://{}", dir.join("gatehouse.db").display()),
        "postgres" => pg.insert(PgDatabase::create()?).url.clone(),
        other => anyhow::bail!("unknown backend {other}: sqlite or postgres"),
    };
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir,
        database_url: Some(database_url),
        ..Config::default()
    };
    let server = gatehouse_server::start(&config).await?;
    let base = format!("http://{}", server.addr);
    let admin = server
        .bootstrap
        .as_ref()
        .context("fresh database")?
        .api_key
        .expose_secret()
        .to_owned();
    let http = reqwest::Client::new();
    let project = post(&http, &base, &admin, "/accounts/projects", json!({ "name": "Bench" })).await?["id"]
        .as_str()
        .context("project id")?
        .to_owned();
    let key = post(
        &http,
        &base,
        &admin,
        &format!("/accounts/projects/{project}/api-keys"),
        json!({ "name": "bench" }),
    )
    .await?["value"]
        .as_str()
        .context("key")?
        .to_owned();
    let path = format!("/accounts/projects/{project}/oauth/clients");

    let start = Instant::now();
    let seeded = seed(&http, &base, &key, &path, clients).await?;
    let seed_time = start.elapsed();
    if backend == "postgres" {
        // What autovacuum does shortly after a bulk load (clients and their audit rows): visibility
        // maps and statistics. Measuring while it runs would measure autovacuum.
        psql(&config.database_url.clone().unwrap_or_default(), "VACUUM ANALYZE")?;
    }
    println!(
        "backend: {backend}; seeded {seeded} clients in {:.1} s ({:.0}/s with {CONCURRENCY} concurrent requests)",
        seed_time.as_secs_f64(),
        seeded as f64 / seed_time.as_secs_f64()
    );

    let mut creates = Vec::new();
    for i in 0..300 {
        let t = Instant::now();
        post(&http, &base, &key, &path, client_body(&format!("Extra {i}"))).await?;
        creates.push(t.elapsed());
    }
    report("create (POST …/oauth/clients)", &mut creates);

    for (label, query) in [
        ("list page, no filter", "count=50".to_string()),
        ("list page, deep offset", "count=50&offset=90000".to_string()),
        ("filter matching ~1% (name)", "count=50&filter=tenant-07".to_string()),
        (
            "filter matching one client (id)",
            "count=50&filter=svc-042424".to_string(),
        ),
        ("filter matching nothing", "count=50&filter=zzzz-nothing".to_string()),
    ] {
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..100 {
            let t = Instant::now();
            let res = http
                .get(format!("{base}{path}?{query}"))
                .bearer_auth(&key)
                .send()
                .await?;
            anyhow::ensure!(res.status().is_success(), "{label}: {}", res.status());
            let v: Value = res.json().await?;
            times.push(t.elapsed());
            total = v["total"].as_u64().unwrap_or(0);
        }
        report(&format!("{label} (total {total})"), &mut times);
    }
    server.shutdown().await;
    if let Some(mut pg) = pg {
        pg.drop_now()?;
    }
    Ok(())
}

fn client_body(name: &str) -> Value {
    json!({ "name": name, "redirect_uris": ["https://app.example.com/callback"], "scope": "openid profile email" })
}

async fn seed(http: &reqwest::Client, base: &str, key: &str, path: &str, n: usize) -> anyhow::Result<usize> {
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let (http, url, key) = (http.clone(), format!("{base}{path}"), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut i = worker;
            while i < n {
                let body = json!({
                    "client_id": format!("svc-{i:06}"),
                    "name": format!("tenant-{:02} app {i}", i % 100),
                    "redirect_uris": ["https://app.example.com/callback"],
                });
                let res = http.post(&url).bearer_auth(&key).json(&body).send().await?;
                anyhow::ensure!(res.status().as_u16() == 201, "seed {i}: {}", res.status());
                i += CONCURRENCY;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(n)
}

fn report(label: &str, times: &mut [Duration]) {
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{label}: median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms ({} requests)",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        times.len()
    );
}
