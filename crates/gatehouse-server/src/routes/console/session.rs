//! Signing in to the console (SPEC §10): the console is an OAuth client of this server, the
//! official `gatehouse-console` client. A browser without a console session is sent through
//! `/oauth/authorize` (code + PKCE S256, `state`, `nonce`) and the ordinary `/login` page; the
//! callback redeems the code through the same core path as `/oauth/token`, verifies the ID token
//! and keeps the tokens in a sealed cookie (`HttpOnly`, `SameSite=Strict`). Every request then
//! acts as the person through the access token, exactly as a REST call would. Sign out ends the
//! console session and goes through RP-initiated logout.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::access::Principal;
use gatehouse_core::model::User;
use gatehouse_core::rng::{SystemRng, random_token};
use gatehouse_core::secret::Secret;
use gatehouse_core::service::oauth::{ClientCredentials, TokenParams};
use serde::{Deserialize, Serialize};

use super::layout::{self, Flash};
use crate::extract::{Form, Peer, is_form};
use crate::routes::web::{self, Browser, cookie, local_path, see_other};
use crate::state::AppState;

/// The console's client id (SPEC §4.7).
pub const CLIENT_ID: &str = "gatehouse-console";
/// The console session cookie: sealed tokens.
const SESSION: &str = "gh_console";
/// The sign-in in progress: sealed `state`, `nonce`, PKCE verifier and the page asked for.
const FLOW: &str = "gh_console_flow";
/// How long a sign-in may take.
const FLOW_SECS: i64 = 600;
const SCOPE: &str = "openid profile email gatehouse_api";

/// What the session cookie holds, sealed.
#[derive(Serialize, Deserialize)]
struct Tokens {
    access_token: String,
    id_token: String,
}

/// What the sign-in cookie holds, sealed.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
}

/// A `Set-Cookie` for a console cookie.
fn console_cookie(
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age: Option<i64>,
    secure: bool,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(secs) = max_age {
        c.push_str(&format!("; Max-Age={secs}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}/console/callback", state.gh.provider_config().issuer)
}

fn signed_out_uri(state: &AppState) -> String {
    format!("{}/console/signed-out", state.gh.provider_config().issuer)
}

/// The signed-in person: who they are to the core use cases, and their browser.
pub struct Console {
    pub who: Principal,
    pub user: User,
    pub browser: Browser,
    pub flash: Option<String>,
    tokens: Tokens,
}

impl FromRequestParts<Arc<AppState>> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let browser = Browser::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let tokens = cookie(&parts.headers, SESSION)
            .and_then(|c| state.gh.open_from_browser(SESSION, c))
            .and_then(|raw| serde_json::from_slice::<Tokens>(&raw).ok());
        let signed_in = match tokens {
            Some(t) => match state.gh.authenticate_user_token(&t.access_token).await {
                Ok(who) => state.gh.profile(&who).await.ok().map(|user| (who, user, t)),
                Err(_) => None,
            },
            None => None,
        };
        let Some((who, user, tokens)) = signed_in else {
            let asked = parts.uri.path_and_query().map_or("/console", |p| p.as_str());
            let next = if parts.method == Method::GET { asked } else { "/console" };
            return Err(start_sign_in(state, &browser, next));
        };
        let flash = Flash::read(&parts.headers);
        Ok(Self {
            who,
            user,
            browser,
            flash,
            tokens,
        })
    }
}

impl Console {
    /// A posted form carrying this browser's CSRF token, or the page refusing it (nothing changes).
    pub fn form(&self, state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Form, Box<Response>> {
        let form = Form::parse(body);
        if is_form(headers) && self.browser.check_csrf(state, &form) {
            Ok(form)
        } else {
            Err(Box::new(layout::message_page(
                self,
                state,
                StatusCode::FORBIDDEN,
                "The form expired",
                "The form was not sent from this console page, or it expired. Go back, reload the page and try again.",
            )))
        }
    }

    /// The CSRF token of this browser's forms.
    pub fn csrf(&self, state: &AppState) -> String {
        self.browser.csrf_token(state)
    }
}

/// Sends the browser to the authorization endpoint, remembering `next` for the way back.
fn start_sign_in(state: &AppState, browser: &Browser, next: &str) -> Response {
    let rng = SystemRng::default();
    let next = local_path(next)
        .filter(|p| p.starts_with("/console"))
        .unwrap_or("/console");
    let flow = Flow {
        state: random_token(&rng).into_secret(),
        nonce: random_token(&rng).into_secret(),
        verifier: random_token(&rng).into_secret(),
        next: next.to_owned(),
    };
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        flow.verifier.as_bytes(),
    ));
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri(state))
        .append_pair("scope", SCOPE)
        .append_pair("state", &flow.state)
        .append_pair("nonce", &flow.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let sealed = state
        .gh
        .seal_for_browser(FLOW, &serde_json::to_vec(&flow).unwrap_or_default());
    let mut res = see_other(&format!("/oauth/authorize?{query}"));
    res.headers_mut().append(
        header::SET_COOKIE,
        console_cookie(
            FLOW,
            &sealed,
            "/console/callback",
            "Lax",
            Some(FLOW_SECS),
            browser.secure,
        ),
    );
    browser.finish(res)
}

