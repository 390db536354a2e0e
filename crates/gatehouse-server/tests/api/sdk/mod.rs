//! The MeshAgent SDK's own room client in Gatehouse rooms: `meshagent-api` 0.44.13 in a Python
//! 3.13 virtualenv (made by `.ci/run` under `$HOME/.cache/gatehouse/venv-meshagent`, or named by
//! `GATEHOUSE_MESHAGENT_PYTHON`), driven by `tests/sdk/puppet.py` as an agent and a person
//! would use it, against real servers; and the protocol's edge cases with a raw client.
//!
//! Without the virtualenv the SDK tests print why and pass, unless `GATEHOUSE_TEST_MESHAGENT=1`
//! (CI) says they must run: then they fail.
//!
//! This module holds the driver ([`Puppet`]) and the scene; the tests are in [`flows`],
//! [`mixed`], [`wire`] and [`example`].

mod example;
mod flows;
mod mixed;
mod wire;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::TestServer;
use crate::oauth_flows::{EMAIL, PASSWORD};
use crate::rooms::token;

const ROOM: &str = "sdk-room";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/puppet.py");

/// The Python of the SDK's virtualenv; `None` (after saying why) when the tests may skip.
pub(crate) fn python() -> Option<PathBuf> {
    let path = std::env::var_os("GATEHOUSE_MESHAGENT_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(PathBuf::from(home).join(".cache/gatehouse/venv-meshagent/bin/python"))
        })?;
    let usable = Command::new(&path)
        .args([
            "-c",
            "import meshagent.api, sys; assert sys.version_info[:2] == (3, 13)",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if usable {
        return Some(path);
    }
    let why = format!(
        "{} is not a Python 3.13 with meshagent-api 0.44.13; make it with `~/.pyenv/versions/3.13.0/bin/python3 -m venv \
         ~/.cache/gatehouse/venv-meshagent && ~/.cache/gatehouse/venv-meshagent/bin/pip install meshagent-api==0.44.13` \
         (.ci/run does)",
        path.display()
    );
    assert!(std::env::var("GATEHOUSE_TEST_MESHAGENT").as_deref() != Ok("1"), "{why}");
    eprintln!("note: MeshAgent SDK test skipped: {why}");
    None
}

type Waiting = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// The SDK clients of one Python process, each named by who it plays.
pub(crate) struct Puppet {
    child: Child,
    stdin: Mutex<ChildStdin>,
    next: AtomicU64,
    waiting: Waiting,
    events: tokio::sync::Mutex<(mpsc::UnboundedReceiver<Value>, Vec<Value>)>,
}

impl Drop for Puppet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Puppet {
    /// Starts the driver; `None` when the SDK is not installed and the test may skip.
    pub(crate) async fn start() -> Option<Arc<Self>> {
        let python = python()?;
        let mut child = Command::new(python)
            .arg(SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SDK driver starts");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let stdin = Mutex::new(child.stdin.take().unwrap());
        let waiting: Waiting = Arc::default();
        let (tx, rx) = mpsc::unbounded_channel();
        let routes = waiting.clone();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line).expect("the driver writes JSON lines");
                match v["id"].as_u64().and_then(|id| routes.lock().unwrap().remove(&id)) {
                    Some(reply) => drop(reply.send(v)),
                    None => drop(tx.send(v)),
                }
            }
        });
        let p = Arc::new(Self {
            child,
            stdin,
            next: AtomicU64::new(1),
            waiting,
            events: tokio::sync::Mutex::new((rx, Vec::new())),
        });
        p.event("ready", None).await;
        Some(p)
    }

    /// Runs a command: `{ok, result}` or `{ok: false, error, code}`.
    pub(crate) async fn cmd(&self, mut cmd: Value) -> Value {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        cmd["id"] = id.into();
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap().insert(id, tx);
        writeln!(self.stdin.lock().unwrap(), "{cmd}").expect("the driver reads");
        tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .unwrap_or_else(|_| panic!("no answer to {cmd} within 60 s"))
            .expect("the driver answers")
    }

    /// Runs a command that must succeed; its result.
    pub(crate) async fn ok(&self, cmd: Value) -> Value {
        let answer = self.cmd(cmd.clone()).await;
        assert_eq!(answer["ok"], true, "{cmd} -> {answer}");
        answer["result"].clone()
    }

    /// `room.secrets.<method>(**args)` as `who`.
    pub(crate) async fn secrets(&self, who: &str, method: &str, args: Value) -> Value {
        self.cmd(json!({ "cmd": "secrets", "as": who, "method": method, "args": args }))
            .await
    }

    /// [`Self::secrets`] in a task of its own, for a call that waits (a consent request).
    pub(crate) fn spawn_secrets(
        self: &Arc<Self>,
        who: &str,
        method: &str,
        args: Value,
    ) -> tokio::task::JoinHandle<Value> {
        let (sdk, who, method) = (Arc::clone(self), who.to_owned(), method.to_owned());
        tokio::spawn(async move { sdk.secrets(&who, &method, args).await })
    }

    /// What `person`'s app does with the next consent prompt: signs in at provider `p` with its
    /// challenge and provides the code. The prompt, as the SDK's `OAuthTokenRequest`.
    pub(crate) async fn answer_prompt(&self, p: &gatehouse_testkit::Provider, person: &str) -> Value {
        let prompt = self.event("oauth_request", Some(person)).await["request"].clone();
        let code = consent(p, &prompt, CALLBACK).await;
        let provided = json!({ "request_id": prompt["request_id"], "code": code });
        self.ok(json!({ "cmd": "secrets", "as": person, "method": "provide_oauth_authorization", "args": provided }))
            .await;
        prompt
    }

    /// A whole consent: `asker` asks `person` (participant `person_id`) for a token of `p`, which
    /// the person gives; the prompt and the access token the asker got.
    pub(crate) async fn consented(
        self: &Arc<Self>,
        p: &gatehouse_testkit::Provider,
        asker: &str,
        person: &str,
        person_id: &str,
    ) -> (Value, String) {
        let asking = self.spawn_secrets(asker, "request_oauth_token", ask(p, person_id));
        let prompt = self.answer_prompt(p, person).await;
        let answer = asking.await.unwrap();
        assert_eq!(answer["ok"], true, "{answer}");
        (prompt, answer["result"].as_str().unwrap().to_owned())
    }

    /// The next event `kind` (for `who`, when given), within 20 s; others stay for later.
    pub(crate) async fn event(&self, kind: &str, who: Option<&str>) -> Value {
        let matches = |e: &Value| e["event"] == kind && who.is_none_or(|w| e["as"] == w);
        let mut guard = self.events.lock().await;
        let (rx, kept) = &mut *guard;
        if let Some(i) = kept.iter().position(matches) {
            return kept.remove(i);
        }
        loop {
            let e = tokio::time::timeout(Duration::from_secs(20), rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no {kind} event within 20 s; kept {kept:?}"))
                .expect("the driver is running");
            if matches(&e) {
                return e;
            }
            kept.push(e);
        }
    }

    /// Whether an event `kind` for `who` arrived, waiting `wait` for it.
    pub(crate) async fn heard(&self, kind: &str, who: &str, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.event(kind, Some(who))).await.is_ok()
    }

    /// Joins `who` with `token` to [`ROOM`] of `s` (messaging on, to hear participants); its
    /// participant id.
    pub(crate) async fn join(&self, s: &TestServer, who: &str, token: &str) -> String {
        let url = format!("{}/rooms/{ROOM}", s.base.replacen("http", "ws", 1));
        let cmd = json!({ "cmd": "connect", "as": who, "url": url, "token": token, "messaging": true });
        let joined = self.ok(cmd).await;
        assert_eq!(joined["room_name"], ROOM);
        // The room's public URL, under the issuer (which a second node shares).
        let room_url = joined["room_url"].as_str().unwrap();
        assert!(
            room_url.starts_with("ws://") && room_url.ends_with(&format!("/rooms/{ROOM}")),
            "{room_url}"
        );
        assert_eq!(joined["attributes"]["name"], who);
        joined["participant_id"].as_str().unwrap().to_owned()
    }
}

