//! The seed flow of SPEC §5.5, as the backend of an app that signs its users in through
//! Gatehouse:
//!
//! 1. `GET /login` sends the browser to Gatehouse's `/oauth/authorize` with the authorization
//!    code flow, PKCE (`S256`), a `state` bound to the browser by a cookie, and a `nonce`.
//! 2. `GET /callback` checks the `state` (and the `iss` of RFC 9207), exchanges the code with the
//!    client secret and the PKCE verifier, verifies the ID token (signature against the JWKS,
//!    issuer, audience, expiry, nonce, `at_hash`), and reads the user's `sub` and `email`.
//! 3. The backend decides which room the user may enter ([`decision`]) and, when it is one,
//!    mints a participant token for that room with the project's API key (SPEC §6.3), named
//!    after the user's email. It answers with the decision, the room channel's URL and the
//!    token as JSON, and prints the same without the token.
//!
//! [`app`] builds the router; the binary and the integration test both serve it.

pub mod decision;
pub mod http;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_client::types::CreateParticipantToken;
use gatehouse_client::{Client, Credential};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse as _,
};
use serde::{Deserialize, Serialize};

pub use decision::{Decision, decide};
use http::Http;

/// Cookie that ties a sign-in's `state` to the browser that started it (RFC 6749 §10.12).
const STATE_COOKIE: &str = "seed_flow_state";
/// How long a started sign-in may take before its `state` is forgotten.
const PENDING_TTL: Duration = Duration::from_secs(600);

/// What the example needs to know.
#[derive(Clone)]
pub struct Settings {
    /// Gatehouse's public URL, its OpenID issuer (`http://127.0.0.1:8080`).
    pub issuer: String,
    /// The OAuth client registered in the project for this app.
    pub client_id: String,
    pub client_secret: String,
    /// Where this app is reached (`http://127.0.0.1:3000`); the redirect URI is
    /// `{public_url}/callback` and must be registered on the client.
    pub public_url: String,
    /// The project whose rooms the app admits users to.
    pub project_id: uuid::Uuid,
    /// An API key of that project; it mints the participant tokens.
    pub api_key: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("public_url", &self.public_url)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

/// The OIDC client after discovery: authorization endpoint known, token and userinfo endpoints
/// as the provider advertised them.
type OidcClient =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// A sign-in between `/login` and `/callback`.
struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    started: Instant,
}

struct App {
    oidc: OidcClient,
    /// The issuer as discovered; authorization responses must name it (RFC 9207).
    issuer: String,
    http: Http,
    /// Keyed by `state`; each entry is used at most once.
    pending: Mutex<HashMap<String, Pending>>,
    /// Gatehouse's REST API, authenticated with the project's API key.
    gatehouse: Client,
    project_id: uuid::Uuid,
}

/// What `/callback` answers: the decision and, when the user may enter a room, a participant
/// token for it and the room channel to use it on (SPEC §5.5 steps 4 and 5).
#[derive(Clone, Serialize)]
pub struct Admission {
    #[serde(flatten)]
    pub decision: Decision,
    /// The room channel's WebSocket URL (`ws://…/rooms/{room}`), when there is a room.
    pub room_url: Option<String>,
    /// A participant token for the room, named after the user's email, valid for an hour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("decision", &self.decision)
            .field("room_url", &self.room_url)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// What is printed of an [`Admission`]: everything but the token, which is a credential.
#[derive(Serialize)]
struct Printed<'a> {
    #[serde(flatten)]
    decision: &'a Decision,
    room_url: Option<&'a str>,
    token_minted: bool,
}

impl Admission {
    /// The JSON line printed for this admission, with `token_minted` in place of the token.
    pub fn log_line(&self) -> String {
        let printed = Printed {
            decision: &self.decision,
            room_url: self.room_url.as_deref(),
            token_minted: self.token.is_some(),
        };
        serde_json::to_string(&printed).unwrap_or_default()
    }
}

/// Discovers the provider at `settings.issuer` (OpenID Connect Discovery, with its JWKS) and
/// returns the app's router: `/login` and `/callback`.
pub async fn app(settings: Settings) -> anyhow::Result<Router> {
    let gatehouse = Client::new(&settings.issuer, Some(Credential::new(settings.api_key)))
        .context("the Gatehouse URL or the API key")?;
    let http = Http::new()?;
    let issuer = IssuerUrl::new(settings.issuer.trim_end_matches('/').to_owned()).context("the issuer URL")?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .with_context(|| format!("discovering the OpenID provider at {}", settings.issuer))?;
    let issuer = metadata.issuer().as_str().to_owned();
    let redirect = format!("{}/callback", settings.public_url.trim_end_matches('/'));
    let oidc = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id),
        Some(ClientSecret::new(settings.client_secret)),
    )
    .set_redirect_uri(RedirectUrl::new(redirect).context("the redirect URI")?);
    let state = Arc::new(App {
        oidc,
        issuer,
        http,
        pending: Mutex::default(),
        gatehouse,
        project_id: settings.project_id,
    });
    Ok(Router::new()
        .route("/login", get(login))
        .route("/callback", get(callback))
        .with_state(state))
}

/// `GET /login`: starts a sign-in and redirects to Gatehouse.
async fn login(State(app): State<Arc<App>>) -> Response {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = app
        .oidc
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    {
        let mut pending = app.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.started.elapsed() < PENDING_TTL);
        pending.insert(
            state.secret().clone(),
            Pending {
                verifier,
                nonce,
                started: Instant::now(),
            },
        );
    }
    let cookie = format!(
        "{STATE_COOKIE}={}; Path=/callback; Max-Age={}; HttpOnly; SameSite=Lax",
        state.secret(),
        PENDING_TTL.as_secs()
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    for (name, value) in [(header::LOCATION, url.as_str()), (header::SET_COOKIE, cookie.as_str())] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}

