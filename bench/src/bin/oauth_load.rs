//! Load benchmark of the authorization server (SPEC §5): client credentials (ES256 and EdDSA
//! access tokens, and for an API resource), token exchange (RFC 8693), introspection, participant tokens minted and validated over REST (SPEC §6.3),
//! refresh-token rotation, complete code flows with PKCE, password sign-in, and client credentials
//! during a sign-in storm and during a sign-up storm. Each figure comes with the share it is
//! of a bare axum handler (`ceiling`) measured just before it with the same load generator (the
//! machine is shared, so only adjacent figures compare), the server's CPU time per request, and
//! how much CPU other processes took meanwhile. ES256 client credentials are also given as a share
//! of the ES256 floor: a bare axum handler that reads the same request and signs one ES256 access
//! token for each, measured just before and just after them.
//!
//! `taskset -c 1 target/release/oauth_load [sqlite|postgres|all] [--warmup S] [--window S]
//! [--connections N] [--only a,b,…]` — the servers run pinned to `GATEHOUSE_BENCH_SERVER_CPUS`
//! (default `0`); PostgreSQL needs `GATEHOUSE_BENCH_POSTGRES_URL` (a fresh database per run).
//! `GATEHOUSE_BENCH_KEEP=1` keeps each server's data directory and log; the servers inherit the
//! environment, so e.g. `GATEHOUSE_LOG=info,sqlx::query=debug` logs every statement.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use gatehouse_bench::load::{self, Operation, Outcome, Window};
use gatehouse_bench::oauth::ops::{CodeFlow, Login, Refresh, Repeat, SignUp};
use gatehouse_bench::oauth::{Fixture, LoginForm, RESOURCE};
use gatehouse_bench::server::{Gatehouse, PgDatabase, Pinned, own_cpus, server_cpus, sibling_binary};
use hyper::header::HeaderValue;

/// A handler of the `ceiling` server, by the request that it answers.
type Bare = fn() -> Repeat;

/// Fixed JSON: the ceiling of every scenario.
const CEILING: Bare = || Repeat::get("/", b"\"ok\"");

/// One ES256 access token signed per request, for the request client credentials send: the
/// floor of ES256 client credentials.
const ES256_FLOOR: Bare = || Repeat::client_credentials_to("/es256", &HeaderValue::from_static(FLOOR_BASIC));

/// Basic credentials as long as a Gatehouse client's (a 22-character id, a 43-character secret);
/// the floor reads them and checks nothing.
const FLOOR_BASIC: &str =
    "Basic cThacjNtMGJYeVQxdVZ3MmtMcDlBZzpOM3ZRazhacjBiWHlUMXVWdzJrTHA5QWdROFpyM20wYlh5VDF1Vncya0xw";

/// The ceiling measurement taken before each scenario.
const CEILING_WINDOW: Window = Window {
    warmup: Duration::from_secs(1),
    measure: Duration::from_secs(4),
};

/// A server under load: where it listens and its process id (for its CPU time).
#[derive(Clone, Copy)]
struct Target {
    addr: SocketAddr,
    pid: u32,
}

impl From<&Pinned> for Target {
    fn from(p: &Pinned) -> Self {
        Self {
            addr: p.addr,
            pid: p.pid(),
        }
    }
}

/// One figure of the report.
struct Row {
    scenario: String,
    backend: &'static str,
    unit: &'static str,
    outcome: Outcome,
    /// The ceiling's requests per second, measured just before.
    ceiling: Option<f64>,
    /// The ES256 floor's requests per second, the mean of measurements just before and after.
    floor: Option<f64>,
    /// Target in operations per second.
    target: Option<f64>,
}

impl Row {
    fn share(&self) -> String {
        let rate = self.outcome.requests_per_sec();
        let ceiling = self
            .ceiling
            .map_or("–".into(), |c| format!("{:.1} % of {c:.0}", 100.0 * rate / c));
        match self.floor {
            Some(f) => format!("{ceiling}; {:.0} % of the ES256 floor {f:.0}", 100.0 * rate / f),
            None => ceiling,
        }
    }

    fn verdict(&self) -> Option<(f64, bool)> {
        self.target.map(|t| (t, self.outcome.ops_per_sec() >= t))
    }

