//! What the registry and console benchmarks share: an in-process server on a fresh database of
//! either backend, a project with an API key, many clients seeded over REST, and the report of
//! latency percentiles.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use gatehouse_server::{Config, Server};
use serde_json::json;

use crate::server::{PgDatabase, post, psql};

const CONCURRENCY: usize = 16;

/// A running server with one project full of clients.
pub struct Seeded {
    pub server: Server,
    pub base: String,
    /// The bootstrap (server-admin) API key.
    pub admin: String,
    pub project: String,
    /// A developer API key of the project.
    pub key: String,
    /// `/accounts/projects/{project}/oauth/clients`.
    pub path: String,
    pg: Option<PgDatabase>,
}

impl Seeded {
    /// Starts a server on `backend` (`sqlite` or `postgres`, the latter on a fresh database of
    /// `GATEHOUSE_BENCH_POSTGRES_URL`) and seeds `clients` clients: `svc-000042` named
    /// `tenant-42 app 42` (so `tenant-07` matches 1 %).
    pub async fn start(backend: &str, clients: usize) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("gatehouse-bench-{}", uuid::Uuid::new_v4()));
        let mut pg = None;
        let database_url = match backend {
            "sqlite" => format!("sqlite://{}", dir.join("gatehouse.db").display()),
            "postgres" => pg.insert(PgDatabase::create()?).url.clone(),
            other => anyhow::bail!("unknown backend {other}: sqlite or postgres"),
        };
        let config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir,
            database_url: Some(database_url.clone()),
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
        seed(&http, &base, &key, &path, clients).await?;
        let seed_time = start.elapsed();
        if backend == "postgres" {
            // What autovacuum does shortly after a bulk load (clients and their audit rows):
            // visibility maps and statistics. Measuring while it runs would measure autovacuum.
            psql(&database_url, "VACUUM ANALYZE")?;
        }
        println!(
            "backend: {backend}; seeded {clients} clients in {:.1} s ({:.0}/s with {CONCURRENCY} concurrent requests)",
            seed_time.as_secs_f64(),
            clients as f64 / seed_time.as_secs_f64()
        );
        Ok(Self {
            server,
            base,
            admin,
            project,
            key,
            path,
            pg,
        })
    }

    /// Stops the server and drops the PostgreSQL database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.shutdown().await;
        if let Some(mut pg) = self.pg {
            pg.drop_now()?;
        }
        Ok(())
    }
}

async fn seed(http: &reqwest::Client, base: &str, key: &str, path: &str, n: usize) -> anyhow::Result<()> {
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
    Ok(())
}

/// Prints the median, p90, p95 and p99 of `times`.
pub fn report(label: &str, times: &mut [Duration]) {
    times.sort();
    let pct = |p: f64| crate::percentile(times, p).as_secs_f64() * 1000.0;
    println!(
        "{label}: median {:.2} ms, p90 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms ({} requests)",
        pct(0.5),
        pct(0.9),
        pct(0.95),
        pct(0.99),
        times.len()
    );
}