/// The authorization response (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207).
#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /callback`: finishes the sign-in and answers with the room decision and, when allowed,
/// a participant token for the room.
async fn callback(State(app): State<Arc<App>>, headers: HeaderMap, Query(query): Query<Callback>) -> Response {
    let decision = match finish(&app, &headers, query).await {
        Ok(decision) => decision,
        Err(error) => {
            let body = serde_json::json!({ "error": "sign_in_failed", "message": format!("{error:#}") });
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    match admit(&app, decision).await {
        Ok(admission) => {
            println!("{}", admission.log_line());
            let mut response = Json(admission).into_response();
            let clear = format!("{STATE_COOKIE}=; Path=/callback; Max-Age=0; HttpOnly; SameSite=Lax");
            if let Ok(value) = HeaderValue::from_str(&clear) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(error) => {
            let body = serde_json::json!({ "error": "participant_token_failed", "message": format!("{error:#}") });
            (StatusCode::BAD_GATEWAY, Json(body)).into_response()
        }
    }
}

/// Step 5 of SPEC §5.5: a participant token for the decided room, minted by Gatehouse with the
/// project's API key (`POST /accounts/projects/{project_id}/participant-tokens`). No room, no token.
async fn admit(app: &App, decision: Decision) -> anyhow::Result<Admission> {
    let (Some(room), true) = (decision.room.clone(), decision.allowed) else {
        return Ok(Admission {
            decision,
            room_url: None,
            token: None,
        });
    };
    let email = decision
        .email
        .clone()
        .ok_or_else(|| anyhow!("a room was decided without an email to name the participant"))?;
    let request = CreateParticipantToken {
        name: email,
        room_name: Some(room.clone()),
        role: Some("user".into()),
        ..CreateParticipantToken::default()
    };
    let token = app
        .gatehouse
        .mint_participant_token(app.project_id, &request)
        .await
        .context("minting the participant token")?
        .token;
    Ok(Admission {
        room_url: Some(room_url(&app.issuer, &room)),
        token: Some(token),
        decision,
    })
}

/// The room channel's URL under Gatehouse's issuer: `http` becomes `ws`, `https` becomes `wss`.
fn room_url(issuer: &str, room: &str) -> String {
    let base = issuer.trim_end_matches('/');
    let ws = match base.strip_prefix("http") {
        Some(rest) => format!("ws{rest}"),
        None => base.to_owned(),
    };
    format!("{ws}/rooms/{room}")
}

async fn finish(app: &App, headers: &HeaderMap, query: Callback) -> anyhow::Result<Decision> {
    if let Some(error) = query.error {
        let description = query.error_description.unwrap_or_default();
        return Err(anyhow!("Gatehouse answered {error}: {description}"));
    }
    let state = query.state.ok_or_else(|| anyhow!("the callback has no state"))?;
    if cookie(headers, STATE_COOKIE) != Some(state.as_str()) {
        return Err(anyhow!("the state does not belong to this browser (CSRF?)"));
    }
    let pending = app
        .pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&state)
        .filter(|p| p.started.elapsed() < PENDING_TTL)
        .ok_or_else(|| anyhow!("this sign-in is unknown, expired or already finished; start again at /login"))?;
    // RFC 9207: the response must come from the issuer the request went to (mix-up attacks).
    let issuer = app.issuer.as_str();
    if query.iss.as_deref().is_some_and(|iss| iss != issuer) {
        return Err(anyhow!("the response names another issuer than {issuer}"));
    }
    let code = query.code.ok_or_else(|| anyhow!("the callback has no code"))?;

    let tokens = app
        .oidc
        .exchange_code(AuthorizationCode::new(code))?
        .set_pkce_verifier(pending.verifier)
        .request_async(&app.http)
        .await
        .context("exchanging the code")?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| anyhow!("the token response has no ID token"))?;
    let verifier = app.oidc.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &pending.nonce)
        .context("verifying the ID token")?;
    if let Some(expected) = claims.access_token_hash() {
        let actual = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg()?,
            id_token.signing_key(&verifier)?,
        )?;
        if actual != *expected {
            return Err(anyhow!("the ID token's at_hash does not match the access token"));
        }
    }
    let email = claims.email().map(|e| e.as_str());
    let name = claims.name().and_then(|n| n.get(None)).map(|n| n.as_str());
    Ok(decide(claims.subject().as_str(), email, name))
}

/// The value of cookie `name` in the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_url_is_the_channel_under_the_issuer() {
        assert_eq!(
            room_url("http://127.0.0.1:8080", "acme"),
            "ws://127.0.0.1:8080/rooms/acme"
        );
        assert_eq!(
            room_url("https://gate.example/", "acme"),
            "wss://gate.example/rooms/acme"
        );
    }

    #[test]
    fn the_printed_line_says_a_token_was_minted_without_showing_it() {
        let admission = Admission {
            decision: decide("u1", Some("dana@acme.example"), None),
            room_url: Some("ws://127.0.0.1:8080/rooms/acme-example".into()),
            token: Some("eyJ.secret.token".into()),
        };
        let line = admission.log_line();
        assert!(!line.contains("secret"), "{line}");
        let line: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(line["token_minted"], true);
        assert_eq!(line["room"], "acme-example");
        assert!(line.get("token").is_none());
        assert!(!format!("{admission:?}").contains("secret"));
        let answer = serde_json::to_value(&admission).expect("JSON");
        assert_eq!(answer["token"], "eyJ.secret.token");
        assert_eq!(answer["room_url"], "ws://127.0.0.1:8080/rooms/acme-example");
    }
}
