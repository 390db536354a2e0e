//! The room secrets broker (SPEC §7) against a real third-party provider: a second Gatehouse
//! whose client is registered for the consent callback. The participant's side signs in through
//! the provider's HTML forms, as a person would.
//!
//! This module holds the scene (a project, an agent and alice in the room) and the calls the
//! tests share; the tests are in [`consent`], [`refusals`] and [`nodes`].

use std::sync::Arc;

use gatehouse_core::time::Clock;
use gatehouse_server::Config;
use gatehouse_testkit::Provider;
use reqwest::Method;
use serde_json::{Value, json};

use crate::TestServer;
use crate::oauth_flows::{EMAIL, PASSWORD};
use crate::rooms::{Ws, call, event, join, token};

mod consent;
mod nodes;
mod refusals;
mod ssrf;

const ROOM: &str = "war-room";
const CALLBACK: &str = "http://127.0.0.1:9/consent/callback";

/// The third-party provider, with [`EMAIL`]'s account and a client for [`CALLBACK`].
pub(crate) async fn provider(clock: Arc<dyn Clock>) -> Provider {
    Provider::start(clock, CALLBACK, EMAIL, PASSWORD).await
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
