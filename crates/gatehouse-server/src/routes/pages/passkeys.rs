//! Passkeys on the pages (SPEC §5.4): the account page's list with forms to add and remove them,
//! "Sign in with a passkey" on `/login`, and a passkey instead of a code in the second step.
//!
//! Each ceremony is two form posts with the page's CSRF token: `…/options` answers JSON (the
//! options for `navigator.credentials`, and the ceremony's handle), and the page's form then
//! carries the browser's answer back as an ordinary post, answered with a page. The script
//! `/assets/passkeys.js` does the part only a script can (calling the authenticator); without it
//! the forms still post and the page says that passkeys need JavaScript.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::Error;
use gatehouse_core::model::User;
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::oauth::SignInOutcome;
use gatehouse_core::service::passkeys::{CeremonyAnswer, CeremonyStart};

use crate::extract::{Form, is_form};
use crate::routes::web::{Browser, cookie, error_page, esc, hidden, local_path, see_other};
use crate::state::AppState;

/// The script of the pages with passkey forms.
pub const SCRIPT: &str = include_str!("../assets/passkeys.js");
/// The tag that loads it.
pub(crate) const SCRIPT_TAG: &str = "<script src=\"/assets/passkeys.js\" defer></script>";
/// Said where a passkey form is, for browsers that run no script.
const NEEDS_SCRIPT: &str = "<noscript><p>Passkeys need JavaScript, which is turned off in this browser.</p></noscript>";
const NO_ANSWER: &str = "No passkey answered. Passkeys need JavaScript and a browser that supports them.";

/// `GET /assets/passkeys.js`.
pub async fn script() -> Response {
    crate::routes::web::asset("text/javascript; charset=utf-8", SCRIPT)
}

/// The hidden fields the script fills with the ceremony's handle and the browser's answer.
fn answer_fields() -> &'static str {
    "<input type=\"hidden\" name=\"ceremony\" value=\"\"><input type=\"hidden\" name=\"credential\" value=\"\">"
}

/// The browser's answer in a posted form; `None` when the script did not run.
fn answer(form: &Form) -> Option<CeremonyAnswer> {
    let credential = form.get("credential").filter(|c| !c.is_empty())?;
    Some(CeremonyAnswer {
        ceremony: form.get("ceremony").unwrap_or("").to_owned(),
        credential: credential.to_owned(),
    })
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// The answer of an `…/options` endpoint.
fn options_response(started: Result<CeremonyStart, Error>) -> Response {
    match started {
        Ok(s) => {
            let mut res = Json(serde_json::json!({ "ceremony": s.ceremony, "options": s.options })).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            res
        }
        Err(Error::Conflict(m)) => json_error(StatusCode::CONFLICT, &m),
        Err(Error::NotFound(_)) => json_error(StatusCode::NOT_FOUND, "You have no passkey."),
        Err(e) => {
            tracing::error!(error = %e, "starting a passkey ceremony failed");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "Passkeys are not available now.")
        }
    }
}

/// A form posted with this browser's CSRF token, or the JSON refusal.
fn checked_form(state: &AppState, browser: &Browser, headers: &HeaderMap, body: &[u8]) -> Result<Form, Box<Response>> {
    let form = Form::parse(body);
    if !is_form(headers) {
        return Err(Box::new(json_error(StatusCode::BAD_REQUEST, "Expected a form post.")));
    }
    if !browser.check_csrf(state, &form) {
        return Err(Box::new(json_error(
            StatusCode::FORBIDDEN,
            "The page expired; reload it and try again.",
        )));
    }
    Ok(form)
}

