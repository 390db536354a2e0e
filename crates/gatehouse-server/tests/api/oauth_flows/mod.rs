//! The authorization server's flows and security rules, black-box against the real server on
//! both backends: RFC 6749, RFC 7636, RFC 9700 (Security BCP) and the OpenID Foundation's basic
//! OP checklist (SPEC §5.2).
//!
//! This module holds the client and request helpers the flows share; the tests are in [`code`],
//! [`front_channel`], [`refresh`], [`resource_indicators`], [`opaque`], [`device`], [`lifecycle`],
//! [`project_second_factor`], [`protection`], [`throttling`], [`token_exchange`] and [`endpoints`].

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_testkit::{Browser, Page};
use serde_json::{Value, json};

use crate::TestServer;

mod code;
mod device;
mod endpoints;
mod front_channel;
mod lifecycle;
mod opaque;
mod passkeys;
mod project_second_factor;
mod protection;
mod refresh;
mod resource_indicators;
pub mod second_factor;
mod throttling;
mod token_exchange;

pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "http://127.0.0.1/cb";

/// A PKCE pair (RFC 7636 §4.1–4.2).
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
        + &URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest))
}

/// Form bodies for reqwest (its `form` feature is not enabled).
pub trait FormBody {
    fn form_pairs(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_pairs(self, pairs: &[(&str, &str)]) -> Self {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().copied())
            .finish();
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

/// A confidential web client of the system project and a user to sign in with.
pub struct App {
    pub id: String,
    pub secret: String,
}

pub async fn app(s: &TestServer, extra: Value) -> App {
    app_in(s, &s.system_project, extra).await
}

/// A confidential web client of `project`, created by the server admin.
pub async fn app_in(s: &TestServer, project: &str, extra: Value) -> App {
    let mut settings = json!({
        "name": "Web app",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scope": "openid profile email offline_access gatehouse_api",
    });
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let (id, secret) = s.client(&s.admin_key, project, settings).await;
    App {
        id,
        secret: secret.unwrap_or_default(),
    }
}

/// An authorization URL for `app` with PKCE; `extra` pairs are appended.
pub fn authorize_url(s: &TestServer, app: &App, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.extend_pairs([
        ("response_type", "code"),
        ("client_id", app.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email offline_access"),
        ("state", "xyz"),
        ("nonce", "n-0S6"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    q.extend_pairs(extra.iter().copied());
    format!("{}/oauth/authorize?{}", s.base, q.finish())
}

/// `POST /oauth/token` as `app` (Basic auth); status and JSON.
pub async fn token(s: &TestServer, app: &App, form: &[(&str, &str)]) -> (u16, Value) {
    post_form(s, "/oauth/token", Some(app), form).await
}

pub async fn post_form(s: &TestServer, path: &str, app: Option<&App>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut r = s.http.post(format!("{}{path}", s.base)).form_pairs(form);
    if let Some(a) = app {
        r = r.basic_auth(&a.id, Some(&a.secret));
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Signs in through the forms and returns the code for `url` (a fresh PKCE pair is the caller's).
pub async fn code_for(b: &Browser, url: &str) -> String {
    let page = b.authorize(url, EMAIL, PASSWORD).await;
    let p = page.redirect_params();
    assert!(p.contains_key("code"), "no code: {p:?}");
    p["code"].clone()
}

/// A full code flow; returns the token response.
pub async fn tokens(s: &TestServer, app: &App, b: &Browser) -> Value {
    let (verifier, challenge) = pkce();
    let code = code_for(b, &authorize_url(s, app, &challenge, &[])).await;
    let (st, t) = exchange(s, app, &code, &verifier).await;
    assert_eq!(st, 200, "{t}");
    t
}

/// Exchanges a code with its PKCE verifier at the registered redirect URI.
pub async fn exchange(s: &TestServer, app: &App, code: &str, verifier: &str) -> (u16, Value) {
    token(
        s,
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Refreshes with `refresh_token` as `app`.
pub async fn refresh(s: &TestServer, app: &App, refresh_token: &str) -> (u16, Value) {
    token(
        s,
        app,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
    )
    .await
}

pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn error_of(page: &Page) -> BTreeMap<String, String> {
    assert_eq!(
        page.status, 303,
        "expected a redirect, got {}: {}",
        page.status, page.body
    );
    page.redirect_params()
}
