//! Two real `gatehouse serve` processes on one PostgreSQL database act as one server behind a
//! load balancer: concurrent refreshes of one token on both rotate it once, a revocation on one
//! is seen by the other within a second, and so is a client disabled on one. One node may use a
//! single CPU (`taskset -c 0`), so the suite also runs the server on its current-thread scheduler.
//!
//! Needs `GATEHOUSE_TEST_POSTGRES_URL` (skipped with a note without it; an unreachable database
//! fails). The HTTP is plain HTTP/1.1 over a `TcpStream`, so the bodies compared are the bytes
//! the nodes sent.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use base64::Engine as _;
use gatehouse_testkit::Browser;
use gatehouse_testkit::server::DATABASE_PREFIX;
use gatehouse_testkit::{Backend, backends, db};
use serde_json::{Value, json};

use super::str_of;

const ADMIN_EMAIL: &str = "admin@example.com";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "http://127.0.0.1/cb";
/// The PKCE pair of RFC 7636 Appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A status and the body exactly as the server sent it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// One HTTP/1.1 request on its own connection; `auth` is the whole `Authorization` value.
fn send(base: &str, method: &str, path: &str, auth: Option<&str>, body: Option<(&str, &str)>) -> Answer {
    try_send(base, method, path, auth, body).unwrap_or_else(|e| panic!("{method} {base}{path}: {e}"))
}

/// [`send`], with network trouble as an error.
fn try_send(
    base: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<(&str, &str)>,
) -> std::io::Result<Answer> {
    let host = base.strip_prefix("http://").expect("an http:// base URL");
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(auth) = auth {
        head.push_str(&format!("Authorization: {auth}\r\n"));
    }
    let (content_type, content) = body.unwrap_or(("text/plain", ""));
    head.push_str(&format!(
        "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{content}",
        content.len()
    ));
    stream.write_all(head.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let mut body = raw[split + 4..].to_vec();
    if head.contains("\r\ntransfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Ok(Answer {
        status,
        body: String::from_utf8(body).expect("a UTF-8 body"),
    })
}

