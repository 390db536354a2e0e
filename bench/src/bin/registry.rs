//! Load benchmark of the OAuth client registry: seeds a project with many clients over REST, then
//! measures the median latency of creates and of filtered list pages, on SQLite or PostgreSQL.
//!
//! `cargo run --release -p gatehouse-bench --bin registry -- [sqlite|postgres] [CLIENTS]`
//! (PostgreSQL: `GATEHOUSE_BENCH_POSTGRES_URL`, e.g. `postgres://postgres@127.0.0.1:5432/test`;
//! a fresh database is created, and dropped at the end.)

use std::time::Instant;

use gatehouse_bench::registry::{Seeded, report};
use gatehouse_bench::server::post;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gatehouse_server::init_logging("text");
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let clients: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    let seeded = Seeded::start(&backend, clients).await?;
    let (base, key, path) = (seeded.base.clone(), seeded.key.clone(), seeded.path.clone());
    let http = reqwest::Client::new();

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
    seeded.stop().await
}

fn client_body(name: &str) -> Value {
    json!({ "name": name, "redirect_uris": ["https://app.example.com/callback"], "scope": "openid profile email" })
}