    fn busy(&self) -> (f64, f64) {
        let o = &self.outcome;
        let w = o.window.as_secs_f64();
        (100.0 * o.cpu.server.as_secs_f64() / w, o.cpu.others.as_secs_f64() / w)
    }
}

/// What storms the server beside client credentials.
struct Storm {
    name: &'static str,
    label: &'static str,
    unit: &'static str,
}

struct Bench {
    window: Window,
    connections: usize,
    only: Option<Vec<String>>,
    /// The bare axum server, running for the whole benchmark.
    ceiling: Option<Pinned>,
    rows: Vec<Row>,
}

impl Bench {
    fn wants(&self, name: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.iter().any(|n| n == name))
    }

    fn bare_load(&self, bare: Bare) -> Option<(Target, Vec<Repeat>)> {
        let c = self.ceiling.as_ref()?;
        Some((Target::from(c), vec![bare(); self.connections]))
    }

    /// The requests per second of a `ceiling` handler now (a short window).
    async fn bare_now(&self, bare: Bare) -> anyhow::Result<Option<f64>> {
        let Some((t, ops)) = self.bare_load(bare) else {
            return Ok(None);
        };
        let out = load::prepare(t.addr, ops)
            .await?
            .run(CEILING_WINDOW, Some(t.pid))
            .await?;
        Ok(Some(out.requests_per_sec()))
    }

    /// A `ceiling` handler over a full window, as a row of its own.
    async fn ceiling_row(&mut self, label: &str, bare: Bare) -> anyhow::Result<()> {
        if let Some((t, ops)) = self.bare_load(bare) {
            let outcome = load::prepare(t.addr, ops).await?.run(self.window, Some(t.pid)).await?;
            self.record(Row {
                scenario: label.into(),
                backend: "—",
                unit: "req/s",
                outcome,
                ceiling: None,
                floor: None,
                target: None,
            });
        }
        Ok(())
    }

    /// Measures `ops` (one connection each) against `target` after a ceiling measurement.
    async fn measure<O: Operation>(
        &mut self,
        target: Target,
        scenario: &str,
        backend: &'static str,
        unit: &'static str,
        goal: Option<f64>,
        ops: Vec<O>,
    ) -> anyhow::Result<()> {
        let ceiling = self.bare_now(CEILING).await?;
        let outcome = load::prepare(target.addr, ops)
            .await?
            .run(self.window, Some(target.pid))
            .await?;
        self.record(Row {
            scenario: scenario.into(),
            backend,
            unit,
            outcome,
            ceiling,
            floor: None,
            target: goal,
        });
        Ok(())
    }

    /// Client credentials alone, then again while `others` (as many connections again) hash
    /// passwords: the storm keeps at least half the solo throughput.
    async fn storm<O: Operation>(
        &mut self,
        target: Target,
        backend: &'static str,
        storm: &Storm,
        cc: impl Fn() -> Vec<Repeat>,
        others: Vec<O>,
    ) -> anyhow::Result<()> {
        let label = format!("client_credentials solo (before the {} storm)", storm.name);
        self.measure(target, &label, backend, "req/s", None, cc()).await?;
        let solo = self.rows.last().map_or(0.0, |r| r.outcome.ops_per_sec());
        let ceiling = self.bare_now(CEILING).await?;
        let cc = cc();
        let (n, m) = (cc.len(), others.len());
        let cc_load = load::prepare(target.addr, cc).await?;
        let others_load = load::prepare(target.addr, others).await?;
        let (cc_out, others_out) = tokio::join!(
            cc_load.run(self.window, Some(target.pid)),
            others_load.run(self.window, Some(target.pid))
        );
        self.record(Row {
            scenario: format!("client_credentials during a {} storm ({n} + {m} conns)", storm.name),
            backend,
            unit: "req/s",
            outcome: cc_out?,
            ceiling,
            floor: None,
            target: Some(solo / 2.0),
        });
        self.record(Row {
            scenario: format!("{} during the storm (same window)", storm.label),
            backend,
            unit: storm.unit,
            outcome: others_out?,
            ceiling,
            floor: None,
            target: None,
        });
        Ok(())
    }

    /// [`Bench::measure`] of ES256 client credentials, with the ES256 floor measured just before
    /// and just after.
    async fn measure_against_floor(
        &mut self,
        target: Target,
        scenario: &str,
        backend: &'static str,
        goal: Option<f64>,
        ops: Vec<Repeat>,
    ) -> anyhow::Result<()> {
        let before = self.bare_now(ES256_FLOOR).await?;
        self.measure(target, scenario, backend, "req/s", goal, ops).await?;
        let after = self.bare_now(ES256_FLOOR).await?;
        if let (Some(before), Some(after), Some(row)) = (before, after, self.rows.last_mut()) {
            let floor = (before + after) / 2.0;
            row.floor = Some(floor);
            println!(
                "    ES256 floor {before:.0} req/s before, {after:.0} after: {:.0} % of it",
                100.0 * row.outcome.requests_per_sec() / floor
            );
        }
        Ok(())
    }

    fn record(&mut self, row: Row) {
        let o = &row.outcome;
        let (busy, others) = row.busy();
        let target = row.verdict().map_or(String::new(), |(t, met)| {
            format!("; target ≥ {t:.0}: {}", if met { "met" } else { "MISSED" })
        });
        let failed = o.first_error.as_ref().map_or(String::new(), |e| {
            format!(
                "\n    !! {} connection(s) stopped; first error: {e}",
                o.failed_connections
            )
        });
        println!(
            "{:<44} {:<8} {:>6.0} {} ({:.0} req/s, {} ceiling); p50 {:.2} ms, p99 {:.2} ms; \
             server {:.1} µs CPU/req, core {busy:.0} % busy; others {others:.2} cores{target}{failed}",
            row.scenario,
            row.backend,
            o.ops_per_sec(),
            row.unit,
            o.requests_per_sec(),
            row.share(),
            ms(o.latency(0.5)),
            ms(o.latency(0.99)),
            o.server_us_per_request(),
        );
        self.rows.push(row);
    }

    fn table(&self) {
        println!(
            "\n| scenario | backend | result | share of ceiling (ceiling req/s; ES256 floor) | server CPU per request (core busy) \
             | others' CPU | p50 / p99 | target |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for r in &self.rows {
            let o = &r.outcome;
            let (busy, others) = r.busy();
            let target = r.verdict().map_or("—".into(), |(t, met)| {
                format!("≥ {t:.0}: {}", if met { "met" } else { "**missed**" })
            });
            println!(
                "| {} | {} | **{:.0} {}** | {} | {:.1} µs ({busy:.0} %) | {others:.2} cores | {:.2} / {:.2} ms | {target} |",
                r.scenario,
                r.backend,
                o.ops_per_sec(),
                r.unit,
                r.share(),
                o.server_us_per_request(),
                ms(o.latency(0.5)),
                ms(o.latency(0.99)),
            );
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `alg` in a JWT's header.
fn jwt_alg(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .and_then(|h| h["alg"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Every scenario against one server backend, in a fresh data directory (and database).
async fn backend(bench: &mut Bench, backend: &'static str) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("gatehouse-oauth-load-{}", uuid::Uuid::new_v4()));
    let mut pg = if backend == "postgres" {
        Some(PgDatabase::create()?)
    } else {
        None
    };
    let result = scenarios(bench, backend, &dir, pg.as_ref().map(|p| p.url.as_str())).await;
    if let Some(pg) = pg.as_mut() {
        pg.drop_now()?;
    }
    if result.is_ok() && std::env::var_os("GATEHOUSE_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("server data and log kept in {}", dir.display());
    }
    result
}

async fn scenarios(
    bench: &mut Bench,
    backend: &'static str,
    dir: &Path,
    database_url: Option<&str>,
) -> anyhow::Result<()> {
    let n = bench.connections;
    // Open sign-up, for the sign-up storm; the messages go to files in the data directory.
    let env = [("GATEHOUSE_SIGNUP".to_owned(), "open".to_owned())];
    let gh = Gatehouse::start(dir, database_url, &env).await?;
    let target = Target::from(&gh.process);
    let fixture = Arc::new(Fixture::create(&gh).await?);
    println!(
        "-- {backend}: server pid {} on CPUs {}; setting up {n} signed-in browsers and refresh chains…",
        target.pid,
        server_cpus()
    );
    let signed = fixture.signed_in(n).await?;
    let forms = fixture.login_forms(n).await?;
    let access_token = fixture.client_token().await?;
    let basic = HeaderValue::from_str(&fixture.basic)?;
    let cc = || vec![Repeat::client_credentials(&basic); n];
    let logins = |forms: &[LoginForm]| {
        forms
            .iter()
            .map(|f| Login::new(&fixture, f))
            .collect::<anyhow::Result<Vec<_>>>()
    };
    let sqlite_goal = |goal: f64| (backend == "sqlite").then_some(goal);

    if bench.wants("healthz") {
        let ops = vec![Repeat::get("/healthz", b"ok"); n];
        let label = "GET /healthz: middleware and routing only";
        bench.measure(target, label, backend, "req/s", None, ops).await?;
    }
    if bench.wants("cc") {
        let alg = jwt_alg(&access_token);
        anyhow::ensure!(alg == "ES256", "the default access tokens are {alg}, not ES256");
        let label = "client_credentials, ES256 access tokens";
        bench
            .measure_against_floor(target, label, backend, Some(18_000.0), cc())
            .await?;
    }
    // Measured right after `cc`, each against half or 95 % of its figure (issue 22's goals).
    let cc_rate = bench
        .rows
        .last()
        .filter(|r| bench.wants("cc") && r.backend == backend)
        .map(|r| r.outcome.ops_per_sec());
    if bench.wants("cc_resource") {
        let ops = vec![Repeat::client_credentials_for(&basic, RESOURCE); n];
        let label = "client_credentials with resource, ES256";
        let goal = cc_rate.map(|r| 0.95 * r);
        bench.measure_against_floor(target, label, backend, goal, ops).await?;
    }
    if bench.wants("exchange") {
        let body = Fixture::exchange_body(&fixture.exchange_subject().await?);
        let exchanger = HeaderValue::from_str(&fixture.exchange_basic)?;
        let ops = vec![Repeat::token_exchange(&exchanger, body); n];
        let label = "token exchange (RFC 8693), ES256";
        let goal = cc_rate.map(|r| r / 2.0);
        bench.measure_against_floor(target, label, backend, goal, ops).await?;
    }
    if bench.wants("introspect") {
        let key = HeaderValue::from_str(&format!("Bearer {}", fixture.project_key))?;
        let ops = vec![Repeat::introspection(key, &access_token); n];
        let label = "introspection, project API key";
        bench
            .measure(target, label, backend, "req/s", Some(20_000.0), ops)
            .await?;
        let ops = vec![Repeat::introspection(basic.clone(), &access_token); n];
        let label = "introspection, client Basic";
        bench
            .measure(target, label, backend, "req/s", Some(20_000.0), ops)
            .await?;
    }
    if bench.wants("participant") {
        let key = HeaderValue::from_str(&format!("Bearer {}", fixture.project_key))?;
        let ops = vec![Repeat::mint_participant_token(key, &fixture.project_id); n];
        let label = "participant token minted over REST (API key)";
        bench
            .measure(target, label, backend, "req/s", Some(20_000.0), ops)
            .await?;
        let token = fixture.participant_token().await?;
        let ops = vec![Repeat::validate_participant_token(&token); n];
        let label = "participant token validated over REST";
        bench
            .measure(target, label, backend, "req/s", Some(30_000.0), ops)
            .await?;
    }
    if bench.wants("refresh") {
        let ops = signed.iter().map(|s| Refresh::new(&basic, &s.refresh_token)).collect();
        let label = "refresh_token rotation (chain per connection)";
        bench
            .measure(target, label, backend, "req/s", sqlite_goal(5_000.0), ops)
            .await?;
    }
    if bench.wants("code") {
        let ops = signed
            .iter()
            .map(|s| CodeFlow::new(&fixture, &basic, &s.session_cookie, &s.csrf_cookie))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let label = "code flow: authorize 303 + PKCE exchange";
        bench
            .measure(target, label, backend, "flows/s", sqlite_goal(2_500.0), ops)
            .await?;
    }
    if bench.wants("login") {
        let label = "password sign-in (POST /login)";
        bench
            .measure(target, label, backend, "logins/s", None, logins(&forms)?)
            .await?;
    }
    if bench.wants("storm") {
        let storm = Storm {
            name: "sign-in",
            label: "password sign-in (POST /login)",
            unit: "logins/s",
        };
        bench.storm(target, backend, &storm, cc, logins(&forms)?).await?;
    }
    if bench.wants("signup") {
        let signups = forms
            .iter()
            .enumerate()
            .map(|(i, f)| SignUp::new(f, &format!("{backend}{i}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let storm = Storm {
            name: "sign-up",
            label: "sign-up (POST /signup)",
            unit: "sign-ups/s",
        };
        bench.storm(target, backend, &storm, cc, signups).await?;
    }
    drop(gh);

    if backend == "sqlite" && bench.wants("eddsa") {
        // Same database, the server restarted with EdDSA access tokens.
        let env = [("GATEHOUSE_ACCESS_TOKEN_ALG".to_owned(), "EdDSA".to_owned())];
        let gh = Gatehouse::start(dir, database_url, &env).await?;
        let fixture = Fixture::create(&gh).await?;
        let alg = jwt_alg(&fixture.client_token().await?);
        anyhow::ensure!(
            alg == "EdDSA",
            "GATEHOUSE_ACCESS_TOKEN_ALG=EdDSA gave {alg} access tokens"
        );
        let basic = HeaderValue::from_str(&fixture.basic)?;
        let ops = vec![Repeat::client_credentials(&basic); n];
        let label = format!("client_credentials, {alg} access tokens");
        bench
            .measure(Target::from(&gh.process), &label, backend, "req/s", None, ops)
            .await?;
    }
    Ok(())
}

fn parse_args() -> anyhow::Result<(Vec<&'static str>, Bench)> {
    let mut backends = Vec::new();
    let mut bench = Bench {
        window: Window {
            warmup: Duration::from_secs(3),
            measure: Duration::from_secs(10),
        },
        connections: 64,
        only: None,
        ceiling: None,
        rows: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "sqlite" => backends.push("sqlite"),
            "postgres" => backends.push("postgres"),
            "all" => backends.extend(["sqlite", "postgres"]),
            "--warmup" => bench.window.warmup = Duration::from_secs_f64(value()?.parse()?),
            "--window" => bench.window.measure = Duration::from_secs_f64(value()?.parse()?),
            "--connections" => bench.connections = value()?.parse()?,
            "--only" => bench.only = Some(value()?.split(',').map(str::to_owned).collect()),
            other => anyhow::bail!(
                "unknown argument {other}; usage: oauth_load [sqlite|postgres|all] [--warmup S] [--window S] \
                 [--connections N] [--only ceiling,healthz,cc,cc_resource,exchange,introspect,participant,refresh,code,login,storm,signup,eddsa]"
            ),
        }
    }
    if backends.is_empty() {
        backends.push("sqlite");
        if std::env::var("GATEHOUSE_BENCH_POSTGRES_URL").is_ok() {
            backends.push("postgres");
        } else {
            println!("(PostgreSQL scenarios skipped: set GATEHOUSE_BENCH_POSTGRES_URL)");
        }
    }
    Ok((backends, bench))
}

fn main() -> anyhow::Result<()> {
    let (backends, mut bench) = parse_args()?;
    // One thread: the generator costs exactly the one core it is pinned to.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        println!(
            "load generator on CPUs {}, servers on CPUs {}; {} connections; warm-up {:?}, window {:?}",
            own_cpus(),
            server_cpus(),
            bench.connections,
            bench.window.warmup,
            bench.window.measure
        );
        if own_cpus() == server_cpus() || own_cpus().contains('-') || own_cpus().contains(',') {
            println!("(warning: pin the generator to its own core: taskset -c 1 oauth_load …)");
        }
        if bench.wants("ceiling") {
            let log = std::env::temp_dir().join(format!("gatehouse-ceiling-{}.log", std::process::id()));
            let program = sibling_binary("ceiling")?;
            let mut c = Pinned::spawn(&server_cpus(), &program, &["{addr}".into()], &[], &log)?;
            c.wait_ready("/").await?;
            bench.ceiling = Some(c);
            let _ = std::fs::remove_file(&log);
            bench.ceiling_row("ceiling: bare axum, fixed JSON", CEILING).await?;
            bench
                .ceiling_row("ES256 floor: bare axum, one ES256 access token", ES256_FLOOR)
                .await?;
        }
        for b in backends {
            backend(&mut bench, b).await?;
        }
        // The ceiling over a full window again: how far the machine drifted during the run.
        bench.ceiling_row("ceiling again, at the end", CEILING).await?;
        bench.table();
        let failed = bench.rows.iter().filter(|r| r.outcome.failed_connections > 0).count();
        anyhow::ensure!(failed == 0, "{failed} scenario(s) had failing connections");
        Ok(())
    })
}
