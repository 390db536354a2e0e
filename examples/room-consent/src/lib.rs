//! A participant's consent page for the room secrets broker (SPEC §7).
//!
//! An agent in a room asks Gatehouse for a person's access token at a third-party provider;
//! Gatehouse pushes a consent prompt to that person's UI (SPEC §7.3). This example is that UI:
//!
//! 1. Its backend joins the room as the person, with a participant token it mints with the
//!    project's API key ([`room`]), and keeps every prompt that arrives ([`prompts`]).
//! 2. `GET /` lists the open prompts: who asks, which provider and client, which scopes, until
//!    when. "Allow" (`GET /prompts/{n}/allow`) redirects to the provider's authorization endpoint
//!    with the prompt's `state` and PKCE challenge; "Reject" (`POST /prompts/{n}/reject`) answers
//!    `secrets.reject_oauth_authorization` at once.
//! 3. `GET /callback` is where the provider sends the person back: the prompt is found by its
//!    `state`, and the code (with `iss` and `state`, which Gatehouse checks) goes to
//!    `secrets.provide_oauth_authorization`; a refusal at the provider (`error=access_denied`)
//!    goes to `secrets.reject_oauth_authorization`.
//!
//! Gatehouse holds the PKCE verifier and exchanges the code itself; the app never sees a token.
//! The page serves one person: anyone who can reach its address acts as them, so it listens on
//! loopback by default. Its links and forms that change something carry a per-process random
//! token, so another site cannot make the person's browser answer a prompt (CSRF).
//!
//! [`start`] joins the room and returns the router with the task holding the connection; the
//! binary and the integration test both serve them.

pub mod html;
pub mod prompts;
pub mod room;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatehouse_types::{ProvideOAuthAuthorization, RejectOAuthAuthorization};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::task::JoinHandle;

use prompts::{Pending, Prompts};
use room::Room;

/// The `error` sent when the person rejects a prompt on this page (RFC 6749 §4.1.2.1's code for a
/// refusal by the resource owner).
const REJECTED_HERE: &str = "access_denied";
/// Longest `error` Gatehouse takes in a rejection (SPEC §7.1).
const MAX_ERROR_LEN: usize = 200;

/// What the example needs to know.
#[derive(Clone)]
pub struct Settings {
    /// Gatehouse's URL (`http://127.0.0.1:8080`).
    pub gatehouse_url: String,
    /// The project whose room this is.
    pub project_id: uuid::Uuid,
    /// An API key of that project; it mints the app's participant tokens.
    pub api_key: String,
    /// The room to join.
    pub room: String,
    /// The identity to join as: the person whose consent the agents ask for.
    pub identity: String,
    /// Where this app is reached (`http://127.0.0.1:3001`). Prompts must name
    /// `{public_url}/callback` as their `redirect_uri`, registered at the provider.
    pub public_url: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("gatehouse_url", &self.gatehouse_url)
            .field("project_id", &self.project_id)
            .field("room", &self.room)
            .field("identity", &self.identity)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

struct App {
    room_name: String,
    identity: String,
    callback: String,
    /// Carried by the Allow links and Reject forms; random per process.
    csrf: String,
    prompts: Arc<Mutex<Prompts>>,
    room: Room,
}

/// Joins the room (failing here when a setting is wrong) and returns the app's router with the
/// task that holds the room connection from then on, joining again when it drops. The task ends
/// when the router is dropped.
pub async fn start(settings: Settings) -> anyhow::Result<(Router, JoinHandle<()>)> {
    let prompts = Arc::new(Mutex::new(Prompts::default()));
    let (room, task) = room::join(&settings, prompts.clone()).await?;
    let app = Arc::new(App {
        room_name: settings.room,
        identity: settings.identity,
        callback: format!("{}/callback", settings.public_url.trim_end_matches('/')),
        csrf: format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()),
        prompts,
        room,
    });
    let router = Router::new()
        .route("/", get(index))
        .route("/prompts/{n}/allow", get(allow))
        .route("/prompts/{n}/reject", post(reject))
        .route("/callback", get(callback))
        .with_state(app);
    Ok((router, task))
}