/// The account page's passkeys: the list, and the form to add one, which returns to `next`
/// (when not empty) once the passkey is added.
pub(crate) async fn section(state: &AppState, browser: &Browser, user: &User, next: &str) -> Result<String, Error> {
    if !state.gh.passkeys_available() {
        return Ok(String::new());
    }
    let csrf = browser.csrf_field(state);
    let onward = if next.is_empty() {
        String::new()
    } else {
        hidden("next", next)
    };
    let keys = state.gh.passkeys(user.id).await?;
    let rows: String = keys
        .iter()
        .map(|k| {
            let used = k.last_used_at.map_or_else(|| "never".to_owned(), |t| t.rfc3339());
            format!(
                "<tr><td>{name}</td><td>{added}</td><td>{used}</td><td><form method=\"post\" action=\"/account/passkeys/{id}/remove\">{csrf}\
                 <button type=\"submit\" class=\"secondary\" aria-label=\"Remove the passkey {name}\">Remove</button></form></td></tr>",
                name = esc(&k.name),
                added = esc(&k.created_at.rfc3339()),
                used = esc(&used),
                id = k.id,
            )
        })
        .collect();
    let list = if keys.is_empty() {
        "<p>You have no passkey yet.</p>".to_owned()
    } else {
        format!(
            "<table id=\"passkeys\"><thead><tr><th>Name</th><th>Added</th><th>Last used</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    Ok(format!(
        "<h2>Passkeys</h2><p>A passkey signs you in with your device's screen lock or security key instead of a password, \
         and can stand in for the authenticator app's code after the password.</p>{list}\
         <form method=\"post\" action=\"/account/passkeys\" data-passkey=\"register\">{csrf}{onward}{}\
         <label for=\"passkey_name\">Name of the new passkey</label><input type=\"text\" id=\"passkey_name\" name=\"name\" maxlength=\"64\" placeholder=\"Work laptop\" required>\
         <p class=\"error\" id=\"passkey-error\" role=\"alert\" hidden></p>\
         <button type=\"submit\">Add a passkey</button></form>{NEEDS_SCRIPT}{SCRIPT_TAG}",
        answer_fields()
    ))
}

/// The passwordless part of `/login`.
pub(crate) fn sign_in_button(state: &AppState, browser: &Browser, next: &str) -> String {
    if !state.gh.passkeys_available() {
        return String::new();
    }
    format!(
        "<form method=\"post\" action=\"/login/passkey\" data-passkey=\"sign_in\">{}{}{}\
         <p class=\"error\" id=\"passkey-error\" role=\"alert\" hidden></p>\
         <button type=\"submit\" class=\"secondary\">Sign in with a passkey</button></form>{NEEDS_SCRIPT}{SCRIPT_TAG}",
        browser.csrf_field(state),
        hidden("next", next),
        answer_fields(),
    )
}

/// The passkey choice of the second step.
pub(crate) fn second_step_button(state: &AppState, browser: &Browser, next: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/login/second/passkey\" data-passkey=\"second_step\">{}{}{}\
         <p class=\"error\" id=\"passkey-error\" role=\"alert\" hidden></p>\
         <button type=\"submit\">Use a passkey</button></form>{NEEDS_SCRIPT}{SCRIPT_TAG}",
        browser.csrf_field(state),
        hidden("next", next),
        answer_fields(),
    )
}

/// `POST /account/passkeys/options`: registration options for the signed-in person.
pub async fn register_options(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let Some((_, user)) = &browser.session else {
        return json_error(StatusCode::UNAUTHORIZED, "Sign in first.");
    };
    if let Err(res) = checked_form(&state, &browser, &headers, &body) {
        return *res;
    }
    options_response(state.gh.start_passkey_registration(user).await)
}

/// `POST /account/passkeys`: keeps the passkey the browser created, under the name given.
pub async fn register(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (form, _, user) = match browser.signed_in_form(&state, &headers, &body, "/account") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let result = match answer(&form) {
        Some(a) => {
            state
                .gh
                .finish_passkey_registration(user, form.get("name").unwrap_or(""), &a)
                .await
        }
        None => Err(Error::invalid("credential", NO_ANSWER)),
    };
    let res = match result {
        Ok(()) => match form.get("next").and_then(local_path) {
            Some(next) => see_other(next),
            None => super::account::render(&state, &browser, Some(("notice", "The passkey is added."))).await,
        },
        Err(Error::Invalid { field, reason }) => {
            let message = if reason == NO_ANSWER {
                reason
            } else {
                format!("The passkey could not be added: the {field} {reason}.")
            };
            let mut res = super::account::render(&state, &browser, Some(("error", &message))).await;
            *res.status_mut() = StatusCode::BAD_REQUEST;
            res
        }
        Err(Error::Conflict(m)) => error_page(StatusCode::CONFLICT, &m),
        Err(e) => {
            tracing::error!(error = %e, "adding a passkey failed");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "The passkey could not be added.")
        }
    };
    browser.finish(res)
}

/// `POST /account/passkeys/{id}/remove`.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (_, _, user) = match browser.signed_in_form(&state, &headers, &body, "/account") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let res = match state.gh.remove_passkey(user, &id).await {
        Ok(()) => super::account::render(&state, &browser, Some(("notice", "The passkey is removed."))).await,
        Err(Error::NotFound(_)) => error_page(StatusCode::NOT_FOUND, "You have no such passkey."),
        Err(e) => {
            tracing::error!(error = %e, "removing a passkey failed");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "The passkey could not be removed.")
        }
    };
    browser.finish(res)
}

