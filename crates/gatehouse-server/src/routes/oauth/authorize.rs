//! `GET, POST /oauth/authorize` and the consent form (RFC 6749 §4.1.1–4.1.2, OIDC Core §3.1.2).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use gatehouse_core::oauth::scope::Scopes;
use gatehouse_core::oauth::{OAuthError, OAuthErrorCode};
use gatehouse_core::resources::ResourceScope;
use gatehouse_core::service::oauth::authorize::AuthorizeFailure;
use gatehouse_core::service::oauth::{
    AuthorizeParams, AuthorizeRequest, AuthorizeStep, RedirectResponse, ResponseMode,
};

use crate::extract::{Form, is_form};
use crate::routes::web::{
    Browser, brand_of, branded_page, error_page, esc, hidden, page, secured, see_other, to_login,
};
use crate::state::AppState;

/// The authorization endpoint. POST takes the same parameters as a form (OIDC Core §3.1.2.1).
pub async fn authorize(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    browser: Browser,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let Some(form) = Form::of_request(&method, &headers, query.as_deref(), &body) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The authorization request must be a form post.",
        );
    };
    let params = match AuthorizeParams::from_pairs(form.pairs()) {
        Ok(p) => p,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let res = run(&state, &browser, params, form.get(LOGIN_MARKER), false).await;
    browser.finish(res)
}

/// The parameter carrying [`gatehouse_core::Gatehouse::login_marker`] through sign-in and back.
const LOGIN_MARKER: &str = "gh_login";

/// Checks the request, then signs in, asks consent or answers. `marker` is the login marker the
/// request came back from sign-in with, if any.
async fn run(
    state: &AppState,
    browser: &Browser,
    params: AuthorizeParams,
    marker: Option<&str>,
    consented: bool,
) -> Response {
    match state.gh.check_authorize(params).await {
        Ok(req) => proceed(state, browser, &req, marker, consented).await,
        Err(f) => failure(&f),
    }
}

/// A request that cannot be answered normally: an error page, or the error sent to the client.
fn failure(f: &AuthorizeFailure) -> Response {
    match f {
        AuthorizeFailure::Page(m) => error_page(StatusCode::BAD_REQUEST, m),
        AuthorizeFailure::Redirect(r) => respond(r),
    }
}

/// Signs in, asks consent or answers a checked request.
async fn proceed(
    state: &AppState,
    browser: &Browser,
    req: &AuthorizeRequest,
    marker: Option<&str>,
    consented: bool,
) -> Response {
    let signed_in_since = marker.and_then(|m| state.gh.check_login_marker(m));
    match state
        .gh
        .authorize_step(req, browser.session.as_ref(), consented, signed_in_since)
        .await
    {
        Ok(AuthorizeStep::SignIn) => to_login(&authorize_path(&req.params, Some(&state.gh.login_marker()))),
        Ok(AuthorizeStep::EnrolSecondFactor) => {
            let q: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &authorize_path(&req.params, None))
                .finish();
            see_other(&format!("/account/two-step?{q}"))
        }
        Ok(AuthorizeStep::Consent) => consent_page(state, browser, req, marker).await,
        Ok(AuthorizeStep::Respond(r)) => respond(&r),
        Err(e) => respond(&req.error(&state.gh.provider_config().issuer, &OAuthError::from(e))),
    }
}

/// `/oauth/authorize?…` for the parameters, with a login marker.
fn authorize_path(params: &AuthorizeParams, marker: Option<&str>) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.pairs())
        .extend_pairs(marker.map(|m| (LOGIN_MARKER, m)))
        .finish();
    format!("/oauth/authorize?{q}")
}

/// Sends the response to the client: a redirect, or for `form_post` a page that posts it.
fn respond(r: &RedirectResponse) -> Response {
    match r.mode {
        ResponseMode::Query | ResponseMode::Fragment => see_other(&r.location()),
        ResponseMode::FormPost => {
            let fields: String = r.params.iter().map(|(k, v)| hidden(k, v)).collect();
            let body = format!(
                "<form method=\"post\" action=\"{}\">{fields}<noscript><p>JavaScript is off: continue to the application.</p></noscript><button type=\"submit\">Continue</button></form><script src=\"/assets/form_post.js\"></script>",
                esc(&r.redirect_uri)
            );
            page(StatusCode::OK, "Returning to the application", &body)
        }
    }
}

