//! The LLM proxy gate (SPEC §8) against the test kit's mock upstream: provider keys
//! ([`providers`]), the callers and every refusal, streaming and bounds ([`proxy`]), usage
//! ([`usage`]), limits ([`limits`]), and the official OpenAI and Anthropic SDKs ([`sdks`]).

mod limits;
mod providers;
mod proxy;
mod sdks;
mod usage;

use std::sync::Arc;

use gatehouse_core::time::{Clock, SystemClock};
use gatehouse_server::Config;
use gatehouse_testkit::llm_upstream::LlmUpstream;
use reqwest::Method;
use serde_json::{Value, json};

use crate::oauth_flows::{EMAIL, PASSWORD, app};
use crate::participants::api_token;
use crate::{Backend, TestServer};

/// The project's provider keys, which only the upstream may ever see.
pub const OPENAI_KEY: &str = "sk-proj-upstream-7d1e4b9a2c5f8e3d";
pub const ANTHROPIC_KEY: &str = "sk-ant-upstream-3f8c6a0e5b9d2c7a";
/// The header the Anthropic API requires of every request.
pub const VERSION: (&str, &str) = ("anthropic-version", "2023-06-01");

/// A server that may call the loopback mock, a project with an API key, and the mock upstream
/// configured as both of the project's providers.
pub struct Gate {
    pub s: TestServer,
    pub up: LlmUpstream,
    pub project: String,
    pub key: String,
}

impl Gate {
    pub async fn start(backend: Backend, tune: impl FnOnce(&mut Config)) -> Self {
        Self::start_clocked(backend, tune, Arc::new(SystemClock)).await
    }

    /// [`Gate::start`] on `clock`.
    pub async fn start_clocked(backend: Backend, tune: impl FnOnce(&mut Config), clock: Arc<dyn Clock>) -> Self {
        let s = TestServer::spawn_clocked(
            backend,
            |c| {
                c.allow_insecure_upstreams = true;
                tune(c);
            },
            clock,
        )
        .await;
        let up = LlmUpstream::start().await;
        let (project, key) = s.project("Agents").await;
        let g = Self { s, up, project, key };
        let (st, r) = g
            .put_provider(
                "openai",
                json!({ "api_key": OPENAI_KEY, "base_url": g.up.openai_base() }),
            )
            .await;
        assert_eq!(st, 200, "{r}");
        let (st, r) = g
            .put_provider("anthropic", json!({ "api_key": ANTHROPIC_KEY, "base_url": g.up.base }))
            .await;
        assert_eq!(st, 200, "{r}");
        g
    }

    /// `PUT …/llm/providers/{provider}` with the project's API key.
    pub async fn put_provider(&self, provider: &str, body: Value) -> (u16, Value) {
        let path = format!("/accounts/projects/{}/llm/providers/{provider}", self.project);
        self.s.call_as(&self.key, Method::PUT, &path, Some(body)).await
    }

    /// A second node on the same PostgreSQL database (`None` on SQLite), which may call the mock.
    pub async fn second_node(&self) -> Option<TestServer> {
        self.second_node_on(Arc::new(SystemClock)).await
    }

    /// [`Gate::second_node`] on `clock`.
    pub async fn second_node_on(&self, clock: Arc<dyn Clock>) -> Option<TestServer> {
        if !matches!(self.s.backend, Backend::Postgres { .. }) {
            return None;
        }
        let (dir, url) = (self.s.dir.clone(), self.s.database_url.clone());
        let issuer = self.s.base.clone();
        let tune = |c: &mut Config| {
            c.allow_insecure_upstreams = true;
            c.issuer = Some(issuer);
        };
        Some(TestServer::spawn_on_clock(self.s.backend.clone(), dir, url, tune, clock).await)
    }

    /// A request to the gate at `path` (`/openai/v1/…`) with `headers`.
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> reqwest::RequestBuilder {
        post_to(&self.s, path, headers, body)
    }

    /// [`Gate::post`], answered: status and body (JSON when it parses).
    pub async fn call(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
        call_on(&self.s, path, headers, body).await
    }

