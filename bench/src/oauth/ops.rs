//! What each connection repeats in the authorization-server scenarios.

use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};

use super::{Fixture, LoginForm, form_body, pkce_pair};
use crate::load::{Conn, Operation};

/// The same request every time: client credentials, token exchange, introspection, the ceiling.
#[derive(Clone)]
pub struct Repeat {
    method: Method,
    path: Arc<str>,
    headers: Arc<[(HeaderName, HeaderValue)]>,
    body: Bytes,
    /// Part of every good answer's body.
    expect: &'static [u8],
}

impl Repeat {
    /// `GET path`, answered 200 with `expect` in the body.
    pub fn get(path: &str, expect: &'static [u8]) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            headers: Vec::new().into(),
            body: Bytes::new(),
            expect,
        }
    }

    /// A post of `body` as `content_type`, with `authorization` when given, answered 200 with
    /// `expect` in the body.
    fn post(
        path: &str,
        authorization: Option<HeaderValue>,
        content_type: &'static str,
        body: String,
        expect: &'static [u8],
    ) -> Self {
        let mut headers = vec![(header::CONTENT_TYPE, HeaderValue::from_static(content_type))];
        headers.extend(authorization.map(|a| (header::AUTHORIZATION, a)));
        Self {
            method: Method::POST,
            path: path.into(),
            headers: headers.into(),
            body: Bytes::from(body),
            expect,
        }
    }

    fn form(path: &str, authorization: HeaderValue, body: String, expect: &'static [u8]) -> Self {
        let form = "application/x-www-form-urlencoded";
        Self::post(path, Some(authorization), form, body, expect)
    }

    /// Minting a participant token for `project` with its API key (`Bearer ma-…`).
    pub fn mint_participant_token(key: HeaderValue, project: &str) -> Self {
        let path = format!("/accounts/projects/{project}/participant-tokens");
        let body = r#"{"name":"alice","room_name":"room-1","api":{"livekit":{},"llm":{}}}"#;
        Self::post(&path, Some(key), "application/json", body.into(), b"\"token\"")
    }

    /// A JSON `POST` as `authorization` (a participant token, for the room endpoints).
    pub fn json(path: &str, authorization: HeaderValue, body: String, expect: &'static [u8]) -> Self {
        Self::post(path, Some(authorization), "application/json", body, expect)
    }

    /// Validating a participant token (no credential).
    pub fn validate_participant_token(token: &str) -> Self {
        let body = serde_json::json!({ "token": token }).to_string();
        Self::post(
            "/api/participant-token/validate",
            None,
            "application/json",
            body,
            b"\"grants\"",
        )
    }

    /// `grant_type=client_credentials` with `client_secret_basic`.
    pub fn client_credentials(basic: &HeaderValue) -> Self {
        Self::client_credentials_to("/oauth/token", basic)
    }

    /// The same request to `path`.
    pub fn client_credentials_to(path: &str, basic: &HeaderValue) -> Self {
        Self::form(
            path,
            basic.clone(),
            "grant_type=client_credentials".into(),
            b"\"access_token\"",
        )
    }

    /// `grant_type=client_credentials` for the API resource `resource` (RFC 8707).
    pub fn client_credentials_for(basic: &HeaderValue, resource: &str) -> Self {
        let body = form_body(&[("grant_type", "client_credentials"), ("resource", resource)]);
        Self::form("/oauth/token", basic.clone(), body, b"\"access_token\"")
    }

    /// A token exchange (RFC 8693) with `body`, by the client of `basic`.
    pub fn token_exchange(basic: &HeaderValue, body: String) -> Self {
        Self::form("/oauth/token", basic.clone(), body, b"\"issued_token_type\"")
    }

    /// Introspection of a valid `token` by `authorization` (a Bearer API key or a client's Basic).
    pub fn introspection(authorization: HeaderValue, token: &str) -> Self {
        Self::form(
            "/oauth/introspect",
            authorization,
            form_body(&[("token", token)]),
            b"\"active\":true",
        )
    }
}

impl Operation for Repeat {
    async fn run(&mut self, conn: &mut Conn) -> anyhow::Result<()> {
        let mut b = conn.request(self.method.clone(), &self.path);
        for (k, v) in self.headers.iter() {
            b = b.header(k, v);
        }
        let reply = conn.send(b.body(Full::new(self.body.clone()))?).await?;
        let reply = reply.expect(StatusCode::OK, &self.path)?;
        anyhow::ensure!(reply.body_contains(self.expect), "unexpected answer: {:?}", reply.body);
        Ok(())
    }
}

/// One refresh-token chain: each request presents the token the previous answer returned.
pub struct Refresh {
    basic: HeaderValue,
    token: String,
}

impl Refresh {
    /// A chain starting at `token`.
    pub fn new(basic: &HeaderValue, token: &str) -> Self {
        Self {
            basic: basic.clone(),
            token: token.to_owned(),
        }
    }
}

