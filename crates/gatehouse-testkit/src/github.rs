//! A small real HTTP server speaking the shapes of GitHub's OAuth app flow and user API (GitHub
//! itself cannot run here): `/login/oauth/authorize` sends the browser straight back with a code
//! (the person "approved"), `/login/oauth/access_token` swaps it once for a token after checking
//! the client's secret and the PKCE verifier, and `/user` and `/user/emails` answer for that token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// Who "signs in" at the fake GitHub, and the emails it lists for them.
#[derive(Debug, Clone)]
pub struct GitHubUser {
    pub id: u64,
    pub login: String,
    /// `(email, primary, verified)`.
    pub emails: Vec<(String, bool, bool)>,
}

#[derive(Default)]
struct Fake {
    client_id: String,
    client_secret: String,
    user: Mutex<Option<GitHubUser>>,
    /// code → (PKCE challenge, redirect_uri).
    codes: Mutex<HashMap<String, (String, String)>>,
    tokens: Mutex<Vec<String>>,
    next: Mutex<u64>,
}

/// The running fake.
pub struct FakeGitHub {
    /// `http://127.0.0.1:PORT`: both the web and the API URL.
    pub base: String,
    fake: Arc<Fake>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeGitHub {
    /// Starts the fake for the OAuth app `client_id`/`client_secret`.
    pub async fn start(client_id: &str, client_secret: &str) -> Self {
        let fake = Arc::new(Fake {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            ..Fake::default()
        });
        let app = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/user", get(user))
            .route("/user/emails", get(emails))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base, fake, task }
    }

    /// The person who approves the next authorization.
    pub fn sign_in_as(&self, user: GitHubUser) {
        *self.fake.user.lock().unwrap() = Some(user);
    }

    /// The access tokens handed out so far.
    pub fn tokens(&self) -> Vec<String> {
        self.fake.tokens.lock().unwrap().clone()
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn params(raw: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

async fn authorize(State(f): State<Arc<Fake>>, RawQuery(q): RawQuery) -> Response {
    let p = params(q.unwrap_or_default().as_bytes());
    if p.get("client_id") != Some(&f.client_id) || p.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let code = {
        let mut n = f.next.lock().unwrap();
        *n += 1;
        format!("code-{n}")
    };
    let redirect = p["redirect_uri"].clone();
    f.codes
        .lock()
        .unwrap()
        .insert(code.clone(), (p["code_challenge"].clone(), redirect.clone()));
    let back: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", &code)
        .append_pair("state", &p["state"])
        .finish();
    Redirect::to(&format!("{redirect}?{back}")).into_response()
}

/// GitHub answers errors with 200 and an `error` field.
async fn access_token(State(f): State<Arc<Fake>>, body: Bytes) -> Response {
    let p = params(&body);
    let refused = |e: &str| axum::Json(json!({"error": e})).into_response();
    if p.get("client_id") != Some(&f.client_id) || p.get("client_secret") != Some(&f.client_secret) {
        return refused("incorrect_client_credentials");
    }
    let Some((challenge, redirect)) = p.get("code").and_then(|c| f.codes.lock().unwrap().remove(c)) else {
        return refused("bad_verification_code");
    };
    let verifier = p.get("code_verifier").cloned().unwrap_or_default();
    if gatehouse_core::broker::s256_challenge(&verifier) != challenge || p.get("redirect_uri") != Some(&redirect) {
        return refused("bad_verification_code");
    }
    let token = format!("gho_fake{}", uuid::Uuid::new_v4().simple());
    f.tokens.lock().unwrap().push(token.clone());
    axum::Json(json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})).into_response()
}

/// The user the request's token was issued for.
fn authorized(f: &Fake, headers: &HeaderMap) -> Option<GitHubUser> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let known = f.tokens.lock().unwrap().iter().any(|t| t == token);
    f.user.lock().unwrap().clone().filter(|_| known)
}

fn bad_credentials() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"message": "Bad credentials"})),
    )
        .into_response()
}

async fn user(State(f): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    match authorized(&f, &headers) {
        Some(u) => {
            axum::Json(json!({"id": u.id, "login": u.login, "name": Value::Null, "email": Value::Null})).into_response()
        }
        None => bad_credentials(),
    }
}

async fn emails(State(f): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    let Some(u) = authorized(&f, &headers) else {
        return bad_credentials();
    };
    let list: Vec<Value> = u
        .emails
        .iter()
        .map(|(e, primary, verified)| json!({"email": e, "primary": primary, "verified": verified, "visibility": "private"}))
        .collect();
    axum::Json(list).into_response()
}
