//! The room secrets broker (SPEC §7) against a real third-party provider: a second Gatehouse
//! whose client is registered for the consent callback. The participant's side signs in through
//! the provider's HTML forms, as a person would.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use gatehouse_core::time::{Clock, SystemClock, Timestamp};
use gatehouse_server::Config;
use gatehouse_testkit::Browser;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::oauth_flows::{EMAIL, PASSWORD, introspect};
use crate::rooms::{Ws, call, event, join, token};
use crate::{Backend, TestServer, backends, contains};

const ROOM: &str = "war-room";
const CALLBACK: &str = "http://127.0.0.1:9/consent/callback";
const SCOPES: [&str; 3] = ["openid", "email", "offline_access"];

/// A clock that runs with the system's and can be moved forward.
#[derive(Debug, Default)]
struct Shifted(AtomicI64);

impl Shifted {
    fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for Shifted {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(SystemClock.now().millis() + self.0.load(Ordering::SeqCst))
    }
}

/// The third-party provider: a Gatehouse with a user and a client for the consent callback.
pub(crate) struct Provider {
    pub(crate) s: TestServer,
    client_id: String,
    pub(crate) secret: String,
}

impl Provider {
    pub(crate) async fn start(clock: Arc<dyn Clock>) -> Self {
        let s = TestServer::spawn_clocked(Backend::Sqlite, |_| {}, clock).await;
        s.user(EMAIL, PASSWORD).await;
        let settings = json!({
            "name": "Room consent example",
            "redirect_uris": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": SCOPES.join(" "),
            "refresh_token_ttl": 7200,
        });
        let (client_id, secret) = s.client(&s.admin_key, &s.system_project, settings).await;
        Self {
            s,
            client_id,
            secret: secret.unwrap(),
        }
    }

    /// The provider as a request's inline `oauth`.
    pub(crate) fn oauth(&self) -> Value {
        let b = &self.s.base;
        json!({
            "client_id": self.client_id,
            "authorization_endpoint": format!("{b}/oauth/authorize"),
            "token_endpoint": format!("{b}/oauth/token"),
            "revocation_endpoint": format!("{b}/oauth/revoke"),
            "issuer": b,
            "client_secret": self.secret,
            "scopes": SCOPES,
        })
    }

