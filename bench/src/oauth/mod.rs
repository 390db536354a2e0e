//! Setting up the authorization-server scenarios through the real server, as its users would:
//! a project, its API key and a confidential client over REST; a user signed in and consenting
//! through the sign-in pages; refresh-token chains from real code flows. None of this is timed;
//! [`ops`] holds what is.

pub mod ops;

use anyhow::Context as _;
use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gatehouse_core::clients::TOKEN_EXCHANGE;
use gatehouse_testkit::Browser;
use serde_json::{Value, json};

use crate::server::{Gatehouse, post};

/// The registered redirect URI (nothing listens there: the benchmark reads the redirect).
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
/// Scopes of the code flows: an ID token and a refresh token each time.
pub const FLOW_SCOPE: &str = "openid offline_access";
/// The project's API resource (RFC 8707), with its one scope.
pub const RESOURCE: &str = "https://api.bench.example";
const RESOURCE_SCOPE: &str = "bench.read";
/// The subject token type of the token-exchange scenario (RFC 8693 §3).
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// What the scenarios need from the server.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub base: String,
    pub project_id: String,
    /// A project API key (`Authorization: Bearer …`).
    pub project_key: String,
    pub client_id: String,
    /// `Basic …` for `client_secret_basic`.
    pub basic: String,
    /// `Basic …` of a second client, allowed token exchange for [`RESOURCE`].
    pub exchange_basic: String,
    pub email: String,
    pub password: String,
}

/// One signed-in browser: its cookies, and a refresh token from a code flow it completed.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session_cookie: String,
    pub csrf_cookie: String,
    pub refresh_token: String,
}

/// A sign-in form as a browser holds it: the CSRF cookie and the form's matching field.
#[derive(Debug, Clone)]
pub struct LoginForm {
    pub csrf_cookie: String,
    pub csrf: String,
}

/// A fresh PKCE pair `(verifier, S256 challenge)` (RFC 7636 §4.1–4.2).
pub fn pkce_pair() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