/// The payload of a `Transfer-Encoding: chunked` body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n").expect("a chunk size line");
        let size = String::from_utf8_lossy(&raw[..eol]);
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).expect("a hex chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub(super) fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// HTTP Basic credentials of a client (RFC 6749 §2.3.1).
fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(id), encode(secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

pub(super) fn post_form(base: &str, path: &str, auth: &str, pairs: &[(&str, &str)]) -> Answer {
    let body = form(pairs);
    send(
        base,
        "POST",
        path,
        Some(auth),
        Some(("application/x-www-form-urlencoded", &body)),
    )
}

fn call_json(base: &str, method: &str, path: &str, key: &str, body: &Value) -> Answer {
    let body = body.to_string();
    send(
        base,
        method,
        path,
        Some(&bearer(key)),
        Some(("application/json", &body)),
    )
}

/// Two distinct ports nothing listens on right now (both held until both are read).
fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("binding port 0");
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("the bound address").port();
    (port(&a), port(&b))
}

/// Polls `check` every 20 ms until it holds, failing after one second.
fn within_a_second(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{what} did not happen within 1 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fresh `gh_test_…` database (CI drops leftovers of that prefix), two server processes on
/// it, and their data directories. Dropping it, also on a failed assertion, kills the
/// processes, drops the database and removes the directories.
struct TwoNodes {
    admin_url: String,
    database_url: String,
    children: Vec<Child>,
    dirs: Vec<PathBuf>,
}

impl TwoNodes {
    /// Creates the database; panics when PostgreSQL is unreachable.
    async fn create_database(admin_url: &str) -> Self {
        Self {
            admin_url: admin_url.to_owned(),
            database_url: db::create_pg_database(admin_url, DATABASE_PREFIX).await,
            children: Vec::new(),
            dirs: Vec::new(),
        }
    }

    /// A new private directory for one node.
    fn dir(&mut self) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gatehouse-nodes-e2e-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("creating the node directory");
        self.dirs.push(dir.clone());
        dir
    }

    /// Runs `gatehouse serve --listen 127.0.0.1:PORT ARGS…` (its output in `DIR/serve.log`),
    /// allowed only the CPUs `cpus` lists when given (`taskset -c` syntax), and waits until
    /// `/readyz` answers 200; returns the node's base URL.
    fn serve(&mut self, port: u16, dir: &Path, cpus: Option<&str>, args: &[String]) -> String {
        let log = dir.join("serve.log");
        let out = File::create(&log).expect("creating serve.log");
        let bin = env!("CARGO_BIN_EXE_gatehouse");
        let mut command = match cpus {
            Some(cpus) => {
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", cpus, bin]);
                taskset
            }
            None => Command::new(bin),
        };
        // Only the flags configure the node, not this environment.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GATEHOUSE_") {
                command.env_remove(name);
            }
        }
        let child = command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("the log file"))
            .stderr(out)
            .spawn()
            .expect("spawning gatehouse serve (taskset is in util-linux)");
        self.children.push(child);
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        loop {
            if try_send(&base, "GET", "/readyz", None, None).is_ok_and(|r| r.status == 200) {
                return base;
            }
            let child = self.children.last_mut().expect("the child");
            let exited = child.try_wait().expect("the child's state");
            let log = || std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(status) = exited {
                panic!("gatehouse serve on port {port} exited with {status}:\n{}", log());
            }
            if start.elapsed() > Duration::from_secs(60) {
                panic!("gatehouse serve on port {port} is not ready after 60 s:\n{}", log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TwoNodes {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
        // On a runtime of its own: this may run while the test's runtime unwinds.
        let (admin_url, database_url) = (self.admin_url.clone(), self.database_url.clone());
        db::block_on(async move { db::drop_pg_database(&admin_url, &database_url, DATABASE_PREFIX).await });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_on_one_database_share_rotation_revocation_and_client_state() {
    let Some(admin_url) = backends().into_iter().find_map(|b| match b {
        Backend::Postgres { admin_url } => Some(admin_url),
        Backend::Sqlite => None,
    }) else {
        eprintln!("note: two-process test skipped: GATEHOUSE_TEST_POSTGRES_URL is not set");
        return;
    };
    let mut nodes = TwoNodes::create_database(&admin_url).await;
    let database_url = nodes.database_url.clone();
    let (port_a, port_b) = free_ports();
    let issuer = format!("http://127.0.0.1:{port_a}");

    // Node A bootstraps the database; node B shares its master key and issuer.
    let dir_a = nodes.dir();
    let password_file = dir_a.join("admin-password");
    std::fs::write(&password_file, "a long admin password\n").expect("writing the password file");
    let path = |p: PathBuf| p.display().to_string();
    let shared = ["--database-url".to_owned(), database_url, "--issuer".to_owned(), issuer];
    let mut args_a = shared.to_vec();
    args_a.extend([
        "--data-dir".to_owned(),
        path(dir_a.clone()),
        "--bootstrap-file".to_owned(),
        path(dir_a.join("boot.json")),
        "--admin-email".to_owned(),
        ADMIN_EMAIL.to_owned(),
        "--admin-password-file".to_owned(),
        path(password_file),
    ]);
    let a = nodes.serve(port_a, &dir_a, None, &args_a);
    let dir_b = nodes.dir();
    let mut args_b = shared.to_vec();
    args_b.extend([
        "--data-dir".to_owned(),
        path(dir_b.clone()),
        "--master-key-file".to_owned(),
        path(dir_a.join("master.key")),
    ]);
    // Node B may use one CPU only, so it runs on the current-thread scheduler; node A on all.
    let b = nodes.serve(port_b, &dir_b, Some("0"), &args_b);
    let log = |dir: &Path| std::fs::read_to_string(dir.join("serve.log")).expect("reading serve.log");
    let listening = |node: &str, dir: &Path| {
        let log = log(dir);
        log.lines()
            .find(|l| l.contains("gatehouse is listening"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("node {node} did not log that it listens:\n{log}"))
    };
    let b_line = listening("B", &dir_b);
    assert!(b_line.contains("scheduler=current-thread"), "{b_line}");
    if std::thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
        let a_line = listening("A", &dir_a);
        assert!(a_line.contains("scheduler=multi-thread"), "{a_line}");
    }
    let boot = std::fs::read_to_string(dir_a.join("boot.json")).expect("node A wrote boot.json");
    let boot: Value = serde_json::from_str(&boot).expect("boot.json is JSON");
    assert_eq!(boot["admin_email"], ADMIN_EMAIL);
    let (key, project) = (str_of(&boot, "api_key"), str_of(&boot, "project_id"));

    // A user and a confidential web client, made on node A.
    let user = json!({ "email": EMAIL, "name": "Ada", "password": PASSWORD });
    let created = call_json(&a, "POST", "/accounts/users", key, &user);
    assert_eq!(created.status, 201, "{created:?}");
    let clients = format!("/accounts/projects/{project}/oauth/clients");
    let settings = json!({
        "name": "web",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scope": "openid email offline_access",
        "refresh_grace_seconds": 10,
    });
    let created = call_json(&a, "POST", &clients, key, &settings);
    assert_eq!(created.status, 201, "{created:?}");
    let created = created.json();
    let (id, secret) = (
        str_of(&created["client"], "client_id"),
        str_of(&created["client"], "client_secret"),
    );
    let client_auth = basic(id, secret);

    // The user signs in on node A; the code is exchanged there for a refresh token.
    let query = form(&[
        ("response_type", "code"),
        ("client_id", id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email offline_access"),
        ("state", "s"),
        ("nonce", "n"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let page = Browser::new(&a)
        .authorize(&format!("{a}/oauth/authorize?{query}"), EMAIL, PASSWORD)
        .await;
    let params = page.redirect_params();
    assert_eq!(params.get("state").map(String::as_str), Some("s"), "{page:?}");
    let code = params.get("code").unwrap_or_else(|| panic!("no code: {page:?}"));
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let tokens = post_form(&a, "/oauth/token", &client_auth, &exchange);
    assert_eq!(tokens.status, 200, "{tokens:?}");
    let refresh_token = str_of(&tokens.json(), "refresh_token").to_owned();

    // Eight concurrent refreshes of that token, alternating the nodes: one rotation, and the
    // grace window answers every one with the same pair, byte for byte.
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    let barrier = Barrier::new(8);
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (node, barrier, client_auth, refresh) =
                    (if i % 2 == 0 { &a } else { &b }, &barrier, &client_auth, &refresh);
                s.spawn(move || {
                    barrier.wait();
                    post_form(node, "/oauth/token", client_auth, refresh)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a refresh thread"))
            .collect()
    });
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer.status, 200, "refresh {i}: {answer:?}");
        assert_eq!(answer.body, answers[0].body, "refresh {i} differs from refresh 0");
    }
    let pair = answers[0].json();
    assert_ne!(str_of(&pair, "refresh_token"), refresh_token, "the token rotated");
    let access_token = str_of(&pair, "access_token");

    // The new access token, revoked on node A, is inactive on node B within a second.
    let introspect = || post_form(&b, "/oauth/introspect", &bearer(key), &[("token", access_token)]);
    let answer = introspect();
    assert_eq!(
        (answer.status, &answer.json()["active"]),
        (200, &json!(true)),
        "{answer:?}"
    );
    let revoked = post_form(&a, "/oauth/revoke", &client_auth, &[("token", access_token)]);
    assert_eq!(revoked.status, 200, "{revoked:?}");
    within_a_second("node B reporting the revoked token inactive", || {
        let answer = introspect();
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json() == json!({ "active": false })
    });

    // The client, disabled on node A, is refused by node B within a second.
    let client_credentials = || {
        post_form(
            &b,
            "/oauth/token",
            &client_auth,
            &[("grant_type", "client_credentials")],
        )
    };
    let answer = client_credentials();
    assert_eq!(answer.status, 200, "{answer:?}");
    let disabled = call_json(&a, "PUT", &format!("{clients}/{id}"), key, &json!({ "enabled": false }));
    assert_eq!(disabled.status, 200, "{disabled:?}");
    within_a_second("node B refusing the disabled client with 401", || {
        client_credentials().status == 401
    });
}
