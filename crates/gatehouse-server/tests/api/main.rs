//! Black-box tests of the REST API: the real server on port 0 with a fresh database, against
//! SQLite always and PostgreSQL when `GATEHOUSE_TEST_POSTGRES_URL` is set (and then it must be
//! reachable: an unreachable database fails the run instead of skipping it).

mod accounts;
mod broker;
mod clients;
mod exports;
mod input;
mod logs;
mod nodes;
mod oauth_flows;
mod oidc_interop;
mod participants;
mod rooms;
mod secrets;

use std::path::PathBuf;

use gatehouse_core::time::{Clock, SystemClock};
use gatehouse_server::{Config, Server};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection as _;

/// Which database a test server runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

/// The backends every API test runs against.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    match std::env::var("GATEHOUSE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => v.push(Backend::Postgres { admin_url: url }),
        _ => eprintln!("note: PostgreSQL runs skipped: GATEHOUSE_TEST_POSTGRES_URL is not set"),
    }
    v
}

/// A fresh PostgreSQL database named after a random id; returns its URL.
pub async fn create_pg_database(admin_url: &str) -> String {
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("GATEHOUSE_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {e}"));
    let name = format!("gh_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(admin_url).unwrap();
    url.set_path(&name);
    url.to_string()
}

/// Drops a database made by [`create_pg_database`] (best effort: a leftover costs only disk).
pub async fn drop_pg_database(admin_url: &str, database_url: &str) {
    let Some(name) = database_url.rsplit('/').next().filter(|n| n.starts_with("gh_test_")) else {
        return;
    };
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

/// A server configuration on port 0 over `dir` and `database_url`.
pub fn test_config(dir: &std::path::Path, database_url: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        database_url: Some(database_url.to_owned()),
        ..Config::default()
    }
}

/// A running server with its bootstrap (server-admin) API key.
pub struct TestServer {
    pub base: String,
    pub admin_key: String,
    pub system_project: String,
    pub http: reqwest::Client,
    pub dir: PathBuf,
    pub database_url: String,
    pub backend: Backend,
    server: Option<Server>,
    /// Whether this server created the database and directory (and so removes them on stop).
    owned: bool,
}