/// `GET /console/callback`: the authorization response.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    headers: HeaderMap,
    browser: Browser,
    RawQuery(query): RawQuery,
) -> Response {
    let q = Form::parse(query.unwrap_or_default().as_bytes());
    let flow = cookie(&headers, FLOW)
        .and_then(|c| state.gh.open_from_browser(FLOW, c))
        .and_then(|raw| serde_json::from_slice::<Flow>(&raw).ok());
    let fail = |status: StatusCode, message: &str| {
        let body = format!(
            "<p class=\"error\">{}</p><p><a href=\"/console\">Sign in to the console</a></p>",
            web::esc(message)
        );
        let mut res = web::page(status, "Signing in failed", &body);
        res.headers_mut()
            .append(header::SET_COOKIE, clear(FLOW, "/console/callback", &browser));
        browser.finish(res)
    };
    let Some(flow) = flow else {
        return fail(
            StatusCode::BAD_REQUEST,
            "This sign-in expired or was started in another browser.",
        );
    };
    let state_ok = q
        .get("state")
        .is_some_and(|s| gatehouse_core::secret::ct_eq(s.as_bytes(), flow.state.as_bytes()));
    if !state_ok {
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in answer does not belong to this browser's sign-in.",
        );
    }
    if let Some(error) = q.get("error") {
        let detail = q.get("error_description").unwrap_or(error);
        return fail(
            StatusCode::BAD_REQUEST,
            &format!("Gatehouse refused the sign-in: {detail}"),
        );
    }
    let Some(code) = q.get("code") else {
        return fail(StatusCode::BAD_REQUEST, "The sign-in answer has no code.");
    };
    let redeemed = async {
        let creds = ClientCredentials::None { id: CLIENT_ID.into() };
        let client = state.gh.authenticate_client(&creds, peer.0).await.ok()?;
        let params = TokenParams {
            grant_type: Some("authorization_code".into()),
            code: Some(Secret::new(code.to_owned())),
            redirect_uri: Some(redirect_uri(&state)),
            code_verifier: Some(Secret::new(flow.verifier.clone())),
            ..TokenParams::default()
        };
        let issued = state.gh.token(&client, params).await.ok()?;
        let id_token = issued.id_token?.expose_secret().to_owned();
        state.gh.verify_id_token(&id_token, CLIENT_ID, &flow.nonce)?;
        Some(Tokens {
            access_token: issued.access_token.expose_secret().to_owned(),
            id_token,
        })
    }
    .await;
    let Some(tokens) = redeemed else {
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in could not be completed; start again.",
        );
    };
    let sealed = state
        .gh
        .seal_for_browser(SESSION, &serde_json::to_vec(&tokens).unwrap_or_default());
    // A sign-in started from another site is one navigation for the browser: a `SameSite=Strict`
    // cookie set in it is not sent on its next redirect, so that hop is made from this page.
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    let mut res = if cross_site {
        layout::continue_page(&flow.next)
    } else {
        see_other(&flow.next)
    };
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        console_cookie(SESSION, &sealed, "/console", "Strict", None, browser.secure),
    );
    h.append(header::SET_COOKIE, clear(FLOW, "/console/callback", &browser));
    browser.finish(res)
}

fn clear(name: &str, path: &str, browser: &Browser) -> HeaderValue {
    console_cookie(name, "", path, "Strict", Some(0), browser.secure)
}

/// `POST /console/sign-out`: ends the console session (its token is revoked) and asks Gatehouse
/// to end the sign-in session too (RP-initiated logout, back to `/console/signed-out`).
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    console: Console,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(res) = console.form(&state, &headers, &body) {
        return *res;
    }
    if let Ok(Some(client)) = state.gh.enabled_client(CLIENT_ID).await
        && let Err(e) = state.gh.revoke_token(&client, &console.tokens.access_token).await
    {
        tracing::warn!(error = %e, "revoking the console's access token failed");
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", &console.tokens.id_token)
        .append_pair("post_logout_redirect_uri", &signed_out_uri(&state))
        .finish();
    let mut res = see_other(&format!("/oauth/logout?{query}"));
    res.headers_mut()
        .append(header::SET_COOKIE, clear(SESSION, "/console", &console.browser));
    console.browser.finish(res)
}

/// `GET /console/signed-out`: where RP-initiated logout returns.
pub async fn signed_out(browser: Browser) -> Response {
    let mut res = web::page(
        StatusCode::OK,
        "Signed out",
        "<p>You are signed out of the Gatehouse console.</p><p><a href=\"/console\">Sign in again</a></p>",
    );
    res.headers_mut()
        .append(header::SET_COOKIE, clear(SESSION, "/console", &browser));
    browser.finish(res)
}
