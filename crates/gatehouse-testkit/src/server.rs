//! The real server in-process on port 0 over a fresh database (SQLite in a temporary directory,
//! or a new PostgreSQL database), with its bootstrap admin API key and system project, and the
//! REST calls tests make of it. A server that created its database and directory removes them
//! when stopped.

use std::path::PathBuf;
use std::sync::Arc;

use gatehouse_core::time::{Clock, SystemClock};
use gatehouse_server::{Config, Server};
use reqwest::Method;
use serde_json::{Value, json};

use crate::db::{self, Backend};

/// The database prefix of the servers [`TestServer::spawn`] and its kin create.
pub const DATABASE_PREFIX: &str = "gh_test_";

/// A server configuration on port 0 over `dir` and `database_url`, with the rest defaulted.
pub fn test_config(dir: &std::path::Path, database_url: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        database_url: Some(database_url.to_owned()),
        ..Config::default()
    }
}

/// A new data directory's path (not created yet) and a fresh database of `backend`: SQLite in
/// that directory, or PostgreSQL named `prefix<random id>`.
pub async fn fresh_storage(backend: &Backend, prefix: &str) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("gatehouse-test-{}", uuid::Uuid::new_v4()));
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("gatehouse.db").display()),
        Backend::Postgres { admin_url } => db::create_pg_database(admin_url, prefix).await,
    };
    (dir, database_url)
}

/// A running server with its bootstrap (server-admin) API key.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The bootstrap API key (empty when the database was bootstrapped before).
    pub admin_key: String,
    /// The system project's id (empty when the database was bootstrapped before).
    pub system_project: String,
    pub http: reqwest::Client,
    /// The data directory (master key; the SQLite database).
    pub dir: PathBuf,
    pub database_url: String,
    pub backend: Backend,
    server: Option<Server>,
    /// The database prefix, when this server created its database and directory (and so
    /// removes them when stopped).
    created: Option<&'static str>,
}

impl TestServer {
    /// Starts a server on a fresh database of `backend`.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_fresh(backend, |_| {}).await
    }

    /// Starts a server on a fresh database of `backend`, with settings changed by `tune`.
    pub async fn spawn_fresh(backend: Backend, tune: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_clocked(backend, tune, Arc::new(SystemClock)).await
    }

    /// [`TestServer::spawn_fresh`] on `clock` (tests move it forward to expire tokens).
    pub async fn spawn_clocked(backend: Backend, tune: impl FnOnce(&mut Config), clock: Arc<dyn Clock>) -> Self {
        Self::spawn_named(DATABASE_PREFIX, backend, tune, clock).await
    }

    /// [`TestServer::spawn_clocked`] with a PostgreSQL database named `prefix<random id>`.
    pub async fn spawn_named(
        prefix: &'static str,
        backend: Backend,
        tune: impl FnOnce(&mut Config),
        clock: Arc<dyn Clock>,
    ) -> Self {
        let (dir, database_url) = fresh_storage(&backend, prefix).await;
        let mut s = Self::spawn_on_clock(backend, dir, database_url, tune, clock).await;
        s.created = Some(prefix);
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
        Self::spawn_on_clock(backend, dir, database_url, tune, Arc::new(SystemClock)).await
    }

    /// [`TestServer::spawn_tuned`] on `clock`.
    pub async fn spawn_on_clock(
        backend: Backend,
        dir: PathBuf,
        database_url: String,
        tune: impl FnOnce(&mut Config),
        clock: Arc<dyn Clock>,
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
            created: None,
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

    /// [`TestServer::call`] that must succeed with 201; returns the body.
    pub async fn created(&self, path: &str, body: Value) -> Value {
        let (st, v) = self.call(Method::POST, path, Some(body)).await;
        assert_eq!(st, 201, "{v}");
        v
    }

    /// A new project and an API key of it (a developer of that project).
    pub async fn project(&self, name: &str) -> (String, String) {
        let p = self.created("/accounts/projects", json!({ "name": name })).await;
        let id = p["id"].as_str().unwrap().to_owned();
        let k = self
            .created(&format!("/accounts/projects/{id}/api-keys"), json!({ "name": "ci" }))
            .await;
        (id, k["value"].as_str().unwrap().to_owned())
    }

    /// A user with a known password, created by the server admin; returns its id.
    pub async fn user(&self, email: &str, password: &str) -> String {
        let u = self
            .created(
                "/accounts/users",
                json!({ "email": email, "name": email, "password": password }),
            )
            .await;
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

    /// `GET path` without credentials; the body as text (whatever the status).
    pub async fn get_text(&self, path: &str) -> String {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        res.text().await.unwrap()
    }

    /// `GET path` without credentials; the body as JSON (whatever the status).
    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        res.json().await.unwrap()
    }

    /// The actions of `project`'s audit log as `key` reads them, newest first.
    pub async fn audit_actions(&self, key: &str, project: &str) -> Vec<String> {
        let path = format!("/accounts/projects/{project}/audit");
        let (_, audit) = self.call_as(key, Method::GET, &path, None).await;
        let events = audit["events"].as_array().unwrap();
        events
            .iter()
            .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// RFC 7662 introspection of `token` as the server admin; the answer must be 200.
    pub async fn introspect(&self, token: &str) -> Value {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .finish();
        let res = self
            .http
            .post(format!("{}/oauth/introspect", self.base))
            .bearer_auth(&self.admin_key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
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
    pub fn gatehouse(&self) -> &Arc<gatehouse_core::Gatehouse> {
        self.server.as_ref().expect("running").gatehouse()
    }

    /// Stops the server but keeps its data, to start it again with [`TestServer::resume`].
    pub async fn pause(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    /// Starts a paused server again on the same address and data, on `clock`, with the default
    /// settings of [`TestServer::spawn_on_clock`].
    pub async fn resume(&mut self, clock: Arc<dyn Clock>) {
        self.resume_tuned(|_| {}, clock).await;
    }

    /// [`TestServer::resume`] with settings changed by `tune`.
    pub async fn resume_tuned(&mut self, tune: impl FnOnce(&mut Config), clock: Arc<dyn Clock>) {
        let listen = self.base.trim_start_matches("http://").to_owned();
        let (dir, url) = (self.dir.clone(), self.database_url.clone());
        let tune = |c: &mut Config| {
            c.listen = listen;
            tune(c);
        };
        let mut again = Self::spawn_on_clock(self.backend.clone(), dir, url, tune, clock).await;
        self.server = again.server.take();
    }

    /// Stops the server; a server that created its database and directory removes them.
    pub async fn stop(mut self) {
        self.pause().await;
        let Some(prefix) = self.created else {
            return;
        };
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Backend::Postgres { admin_url } = &self.backend {
            db::drop_pg_database(admin_url, &self.database_url, prefix).await;
        }
    }
}

impl Drop for TestServer {
    /// Also on a failed assertion: the directory holds a master key and, on SQLite, the data.
    /// (A PostgreSQL database needs `.await` to drop; CI drops leftovers by prefix.)
    fn drop(&mut self) {
        if self.created.is_some() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Runs the body once per backend of [`crate::backends`], each on a fresh [`TestServer`] bound
/// to `$s`, stopped at the end.
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