impl App {
    fn seat(&self) -> html::Seat<'_> {
        html::Seat {
            room: &self.room_name,
            identity: &self.identity,
            callback: &self.callback,
            csrf: &self.csrf,
        }
    }

    fn prompts(&self) -> std::sync::MutexGuard<'_, Prompts> {
        self.prompts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a request carries this process's CSRF token (compared in constant time).
    fn csrf_ok(&self, given: Option<&str>) -> bool {
        let (a, b) = (self.csrf.as_bytes(), given.unwrap_or_default().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// `GET /`: the open prompts.
async fn index(State(app): State<Arc<App>>) -> Response {
    let now = OffsetDateTime::now_utc();
    let open = app.prompts().open(now);
    page(StatusCode::OK, html::index(app.seat(), &open, now))
}

#[derive(Debug, Deserialize)]
struct CsrfQuery {
    csrf: Option<String>,
}

/// `GET /prompts/{n}/allow`: sends the person to the provider's authorization endpoint.
async fn allow(State(app): State<Arc<App>>, Path(n): Path<u64>, Query(query): Query<CsrfQuery>) -> Response {
    if !app.csrf_ok(query.csrf.as_deref()) {
        return stale_link();
    }
    let Some(pending) = app.prompts().get(n, OffsetDateTime::now_utc()) else {
        return gone(n);
    };
    let request = &pending.prompt.request;
    if request.redirect_uri != app.callback {
        return notice(
            StatusCode::CONFLICT,
            "This request cannot be allowed here",
            &[format!(
                "The provider would send the answer to {}, not to this app ({}). Reject it, or ask for it again with this app's callback as redirect_uri.",
                request.redirect_uri, app.callback
            )],
        );
    }
    match provider_url(&pending) {
        Ok(url) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            match HeaderValue::from_str(url.as_str()) {
                Ok(location) => {
                    response.headers_mut().insert(header::LOCATION, location);
                    harden(response)
                }
                Err(_) => notice(
                    StatusCode::BAD_GATEWAY,
                    "The provider's address is unusable",
                    &[format!("{url} cannot be sent as a redirect.")],
                ),
            }
        }
        Err(e) => notice(
            StatusCode::BAD_GATEWAY,
            "The provider's address is unusable",
            &[format!("{e:#}")],
        ),
    }
}

/// The authorization request of RFC 6749 §4.1.1, with the PKCE challenge of RFC 7636 §4.3 that
/// Gatehouse made (it keeps the verifier).
fn provider_url(pending: &Pending) -> anyhow::Result<url::Url> {
    let request = &pending.prompt.request;
    let mut url = url::Url::parse(&request.authorization_endpoint)
        .map_err(|e| anyhow::anyhow!("the authorization endpoint {:?}: {e}", request.authorization_endpoint))?;
    if !matches!(url.scheme(), "https" | "http") {
        anyhow::bail!(
            "the authorization endpoint {} is not an http(s) URL",
            request.authorization_endpoint
        );
    }
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &request.client_id)
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("state", &pending.prompt.state);
        if !request.scopes.is_empty() {
            query.append_pair("scope", &request.scopes.join(" "));
        }
        if let Some(challenge) = &pending.prompt.challenge {
            query
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    Ok(url)
}

/// `POST /prompts/{n}/reject` (a form with the CSRF token): rejects the prompt.
async fn reject(State(app): State<Arc<App>>, Path(n): Path<u64>, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    if !app.csrf_ok(form.get("csrf").map(String::as_str)) {
        return stale_link();
    }
    let Some(pending) = app.prompts().take(n, OffsetDateTime::now_utc()) else {
        return gone(n);
    };
    answer(
        &app,
        pending,
        Reply::Reject {
            error: REJECTED_HERE.into(),
            why: "You rejected the request.".into(),
        },
    )
    .await
}

/// The authorization response (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207's `iss`).
#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /callback`: the provider sends the person back here; the prompt is answered.
async fn callback(State(app): State<Arc<App>>, Query(query): Query<Callback>) -> Response {
    let Some(state) = query.state else {
        return notice(
            StatusCode::BAD_REQUEST,
            "Not an answer to a request",
            &["The provider's redirect carries no state.".into()],
        );
    };
    let reply = match (query.error, query.code) {
        (Some(error), _) => {
            let mut why = format!("The provider answered {error}");
            if let Some(description) = query.error_description.filter(|d| !d.is_empty()) {
                why.push_str(": ");
                why.push_str(&description);
            }
            why.push('.');
            Reply::Reject {
                error: provider_error(&error),
                why,
            }
        }
        (None, Some(code)) => Reply::Provide {
            code,
            iss: query.iss,
            state: state.clone(),
        },
        (None, None) => {
            return notice(
                StatusCode::BAD_REQUEST,
                "Not an answer to a request",
                &["The provider's redirect carries neither a code nor an error.".into()],
            );
        }
    };
    let Some(pending) = app.prompts().take_by_state(&state, OffsetDateTime::now_utc()) else {
        return notice(
            StatusCode::NOT_FOUND,
            "No open request matches",
            &["It was answered already, it expired, or it did not come from this room.".into()],
        );
    };
    answer(&app, pending, reply).await
}

/// How a prompt is answered.
enum Reply {
    Provide {
        code: String,
        iss: Option<String>,
        state: String,
    },
    Reject {
        error: String,
        /// Said on the page.
        why: String,
    },
}

/// Sends the answer on the room channel, prints it, and shows the outcome.
async fn answer(app: &App, pending: Pending, reply: Reply) -> Response {
    let Pending { n, prompt, .. } = pending;
    let (request_id, who) = (prompt.request_id, prompt.requested_by.name);
    let provider = provider_host(&prompt.request.authorization_endpoint);
    let (op, body, answer, error, title, text) = match reply {
        Reply::Provide { code, iss, state } => (
            "secrets.provide_oauth_authorization",
            serde_json::to_value(ProvideOAuthAuthorization {
                request_id,
                code: code.into(),
                iss,
                state: Some(state),
            }),
            "provide",
            None,
            "Access allowed",
            format!("{who} now has access to your account at {provider}."),
        ),
        Reply::Reject { error, why } => (
            "secrets.reject_oauth_authorization",
            serde_json::to_value(RejectOAuthAuthorization {
                request_id,
                error: error.clone(),
            }),
            "reject",
            Some(error),
            "Request rejected",
            format!("{why} {who} gets no access to {provider}."),
        ),
    };
    let outcome = match body {
        Ok(body) => app.room.call(op, body).await,
        Err(e) => Err(e.into()),
    };
    let failure = outcome.err().map(|e| format!("{e:#}"));
    print_line(&Line::Answer {
        prompt: n,
        answer,
        error: error.as_deref(),
        ok: failure.is_none(),
        message: failure.as_deref(),
    });
    match failure {
        None => notice(StatusCode::OK, title, &[text]),
        Some(message) => notice(StatusCode::BAD_GATEWAY, "The answer did not go through", &[message]),
    }
}

/// The provider's `error` as a rejection's reason: its RFC 6749 §5.2 characters only, at most
/// [`MAX_ERROR_LEN`] of them, `access_denied` when nothing is left.
fn provider_error(error: &str) -> String {
    let clean: String = error
        .chars()
        .filter(|c| matches!(c, ' ' | '!' | '#'..='[' | ']'..='~'))
        .take(MAX_ERROR_LEN)
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        REJECTED_HERE.to_owned()
    } else {
        clean.to_owned()
    }
}