impl TestServer {
    /// Starts a server on a fresh database of `backend`.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_fresh(backend, |_| {}).await
    }

    /// Starts a server on a fresh database of `backend`, with settings changed by `tune`.
    pub async fn spawn_fresh(backend: Backend, tune: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_clocked(backend, tune, std::sync::Arc::new(SystemClock)).await
    }

    /// [`TestServer::spawn_fresh`] on `clock` (tests move it forward to expire tokens).
    pub async fn spawn_clocked(
        backend: Backend,
        tune: impl FnOnce(&mut Config),
        clock: std::sync::Arc<dyn Clock>,
    ) -> Self {
        let dir = std::env::temp_dir().join(format!("gatehouse-test-{}", uuid::Uuid::new_v4()));
        let database_url = match &backend {
            Backend::Sqlite => format!("sqlite://{}", dir.join("gatehouse.db").display()),
            Backend::Postgres { admin_url } => create_pg_database(admin_url).await,
        };
        let mut s = Self::spawn_on_clock(backend, dir, database_url, tune, clock).await;
        s.owned = true;
        s
    }

    /// Starts a server on an existing data directory and database (a second node, a restart).
    /// Nodes behind one load balancer share one `issuer`.
    pub async fn spawn_on(backend: Backend, dir: PathBuf, database_url: String, issuer: Option<&str>) -> Self {
        Self::spawn_tuned(backend, dir, database_url, |c| c.issuer = issuer.map(str::to_owned)).await
    }

    /// [`TestServer::spawn_on`] with settings changed by `tune`.
    pub async fn spawn_tuned(
        backend: Backend,
        dir: PathBuf,
        database_url: String,
        tune: impl FnOnce(&mut Config),
    ) -> Self {
        Self::spawn_on_clock(backend, dir, database_url, tune, std::sync::Arc::new(SystemClock)).await
    }

    /// [`TestServer::spawn_tuned`] on `clock`.
    pub async fn spawn_on_clock(
        backend: Backend,
        dir: PathBuf,
        database_url: String,
        tune: impl FnOnce(&mut Config),
        clock: std::sync::Arc<dyn Clock>,
    ) -> Self {
        let mut config = Config {
            max_body_bytes: 64 * 1024,
            ..test_config(&dir, &database_url)
        };
        tune(&mut config);
        let server = gatehouse_server::start_with_clock(&config, clock)
            .await
            .expect("server starts");
        let (admin_key, system_project) = match &server.bootstrap {
            Some(b) => (b.api_key.expose_secret().to_owned(), b.project_id.to_string()),
            None => (String::new(), String::new()),
        };
        Self {
            base: format!("http://{}", server.addr),
            admin_key,
            system_project,
            http: reqwest::Client::new(),
            dir,
            database_url,
            backend,
            server: Some(server),
            owned: false,
        }
    }

    /// A request to `path` authenticated with `key`.
    pub fn req_as(&self, key: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key)
    }

    /// A request as the server admin.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.req_as(&self.admin_key, method, path)
    }

    /// Sends a JSON request as `key`; returns status and JSON body (Null when empty).
    pub async fn call_as(&self, key: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.req_as(key, method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            },
        )
    }

    /// [`TestServer::call_as`] as the server admin.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(&self.admin_key.clone(), method, path, body).await
    }

    /// A new project and an API key of it (a developer of that project).
    pub async fn project(&self, name: &str) -> (String, String) {
        let (st, p) = self
            .call(Method::POST, "/accounts/projects", Some(json!({ "name": name })))
            .await;
        assert_eq!(st, 201, "{p}");
        let id = p["id"].as_str().unwrap().to_owned();
        let (st, k) = self
            .call(
                Method::POST,
                &format!("/accounts/projects/{id}/api-keys"),
                Some(json!({ "name": "ci" })),
            )
            .await;
        assert_eq!(st, 201, "{k}");
        (id, k["value"].as_str().unwrap().to_owned())
    }

    /// A user with a known password, created by the server admin; returns its id.
    pub async fn user(&self, email: &str, password: &str) -> String {
        let (st, u) = self
            .call(
                Method::POST,
                "/accounts/users",
                Some(json!({ "email": email, "name": email, "password": password })),
            )
            .await;
        assert_eq!(st, 201, "{u}");
        u["id"].as_str().unwrap().to_owned()
    }

    /// A client in `project` created with `settings` (JSON of SPEC §4.1); returns `(client_id, secret)`.
    pub async fn client(&self, key: &str, project: &str, settings: Value) -> (String, Option<String>) {
        let (st, c) = self
            .call_as(
                key,
                Method::POST,
                &format!("/accounts/projects/{project}/oauth/clients"),
                Some(settings),
            )
            .await;
        assert_eq!(st, 201, "{c}");
        (
            c["client"]["client_id"].as_str().unwrap().to_owned(),
            c["client"]["client_secret"].as_str().map(str::to_owned),
        )
    }

    /// Everything the database holds, as bytes: the SQLite files, or a `pg_dump`.
    pub async fn database_bytes(&self) -> Vec<u8> {
        match self.backend {
            Backend::Sqlite => {
                let mut all = Vec::new();
                for f in ["gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm"] {
                    if let Ok(b) = std::fs::read(self.dir.join(f)) {
                        all.extend(b);
                    }
                }
                all
            }
            Backend::Postgres { .. } => {
                let out = std::process::Command::new("pg_dump")
                    .arg("--no-owner")
                    .arg(&self.database_url)
                    .output()
                    .expect("pg_dump runs");
                assert!(
                    out.status.success(),
                    "pg_dump: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            }
        }
    }

    /// The application of this node.
    pub fn gatehouse(&self) -> &std::sync::Arc<gatehouse_core::Gatehouse> {
        self.server.as_ref().expect("running").gatehouse()
    }

    /// Stops the server but keeps its data, to start it again with [`TestServer::resume`].
    pub async fn pause(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    /// Starts a paused server again on the same address and data, on `clock`.
    pub async fn resume(&mut self, clock: std::sync::Arc<dyn Clock>) {
        let listen = self.base.trim_start_matches("http://").to_owned();
        let (dir, url) = (self.dir.clone(), self.database_url.clone());
        let mut again = Self::spawn_on_clock(self.backend.clone(), dir, url, |c| c.listen = listen, clock).await;
        self.server = again.server.take();
    }

    /// Stops the server; a server that created its database and directory removes them.
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        if !self.owned {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Backend::Postgres { admin_url } = &self.backend {
            drop_pg_database(admin_url, &self.database_url).await;
        }
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Runs the body once per backend, each on a fresh server bound to `$s`.
#[macro_export]
macro_rules! api_test {
    ($name:ident, |$s:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in $crate::backends() {
                let $s = $crate::TestServer::spawn(backend).await;
                $body
                $s.stop().await;
            }
        }
    };
}
