//! The rounds of the crash soak on one backend: start `gatehouse serve` on the same data every
//! round, kill it with SIGKILL either while it starts or while the writers load it, and after
//! every start that gets ready check the first-start credentials and read back everything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use gatehouse_testkit::Browser;
use reqwest::Method;
use serde_json::json;

use super::ledger::{Kind, Ledger, Problem};
use super::writer::{Tally, Writer};
use super::{Api, Rng, probe, str_at};
use crate::server::{self, Bootstrap, Pinned};

/// How one backend is soaked.
#[derive(Debug, Clone)]
pub struct Plan {
    pub rounds: u32,
    pub writers: usize,
    /// Longest load before a kill (each round draws from 0.3 s to this).
    pub max_load: Duration,
    /// Rounds that begin the soak by killing the first start (drawn from 0 to
    /// `first_start_window` after it is spawned), before any start got ready.
    pub first_start_kills: u32,
    pub first_start_window: Duration,
    /// Chance that a later round kills the server while it starts (drawn from 0 to 1.2 times
    /// the last start-to-ready time) rather than under load.
    pub start_kill_chance: f64,
    /// The CPUs the server runs on (`taskset -c`).
    pub cpus: String,
}

/// What one backend's soak found.
#[derive(Debug, Default)]
pub struct Report {
    pub kills: u32,
    /// Kills before `/readyz` answered.
    pub kills_while_starting: u32,
    /// Of those, kills before any start had got ready (the first start).
    pub kills_in_first_start: u32,
    /// Kills that found a first-start credentials file pending on disk (written, not yet
    /// renamed: the commit may or may not have happened).
    pub kills_with_pending_bootstrap: u32,
    pub acknowledged: BTreeMap<Kind, u64>,
    /// Objects read back as expected in the last verification, per kind.
    pub final_objects: BTreeMap<Kind, u64>,
    pub unanswered: u64,
    pub unexpected: Vec<String>,
    /// Every problem every verification found (must be empty).
    pub problems: Vec<Problem>,
    /// Start to `/readyz` of every start after a kill that got ready (spawn to ready while
    /// killing a start, the wait for ready otherwise).
    pub restarts: Vec<Duration>,
    pub elapsed: Duration,
}

impl Report {
    /// Lost writes: acknowledged objects a read did not find.
    pub fn lost(&self) -> usize {
        self.problems.iter().filter(|p| p.is_lost()).count()
    }

    pub fn mean_restart(&self) -> Duration {
        let n = self.restarts.len().max(1) as u32;
        self.restarts.iter().sum::<Duration>() / n
    }
}

/// One backend's server: its data directory (SQLite there, or PostgreSQL at `database_url`)
/// and the same directory's master key and first-start credentials.
pub struct Node {
    pub dir: PathBuf,
    pub database_url: Option<String>,
}

impl Node {
    fn spawn(&self, cpus: &str) -> anyhow::Result<Pinned> {
        let args = server::serve_args(&self.dir, self.database_url.as_deref())?;
        let bin = server::sibling_binary("gatehouse")?;
        let env = [("GATEHOUSE_LOG".to_owned(), "warn".to_owned())];
        Pinned::spawn(cpus, &bin, &args, &env, &self.dir.join("server.log"))
    }
}

/// What stays the same across restarts once the first start got ready.
struct Setup {
    boot: Bootstrap,
    project: String,
    writers: Vec<Writer>,
}

/// When a round kills the server.
enum Kill {
    /// While it starts: at a random moment within the window after spawning it.
    Starting(Duration),
    /// While it starts for the first time: the moment a file of the first start appears.
    WhenAppears(FirstStartFile),
    /// Once it is ready, under the writers' load.
    UnderLoad,
}

/// A file the first start creates.
#[derive(Debug, Clone, Copy)]
enum FirstStartFile {
    /// `master.key`, as it is created.
    MasterKey,
    /// The first-start credentials, pending or renamed: around the commit of the first-start data.
    Credentials,
}

/// Soaks `node` for `plan.rounds` kills, then starts it once more and reads everything back.
pub async fn soak(node: &Node, plan: &Plan, rng: &mut Rng) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut soak = Soak {
        node,
        plan,
        rng,
        ledger: Arc::new(Ledger::default()),
        report: Report::default(),
        setup: None,
        ready_time: plan.first_start_window,
        ever_ready: false,
    };
    for round in 1..=plan.rounds {
        soak.round(round).await.with_context(|| format!("round {round}"))?;
    }
    let mut process = node.spawn(&plan.cpus)?;
    let api = soak.start(&mut process).await.context("the last start")?;
    soak.report.final_objects = soak.verify(&api).await?;
    process.stop();
    let mut report = soak.report;
    report.acknowledged = soak.ledger.acknowledged();
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The state of a soak between rounds.
struct Soak<'a> {
    node: &'a Node,
    plan: &'a Plan,
    rng: &'a mut Rng,
    ledger: Arc<Ledger>,
    report: Report,
    /// Made at the first start that got ready.
    setup: Option<Setup>,
    /// The last start-to-ready time (the first-start window until a start got ready).
    ready_time: Duration,
    ever_ready: bool,
}

