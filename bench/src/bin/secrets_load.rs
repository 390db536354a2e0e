//! Load benchmark of the room secrets broker (SPEC §7).
//!
//! `taskset -c 1 target/release/secrets_load [sqlite|postgres] [--connections N] [--warmup S]
//! [--window S] [--prompts N]` — servers run pinned to `GATEHOUSE_BENCH_SERVER_CPUS` (default
//! `0`); PostgreSQL needs `GATEHOUSE_BENCH_POSTGRES_URL`.
//!
//! Setup, untimed and through the real servers: a second Gatehouse plays the third-party provider
//! (a user and a client for the consent callback); on the broker, a project and its API key;
//! alice joins the room over the room channel; an agent asks for a token, alice's side signs in
//! at the provider through its HTML forms and answers, so one fresh credential is stored.
//!
//! 1. **Offline gets:** `connections` (default 32) keep-alive connections repeat
//!    `POST /rooms/{room}/secrets/get_offline_oauth_token` as the agent for alice's credential:
//!    token check, one indexed read and one AEAD open each.
//! 2. **Prompt round trip:** `prompts` (default 200) requests, one after another, each timed from
//!    the agent sending `request_oauth_token` until alice's socket has the prompt. On PostgreSQL the
//!    agent asks node B and alice is connected to node A, so every prompt crosses nodes; alice
//!    rejects each over REST.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use gatehouse_bench::load::{self, Window};
use gatehouse_bench::oauth::ops::Repeat;
use gatehouse_bench::server::{Gatehouse, PgDatabase, Pinned, own_cpus, post, server_cpus, sibling_binary};
use gatehouse_bench::{Minter, ms, percentile};
use gatehouse_core::api_key::ApiKeyValue;
use gatehouse_testkit::Browser;
use gatehouse_testkit::upstream::consent_url;
use hyper::header::HeaderValue;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

const ROOM: &str = "ops";
const CALLBACK: &str = "http://127.0.0.1:9/consent/callback";
const EMAIL: &str = "alice@example.com";
const PASSWORD: &str = "bench consent password";

struct Args {
    backend: String,
    connections: usize,
    window: Window,
    prompts: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        backend: "sqlite".into(),
        connections: 32,
        window: Window {
            warmup: Duration::from_secs(3),
            measure: Duration::from_secs(10),
        },
        prompts: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = || -> anyhow::Result<u64> { Ok(it.next().context("a value")?.parse()?) };
        match arg.as_str() {
            "sqlite" | "postgres" => a.backend = arg,
            "--connections" => a.connections = number()? as usize,
            "--warmup" => a.window.warmup = Duration::from_secs(number()?),
            "--window" => a.window.measure = Duration::from_secs(number()?),
            "--prompts" => a.prompts = number()? as usize,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

/// A prompt alice's socket received, and when.
type Prompt = (Value, Instant);

/// Joins the room as `token` on `base`; prompts are sent to `prompts` as they arrive.
async fn join(base: &str, token: &str, prompts: mpsc::UnboundedSender<Prompt>) -> anyhow::Result<String> {
    let mut req = format!("{}/rooms/{ROOM}", base.replacen("http", "ws", 1)).into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    let id = loop {
        if let Message::Text(t) = ws.next().await.context("closed before room_ready")?? {
            let v: Value = serde_json::from_str(t.as_str())?;
            if v["type"] == "room_ready" {
                break v["participant_id"].as_str().context("participant_id")?.to_owned();
            }
        }
    };
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg
                && let Ok(v) = serde_json::from_str::<Value>(t.as_str())
                && v["type"] == "secrets.request_oauth_token"
            {
                let _ = prompts.send((v["body"].clone(), Instant::now()));
            }
        }
    });
    Ok(id)
}