    /// What the participant's page does with a prompt: opens the provider's page with the
    /// challenge, signs in and allows; returns the redirect's `code` and `iss`.
    pub(crate) async fn consent(&self, prompt: &Value) -> (String, String) {
        let text = |k: &str| prompt["request"][k].as_str().unwrap().to_owned();
        let scopes: Vec<&str> = prompt["request"]["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", &text("client_id")),
                ("redirect_uri", &text("redirect_uri")),
                ("scope", &scopes.join(" ")),
                ("state", prompt["state"].as_str().unwrap()),
                ("code_challenge", prompt["challenge"].as_str().unwrap()),
                ("code_challenge_method", "S256"),
            ])
            .finish();
        let url = format!("{}?{query}", text("authorization_endpoint"));
        let page = Browser::new(&self.s.base).authorize(&url, EMAIL, PASSWORD).await;
        let p = page.redirect_params();
        assert_eq!(p.get("state"), prompt["state"].as_str().map(str::to_owned).as_ref());
        (p["code"].clone(), p["iss"].clone())
    }

    async fn active(&self, token: &str) -> bool {
        introspect(&self.s, token).await["active"] == true
    }

    /// Successful token requests the provider has answered, from its own metrics.
    async fn tokens_issued(&self) -> u64 {
        let text = self
            .s
            .http
            .get(format!("{}/metrics", self.s.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.contains("_count{") && l.contains("route=\"/oauth/token\"") && l.contains("status=\"200\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

/// A broker node that may call the loopback provider over http.
pub(crate) fn insecure(c: &mut Config) {
    c.allow_insecure_upstreams = true;
    c.upstream_timeout_secs = 2;
}

/// A participant token of `name` in [`ROOM`] whose api grant is `{"secrets": secrets}`.
async fn participant(s: &TestServer, key: &str, project: &str, name: &str, secrets: Value) -> String {
    token(s, key, project, name, ROOM, json!({ "secrets": secrets })).await
}

/// `POST /rooms/{ROOM}/secrets/{op}` with `token`; status and body.
pub(crate) async fn rest(s: &TestServer, token: &str, op: &str, body: Value) -> (u16, Value) {
    s.call_as(token, Method::POST, &format!("/rooms/{ROOM}/secrets/{op}"), Some(body))
        .await
}

/// [`rest`] in a task of its own, for a request that waits (or is cut short).
fn spawn_rest(s: &TestServer, token: &str, op: &str, body: Value) -> tokio::task::JoinHandle<(u16, Value)> {
    let (http, url, token) = (
        s.http.clone(),
        format!("{}/rooms/{ROOM}/secrets/{op}", s.base),
        token.to_owned(),
    );
    tokio::spawn(async move {
        let res = http.post(url).bearer_auth(token).json(&body).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    })
}

/// `request_oauth_token`, waiting for a consent in a task of its own.
pub(crate) fn ask(s: &TestServer, token: &str, body: Value) -> tokio::task::JoinHandle<(u16, Value)> {
    spawn_rest(s, token, "request_oauth_token", body)
}

pub(crate) async fn offline(s: &TestServer, token: &str, body: Value) -> Value {
    let (st, v) = rest(s, token, "get_offline_oauth_token", body).await;
    assert_eq!(st, 200, "{v}");
    v["access_token"].clone()
}

/// One project on a broker node, with an agent and alice (the participant asked), both in the room.
pub(crate) struct Scene {
    project: String,
    key: String,
    pub(crate) agent: String,
    pub(crate) alice: String,
    pub(crate) alice_ws: Ws,
    pub(crate) alice_id: String,
}

impl Scene {
    /// Mints the agent's and alice's tokens again (after the clock moved past their expiry).
    async fn renew(&mut self, s: &TestServer) {
        self.agent = participant(s, &self.key, &self.project, "agent", json!({})).await;
        self.alice = participant(s, &self.key, &self.project, "alice", json!({})).await;
    }
}

pub(crate) async fn scene(s: &TestServer) -> Scene {
    let (project, key) = s.project("Broker").await;
    let agent = participant(s, &key, &project, "agent", json!({})).await;
    let alice = participant(s, &key, &project, "alice", json!({})).await;
    let (alice_ws, alice_id) = join(s, ROOM, &alice).await;
    Scene {
        project,
        key,
        agent,
        alice,
        alice_ws,
        alice_id,
    }
}

pub(crate) fn request(p: &Provider, participant_id: &str) -> Value {
    json!({ "oauth": p.oauth(), "redirect_uri": CALLBACK, "participant_id": participant_id, "timeout": 60 })
}

/// Runs a whole consent: the agent asks over REST, alice's page consents and provides on her
/// socket; the agent's answer.
async fn consented(s: &TestServer, p: &Provider, sc: &mut Scene) -> Value {
    let asked = ask(s, &sc.agent, request(p, &sc.alice_id));
    let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
    let (code, iss) = p.consent(&prompt).await;
    let body = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss, "state": prompt["state"] });
    let answer = call(&mut sc.alice_ws, 900, "secrets.provide_oauth_authorization", body).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let (st, token) = asked.await.unwrap();
    assert_eq!(st, 200, "{token}");
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_gets_a_token_the_participant_consented_to() {
    let p = Provider::start(Arc::new(SystemClock)).await;
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, insecure).await;
        let mut sc = scene(&s).await;
        let asked = ask(&s, &sc.agent, request(&p, &sc.alice_id));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        assert_eq!(
            prompt["requested_by"],
            json!({ "participant_id": null, "name": "agent" })
        );
        assert_eq!(prompt["request"]["client_id"], p.client_id.as_str());
        assert_eq!(prompt["request"]["scopes"], json!(SCOPES));
        assert_eq!(prompt["request"]["redirect_uri"], CALLBACK);
        assert!(prompt["request_id"].as_str().unwrap().len() >= 22, "at least 128 bits");
        assert!(prompt["expires_at"].is_string() && prompt["state"].is_string());
        let (code, iss) = p.consent(&prompt).await;
        let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss, "state": prompt["state"] });
        let answer = call(
            &mut sc.alice_ws,
            1,
            "secrets.provide_oauth_authorization",
            provide.clone(),
        )
        .await;
        assert_eq!(answer["ok"], true, "{answer}");
        let (st, token) = asked.await.unwrap();
        assert_eq!(st, 200, "{token}");
        let access = token["access_token"].as_str().unwrap().to_owned();
        assert!(p.active(&access).await, "the provider knows the token");
        assert!(token["expires_at"].is_string());
        assert!(
            token.get("refresh_token").is_none(),
            "refresh tokens are never returned"
        );

        // The answer was taken once.
        let replay = call(&mut sc.alice_ws, 2, "secrets.provide_oauth_authorization", provide).await;
        assert_eq!(replay["error"]["code"], "not_found", "{replay}");

        // Stored: owned by alice, delegated to the agent.
        let by_alice = json!({ "oauth": p.oauth(), "delegated_by": "alice" });
        assert_eq!(offline(&s, &sc.agent, by_alice.clone()).await, access.as_str());
        assert_eq!(
            offline(&s, &sc.alice, json!({ "oauth": p.oauth() })).await,
            access.as_str()
        );
        assert_eq!(
            offline(&s, &sc.agent, json!({ "oauth": p.oauth() })).await,
            Value::Null,
            "the agent owns none"
        );
        let mallory = participant(&s, &sc.key, &sc.project, "mallory", json!({})).await;
        assert_eq!(
            offline(&s, &mallory, by_alice.clone()).await,
            Value::Null,
            "not delegated to mallory"
        );

        // Asking again needs no prompt.
        let (st, again) = rest(&s, &sc.agent, "request_oauth_token", request(&p, &sc.alice_id)).await;
        assert_eq!(
            (st, again["access_token"].as_str()),
            (200, Some(access.as_str())),
            "{again}"
        );
        // Naming the agent as the delegate does not hand the agent's credential to someone else:
        // alice is asked again.
        let snoop = participant(&s, &sc.key, &sc.project, "snoop", json!({})).await;
        let mut as_agent = request(&p, &sc.alice_id);
        as_agent["delegate_to"] = json!("agent");
        let asked = ask(&s, &snoop, as_agent);
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        assert_eq!(prompt["requested_by"]["name"], "snoop");
        let no = json!({ "request_id": prompt["request_id"], "error": "not you" });
        assert_eq!(rest(&s, &sc.alice, "reject_oauth_authorization", no).await.0, 200);
        assert_eq!(asked.await.unwrap().0, 403);

        let (_, list) = rest(&s, &sc.agent, "list", json!({})).await;
        let secrets = list["secrets"].as_array().unwrap();
        assert_eq!(secrets.len(), 1, "{list}");
        assert_eq!(
            (&secrets[0]["type"], &secrets[0]["owner"], &secrets[0]["delegated_to"]),
            (&json!("oauth"), &json!("alice"), &json!("agent"))
        );
        assert!(!list.to_string().contains(&access), "lists show no token");
        let (_, own) = s
            .call_as(&sc.alice, Method::GET, &format!("/rooms/{ROOM}/secrets"), None)
            .await;
        assert_eq!(own["secrets"].as_array().unwrap().len(), 1, "{own}");
        let (_, none) = rest(&s, &mallory, "list", json!({})).await;
        assert_eq!(none, json!({ "secrets": [] }));

        let db = s.database_bytes().await;
        for secret in [
            access.as_str(),
            p.secret.as_str(),
            code.as_str(),
            prompt["request_id"].as_str().unwrap(),
        ] {
            assert!(!contains(&db, secret), "a secret is stored in plaintext");
        }

        let id = secrets[0]["id"].clone();
        let (st, _) = rest(&s, &mallory, "delete", json!({ "id": id })).await;
        assert_eq!(st, 404, "only the owner and the delegate may delete");
        let (st, v) = rest(&s, &sc.agent, "delete", json!({ "id": id })).await;
        assert_eq!((st, v), (200, json!({})));
        assert!(!p.active(&access).await, "deleting revoked the token at the provider");
        assert_eq!(offline(&s, &sc.agent, by_alice).await, Value::Null);
        s.stop().await;
    }
    p.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_leave_requests_and_secrets_as_they_were() {
    let p = Provider::start(Arc::new(SystemClock)).await;
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, insecure).await;
        let mut sc = scene(&s).await;
        let ask_alice = request(&p, &sc.alice_id);

        // No `secrets` grant: every operation is refused.
        let plain = token(&s, &sc.key, &sc.project, "plain", ROOM, json!({ "messaging": {} })).await;
        for (op, body) in [
            ("list", json!({})),
            ("request_oauth_token", ask_alice.clone()),
            ("get_offline_oauth_token", json!({ "oauth": p.oauth() })),
            ("provide_oauth_authorization", json!({ "request_id": "x", "code": "y" })),
            (
                "reject_oauth_authorization",
                json!({ "request_id": "x", "error": "no" }),
            ),
            ("delete", json!({ "id": uuid::Uuid::new_v4() })),
        ] {
            let (st, v) = rest(&s, &plain, op, body).await;
            assert_eq!((st, v["error"].as_str()), (403, Some("forbidden")), "{op}: {v}");
        }
        // An allow-list that does not name this provider.
        let narrow = json!({ "request_oauth_token": [{ "endpoint": "https://accounts.example.com/*", "client_id": p.client_id }] });
        let limited = participant(&s, &sc.key, &sc.project, "limited", narrow).await;
        let (st, v) = rest(&s, &limited, "request_oauth_token", ask_alice.clone()).await;
        assert_eq!(st, 403, "{v}");
        let (st, v) = rest(&s, &limited, "get_offline_oauth_token", json!({ "oauth": p.oauth() })).await;
        assert_eq!(st, 403, "{v}");
        // One that does.
        let prefix =
            json!({ "request_oauth_token": [{ "endpoint": format!("{}/*", p.s.base), "client_id": p.client_id }] });
        let allowed = participant(&s, &sc.key, &sc.project, "allowed", prefix).await;
        assert_eq!(
            offline(&s, &allowed, json!({ "oauth": p.oauth() })).await,
            Value::Null,
            "nothing stored, no prompt"
        );

        // Malformed, missing, oversized and wrong-room input.
        let bad = [
            (
                json!({ "redirect_uri": CALLBACK, "participant_id": sc.alice_id }),
                "oauth",
            ),
            (
                json!({ "oauth": p.oauth(), "participant_id": sc.alice_id }),
                "redirect_uri",
            ),
            (
                json!({ "oauth": p.oauth(), "redirect_uri": CALLBACK, "participant_id": uuid::Uuid::new_v4() }),
                "participant_id",
            ),
            (
                json!({ "oauth": p.oauth(), "redirect_uri": CALLBACK, "participant_id": sc.alice_id, "timeout": 901 }),
                "timeout",
            ),
            (
                json!({ "oauth": p.oauth(), "redirect_uri": "not a url", "participant_id": sc.alice_id }),
                "redirect_uri",
            ),
            (
                json!({ "oauth": p.oauth(), "redirect_uri": CALLBACK, "participant_id": sc.alice_id, "surprise": 1 }),
                "surprise",
            ),
            (
                json!({ "oauth": p.oauth(), "registration_id": uuid::Uuid::new_v4(), "redirect_uri": CALLBACK, "participant_id": sc.alice_id }),
                "oauth",
            ),
        ];
        for (body, field) in bad {
            let (st, v) = rest(&s, &sc.agent, "request_oauth_token", body).await;
            assert_eq!(st, 400, "{field}: {v}");
            assert!(v["message"].as_str().unwrap().contains(field), "{field}: {v}");
        }
        let (st, v) = rest(&s, &sc.agent, "no_such_operation", json!({})).await;
        assert_eq!(st, 404, "{v}");
        let res = s
            .req_as(&sc.agent, Method::POST, &format!("/rooms/{ROOM}/secrets/list"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let huge = json!({ "request_id": "x".repeat(70_000), "code": "c" });
        let (st, _) = rest(&s, &sc.alice, "provide_oauth_authorization", huge).await;
        assert_eq!(st, 413);
        let (st, _) = s
            .call_as(
                &sc.agent,
                Method::POST,
                "/rooms/another-room/secrets/list",
                Some(json!({})),
            )
            .await;
        assert_eq!(st, 401, "the token's room only");
        let (other_project, other_key) = s.project("Other").await;
        let stranger = token(&s, &other_key, &other_project, "agent", ROOM, json!({ "secrets": {} })).await;

        // A prompt: only alice may answer; strangers, other projects and bad ids change nothing.
        let asked = ask(&s, &sc.agent, request(&p, &sc.alice_id));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let rid = prompt["request_id"].clone();
        let (st, v) = rest(
            &s,
            &sc.agent,
            "provide_oauth_authorization",
            json!({ "request_id": rid, "code": "c" }),
        )
        .await;
        assert_eq!(st, 403, "another identity: {v}");
        let (st, _) = rest(
            &s,
            &stranger,
            "reject_oauth_authorization",
            json!({ "request_id": rid, "error": "x" }),
        )
        .await;
        assert_eq!(st, 404, "another project's participant does not see it");
        let (st, _) = rest(
            &s,
            &sc.alice,
            "provide_oauth_authorization",
            json!({ "request_id": "unknown", "code": "c" }),
        )
        .await;
        assert_eq!(st, 404);
        let (st, v) = rest(
            &s,
            &sc.alice,
            "provide_oauth_authorization",
            json!({ "request_id": rid, "code": "c", "state": "forged" }),
        )
        .await;
        assert_eq!(st, 400, "{v}");
        let (st, v) = rest(
            &s,
            &sc.alice,
            "reject_oauth_authorization",
            json!({ "request_id": rid, "error": "user_cancelled" }),
        )
        .await;
        assert_eq!((st, v), (200, json!({})));
        let (st, v) = asked.await.unwrap();
        assert_eq!((st, v["error"].as_str()), (403, Some("rejected")), "{v}");
        assert!(v["message"].as_str().unwrap().contains("user_cancelled"), "{v}");
        let (st, _) = rest(
            &s,
            &sc.alice,
            "provide_oauth_authorization",
            json!({ "request_id": rid, "code": "c" }),
        )
        .await;
        assert_eq!(st, 404, "a rejected request is gone");

        // A mix-up: the code comes back naming another issuer.
        let asked = ask(&s, &sc.agent, request(&p, &sc.alice_id));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let (code, _) = p.consent(&prompt).await;
        let wrong = json!({ "request_id": prompt["request_id"], "code": code, "iss": "https://evil.example" });
        let (st, v) = rest(&s, &sc.alice, "provide_oauth_authorization", wrong).await;
        assert_eq!(st, 400, "{v}");
        assert!(v["message"].as_str().unwrap().contains("iss"), "{v}");
        let (st, v) = asked.await.unwrap();
        assert_eq!(st, 502, "the requester hears the request was abandoned: {v}");

        // Nobody answers.
        let started = Instant::now();
        let mut quick = request(&p, &sc.alice_id);
        quick["timeout"] = json!(1);
        let asked = ask(&s, &sc.agent, quick);
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let (st, v) = asked.await.unwrap();
        assert_eq!((st, v["error"].as_str()), (504, Some("timeout")), "{v}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let late = json!({ "request_id": prompt["request_id"], "error": "late" });
        let (st, _) = rest(&s, &sc.alice, "reject_oauth_authorization", late).await;
        assert_eq!(st, 404, "a timed-out request is gone");

        // A participant who is not connected cannot be asked.
        drop(sc.alice_ws);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (st, v) = rest(&s, &sc.agent, "request_oauth_token", request(&p, &sc.alice_id)).await;
        assert_eq!(st, 400, "{v}");
        assert_eq!(rest(&s, &sc.agent, "list", json!({})).await.1, json!({ "secrets": [] }));
        s.stop().await;
    }
    p.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_providers_need_the_insecure_flag() {
    let s = TestServer::spawn(Backend::Sqlite).await;
    let mut sc = scene(&s).await;
    let oauth = json!({
        "client_id": "c",
        "authorization_endpoint": "http://127.0.0.1:9/authorize",
        "token_endpoint": "http://127.0.0.1:9/token",
    });
    let body = json!({ "oauth": oauth, "redirect_uri": CALLBACK, "participant_id": sc.alice_id });
    let (st, v) = rest(&s, &sc.agent, "request_oauth_token", body).await;
    assert_eq!(st, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("oauth.token_endpoint"), "{v}");
    let _ = call(&mut sc.alice_ws, 1, "participants.list", json!({})).await;
    s.stop().await;
}

/// A token endpoint that answers too much or too late.
async fn misbehaving(mode: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                if mode == "slow" {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
                let body = format!(
                    "{{\"access_token\":\"{}\",\"token_type\":\"Bearer\"}}",
                    "a".repeat(100_000)
                );
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(body.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_answers_are_bounded_in_size_and_time() {
    let s = TestServer::spawn_fresh(Backend::Sqlite, |c| {
        c.allow_insecure_upstreams = true;
        c.upstream_timeout_secs = 1;
    })
    .await;
    let mut sc = scene(&s).await;
    for (mode, expected) in [("big", "65536 bytes"), ("slow", "within 1 s")] {
        let base = misbehaving(mode).await;
        let oauth = json!({
            "client_id": "c",
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
        });
        let asked = ask(
            &s,
            &sc.agent,
            json!({ "oauth": oauth, "redirect_uri": CALLBACK, "participant_id": sc.alice_id }),
        );
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let started = Instant::now();
        let (st, v) = rest(
            &s,
            &sc.alice,
            "provide_oauth_authorization",
            json!({ "request_id": prompt["request_id"], "code": "c" }),
        )
        .await;
        assert_eq!(st, 502, "{mode}: {v}");
        assert!(v["message"].as_str().unwrap().contains(expected), "{mode}: {v}");
        assert!(started.elapsed() < Duration::from_secs(3), "{mode}");
        let (st, v) = asked.await.unwrap();
        assert_eq!(st, 502, "{mode}: the requester hears it too: {v}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_tokens_are_refreshed_and_dead_ones_need_consent_again() {
    for backend in backends() {
        let (broker_clock, provider_clock) = (Arc::new(Shifted::default()), Arc::new(Shifted::default()));
        let p = Provider::start(provider_clock.clone()).await;
        let s = TestServer::spawn_clocked(backend, insecure, broker_clock.clone()).await;
        let mut sc = scene(&s).await;
        let first = consented(&s, &p, &mut sc).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let by_alice = json!({ "oauth": p.oauth(), "delegated_by": "alice" });
        let issued = p.tokens_issued().await;

        // Within a minute of expiry: refreshed once, then served as stored. (Tokens are minted
        // again after each jump of the clock: they expire with it.)
        broker_clock.advance_secs(3600 - 30);
        sc.renew(&s).await;
        let second = offline(&s, &sc.agent, by_alice.clone())
            .await
            .as_str()
            .unwrap()
            .to_owned();
        assert_ne!(second, first);
        assert!(p.active(&second).await);
        assert_eq!(offline(&s, &sc.agent, by_alice.clone()).await, second.as_str());
        assert_eq!(p.tokens_issued().await, issued + 1, "one refresh reached the provider");

        // The provider unreachable: a transient failure keeps the credential.
        broker_clock.advance_secs(3600);
        sc.renew(&s).await;
        let mut p = p;
        p.s.pause().await;
        let (st, v) = rest(&s, &sc.agent, "get_offline_oauth_token", by_alice.clone()).await;
        assert_eq!((st, v["error"].as_str()), (502, Some("upstream_error")), "{v}");
        let (_, list) = rest(&s, &sc.agent, "list", json!({})).await;
        assert_eq!(list["secrets"][0]["needs_consent"], false, "{list}");

        // The provider back, its refresh token expired: `invalid_grant` means a new consent.
        p.s.resume(provider_clock.clone()).await;
        provider_clock.advance_secs(7200 + 60);
        assert_eq!(offline(&s, &sc.agent, by_alice.clone()).await, Value::Null);
        let (_, list) = rest(&s, &sc.agent, "list", json!({})).await;
        assert_eq!(list["secrets"][0]["needs_consent"], true, "{list}");
        let asked = ask(&s, &sc.agent, request(&p, &sc.alice_id));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let reject = json!({ "request_id": prompt["request_id"], "error": "later" });
        assert_eq!(rest(&s, &sc.alice, "reject_oauth_authorization", reject).await.0, 200);
        assert_eq!(asked.await.unwrap().0, 403);
        s.stop().await;
        p.s.stop().await;
    }
}

/// Two broker nodes on one fresh PostgreSQL database, on one clock; `None` without PostgreSQL.
async fn two_brokers(clock: Arc<dyn Clock>) -> Option<(TestServer, TestServer)> {
    let Some(pg) = backends().into_iter().find(|b| matches!(b, Backend::Postgres { .. })) else {
        eprintln!("note: two-node broker test skipped: GATEHOUSE_TEST_POSTGRES_URL is not set");
        return None;
    };
    let a = TestServer::spawn_clocked(pg.clone(), insecure, clock.clone()).await;
    let issuer = a.base.clone();
    let tune = move |c: &mut Config| {
        insecure(c);
        c.issuer = Some(issuer);
    };
    let mut b = TestServer::spawn_on_clock(pg, a.dir.clone(), a.database_url.clone(), tune, clock).await;
    b.admin_key = a.admin_key.clone();
    Some((a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_and_its_answer_cross_nodes_and_survive_a_restart() {
    let Some((mut a, b)) = two_brokers(Arc::new(SystemClock)).await else {
        return;
    };
    let p = Provider::start(Arc::new(SystemClock)).await;
    let mut sc = scene(&a).await;
    // The agent asks over its room connection on node B; alice is connected to node A.
    let (mut agent_ws, agent_id) = join(&b, ROOM, &sc.agent).await;
    let ask_on_channel =
        |id: i64| json!({ "id": id, "type": "secrets.request_oauth_token", "body": request(&p, &sc.alice_id) });
    use futures::SinkExt as _;
    agent_ws
        .send(tokio_tungstenite::tungstenite::Message::Text(
            ask_on_channel(7).to_string().into(),
        ))
        .await
        .unwrap();
    let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
    assert_eq!(
        prompt["requested_by"],
        json!({ "participant_id": agent_id, "name": "agent" })
    );
    // Alice answers from another connection of hers, on node B.
    let (code, iss) = p.consent(&prompt).await;
    let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss });
    assert_eq!(rest(&b, &sc.alice, "provide_oauth_authorization", provide).await.0, 200);
    let answer = reply_to(&mut agent_ws, 7).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let first = answer["body"]["access_token"].as_str().unwrap().to_owned();
    assert!(p.active(&first).await);

    // Another request: alice's node stops after the prompt reached her. The request lives in
    // the database; she answers through node B and the agent is answered.
    let by_alice = json!({ "oauth": p.oauth(), "delegated_by": "alice" });
    let id = rest(&b, &sc.agent, "list", json!({})).await.1["secrets"][0]["id"].clone();
    assert_eq!(rest(&b, &sc.agent, "delete", json!({ "id": id })).await.0, 200);
    agent_ws
        .send(tokio_tungstenite::tungstenite::Message::Text(
            ask_on_channel(8).to_string().into(),
        ))
        .await
        .unwrap();
    let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
    a.pause().await;
    let (code, iss) = p.consent(&prompt).await;
    let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss });
    assert_eq!(rest(&b, &sc.alice, "provide_oauth_authorization", provide).await.0, 200);
    let answer = reply_to(&mut agent_ws, 8).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let second = answer["body"]["access_token"].as_str().unwrap();
    assert_eq!(offline(&b, &sc.agent, by_alice).await, second);
    b.stop().await;
    a.stop().await;
    p.s.stop().await;
}

/// The response to request `id` on a room connection, skipping events.
async fn reply_to(ws: &mut Ws, id: i64) -> Value {
    loop {
        let f = crate::rooms::next(ws).await;
        if f["id"] == id {
            return f;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_gets_of_an_expired_token_refresh_it_once() {
    let clock = Arc::new(Shifted::default());
    let p = Provider::start(Arc::new(SystemClock)).await;
    // One node on SQLite; two on PostgreSQL, the callers spread over both.
    let single = TestServer::spawn_clocked(Backend::Sqlite, insecure, clock.clone()).await;
    let pair = two_brokers(clock.clone()).await;
    let mut setups = vec![[&single, &single]];
    if let Some((a, b)) = &pair {
        setups.push([a, b]);
    }
    for nodes in setups {
        let mut sc = scene(nodes[0]).await;
        let first = consented(nodes[0], &p, &mut sc).await["access_token"].clone();
        clock.advance_secs(3600 - 30);
        sc.renew(nodes[0]).await;
        let issued = p.tokens_issued().await;
        let by_alice = json!({ "oauth": p.oauth(), "delegated_by": "alice" });
        let gets = (0..50).map(|i| {
            let (s, token, body) = (nodes[i % 2], sc.agent.clone(), by_alice.clone());
            async move { rest(s, &token, "get_offline_oauth_token", body).await }
        });
        let answers = futures::future::join_all(gets).await;
        let tokens: std::collections::BTreeSet<String> = answers
            .iter()
            .map(|(st, v)| {
                assert_eq!(*st, 200, "{v}");
                v["access_token"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(tokens.len(), 1, "every caller got the same token");
        assert_ne!(Some(tokens.first().unwrap().as_str()), first.as_str());
        assert_eq!(
            p.tokens_issued().await,
            issued + 1,
            "exactly one refresh reached the provider"
        );
    }
    if let Some((a, b)) = pair {
        b.stop().await;
        a.stop().await;
    }
    single.stop().await;
    p.s.stop().await;
}

/// A TCP relay to `upstream` that reports each chunk the upstream sends, then holds it back for
/// a moment: time for the test to act between the provider's answer and its delivery.
async fn relay(upstream: String) -> (String, tokio::sync::mpsc::UnboundedReceiver<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, tx) = (upstream.clone(), tx.clone());
            tokio::spawn(async move {
                let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move { tokio::io::copy(&mut cr, &mut sw).await });
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let _ = tx.send(());
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_as_the_provider_rotates_keeps_the_new_refresh_token() {
    let (clock, provider_clock) = (Arc::new(Shifted::default()), Arc::new(Shifted::default()));
    let Some((mut a, b)) = two_brokers(clock.clone()).await else {
        return;
    };
    let p = Provider::start(provider_clock.clone()).await;
    // A provider that rotates refresh tokens and takes any reuse of an old one as theft.
    let (st, v) =
        p.s.call(
            Method::PUT,
            &format!(
                "/accounts/projects/{}/oauth/clients/{}",
                p.s.system_project, p.client_id
            ),
            Some(json!({ "refresh_grace_seconds": 0 })),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (relayed, mut answered) = relay(p.s.base.trim_start_matches("http://").to_owned()).await;
    let mut oauth = p.oauth();
    oauth["token_endpoint"] = json!(format!("{relayed}/oauth/token"));
    let mut sc = scene(&a).await;
    let asked = ask(
        &a,
        &sc.agent,
        json!({ "oauth": oauth, "redirect_uri": CALLBACK, "participant_id": sc.alice_id, "timeout": 60 }),
    );
    let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
    let (code, iss) = p.consent(&prompt).await;
    let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss });
    assert_eq!(rest(&a, &sc.alice, "provide_oauth_authorization", provide).await.0, 200);
    assert_eq!(asked.await.unwrap().0, 200);

    // Node A refreshes; it is stopped the moment the provider has answered.
    clock.advance_secs(3600 - 30);
    sc.renew(&a).await;
    while answered.try_recv().is_ok() {}
    let by_alice = json!({ "oauth": oauth, "delegated_by": "alice" });
    let _pending = spawn_rest(&a, &sc.agent, "get_offline_oauth_token", by_alice.clone());
    answered.recv().await.unwrap();
    a.pause().await;
    let issued = p.tokens_issued().await;
    let saved = offline(&b, &sc.agent, by_alice.clone()).await;
    assert!(saved.is_string(), "node A saved what the provider answered");
    assert_eq!(p.tokens_issued().await, issued, "node B did not need to refresh again");

    // The refresh token node A saved is the live one: the next refresh works.
    clock.advance_secs(3600);
    provider_clock.advance_secs(60);
    sc.renew(&b).await;
    let next = offline(&b, &sc.agent, by_alice).await;
    assert!(next.is_string() && next != saved, "{next}");
    assert!(p.active(next.as_str().unwrap()).await);
    b.stop().await;
    a.stop().await;
    p.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_are_used_by_id_with_their_redirect_uris_issuer_and_secret() {
    let p = Provider::start(Arc::new(SystemClock)).await;
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, insecure).await;
        let mut sc = scene(&s).await;
        let o = p.oauth();
        let registration = |room: Option<&str>| {
            let (st_path, body) = (
                match room {
                    Some(r) => format!("/accounts/projects/{}/rooms/{r}/external-oauth", sc.project),
                    None => format!("/accounts/projects/{}/external-oauth", sc.project),
                },
                json!({
                    "name": "Provider",
                    "oauth": {
                        "authorization_endpoint": o["authorization_endpoint"],
                        "token_endpoint": o["token_endpoint"],
                        "revocation_endpoint": o["revocation_endpoint"],
                        "issuer": o["issuer"],
                        "scopes": SCOPES,
                    },
                    "client_id": p.client_id,
                    "client_secret": p.secret,
                    "redirect_uris": [CALLBACK],
                    "delegated_to": "scheduler",
                }),
            );
            let (s, key) = (&s, sc.key.clone());
            async move {
                let (st, v) = s.call_as(&key, Method::POST, &st_path, Some(body)).await;
                assert_eq!(st, 201, "{v}");
                v["id"].as_str().unwrap().to_owned()
            }
        };
        let project_wide = registration(None).await;
        let elsewhere = registration(Some("another-room")).await;
        let by_id = |id: &str, redirect: &str| json!({ "registration_id": id, "redirect_uri": redirect, "participant_id": sc.alice_id, "timeout": 60 });
        let (st, v) = rest(
            &s,
            &sc.agent,
            "request_oauth_token",
            by_id(&project_wide, "http://127.0.0.1:9/consent/callback/"),
        )
        .await;
        assert_eq!(st, 400, "redirect URIs match exactly: {v}");
        let (st, v) = rest(&s, &sc.agent, "request_oauth_token", by_id(&elsewhere, CALLBACK)).await;
        assert_eq!(st, 404, "another room's registration is not seen here: {v}");
        let (st, v) = rest(
            &s,
            &sc.agent,
            "request_oauth_token",
            by_id(&uuid::Uuid::new_v4().to_string(), CALLBACK),
        )
        .await;
        assert_eq!(st, 404, "{v}");

        // The registration's issuer is checked, its secret used, its delegate the default.
        let asked = ask(&s, &sc.agent, by_id(&project_wide, CALLBACK));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let (code, _) = p.consent(&prompt).await;
        let wrong = json!({ "request_id": prompt["request_id"], "code": code, "iss": "https://other.example" });
        assert_eq!(rest(&s, &sc.alice, "provide_oauth_authorization", wrong).await.0, 400);
        assert_eq!(asked.await.unwrap().0, 502);
        let asked = ask(&s, &sc.agent, by_id(&project_wide, CALLBACK));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let (code, iss) = p.consent(&prompt).await;
        let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss });
        assert_eq!(rest(&s, &sc.alice, "provide_oauth_authorization", provide).await.0, 200);
        let (st, token) = asked.await.unwrap();
        assert_eq!(st, 200, "{token}");
        assert!(p.active(token["access_token"].as_str().unwrap()).await);
        let scheduler = participant(&s, &sc.key, &sc.project, "scheduler", json!({})).await;
        let by_reg = json!({ "registration_id": project_wide, "delegated_by": "alice" });
        assert_eq!(
            offline(&s, &scheduler, by_reg.clone()).await,
            token["access_token"],
            "delegated to the registration's delegate"
        );
        assert_eq!(
            offline(&s, &sc.agent, by_reg).await,
            Value::Null,
            "not to the requester"
        );
        s.stop().await;
    }
    p.s.stop().await;
}