impl Soak<'_> {
    /// One round: a start and one SIGKILL.
    async fn round(&mut self, round: u32) -> anyhow::Result<()> {
        let first_start = round <= self.plan.first_start_kills && !self.ever_ready;
        let kill = if first_start && round == 1 {
            Kill::WhenAppears(FirstStartFile::MasterKey)
        } else if first_start && round == 2 {
            Kill::WhenAppears(FirstStartFile::Credentials)
        } else if first_start {
            Kill::Starting(self.plan.first_start_window)
        } else if round > self.plan.first_start_kills && self.rng.chance(self.plan.start_kill_chance) {
            Kill::Starting(self.ready_time.mul_f64(1.2))
        } else {
            Kill::UnderLoad
        };
        let mut process = self.node.spawn(&self.plan.cpus)?;
        let t0 = Instant::now();
        let ready = match kill {
            Kill::UnderLoad => return self.load_then_kill(round, &mut process).await,
            Kill::Starting(window) => {
                let delay = self.rng.duration(Duration::ZERO, window);
                process.ready_within("/readyz", delay).await?
            }
            Kill::WhenAppears(file) => {
                !appears_within(&self.node.dir, file, self.plan.first_start_window * 4).await
                    && process.ready_within("/readyz", Duration::from_secs(60)).await?
            }
        };
        process.kill()?;
        let r = &mut self.report;
        let restart = r.kills > 0;
        r.kills += 1;
        let pending = credentials_pending(&self.node.dir);
        r.kills_with_pending_bootstrap += u32::from(pending);
        if ready {
            self.ready_time = t0.elapsed();
            r.restarts.extend(restart.then_some(self.ready_time));
            self.ever_ready = true;
        } else {
            r.kills_while_starting += 1;
            r.kills_in_first_start += u32::from(!self.ever_ready);
        }
        println!(
            "  round {round:>2}: killed {} ms after start{}{}",
            t0.elapsed().as_millis(),
            if ready {
                " (it was ready)"
            } else {
                ", before /readyz answered"
            },
            if pending {
                ", first-start credentials pending"
            } else {
                ""
            }
        );
        Ok(())
    }

    /// Waits for the server to get ready, reads everything back, runs the writers for a random
    /// time and kills the server under their load.
    async fn load_then_kill(&mut self, round: u32, process: &mut Pinned) -> anyhow::Result<()> {
        let api = self.start(process).await?;
        self.verify(&api).await?;
        let load = self.rng.duration(Duration::from_millis(300), self.plan.max_load);
        let writers = &mut self.setup.as_mut().expect("set up at the first ready start").writers;
        let tally = write_then_kill(&api, &self.ledger, writers, load, process).await?;
        self.report.kills += 1;
        println!(
            "  round {round:>2}: killed after {} ms of load: {} writes acknowledged, {} unanswered",
            load.as_millis(),
            tally.acknowledged,
            tally.unanswered
        );
        self.report.unanswered += tally.unanswered;
        self.report.unexpected.extend(tally.unexpected);
        Ok(())
    }

    /// Waits for a spawned server, checks its first-start credentials, sets up the soak's
    /// project and writers at the first start that got ready, and returns the API.
    async fn start(&mut self, process: &mut Pinned) -> anyhow::Result<Api> {
        let t0 = Instant::now();
        process.wait_ready("/readyz").await?;
        self.ready_time = t0.elapsed();
        if self.report.kills > 0 {
            self.report.restarts.push(self.ready_time);
        }
        self.ever_ready = true;
        let base = format!("http://{}", process.addr);
        let first = self.setup.as_ref().map(|s| &s.boot);
        let boot = check_bootstrap(&self.node.dir, &base, first).await?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        let mut api = Api {
            http,
            base,
            key: boot.api_key.clone(),
            project: String::new(),
        };
        match &self.setup {
            Some(s) => api.project = s.project.clone(),
            None => self.setup = Some(set_up(&mut api, boot, self.rng, self.plan.writers).await?),
        }
        Ok(api)
    }

    /// Reads everything back and adds what is wrong to the report; the objects read as expected.
    async fn verify(&mut self, api: &Api) -> anyhow::Result<BTreeMap<Kind, u64>> {
        let found = probe::read_all(api, &self.ledger.expectations()).await?;
        let verified = self.ledger.verify(&found);
        for p in &verified.problems {
            eprintln!("  PROBLEM: {p}");
        }
        self.report.problems.extend(verified.problems);
        Ok(verified.ok)
    }
}