/// `request_oauth_token` as `token` on `base`, in a task of its own (it waits for the answer).
fn ask(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    body: Value,
) -> tokio::task::JoinHandle<anyhow::Result<(u16, Value)>> {
    let request = http
        .post(format!("{base}/rooms/{ROOM}/secrets/request_oauth_token"))
        .bearer_auth(token)
        .json(&body);
    tokio::spawn(async move {
        let res = request.send().await?;
        let status = res.status().as_u16();
        Ok((status, res.json().await?))
    })
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    // One thread: the generator costs exactly the one core it is pinned to.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(run(a))
}

async fn run(a: Args) -> anyhow::Result<()> {
    println!(
        "secrets_load {}: load generator on CPUs {}, servers on CPUs {}; {} connections; warm-up {:?}, window {:?}",
        a.backend,
        own_cpus(),
        server_cpus(),
        a.connections,
        a.window.warmup,
        a.window.measure
    );
    let dir = std::env::temp_dir().join(format!("gatehouse-secrets-bench-{}", uuid::Uuid::new_v4().simple()));
    let http = reqwest::Client::new();

    // The third-party provider.
    let provider = Gatehouse::start(&dir.join("provider"), None, &[]).await?;
    let (p, p_key) = (provider.base.clone(), provider.bootstrap.api_key.clone());
    post(
        &http,
        &p,
        &p_key,
        "/accounts/users",
        json!({ "email": EMAIL, "name": "Alice", "password": PASSWORD }),
    )
    .await?;
    let client = post(
        &http,
        &p,
        &p_key,
        &format!("/accounts/projects/{}/oauth/clients", provider.bootstrap.project_id),
        json!({
            "name": "Room consent",
            "redirect_uris": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid email offline_access",
        }),
    )
    .await?;
    let oauth = json!({
        "client_id": client["client"]["client_id"],
        "client_secret": client["client"]["client_secret"],
        "authorization_endpoint": format!("{p}/oauth/authorize"),
        "token_endpoint": format!("{p}/oauth/token"),
        "issuer": p,
        "scopes": ["openid", "email", "offline_access"],
    });

    // The broker: one node on SQLite, two on one PostgreSQL database.
    let env = [("GATEHOUSE_ALLOW_INSECURE_UPSTREAMS".to_owned(), "true".to_owned())];
    let broker_dir = dir.join("broker");
    let pg = (a.backend == "postgres").then(PgDatabase::create).transpose()?;
    let url = pg.as_ref().map(|d| d.url.as_str());
    let node_a = Gatehouse::start(&broker_dir, url, &env).await?;
    let node_b = match url {
        Some(url) => Some(Gatehouse::start(&broker_dir, Some(url), &env).await?),
        None => None,
    };
    let (a_base, b_base) = (
        node_a.base.clone(),
        node_b.as_ref().map_or(node_a.base.clone(), |b| b.base.clone()),
    );
    let admin = node_a.bootstrap.api_key.clone();
    let project = post(&http, &a_base, &admin, "/accounts/projects", json!({ "name": "Bench" })).await?;
    let project_id = project["id"].as_str().context("project id")?;
    let key = post(
        &http,
        &a_base,
        &admin,
        &format!("/accounts/projects/{project_id}/api-keys"),
        json!({ "name": "bench" }),
    )
    .await?;
    let minter = Minter {
        key: ApiKeyValue::parse(key["value"].as_str().context("key value")?)?,
    };
    let alice = minter.token_with("alice", ROOM, Some(json!("user_default")))?;
    let agent = minter.token_with("agent", ROOM, Some(json!({ "secrets": {} })))?;
    let (tx, mut prompts) = mpsc::unbounded_channel();
    let alice_id = join(&a_base, &alice, tx).await?;
    let request = json!({ "oauth": oauth, "redirect_uri": CALLBACK, "participant_id": alice_id, "timeout": 30 });

    // One consent, as a person gives it.
    let asked = ask(&http, &b_base, &agent, request.clone());
    let (prompt, _) = prompts.recv().await.context("no prompt")?;
    let page = Browser::new(&p)
        .authorize(&consent_url(&prompt).context("an incomplete prompt")?, EMAIL, PASSWORD)
        .await;
    let redirect = page.redirect_params();
    let provide =
        json!({ "request_id": prompt["request_id"], "code": redirect.get("code"), "iss": redirect.get("iss") });
    post(
        &http,
        &a_base,
        &alice,
        &format!("/rooms/{ROOM}/secrets/provide_oauth_authorization"),
        provide,
    )
    .await?;
    let (status, token) = asked.await??;
    anyhow::ensure!(status == 200, "the consent gave no token: {status} {token}");

    // The machine's pace right now: the bare axum ceiling, on the same core and connections.
    let log = dir.join("ceiling.log");
    let mut ceiling = Pinned::spawn(
        &server_cpus(),
        &sibling_binary("ceiling")?,
        &["{addr}".into()],
        &[],
        &log,
    )?;
    ceiling.wait_ready("/").await?;
    let bare = load::prepare(ceiling.addr, vec![Repeat::get("/", b"\"ok\""); a.connections])
        .await?
        .run(a.window, Some(ceiling.pid()))
        .await?;
    ceiling.stop();
    println!(
        "ceiling (bare axum, fixed JSON): {:.0} req/s, {:.1} µs CPU/request",
        bare.requests_per_sec(),
        bare.server_us_per_request()
    );

    // 1. Offline gets of the stored, fresh token.
    let body = json!({ "oauth": oauth, "delegated_by": "alice" }).to_string();
    let bearer = HeaderValue::from_str(&format!("Bearer {agent}"))?;
    let path = format!("/rooms/{ROOM}/secrets/get_offline_oauth_token");
    let ops = vec![Repeat::json(&path, bearer, body, b"\"access_token\":\""); a.connections];
    let out = load::prepare(node_a.process.addr, ops)
        .await?
        .run(a.window, Some(node_a.process.pid()))
        .await?;
    anyhow::ensure!(
        out.failed_connections == 0,
        "{} connections failed: {:?}",
        out.failed_connections,
        out.first_error
    );
    println!(
        "get_offline_oauth_token ({}): {:.0} req/s ({:.1} % of the ceiling), latency p50 {} p99 {}, server CPU {:.1} µs/request (target ≥ 15,000 req/s, p99 < 5 ms)",
        a.backend,
        out.requests_per_sec(),
        100.0 * out.requests_per_sec() / bare.requests_per_sec(),
        ms(out.latency(0.5)),
        ms(out.latency(0.99)),
        out.server_us_per_request(),
    );

    // 2. Prompt round trips, node B → node A on PostgreSQL. A scope the stored credential lacks
    // makes every request prompt.
    let mut request = request;
    request["oauth"]["scopes"] = json!(["openid", "email", "offline_access", "profile"]);
    let mut trips = Vec::with_capacity(a.prompts);
    for _ in 0..a.prompts {
        let started = Instant::now();
        let asked = ask(&http, &b_base, &agent, request.clone());
        let (prompt, at) = tokio::time::timeout(Duration::from_secs(10), prompts.recv())
            .await
            .context("no prompt within 10 s")?
            .context("alice left")?;
        trips.push(at - started);
        let reject = json!({ "request_id": prompt["request_id"], "error": "bench" });
        post(
            &http,
            &a_base,
            &alice,
            &format!("/rooms/{ROOM}/secrets/reject_oauth_authorization"),
            reject,
        )
        .await?;
        let (status, _) = asked.await??;
        anyhow::ensure!(status == 403, "a rejected request answered {status}");
    }
    trips.sort_unstable();
    println!(
        "prompt round trip ({}, {}): request → prompt delivered, {} requests: p50 {} p99 {} max {}",
        a.backend,
        if node_b.is_some() {
            "node B → node A"
        } else {
            "one node"
        },
        trips.len(),
        ms(percentile(&trips, 0.5)),
        ms(percentile(&trips, 0.99)),
        ms(percentile(&trips, 1.0)),
    );
    drop(node_b);
    drop(node_a);
    drop(provider);
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