/// A form-urlencoded body from pairs.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Fixture {
    /// Creates a project, its API key, an API resource, a confidential client with every grant
    /// but token exchange, one with token exchange for the resource, and a user.
    pub async fn create(gh: &Gatehouse) -> anyhow::Result<Self> {
        let http = reqwest::Client::new();
        let base = gh.base.clone();
        let admin = &gh.bootstrap.api_key;
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let project = post(
            &http,
            &base,
            admin,
            "/accounts/projects",
            json!({ "name": format!("Bench {tag}") }),
        )
        .await?;
        let project_id = str_at(&project, "/id")?;
        let key = post(
            &http,
            &base,
            admin,
            &format!("/accounts/projects/{project_id}/api-keys"),
            json!({ "name": "bench" }),
        )
        .await?;
        post(
            &http,
            &base,
            admin,
            &format!("/accounts/projects/{project_id}/resources"),
            json!({
                "identifier": RESOURCE,
                "name": "Bench API",
                "scopes": [{ "name": RESOURCE_SCOPE, "description": "Read the bench API" }],
            }),
        )
        .await?;
        let clients = format!("/accounts/projects/{project_id}/oauth/clients");
        let client = post(
            &http,
            &base,
            admin,
            &clients,
            json!({
                "name": "bench",
                "redirect_uris": [REDIRECT_URI],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "scope": format!("openid profile email offline_access gatehouse_api {RESOURCE_SCOPE}"),
            }),
        )
        .await?;
        let client_id = str_at(&client, "/client/client_id")?;
        let basic = basic_of(&client)?;
        let exchanger = json!({
            "name": "bench exchange",
            "grant_types": [TOKEN_EXCHANGE],
            "response_types": [],
            "token_exchange_resources": [RESOURCE],
        });
        let exchange_basic = basic_of(&post(&http, &base, admin, &clients, exchanger).await?)?;
        let email = format!("bench-{tag}@example.com");
        let password = "bench-user-password-0001".to_owned();
        post(
            &http,
            &base,
            admin,
            "/accounts/users",
            json!({ "email": email, "name": "Bench User", "password": password }),
        )
        .await?;
        Ok(Self {
            base,
            project_id,
            project_key: str_at(&key, "/value")?,
            client_id,
            basic,
            exchange_basic,
            email,
            password,
        })
    }

    /// `/oauth/authorize?…` of a code flow with PKCE `challenge`.
    pub fn authorize_path(&self, challenge: &str) -> String {
        self.authorize_path_for(challenge, FLOW_SCOPE)
    }

    fn authorize_path_for(&self, challenge: &str, scope: &str) -> String {
        let q = form_body(&[
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", scope),
            ("state", "s"),
            ("nonce", "n"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]);
        format!("/oauth/authorize?{q}")
    }

    /// The token-request body redeeming `code`.
    pub fn code_exchange_body(code: &str, verifier: &str) -> String {
        form_body(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
    }

    /// `n` browsers, each signed in (the first also consents) and holding a refresh token from
    /// a code flow of its own.
    pub async fn signed_in(&self, n: usize) -> anyhow::Result<Vec<SignedIn>> {
        let http = reqwest::Client::new();
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let browser = Browser::new(&self.base);
            let tokens = self.code_flow(&http, &browser, FLOW_SCOPE).await?;
            out.push(SignedIn {
                session_cookie: browser.cookie("gh_session").context("no session cookie")?,
                csrf_cookie: browser.cookie("gh_csrf").context("no CSRF cookie")?,
                refresh_token: str_at(&tokens, "/refresh_token")?,
            });
        }
        Ok(out)
    }

    /// Signs `browser` in (consenting when asked) and redeems the code for `scope`: the tokens.
    async fn code_flow(&self, http: &reqwest::Client, browser: &Browser, scope: &str) -> anyhow::Result<Value> {
        let (verifier, challenge) = pkce_pair();
        let page = browser
            .authorize(&self.authorize_path_for(&challenge, scope), &self.email, &self.password)
            .await;
        anyhow::ensure!(
            page.location.is_some(),
            "no redirect after sign-in: {} {}",
            page.status,
            page.body
        );
        let code = page
            .redirect_params()
            .get("code")
            .cloned()
            .context("no code in the redirect")?;
        self.token(http, Self::code_exchange_body(&code, &verifier)).await
    }

    /// The user's access token from a code flow whose grant holds the resource's scope: the
    /// subject token of the token-exchange scenario.
    pub async fn exchange_subject(&self) -> anyhow::Result<String> {
        let scope = format!("openid {RESOURCE_SCOPE}");
        let tokens = self
            .code_flow(&reqwest::Client::new(), &Browser::new(&self.base), &scope)
            .await?;
        str_at(&tokens, "/access_token")
    }

    /// The body of a token exchange of `subject` for [`RESOURCE`] (RFC 8693 §2.1).
    pub fn exchange_body(subject: &str) -> String {
        form_body(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("resource", RESOURCE),
        ])
    }

    /// `n` sign-in forms as fresh browsers get them.
    pub async fn login_forms(&self, n: usize) -> anyhow::Result<Vec<LoginForm>> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let browser = Browser::new(&self.base);
            let page = browser.get("/login").await;
            let csrf = page
                .form()
                .fields
                .into_iter()
                .find_map(|(k, v)| (k == "csrf").then_some(v))
                .context("no csrf field on /login")?;
            out.push(LoginForm {
                csrf_cookie: browser.cookie("gh_csrf").context("no CSRF cookie")?,
                csrf,
            });
        }
        Ok(out)
    }

    /// A client-credentials access token.
    pub async fn client_token(&self) -> anyhow::Result<String> {
        let tokens = self
            .token(&reqwest::Client::new(), "grant_type=client_credentials".into())
            .await?;
        str_at(&tokens, "/access_token")
    }

    /// A participant token minted over REST with the project's API key.
    pub async fn participant_token(&self) -> anyhow::Result<String> {
        let path = format!("/accounts/projects/{}/participant-tokens", self.project_id);
        let body = serde_json::json!({ "name": "bench", "room_name": "room-1" });
        let t = post(&reqwest::Client::new(), &self.base, &self.project_key, &path, body).await?;
        str_at(&t, "/token")
    }

    async fn token(&self, http: &reqwest::Client, body: String) -> anyhow::Result<Value> {
        let res = http
            .post(format!("{}/oauth/token", self.base))
            .header("authorization", &self.basic)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        let status = res.status();
        let text = res.text().await?;
        anyhow::ensure!(status.is_success(), "token request: {status}: {text}");
        Ok(serde_json::from_str(&text)?)
    }
}

/// `Basic …` of a created client (RFC 6749 §2.3.1: both parts form-encoded before base64).
fn basic_of(created: &Value) -> anyhow::Result<String> {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let id = str_at(created, "/client/client_id")?;
    let secret = str_at(created, "/client/client_secret")?;
    Ok(format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(&id), enc(&secret)))
    ))
}

fn str_at(v: &Value, pointer: &str) -> anyhow::Result<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no {pointer} in {v}"))
}