/// The first-start credentials after a start: written (no pending file left), the same as
/// after the first start that got ready, the password the one configured, the API key a
/// server-admin key, and the admin able to sign in with the password.
async fn check_bootstrap(dir: &Path, base: &str, first: Option<&Bootstrap>) -> anyhow::Result<Bootstrap> {
    let file = server::bootstrap_file(dir);
    let boot: Bootstrap = serde_json::from_slice(&std::fs::read(&file).context("reading the bootstrap file")?)
        .context("the bootstrap file is not complete JSON")?;
    anyhow::ensure!(
        !credentials_pending(dir),
        "a pending bootstrap file is left after a start"
    );
    if let Some(first) = first {
        anyhow::ensure!(
            boot.api_key == first.api_key && boot.project_id == first.project_id,
            "the bootstrap credentials changed after a restart"
        );
    }
    let password = std::fs::read_to_string(server::admin_password_file(dir))?;
    anyhow::ensure!(
        boot.admin_password == password.trim_end() && boot.admin_email == server::ADMIN_EMAIL,
        "the bootstrap file does not name the configured admin"
    );
    let res = reqwest::Client::new()
        .get(format!("{base}/accounts/projects"))
        .bearer_auth(&boot.api_key)
        .send()
        .await?;
    anyhow::ensure!(
        res.status() == 200,
        "the bootstrap API key is refused: {}",
        res.status()
    );
    let browser = Browser::new(base);
    let form = browser.get("/login").await.form();
    let signed_in = browser
        .submit(
            &form,
            &[("email", &boot.admin_email), ("password", &boot.admin_password)],
            None,
        )
        .await;
    anyhow::ensure!(
        signed_in.status == 303 && browser.cookie("gh_session").is_some(),
        "the admin cannot sign in with the configured password: {}",
        signed_in.status
    );
    Ok(boot)
}

/// Whether first-start credentials are pending: written by a start, not yet renamed to the
/// bootstrap file (`boot.json.pending-<random>`).
fn credentials_pending(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("boot.json.pending-"))
    })
}

/// Waits up to `limit` for `file` to appear in `dir`; whether it did.
async fn appears_within(dir: &Path, file: FirstStartFile, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let appeared = match file {
            FirstStartFile::MasterKey => dir.join("master.key").exists(),
            FirstStartFile::Credentials => server::bootstrap_file(dir).exists() || credentials_pending(dir),
        };
        if appeared {
            return true;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    false
}

/// The soak's project, one member per writer (the user it grants rooms to), and the writers.
async fn set_up(api: &mut Api, boot: Bootstrap, rng: &mut Rng, writers: usize) -> anyhow::Result<Setup> {
    let project = post(api, "/accounts/projects", json!({ "name": "Crash soak" })).await?;
    api.project = str_at(&project, "/id")?;
    let mut list = Vec::with_capacity(writers);
    for w in 0..writers {
        let email = format!("soak-writer-{w}@example.com");
        let body = json!({ "email": email, "name": format!("Writer {w}"), "password": "soak-user-password-0001" });
        let user = post(api, "/accounts/users", body).await?;
        let user_id = str_at(&user, "/id")?;
        post(api, &api.path("/users"), json!({ "user_id": user_id })).await?;
        list.push(Writer::new(w, rng.fork(w as u64 + 1), user_id));
    }
    Ok(Setup {
        boot,
        project: api.project.clone(),
        writers: list,
    })
}

/// A setup `POST` that must succeed.
async fn post(api: &Api, path: &str, body: serde_json::Value) -> anyhow::Result<serde_json::Value> {
    let (status, answer) = api.send(Method::POST, path, Some(&body)).await?;
    anyhow::ensure!((200..300).contains(&status), "POST {path}: {status}: {answer}");
    Ok(answer)
}

/// Runs the writers for `load`, kills the server, and waits for the writers to notice.
async fn write_then_kill(
    api: &Api,
    ledger: &Arc<Ledger>,
    writers: &mut Vec<Writer>,
    load: Duration,
    process: &mut Pinned,
) -> anyhow::Result<Tally> {
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = writers
        .drain(..)
        .map(|mut w| {
            let (api, ledger, stop) = (api.clone(), ledger.clone(), stop.clone());
            tokio::spawn(async move {
                let tally = w.run(&api, &ledger, &stop).await;
                (w, tally)
            })
        })
        .collect();
    tokio::time::sleep(load).await;
    process.kill()?;
    stop.store(true, Ordering::Release);
    let mut total = Tally::default();
    for t in tasks {
        let (w, tally) = t.await?;
        writers.push(w);
        total.acknowledged += tally.acknowledged;
        total.unanswered += tally.unanswered;
        total.unexpected.extend(tally.unexpected);
    }
    Ok(total)
}
