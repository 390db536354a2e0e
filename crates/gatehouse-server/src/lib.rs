//! The Gatehouse HTTP server: configuration, startup (storage, keys, first-start bootstrap),
//! the router, and graceful shutdown. [`start`] binds and returns the bound address, so tests run
//! the real server on port 0.

mod body_limit;
pub mod config;
mod dto;
mod error;
mod extract;
mod first_start;
pub mod identity_providers;
mod listener;
mod mail;
mod metrics;
mod notify;
mod openapi;
mod routes;
mod state;
mod upstream;

/// The parsers of untrusted input that the fuzz targets in `fuzz/` drive directly, without a
/// running server. Not an API: nothing outside the fuzz targets uses it.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::extract::{Form, charset_is_utf8, is_form};
    pub use crate::routes::oauth::client_credentials;
    pub use crate::routes::room_channel::parse_request;
}

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use gatehouse_core::crypto::MasterKey;
use gatehouse_core::keyring::{MasterKeys, Rewrapped};
use gatehouse_core::ports::Notifier;
use gatehouse_core::rng::SystemRng;
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::{BootstrapOptions, BootstrapOutcome};
use gatehouse_core::time::{Clock, SystemClock};
use gatehouse_core::{Deps, Gatehouse};
use gatehouse_store::Database;
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeader;

pub use config::Config;

use crate::state::AppState;

/// Settings given on the command line; each overrides the TOML file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub issuer: Option<String>,
    pub master_key_file: Option<PathBuf>,
    pub previous_master_key_file: Option<PathBuf>,
    pub log_format: Option<String>,
    pub bootstrap_file: Option<PathBuf>,
    pub admin_email: Option<String>,
    pub admin_password_file: Option<PathBuf>,
    pub allow_insecure_upstreams: Option<bool>,
    pub outbound_allow: Option<Vec<String>>,
}

/// A running server.
pub struct Server {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The public base URL.
    pub issuer: String,
    /// First-start credentials, when this start created them.
    pub bootstrap: Option<BootstrapOutcome>,
    gh: Arc<Gatehouse>,
    /// How long shutdown waits for code exchanges and refreshes with third parties to finish.
    broker_grace: std::time::Duration,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    db: Database,
}

impl Server {
    /// The application behind the routes, for embedding (and the token-endpoint hot path's tests).
    pub fn gatehouse(&self) -> &Arc<Gatehouse> {
        &self.gh
    }

    /// Stops accepting, finishes in-flight requests, closes room sockets with a reason (their
    /// participants leave their rooms), and closes the database.
    pub async fn shutdown(self) {
        // Rooms first, while this node still vouches for its participants: other nodes hear them
        // leave now rather than after the presence timeout.
        self.gh.close_room_connections();
        let deadline = tokio::time::Instant::now() + ROOM_CLOSE_GRACE;
        while !self.gh.rooms_settled() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        // A provider's answer may hold the only copy of a rotated refresh token: let it be saved.
        if !self.gh.broker_settled(self.broker_grace).await {
            tracing::warn!("stopping with an exchange or refresh still waiting for its provider");
        }
        if let Err(e) = self.gh.flush_llm_usage().await {
            tracing::error!(error = %e, "writing LLM usage at shutdown failed");
        }
        self.db.close().await;
    }
}

/// The runtime `gatehouse` runs on. A process allowed one CPU (a container limit, or `taskset`)
/// gets the current-thread scheduler: the multi-thread one would add its cross-thread bookkeeping
/// (atomic run queues, work-stealing checks, waking a parked worker) to every task switch and
/// could not run anything in parallel; on one CPU, requests cost about 6 % less CPU without it
/// (bench/RESULTS.md). Otherwise one worker per CPU. Blocking work (password hashing, SQLite)
/// runs on threads of its own either way.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

/// The scheduler of the runtime this runs on, for the startup log line.
fn scheduler() -> &'static str {
    match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => "current-thread",
        _ => "multi-thread",
    }
}