/// `POST /login/passkey/options`: options for a passwordless sign-in.
pub async fn sign_in_options(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    if let Err(res) = checked_form(&state, &browser, &headers, &body) {
        return *res;
    }
    options_response(state.gh.start_passkey_sign_in().await)
}

/// What a finished sign-in with a passkey leads to: the session and `next`, or `again` with
/// the message to show.
fn signed_in(
    browser: &Browser,
    outcome: Result<SignInOutcome, Error>,
    next: &str,
    again: impl FnOnce(StatusCode, &str) -> Response,
) -> Response {
    match outcome {
        Ok(SignInOutcome::SignedIn { session, cookie }) => {
            let mut res = see_other(next);
            res.headers_mut().append(
                header::SET_COOKIE,
                super::session_cookie(&session, &cookie, browser.secure),
            );
            res
        }
        Ok(SignInOutcome::Expired) => again(
            StatusCode::UNAUTHORIZED,
            "The sign-in took too long. Please start again.",
        ),
        Ok(_) => again(StatusCode::UNAUTHORIZED, "That passkey is not one of this account's."),
        Err(Error::Invalid { field, reason }) => {
            let message = if reason == NO_ANSWER {
                reason
            } else {
                format!("The {field} {reason}.")
            };
            again(StatusCode::BAD_REQUEST, &message)
        }
        Err(Error::Conflict(m)) => again(StatusCode::CONFLICT, &m),
        Err(e) => {
            tracing::error!(error = %e, "signing in with a passkey failed");
            again(StatusCode::INTERNAL_SERVER_ERROR, "Signing in failed; try again.")
        }
    }
}

/// `POST /login/passkey`: a session for the passkey's owner.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let next = form.get("next").and_then(local_path).unwrap_or("/account").to_owned();
    let sign_up = super::offers_sign_up(&state, &next, None).await;
    let again =
        |status: StatusCode, message: &str| super::login_again(&state, &browser, (&next, sign_up), status, message);
    if !is_form(&headers) {
        return browser.finish(error_page(StatusCode::BAD_REQUEST, "Expected a form post."));
    }
    if !browser.check_csrf(&state, &form) {
        return browser.finish(again(StatusCode::FORBIDDEN, "The form expired; please sign in again."));
    }
    let outcome = match answer(&form) {
        Some(a) => {
            state
                .gh
                .finish_passkey_sign_in(&a, &browser.ip, &browser.user_agent)
                .await
        }
        None => Err(Error::invalid("credential", NO_ANSWER)),
    };
    browser.finish(signed_in(&browser, outcome, &next, again))
}

/// `POST /login/second/passkey/options`: options for the person whose password was right.
pub async fn second_step_options(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    if let Err(res) = checked_form(&state, &browser, &headers, &body) {
        return *res;
    }
    let pending = SecretString::new(cookie(&headers, super::second_step::SECOND_STEP_COOKIE).unwrap_or(""));
    match state.gh.start_passkey_second_step(&pending).await {
        Ok(Some(start)) => options_response(Ok(start)),
        Ok(None) => json_error(
            StatusCode::UNAUTHORIZED,
            "The sign-in took too long. Please enter your password again.",
        ),
        Err(e) => options_response(Err(e)),
    }
}

/// `POST /login/second/passkey`: the second step with a passkey.
pub async fn second_step(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let next = form.get("next").and_then(local_path).unwrap_or("/account").to_owned();
    let pending = SecretString::new(cookie(&headers, super::second_step::SECOND_STEP_COOKIE).unwrap_or(""));
    let choices = state.gh.second_step_choices(&pending).await.ok().flatten();
    let again = |status: StatusCode, message: &str| match choices {
        Some(choices) => super::second_step::again(&state, &browser, &next, choices, status, message),
        None => super::second_step::start_over(&next, browser.secure),
    };
    if !is_form(&headers) {
        return browser.finish(error_page(StatusCode::BAD_REQUEST, "Expected a form post."));
    }
    if !browser.check_csrf(&state, &form) {
        return browser.finish(again(StatusCode::FORBIDDEN, "The form expired; please try again."));
    }
    let outcome = match answer(&form) {
        Some(a) => {
            state
                .gh
                .finish_passkey_second_step(&pending, &a, &browser.ip, &browser.user_agent)
                .await
        }
        None => Err(Error::invalid("credential", NO_ANSWER)),
    };
    let res = signed_in(&browser, outcome, &next, again);
    // The password step's proof is spent once a session exists; kept for another try otherwise.
    if res.status() == StatusCode::SEE_OTHER {
        return browser.finish(super::second_step::forget(res, browser.secure));
    }
    browser.finish(res)
}