/// `host[:port]` of a provider's endpoint, the way the page names the provider.
pub fn provider_host(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => endpoint.to_owned(),
        },
        Err(_) => endpoint.to_owned(),
    }
}

/// One line of standard output: what happened, never a token, code or state.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Line<'a> {
    /// The app joined the room (at start, and again after a lost connection).
    Joined {
        room: &'a str,
        identity: &'a str,
        participant_id: &'a str,
    },
    /// A consent prompt arrived and is listed as number `prompt`.
    Prompt {
        prompt: u64,
        requested_by: &'a str,
        provider: String,
        client_id: &'a str,
        scopes: &'a [String],
        expires_at: &'a str,
    },
    /// The person answered prompt `prompt`; `ok` says whether Gatehouse took the answer.
    Answer {
        prompt: u64,
        answer: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<&'a str>,
    },
}

/// Prints `line` as one JSON line.
pub(crate) fn print_line(line: &Line<'_>) {
    if let Ok(text) = serde_json::to_string(line) {
        println!("{text}");
    }
}

fn stale_link() -> Response {
    notice(
        StatusCode::FORBIDDEN,
        "This link is not from this page",
        &["Open the list of requests and choose again.".into()],
    )
}

fn gone(n: u64) -> Response {
    notice(
        StatusCode::NOT_FOUND,
        "No such request",
        &[format!("Request {n} was answered already or has expired.")],
    )
}

