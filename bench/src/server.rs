//! Servers under load as child processes: the release `gatehouse serve` binary (or the bare axum
//! ceiling) pinned to its own cores with `taskset`, and the fresh PostgreSQL databases they use.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use gatehouse_testkit::db;
use serde::Deserialize;

/// A binary built next to the running one (`target/release/NAME`), or the path in `GATEHOUSE_BIN`
/// for `gatehouse`.
pub fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    if name == "gatehouse"
        && let Ok(p) = std::env::var("GATEHOUSE_BIN")
    {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::current_exe()?.parent().context("no parent")?.join(name);
    anyhow::ensure!(path.exists(), "{} is missing: build it first", path.display());
    Ok(path)
}

/// The CPUs the server runs on (`taskset -c` syntax): `GATEHOUSE_BENCH_SERVER_CPUS`, default `0`.
pub fn server_cpus() -> String {
    std::env::var("GATEHOUSE_BENCH_SERVER_CPUS").unwrap_or_else(|_| "0".into())
}

/// The CPUs this process may run on, as the kernel reports them.
pub fn own_cpus() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

/// A port free at the time of asking.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process pinned with `taskset`, stopped with SIGTERM when dropped.
pub struct Pinned {
    child: Child,
    pub addr: SocketAddr,
}

impl Pinned {
    /// Starts `program args…` on `cpus`, its output appended to `log`.
    pub fn spawn(
        cpus: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> anyhow::Result<Self> {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
        let args: Vec<String> = args.iter().map(|a| a.replace("{addr}", &addr.to_string())).collect();
        let child = Command::new("taskset")
            .arg("-c")
            .arg(cpus)
            .arg(program)
            .args(&args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("running taskset (util-linux)")?;
        Ok(Self { child, addr })
    }

    /// The process id (taskset execs the program, so it is the server's own).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `GET path` answers 2xx.
    pub async fn wait_ready(&mut self, path: &str) -> anyhow::Result<()> {
        if !self.ready_within(path, Duration::from_secs(60)).await? {
            anyhow::bail!("http://{}{path} not ready within 60 s", self.addr);
        }
        Ok(())
    }

    /// Polls `GET path` every 10 ms for up to `limit`; whether it answered 2xx.
    pub async fn ready_within(&mut self, path: &str, limit: Duration) -> anyhow::Result<bool> {
        let http = reqwest::Client::new();
        let url = format!("http://{}{path}", self.addr);
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("the server exited with {status} before it was ready");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(Ok(r)) = tokio::time::timeout(left, http.get(&url).send()).await
                && r.status().is_success()
            {
                return Ok(true);
            }
            tokio::time::sleep(Duration::from_millis(10).min(deadline.saturating_duration_since(Instant::now()))).await;
        }
        Ok(false)
    }

    /// SIGKILL, at once: the process gets no chance to finish anything.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The first-start credentials `serve --bootstrap-file` writes (SPEC §2).
#[derive(Debug, Clone, Deserialize)]
pub struct Bootstrap {
    pub admin_email: String,
    pub admin_password: String,
    /// A server-admin API key of the system project.
    pub api_key: String,
    pub project_id: String,
}

/// A running `gatehouse serve` and its first-start credentials.
pub struct Gatehouse {
    pub process: Pinned,
    pub bootstrap: Bootstrap,
    pub base: String,
}

impl Gatehouse {
    /// Starts `gatehouse serve` on the server CPUs with its data in `dir` (SQLite there unless
    /// `database_url` is given), extra environment `env`, and the log in `dir/server.log`.
    /// The first start creates the admin and writes `dir/boot.json`; later starts reuse them.
    pub async fn start(dir: &Path, database_url: Option<&str>, env: &[(String, String)]) -> anyhow::Result<Self> {
        Self::start_on(&server_cpus(), dir, database_url, env).await
    }

    /// [`Gatehouse::start`] on `cpus` (`taskset -c` syntax) instead of the server CPUs.
    pub async fn start_on(
        cpus: &str,
        dir: &Path,
        database_url: Option<&str>,
        env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let args = serve_args(dir, database_url)?;
        let boot = bootstrap_file(dir);
        let bin = sibling_binary("gatehouse")?;
        let mut process = Pinned::spawn(cpus, &bin, &args, env, &dir.join("server.log"))?;
        if let Err(e) = process.wait_ready("/readyz").await {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            anyhow::bail!(
                "{e:#}; server log ends:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        let bootstrap: Bootstrap =
            serde_json::from_slice(&std::fs::read(&boot).context("reading the bootstrap file")?)?;
        let base = format!("http://{}", process.addr);
        Ok(Self {
            process,
            bootstrap,
            base,
        })
    }
}

/// The admin's email on the benchmarks' servers.
pub const ADMIN_EMAIL: &str = "bench-admin@example.com";

/// Where `serve --bootstrap-file` writes the first-start credentials of the data in `dir`.
pub fn bootstrap_file(dir: &Path) -> PathBuf {
    dir.join("boot.json")
}

/// The file holding the admin's password (created with a fixed password if missing).
pub fn admin_password_file(dir: &Path) -> PathBuf {
    dir.join("admin-password")
}

/// The arguments of `gatehouse serve` with its data in `dir` (SQLite there unless
/// `database_url` is given), the bootstrap file and the admin's password file in `dir`, and
/// the listen address as `{addr}` (filled in by [`Pinned::spawn`]). Creates `dir` and the
/// password file if missing.
pub fn serve_args(dir: &Path, database_url: Option<&str>) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let password_file = admin_password_file(dir);
    if !password_file.exists() {
        std::fs::write(&password_file, "bench-admin-password-0001")?;
    }
    let mut args: Vec<String> = vec!["serve".into(), "--listen".into(), "{addr}".into(), "--data-dir".into()];
    args.push(dir.display().to_string());
    args.extend(["--bootstrap-file".into(), bootstrap_file(dir).display().to_string()]);
    args.extend(["--admin-email".into(), ADMIN_EMAIL.into()]);
    args.extend(["--admin-password-file".into(), password_file.display().to_string()]);
    if let Some(url) = database_url {
        args.extend(["--database-url".into(), url.to_owned()]);
    }
    Ok(args)
}

/// The prefix of the benchmarks' databases (CI drops leftovers by it).
const DATABASE_PREFIX: &str = "gh_bench_";

/// A fresh PostgreSQL database `gh_bench_<random>` on the server of `GATEHOUSE_BENCH_POSTGRES_URL`,
/// dropped when this is dropped (or by `drop_now`).
pub struct PgDatabase {
    admin_url: String,
    pub url: String,
    dropped: bool,
}

impl PgDatabase {
    /// Creates the database.
    pub fn create() -> anyhow::Result<Self> {
        let admin_url = std::env::var("GATEHOUSE_BENCH_POSTGRES_URL").context("set GATEHOUSE_BENCH_POSTGRES_URL")?;
        let admin = admin_url.clone();
        let url = db::block_on(async move { db::try_create_pg_database(&admin, DATABASE_PREFIX).await })
            .context("creating the benchmark database")?;
        Ok(Self {
            admin_url,
            url,
            dropped: false,
        })
    }

    /// Leaves the database in place (for investigating); returns its URL.
    pub fn keep(mut self) -> String {
        self.dropped = true;
        std::mem::take(&mut self.url)
    }

    /// Drops the database (its server must have stopped using it).
    pub fn drop_now(&mut self) -> anyhow::Result<()> {
        if !self.dropped {
            self.dropped = true;
            let (admin_url, url) = (self.admin_url.clone(), self.url.clone());
            db::block_on(async move { db::try_drop_pg_database(&admin_url, &url, DATABASE_PREFIX).await })
                .with_context(|| format!("dropping {url}", url = self.url))?;
        }
        Ok(())
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Err(e) = self.drop_now() {
            eprintln!("warning: could not drop {}: {e:#}", self.url);
        }
    }
}

/// Runs one SQL statement with `psql`.
pub fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = Command::new("psql").arg(url).arg("-qc").arg(sql).output()?;
    anyhow::ensure!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// `POST base+path` with a JSON body as `key` (Bearer); the JSON answer of a 2xx, else an error
/// with the status and body.
pub async fn post(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    path: &str,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let res = http
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await?;
    let status = res.status();
    let text = res.text().await?;
    anyhow::ensure!(status.is_success(), "POST {path}: {status}: {text}");
    Ok(serde_json::from_str(&text)?)
}