/// The consent form, in the brand of the app that asks.
async fn consent_page(state: &AppState, browser: &Browser, req: &AuthorizeRequest, marker: Option<&str>) -> Response {
    let request = authorize_path(&req.params, marker);
    let scopes = scope_items(&req.scopes, &req.resource_scopes);
    let who = browser.session.as_ref().map_or(String::new(), |(_, u)| {
        format!("<p>Signed in as <strong>{}</strong>.</p>", esc(&u.email))
    });
    let body = format!(
        "<p><strong>{}</strong> asks to access your Gatehouse account.</p>{who}<ul class=\"scopes\">{scopes}</ul>\
         <form method=\"post\" action=\"/consent\">{}{}\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></form>",
        esc(req.client_name()),
        browser.csrf_field(state),
        hidden("request", &request),
    );
    let brand = brand_of(state, &req.client).await;
    branded_page(StatusCode::OK, "Allow access?", brand.as_ref(), &body)
}

/// The consent list: each scope with what it lets the application do; an API resource's scope
/// with the description its resource gives it.
pub(crate) fn scope_items(scopes: &Scopes, described: &[ResourceScope]) -> String {
    scopes
        .iter()
        .map(|s| {
            let text = described
                .iter()
                .find(|d| d.name == s)
                .map_or(scope_text(s), |d| d.description.as_str());
            format!("<li><strong>{}</strong> — {}</li>", esc(s), esc(text))
        })
        .collect()
}

/// What a built-in scope lets the application do, in words.
fn scope_text(scope: &str) -> &'static str {
    match scope {
        "openid" => "know who you are",
        "profile" => "see your name",
        "email" => "see your email address",
        "role" => "see your role in each of your projects",
        "offline_access" => "stay signed in when you are away",
        "llm_proxy" => "use language models through your projects",
        "gatehouse_api" => "manage your Gatehouse projects as you",
        "gatehouse_api.read_only" => "read your Gatehouse projects",
        _ => "a permission this application asked for",
    }
}

/// `POST /consent`: the user's answer; the request is checked again from scratch.
pub async fn consent(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        return browser.finish(error_page(StatusCode::BAD_REQUEST, "Expected a form post."));
    }
    let form = Form::parse(&body);
    if !browser.check_csrf(&state, &form) {
        return browser.finish(error_page(
            StatusCode::FORBIDDEN,
            "The form expired; go back and try again.",
        ));
    }
    let Some(request) = form.get("request").and_then(|r| r.strip_prefix("/oauth/authorize?")) else {
        return browser.finish(error_page(StatusCode::BAD_REQUEST, "The consent form is incomplete."));
    };
    let request = Form::parse(request.as_bytes());
    let params = match AuthorizeParams::from_pairs(request.pairs()) {
        Ok(p) => p,
        Err(m) => return browser.finish(error_page(StatusCode::BAD_REQUEST, &m)),
    };
    // The request is checked again from scratch: the form could have been altered.
    let req = match state.gh.check_authorize(params).await {
        Ok(r) => r,
        Err(f) => return browser.finish(failure(&f)),
    };
    let res = match form.get("decision") {
        Some("allow") => {
            let saved = match &browser.session {
                Some((_, user)) => state.gh.grant_consent(&req, user).await.is_ok(),
                None => true,
            };
            if saved {
                proceed(&state, &browser, &req, request.get(LOGIN_MARKER), true).await
            } else {
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Your answer could not be saved; try again.",
                )
            }
        }
        Some("deny") => respond(&req.error(
            &state.gh.provider_config().issuer,
            &OAuthError::new(OAuthErrorCode::AccessDenied, "the user denied the request"),
        )),
        _ => error_page(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    };
    browser.finish(secured(res))
}