fn notice(status: StatusCode, title: &str, lines: &[String]) -> Response {
    page(status, html::notice(title, lines))
}

fn page(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    harden(response)
}

/// Headers for every answer: no framing (clickjacking), no scripts, forms only to this app, and
/// no `Referer` carrying the page's links to the provider.
fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use gatehouse_types::{ConsentPrompt, ConsentRequest, Requester};

    use super::*;

    fn pending(endpoint: &str, challenge: Option<&str>) -> Pending {
        Pending {
            n: 1,
            prompt: ConsentPrompt {
                request_id: "r".into(),
                requested_by: Requester {
                    participant_id: None,
                    name: "agent".into(),
                },
                request: ConsentRequest {
                    client_id: "the client".into(),
                    authorization_endpoint: endpoint.into(),
                    scopes: vec!["openid".into(), "email".into()],
                    redirect_uri: "http://127.0.0.1:3001/callback".into(),
                },
                challenge: challenge.map(str::to_owned),
                state: "st&te".into(),
                expires_at: "2026-01-01T10:05:00Z".into(),
            },
            expires: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn params(url: &url::Url) -> HashMap<String, String> {
        url.query_pairs().into_owned().collect()
    }

    #[test]
    fn the_provider_url_carries_the_prompt_and_its_challenge() {
        let url = provider_url(&pending("https://accounts.example.com/auth?hd=x", Some("ch"))).expect("a URL");
        let p = params(&url);
        assert_eq!(url.host_str(), Some("accounts.example.com"));
        assert_eq!(p["hd"], "x", "the endpoint's own query stays");
        assert_eq!(p["response_type"], "code");
        assert_eq!(p["client_id"], "the client");
        assert_eq!(p["redirect_uri"], "http://127.0.0.1:3001/callback");
        assert_eq!(p["scope"], "openid email");
        assert_eq!(p["state"], "st&te");
        assert_eq!(p["code_challenge"], "ch");
        assert_eq!(p["code_challenge_method"], "S256");
    }

    #[test]
    fn without_a_challenge_no_pkce_parameters_are_sent() {
        let url = provider_url(&pending("https://accounts.example.com/auth", None)).expect("a URL");
        let p = params(&url);
        assert!(!p.contains_key("code_challenge") && !p.contains_key("code_challenge_method"));
    }

    #[test]
    fn only_web_addresses_are_followed() {
        assert!(provider_url(&pending("javascript:alert(1)", None)).is_err());
        assert!(provider_url(&pending("not a url", None)).is_err());
    }

    #[test]
    fn a_provider_error_is_cleaned_before_it_is_passed_on() {
        assert_eq!(provider_error("access_denied"), "access_denied");
        assert_eq!(provider_error("bad\"\\\u{1}é"), "bad");
        assert_eq!(provider_error("\u{7}"), "access_denied");
        assert_eq!(provider_error(&"x".repeat(500)).len(), MAX_ERROR_LEN);
    }

    #[test]
    fn the_provider_is_named_by_host_and_port() {
        assert_eq!(
            provider_host("https://accounts.example.com/o/auth"),
            "accounts.example.com"
        );
        assert_eq!(provider_host("http://127.0.0.1:8081/oauth/authorize"), "127.0.0.1:8081");
        assert_eq!(provider_host("nonsense"), "nonsense");
    }
}