/// Opens storage, loads keys, bootstraps a new database, binds and serves in the background.
pub async fn start(config: &Config) -> anyhow::Result<Server> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// [`start`] on another clock (tests move time forward to expire tokens).
pub async fn start_with_clock(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Server> {
    config::ensure_private_dir(&config.data_dir)?;
    let master = load_master_keys(config)?;
    let url = config.database_url();
    let db = Database::connect(&url)
        .await
        .with_context(|| format!("opening {}", config::redact_url(&url)))?;
    let ran = db.migrate().await?;
    if !ran.is_empty() {
        tracing::info!(versions = ?ran, "applied migrations");
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let issuer = config.issuer(&addr.to_string());
    gatehouse_core::clients::uri::check_web_url("issuer", &issuer).map_err(|_| {
        anyhow::anyhow!(
            "issuer {issuer:?} must be an https URL (http only on loopback); set --issuer to the public URL"
        )
    })?;
    let gh = Arc::new(open_gatehouse(&db, master, config, &issuer, clock).await?);
    // With a bootstrap file, the credentials are on disk before the first-start data is committed:
    // credentials that cannot be written must not be generated, or they would be lost for good.
    let opts = bootstrap_options(config, &issuer)?;
    let bootstrap = match &config.bootstrap_file {
        Some(path) => first_start::bootstrap(&gh, &opts, path).await?,
        None => gh.bootstrap(&opts).await?,
    };
    gh.sync_official_clients(&issuer).await?;

    // This node's first heartbeat, before any participant joins (SPEC §6.5 presence).
    gh.room_upkeep().await?;
    // Every node's counts of the LLM limits' current windows, before the first request.
    gh.flush_llm_usage().await?;
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(pool) = db.pg_pool() {
        tasks.push(tokio::spawn(notify::listen(pool.clone(), gh.clone(), stop_rx.clone())));
    }
    let job_gh = gh.clone();
    tasks.push(tokio::spawn(every(
        LLM_USAGE_FLUSH_PERIOD,
        "writing LLM usage",
        stop_rx.clone(),
        move || {
            let gh = job_gh.clone();
            async move { gh.flush_llm_usage().await }
        },
    )));
    let job_gh = gh.clone();
    tasks.push(tokio::spawn(every(
        MAINTENANCE_PERIOD,
        "provider maintenance",
        stop_rx.clone(),
        move || {
            let gh = job_gh.clone();
            async move { gh.provider_maintenance().await }
        },
    )));
    let job_gh = gh.clone();
    tasks.push(tokio::spawn(every(
        ROOM_UPKEEP_PERIOD,
        "room upkeep",
        stop_rx.clone(),
        move || {
            let gh = job_gh.clone();
            async move { gh.room_upkeep().await }
        },
    )));
    let state = Arc::new(AppState {
        gh: gh.clone(),
        metrics: Arc::default(),
        room_keepalive: std::time::Duration::from_secs(config.room_keepalive_secs),
        llm: routes::llm::proxy::Gate::new(
            upstream::HttpUpstream::new(
                config.outbound_policy()?,
                config.resolve_overrides.clone(),
                std::time::Duration::from_secs(config.llm_timeout_secs),
            )?,
            config.max_body_bytes,
            std::time::Duration::from_secs(config.llm_timeout_secs),
        ),
    });
    let app = app(state, config.max_body_bytes);
    let limits = listener::Limits {
        header_read: std::time::Duration::from_secs(config.header_read_timeout_secs),
        idle: std::time::Duration::from_secs(config.idle_timeout_secs),
        max_connections: config.max_connections,
    };
    if let Some(allowed) = config::connections_the_fd_limit_allows()
        && config.max_connections > allowed
    {
        tracing::warn!(
            max_connections = config.max_connections,
            allowed,
            "max_connections is more than the open-file limit leaves room for; accepts will fail at that limit"
        );
    }
    tasks.push(tokio::spawn(listener::serve(listener, app, limits, stop_rx)));
    tracing::info!(%addr, %issuer, scheduler = %scheduler(), "gatehouse is listening");
    Ok(Server {
        addr,
        issuer,
        bootstrap,
        gh,
        broker_grace: std::time::Duration::from_secs(config.upstream_timeout_secs + 5),
        stop,
        tasks,
        db,
    })
}

/// The application over `db`, with the notifier its backend needs.
async fn open_gatehouse(
    db: &Database,
    master: MasterKeys,
    config: &Config,
    issuer: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Gatehouse> {
    let notifier: Arc<dyn Notifier> = match db.pg_pool() {
        Some(pool) => Arc::new(notify::PgNotifier::new(pool.clone())),
        None => Arc::new(notify::InProcessNotifier),
    };
    let deps = Deps {
        store: db.store(),
        notifier,
        clock,
        rng: Arc::new(SystemRng::default()),
        upstream: Arc::new(upstream::HttpUpstream::new(
            config.outbound_policy()?,
            config.resolve_overrides.clone(),
            std::time::Duration::from_secs(config.upstream_timeout_secs),
        )?),
        mailer: mailer(config)?,
    };
    Ok(Gatehouse::open(deps, master, config.provider(issuer)?).await?)
}

/// The SMTP mailer of `smtp_url`, or files under `<data_dir>/mail/` without one.
fn mailer(config: &Config) -> anyhow::Result<Arc<dyn gatehouse_core::ports::Mailer>> {
    Ok(match &config.smtp_url {
        Some(url) => {
            let password = config.smtp_password.as_deref().map(SecretString::new);
            Arc::new(mail::SmtpMailer::new(url, password.as_ref(), &config.smtp_from)?)
        }
        None => Arc::new(mail::FileMailer::new(config.data_dir.join("mail"), &config.smtp_from)?),
    })
}

/// How often each node writes the LLM usage and limit counts it counted and reads every node's
/// totals ([`Gatehouse::flush_llm_usage`]): the limits' tolerance across nodes.
const LLM_USAGE_FLUSH_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

/// How often each node runs the provider's upkeep (key rotation and removal, purging):
/// [`Gatehouse::provider_maintenance`].
const MAINTENANCE_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

/// How often each node vouches for its room participants and removes those of dead nodes
/// ([`Gatehouse::room_upkeep`]); well inside [`gatehouse_core::service::PRESENCE_TIMEOUT_SECS`].
const ROOM_UPKEEP_PERIOD: std::time::Duration = std::time::Duration::from_secs(5);
/// How long shutdown waits for room sockets to close and their participants to leave.
const ROOM_CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `job` every `period` until shutdown, logging its failures.
async fn every<F, Fut>(period: std::time::Duration, what: &'static str, mut stop: watch::Receiver<bool>, job: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = gatehouse_core::Result<()>>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = job().await {
                    tracing::error!(error = %e, "{what} failed");
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// Longest time a request may take, body included (exports of 100,000 clients fit well inside).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// The same for [`routes::waiting_routes`]: the longest consent wait, the code exchange after
/// it (at most 65 s more), and a margin.
const WAITING_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(900 + 90);

/// The HTTP service. Only what needs the matched route (its timeout, its metrics series) is a
/// route layer: axum clones a route's whole layer chain, one box per layer, at every level of
/// every request, so layers that do not need the route wrap the router once instead.
fn app(state: Arc<AppState>, max_body: usize) -> App {
    use axum::http::{StatusCode, header};
    use tower::Layer as _;
    use tower_http::set_header::SetResponseHeaderLayer;
    let timeout = |limit| tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limit);
    let state_issuer = state.gh.provider_config().issuer.clone();
    let router = routes::router()
        // A slow client cannot hold a request (and its body read) open for ever.
        .layer(timeout(REQUEST_TIMEOUT))
        .merge(routes::waiting_routes().layer(timeout(WAITING_REQUEST_TIMEOUT)))
        .merge(routes::llm_routes())
        .fallback(|| async { error::ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            error::ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        .layer(metrics::Record(state.metrics.clone()))
        .with_state(state);
    let limited = body_limit::DeclaredLengthLimit::new(DefaultBodyLimit::max(max_body).layer(router), max_body);
    // Responses may carry secrets shown once: no cache may keep them (RFC 6749 §5.1 spirit).
    let uncached = SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
        .layer(limited);
    let sniffless =
        SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"))
            .layer(uncached);
    // HSTS only when the issuer is https (never on a local http issuer). Two years, the value
    // the preload list asks for and browsers cap at, without `preload`: that is an operator's
    // decision for the whole domain. A static value: cloning it allocates nothing.
    let https = state_issuer.starts_with("https://");
    let hsts = https.then(|| HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, hsts).layer(sniffless)
}

/// The service [`app`] builds.
type App = SetResponseHeader<
    SetResponseHeader<
        SetResponseHeader<
            body_limit::DeclaredLengthLimit<<DefaultBodyLimit as tower::Layer<Router>>::Service>,
            HeaderValue,
        >,
        HeaderValue,
    >,
    Option<HeaderValue>,
>;

fn bootstrap_options(config: &Config, issuer: &str) -> anyhow::Result<BootstrapOptions> {
    let admin_password = match &config.admin_password_file {
        Some(path) => {
            let p = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Some(SecretString::new(p.trim_end_matches(['\r', '\n'])))
        }
        None => None,
    };
    Ok(BootstrapOptions {
        admin_email: config.admin_email(),
        admin_password,
        issuer: issuer.to_owned(),
    })
}

/// The master key and, during a rotation, the previous one.
fn load_master_keys(config: &Config) -> anyhow::Result<MasterKeys> {
    let previous = match (&config.previous_master_key, &config.previous_master_key_file) {
        (Some(k), _) => Some(MasterKey::parse(k.as_bytes()).context("GATEHOUSE_PREVIOUS_MASTER_KEY is unusable")?),
        (None, Some(path)) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading the previous master key file {}", path.display()))?;
            warn_if_shared(path);
            Some(
                MasterKey::parse(&bytes)
                    .with_context(|| format!("the previous master key file {} is unusable", path.display()))?,
            )
        }
        (None, None) => None,
    };
    // During a rotation a missing master key file is a mistake, not a first start.
    anyhow::ensure!(
        previous.is_none() || config.master_key.is_some() || config.master_key_path().exists(),
        "the master key file {} does not exist; a previous master key is configured, so it is not created",
        config.master_key_path().display()
    );
    Ok(MasterKeys {
        current: load_master_key(config)?,
        previous,
    })
}

/// The master key from `master_key`, or from its file, created (mode 0600) when missing.
fn load_master_key(config: &Config) -> anyhow::Result<MasterKey> {
    if let Some(k) = &config.master_key {
        return MasterKey::parse(k.as_bytes()).context("GATEHOUSE_MASTER_KEY is unusable; refusing to start");
    }
    let path = config.master_key_path();
    if !path.exists() {
        let encoded = MasterKey::generate_encoded(&SystemRng::default());
        first_start::create_master_key_file(&path, encoded.as_bytes())?;
        tracing::info!(path = %path.display(), "created a new master key file");
    }
    first_start::remove_partial_master_keys(&path)?;
    let bytes = std::fs::read(&path).with_context(|| format!("reading the master key file {}", path.display()))?;
    warn_if_shared(&path);
    MasterKey::parse(&bytes)
        .with_context(|| format!("the master key file {} is unusable; refusing to start", path.display()))
}

fn warn_if_shared(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
            tracing::warn!(path = %path.display(), "the master key file is readable by other users; chmod 600 it");
        }
    }
}

/// Installs the log subscriber: human text (coloured only on a terminal), JSON with `json`.
pub fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// `gatehouse serve`: runs until SIGTERM/SIGINT.
pub async fn run_serve(overrides: Overrides) -> anyhow::Result<()> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let (config, unknown) = Config::load(&overrides, &env)?;
    init_logging(&config.log_format);
    for name in unknown {
        tracing::warn!(variable = %name, "unknown GATEHOUSE_* environment variable ignored");
    }
    let server = start(&config).await?;
    if let Some(b) = &server.bootstrap {
        announce_bootstrap(&config, &server, b);
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

/// `gatehouse migrate`: applies pending migrations and exits.
pub async fn run_migrate(overrides: Overrides) -> anyhow::Result<()> {
    let (config, _) = load_config(&overrides)?;
    config::ensure_private_dir(&config.data_dir)?;
    let db = Database::connect(&config.database_url()).await?;
    let ran = db.migrate().await?;
    println!(
        "applied {} migration(s); the database is at version {}",
        ran.len(),
        gatehouse_store::MIGRATIONS.len()
    );
    db.close().await;
    Ok(())
}

/// A signing key scheduled by `gatehouse keys rotate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledKey {
    pub alg: String,
    pub kid: String,
    /// RFC 3339: when it starts signing (one JWKS cache period after it was published).
    pub activate_at: String,
}

/// `gatehouse keys rotate`: schedules every algorithm's *next* signing key and creates new *next*
/// keys (SPEC §5.3). Running nodes hear of it through `LISTEN/NOTIFY` on PostgreSQL, and through
/// their periodic reload otherwise.
pub async fn run_keys_rotate(overrides: Overrides) -> anyhow::Result<Vec<ScheduledKey>> {
    let (config, _) = load_config(&overrides)?;
    let (gh, db) = open_storage(&config).await?;
    let rotated = gh
        .rotate_signing_keys(&gatehouse_core::jose::SigningAlg::ALL)
        .await?
        .into_iter()
        .map(|(alg, kid, at)| ScheduledKey {
            alg: alg.as_str().to_owned(),
            kid,
            activate_at: at.rfc3339(),
        })
        .collect();
    db.close().await;
    Ok(rotated)
}

/// `gatehouse keys rotate-master`: re-wraps every data key, signing key and the keyed-hash key
/// still wrapped by the previous master key under the (new) master key, one row at a time, while
/// servers keep running. `progress` hears (done, total).
pub async fn run_keys_rotate_master(
    overrides: Overrides,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<(String, Rewrapped)> {
    let (config, _) = load_config(&overrides)?;
    anyhow::ensure!(
        config.master_key.is_some() || config.master_key_path().exists(),
        "the new master key file {} does not exist; create it first (32 random bytes, base64)",
        config.master_key_path().display()
    );
    anyhow::ensure!(
        config.previous_master_key.is_some() || config.previous_master_key_file.is_some(),
        "give the master key being replaced with --previous-master-key-file"
    );
    let (gh, db) = open_storage(&config).await?;
    let fingerprint = load_master_key(&config)?.id().to_owned();
    let done = gh.rotate_master_key(progress).await;
    db.close().await;
    Ok((fingerprint, done?))
}

fn load_config(overrides: &Overrides) -> anyhow::Result<(Config, Vec<String>)> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let loaded = Config::load(overrides, &env)?;
    init_logging(&loaded.0.log_format);
    Ok(loaded)
}

/// The application over the configured storage (migrated), for commands that work on the
/// database directly rather than through a server.
async fn open_storage(config: &Config) -> anyhow::Result<(Gatehouse, Database)> {
    config::ensure_private_dir(&config.data_dir)?;
    let master = load_master_keys(config)?;
    let db = Database::connect(&config.database_url()).await?;
    db.migrate().await?;
    let issuer = config.issuer(&config.listen);
    let gh = open_gatehouse(&db, master, config, &issuer, Arc::new(SystemClock)).await?;
    Ok((gh, db))
}

/// Shows the first-start credentials once: on the terminal, or where the bootstrap file is.
fn announce_bootstrap(config: &Config, server: &Server, b: &BootstrapOutcome) {
    if let Some(path) = &config.bootstrap_file {
        println!("First start: credentials written to {} (mode 0600).", path.display());
        return;
    }
    let pw = if config.admin_password_file.is_some() {
        "(from --admin-password-file)"
    } else {
        b.admin_password.expose_secret()
    };
    println!(
        "\n  Gatehouse first start — these are shown only once:\n\n    Server:          {}\n    Admin email:     {}\n    Admin password:  {pw}\n    API key: {}\n    System project:  {}\n\n  export GATEHOUSE_URL={} GATEHOUSE_API_KEY={}\n",
        server.issuer,
        b.admin_email,
        b.api_key.expose_secret(),
        b.project_id,
        server.issuer,
        b.api_key.expose_secret(),
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