/// A driver and a broker server on `backend` with a project `name`: the driver, the server, the
/// project id and its API key; `None` when the SDK tests skip. One driver per server, so that its
/// clients and events are those of this server.
pub(crate) async fn start(backend: crate::Backend, name: &str) -> Option<(Arc<Puppet>, TestServer, String, String)> {
    let sdk = Puppet::start().await?;
    let s = TestServer::spawn_fresh(backend, crate::broker::insecure).await;
    let (project, key) = s.project(name).await;
    Some((sdk, s, project, key))
}

/// A participant token of `name` in [`ROOM`] with the `api` grant `api`.
pub(crate) async fn participant(s: &TestServer, key: &str, project: &str, name: &str, api: Value) -> String {
    token(s, key, project, name, ROOM, api).await
}

/// The provider as the SDK's `OAuthClientConfig` (which has no issuer or revocation endpoint).
pub(crate) fn sdk_oauth(p: &gatehouse_testkit::Provider) -> Value {
    let o = p.oauth();
    json!({
        "client_id": o["client_id"], "client_secret": o["client_secret"], "scopes": o["scopes"],
        "authorization_endpoint": o["authorization_endpoint"], "token_endpoint": o["token_endpoint"],
    })
}

/// What the person's app does with the SDK's `OAuthTokenRequest`: signs in at the provider with
/// the request's PKCE challenge (the app knows its client id and redirect URI); the code.
pub(crate) async fn consent(p: &gatehouse_testkit::Provider, request: &Value, redirect_uri: &str) -> String {
    let prompt = json!({
        "request": {
            "client_id": p.client_id, "redirect_uri": redirect_uri, "scopes": request["scopes"],
            "authorization_endpoint": request["authorization_endpoint"],
        },
        "state": "sdk-app-state",
        "challenge": request["challenge"],
    });
    p.consent(&prompt).await.0
}

/// Where the provider sends the person back; nothing listens there.
pub(crate) const CALLBACK: &str = "http://127.0.0.1:9/sdk/callback";

/// The third-party provider, with [`EMAIL`]'s account and a client for [`CALLBACK`].
pub(crate) async fn provider() -> gatehouse_testkit::Provider {
    let clock = Arc::new(gatehouse_core::time::SystemClock);
    gatehouse_testkit::Provider::start(clock, CALLBACK, EMAIL, PASSWORD).await
}

/// `request_oauth_token` arguments asking `from` for a token of provider `p`.
pub(crate) fn ask(p: &gatehouse_testkit::Provider, from: &str) -> Value {
    json!({ "oauth": sdk_oauth(p), "from_participant_id": from, "redirect_uri": CALLBACK, "timeout": 60 })
}