impl Operation for Refresh {
    async fn run(&mut self, conn: &mut Conn) -> anyhow::Result<()> {
        let body = form_body(&[("grant_type", "refresh_token"), ("refresh_token", &self.token)]);
        let req = conn.form("/oauth/token", &[(header::AUTHORIZATION, &self.basic)], body)?;
        let reply = conn.send(req).await?.expect(StatusCode::OK, "refresh")?;
        let v: serde_json::Value = serde_json::from_slice(&reply.body)?;
        self.token = v["refresh_token"].as_str().context("no refresh_token")?.to_owned();
        Ok(())
    }
}

/// A complete code flow of a signed-in browser that consented before: authorize with a fresh
/// PKCE challenge (303 with the code), then the exchange with the verifier.
pub struct CodeFlow {
    fixture: Arc<Fixture>,
    basic: HeaderValue,
    cookie: HeaderValue,
}

impl CodeFlow {
    /// Flows of the browser holding these cookies.
    pub fn new(
        fixture: &Arc<Fixture>,
        basic: &HeaderValue,
        session_cookie: &str,
        csrf_cookie: &str,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            fixture: fixture.clone(),
            basic: basic.clone(),
            cookie: HeaderValue::from_str(&format!("gh_session={session_cookie}; gh_csrf={csrf_cookie}"))?,
        })
    }
}

impl Operation for CodeFlow {
    fn requests(&self) -> u64 {
        2
    }

    async fn run(&mut self, conn: &mut Conn) -> anyhow::Result<()> {
        let (verifier, challenge) = pkce_pair();
        let req = conn
            .request(Method::GET, &self.fixture.authorize_path(&challenge))
            .header(header::COOKIE, &self.cookie)
            .body(Full::default())?;
        let reply = conn.send(req).await?.expect(StatusCode::SEE_OTHER, "authorize")?;
        let location = reply.header(header::LOCATION).context("no Location")?;
        let query = location.split_once('?').map_or("", |(_, q)| q);
        let code = url::form_urlencoded::parse(query.as_bytes())
            .find_map(|(k, v)| (k == "code").then(|| v.into_owned()))
            .with_context(|| format!("no code in {location}"))?;
        let body = Fixture::code_exchange_body(&code, &verifier);
        let req = conn.form("/oauth/token", &[(header::AUTHORIZATION, &self.basic)], body)?;
        let reply = conn.send(req).await?.expect(StatusCode::OK, "code exchange")?;
        anyhow::ensure!(reply.body_contains(b"\"id_token\""), "no ID token: {:?}", reply.body);
        Ok(())
    }
}

/// A sign-up through the `/signup` form, a new address each time: the password is hashed
/// (Argon2id on the same bounded pool as sign-ins) whether the mail is then sent or the client
/// address has reached its sending limit (`429`).
pub struct SignUp {
    cookie: HeaderValue,
    csrf: String,
    /// Tells this connection's addresses apart from the other connections'.
    tag: String,
    count: u64,
}

impl SignUp {
    /// Sign-ups through `form`'s CSRF pair; `tag` makes the addresses unique to the connection.
    pub fn new(form: &LoginForm, tag: &str) -> anyhow::Result<Self> {
        Ok(Self {
            cookie: HeaderValue::from_str(&format!("gh_csrf={}", form.csrf_cookie))?,
            csrf: form.csrf.clone(),
            tag: tag.to_owned(),
            count: 0,
        })
    }
}

impl Operation for SignUp {
    async fn run(&mut self, conn: &mut Conn) -> anyhow::Result<()> {
        self.count += 1;
        let email = format!("storm-{}-{}@bench.example", self.tag, self.count);
        let body = form_body(&[
            ("csrf", &self.csrf),
            ("email", &email),
            ("name", "Storm"),
            ("password", "correct horse battery staple storm"),
        ]);
        let req = conn.form("/signup", &[(header::COOKIE, &self.cookie)], body)?;
        let reply = conn.send(req).await?;
        anyhow::ensure!(
            matches!(reply.status, StatusCode::OK | StatusCode::TOO_MANY_REQUESTS),
            "sign-up answered {}",
            reply.status
        );
        Ok(())
    }
}

/// A password sign-in through the login form (Argon2id on the server's bounded pool).
pub struct Login {
    cookie: HeaderValue,
    body: String,
}

impl Login {
    /// Sign-ins of the fixture's user with `form`.
    pub fn new(fixture: &Fixture, form: &LoginForm) -> anyhow::Result<Self> {
        Ok(Self {
            cookie: HeaderValue::from_str(&format!("gh_csrf={}", form.csrf_cookie))?,
            body: form_body(&[
                ("csrf", &form.csrf),
                ("email", &fixture.email),
                ("password", &fixture.password),
                ("next", "/account"),
            ]),
        })
    }
}

impl Operation for Login {
    async fn run(&mut self, conn: &mut Conn) -> anyhow::Result<()> {
        let req = conn.form("/login", &[(header::COOKIE, &self.cookie)], self.body.clone())?;
        let reply = conn.send(req).await?.expect(StatusCode::SEE_OTHER, "login")?;
        anyhow::ensure!(
            reply
                .header(header::SET_COOKIE)
                .is_some_and(|c| c.starts_with("gh_session=")),
            "no session cookie"
        );
        Ok(())
    }
}