    /// A chat completion through the OpenAI route of `node` with the project's API key.
    pub async fn chat_on(&self, node: &TestServer) -> (u16, Value) {
        let auth = format!("Bearer {}", self.key);
        call_on(
            node,
            "/openai/v1/chat/completions",
            &[("authorization", &auth)],
            &chat("gpt-4o", false),
        )
        .await
    }

    /// A participant token of this project whose api grant is `api`, signed with its key by the
    /// server admin (who may grant `llm`).
    pub async fn participant(&self, name: &str, api: Value) -> String {
        let path = format!("/accounts/projects/{}/participant-tokens", self.project);
        let (st, t) = self
            .s
            .call(
                Method::POST,
                &path,
                Some(json!({ "name": name, "room_name": "lab", "api": api })),
            )
            .await;
        assert_eq!(st, 200, "{t}");
        t["token"].as_str().unwrap().to_owned()
    }

    /// A user made a member of the project with `flags`, signed in once per scope of `scopes`
    /// through a client that may ask for `llm_proxy`; their access tokens, in that order.
    pub async fn member_tokens(&self, flags: Value, scopes: &[&str]) -> Vec<String> {
        let uid = self.s.user(EMAIL, PASSWORD).await;
        let mut member = json!({ "user_id": uid });
        for (k, v) in flags.as_object().unwrap() {
            member[k] = v.clone();
        }
        let path = format!("/accounts/projects/{}/users", self.project);
        let (st, m) = self.s.call(Method::POST, &path, Some(member)).await;
        assert_eq!(st, 201, "{m}");
        let a = app(&self.s, json!({ "scope": "openid llm_proxy gatehouse_api" })).await;
        let b = gatehouse_testkit::Browser::new(&self.s.base);
        let mut tokens = Vec::new();
        for scope in scopes {
            tokens.push(api_token(&self.s, &a, &b, scope).await);
        }
        tokens
    }

    pub async fn stop(self) {
        self.s.stop().await;
    }
}

/// A request to `node`'s gate at `path` with `headers`.
pub fn post_to(node: &TestServer, path: &str, headers: &[(&str, &str)], body: &Value) -> reqwest::RequestBuilder {
    let mut r = node.http.post(format!("{}{path}", node.base)).json(body);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r
}

/// [`post_to`], answered: status and body (JSON when it parses).
pub async fn call_on(node: &TestServer, path: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
    let res = post_to(node, path, headers, body).send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A chat completion request.
pub fn chat(model: &str, stream: bool) -> Value {
    json!({ "model": model, "stream": stream, "messages": [{ "role": "user", "content": "Hi" }] })
}

/// An Anthropic messages request.
pub fn message(model: &str, stream: bool) -> Value {
    json!({ "model": model, "stream": stream, "max_tokens": 64, "messages": [{ "role": "user", "content": "Hi" }] })
}

/// Answered, streamed and failed calls through the gate, for the log search of `logs.rs`;
/// returns every secret involved.
pub async fn logged_flow() -> Vec<(&'static str, String)> {
    let g = Gate::start(Backend::Sqlite, |_| {}).await;
    let auth = format!("Bearer {}", g.key);
    let openai = async || {
        let headers = [("authorization", auth.as_str())];
        g.call("/openai/v1/chat/completions", &headers, &chat("gpt-4o", false))
            .await
            .0
    };
    assert_eq!(openai().await, 200);
    let streamed = g.post(
        "/anthropic/v1/messages",
        &[("x-api-key", &g.key), VERSION],
        &message("claude-3", true),
    );
    let text = streamed.send().await.unwrap().text().await.unwrap();
    assert!(text.contains("message_stop"), "{text}");
    let down = json!({ "api_key": OPENAI_KEY, "base_url": "http://127.0.0.1:9/v1" });
    assert_eq!(g.put_provider("openai", down).await.0, 200);
    assert_eq!(openai().await, 502, "an upstream that cannot be reached");
    let secrets = vec![
        ("OpenAI provider key", OPENAI_KEY.to_owned()),
        ("Anthropic provider key", ANTHROPIC_KEY.to_owned()),
        ("the gate caller's API key", g.key.clone()),
    ];
    g.stop().await;
    secrets
}
