//! Benchmark of the web console's OAuth Clients page: a project with many clients (10,000 by
//! default), a person signed in through the console's OAuth flow, then the latency of the list
//! page (first page, a deep page) and of searches in it, and the bytes every console page costs
//! a browser (HTML, CSS and JS; nothing is loaded from another host).
//!
//! `cargo run --release -p gatehouse-bench --bin console -- [sqlite|postgres] [CLIENTS]`
//! (PostgreSQL: `GATEHOUSE_BENCH_POSTGRES_URL`; a fresh database is created and dropped.)

use std::time::Instant;

use anyhow::Context as _;
use gatehouse_bench::registry::{Seeded, report};
use gatehouse_bench::server::post;
use gatehouse_testkit::Browser;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";
const ROUNDS: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gatehouse_server::init_logging("text");
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let clients: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(10_000);
    let seeded = Seeded::start(&backend, clients).await?;
    let (base, project) = (seeded.base.clone(), seeded.project.clone());
    let http = reqwest::Client::new();
    let user = post(
        &http,
        &base,
        &seeded.admin,
        "/accounts/users",
        json!({ "email": "bench@example.com", "name": "Bench", "password": PASSWORD }),
    )
    .await?["id"]
        .as_str()
        .context("user id")?
        .to_owned();
    post(
        &http,
        &base,
        &seeded.admin,
        &format!("/accounts/projects/{project}/users"),
        json!({ "user_id": user, "is_admin": true }),
    )
    .await?;
    let list = format!("/console/projects/{project}/clients");
    let browser = Browser::new(&base);
    let first = browser.authorize(&list, "bench@example.com", PASSWORD).await;
    anyhow::ensure!(first.status == 200, "signing in to the console: {}", first.status);

    let deep = clients.saturating_sub(50);
    for (label, query) in [
        ("clients page, first 50".to_owned(), String::new()),
        (format!("clients page, offset {deep}"), format!("?offset={deep}")),
        ("search matching ~1% (name)".to_owned(), "?filter=tenant-07".to_owned()),
        (
            "search matching one client (id)".to_owned(),
            "?filter=svc-004242".to_owned(),
        ),
        ("search matching nothing".to_owned(), "?filter=zzzz-nothing".to_owned()),
    ] {
        let mut times = Vec::with_capacity(ROUNDS);
        let mut bytes = 0;
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let page = browser.get(&format!("{list}{query}")).await;
            times.push(t.elapsed());
            anyhow::ensure!(page.status == 200, "{label}: {}", page.status);
            bytes = page.body.len();
        }
        report(&format!("{label} ({bytes} bytes of HTML)"), &mut times);
    }

    let mut assets = 0;
    for a in ["/assets/console.css", "/assets/console.js"] {
        assets += http.get(format!("{base}{a}")).send().await?.bytes().await?.len();
    }
    for (label, path) in [
        ("projects", "/console".to_owned()),
        ("clients list", list.clone()),
        ("new client form", format!("{list}/new")),
        ("client form", format!("{list}/svc-000042")),
    ] {
        let html = browser.get(&path).await.body.len();
        println!(
            "page {label}: {html} B HTML + {assets} B CSS and JS = {:.1} KB in all",
            (html + assets) as f64 / 1024.0
        );
    }
    seeded.stop().await
}
