//! The account page's two-step sign-in section (SPEC §5.4): set up an authenticator app (the
//! secret shown as an `otpauth://` link and as a key to type, confirmed by a first code), the
//! recovery codes shown once, and removing the authenticator with the password. The same forms
//! make the page `/account/two-step`, where a person whose app's project requires a second factor
//! sets one up and is returned to the authorization request (`next`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::model::User;
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::factors::TotpSetup;

use crate::extract::Form;
use crate::routes::web::{Browser, error_page, esc, hidden, local_path, page, to_login};
use crate::state::AppState;

const SETUP_TITLE: &str = "Set up an authenticator app";

/// The same-origin path a form of these pages returns to once a factor is set up ("": none).
fn next_of(form: &Form) -> &str {
    form.get("next").and_then(local_path).unwrap_or("")
}

/// `csrf` and, when there is one, the `next` field of a form.
fn form_fields(state: &AppState, browser: &Browser, next: &str) -> String {
    let next = if next.is_empty() {
        String::new()
    } else {
        hidden("next", next)
    };
    format!("{}{next}", browser.csrf_field(state))
}

/// The section of the account page: what is set up, and the forms to change it. With `next`,
/// setting up a factor returns there.
pub(crate) async fn section(state: &AppState, browser: &Browser, user: &User, next: &str) -> Result<String, Error> {
    let csrf = form_fields(state, browser, next);
    let body = match state.gh.totp_factor(user.id).await? {
        Some(f) if f.confirmed_at.is_some() => format!(
            "<p>An authenticator app is set up: signing in asks for its code after the password. \
             {} unused recovery codes are left.</p>\
             <form method=\"post\" action=\"/account/totp/remove\">{csrf}\
             <label for=\"totp_password\">Current password</label><input type=\"password\" id=\"totp_password\" name=\"current_password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\" class=\"secondary\">Remove the authenticator app</button></form>",
            f.recovery_left
        ),
        _ => format!(
            "<p>Add an authenticator app (a TOTP app on your phone) so that signing in also asks for a code only you can see.</p>\
             <form method=\"post\" action=\"/account/totp\">{csrf}<button type=\"submit\">Set up an authenticator app</button></form>"
        ),
    };
    let passkeys = super::passkeys::section(state, browser, user, next).await?;
    Ok(format!("<h2>Two-step sign-in</h2>{body}{passkeys}"))
}

/// `GET /account/two-step?next=…`: the application being signed in to requires a second factor;
/// setting one up here returns to it.
pub async fn two_step(State(state): State<Arc<AppState>>, browser: Browser, RawQuery(query): RawQuery) -> Response {
    let q = Form::parse(query.unwrap_or_default().as_bytes());
    let next = next_of(&q).to_owned();
    let Some((_, user)) = &browser.session else {
        let here = url::form_urlencoded::Serializer::new(String::from("/account/two-step?"))
            .append_pair("next", &next)
            .finish();
        return to_login(&here);
    };
    let res = match section(&state, &browser, user, &next).await {
        Ok(forms) => {
            let back = if next.is_empty() { "/account" } else { &next };
            page(
                StatusCode::OK,
                "Set up two-step sign-in",
                &format!(
                    "<p class=\"notice\" role=\"status\">The application you are signing in to asks everyone for a second step: \
                     a code from an authenticator app, or a passkey. Set one up to continue.</p>{forms}\
                     <p><a href=\"{}\">Continue once it is set up</a></p>",
                    esc(back)
                ),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "reading second factors failed");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "Your account could not be loaded.")
        }
    };
    browser.finish(res)
}

fn setup_page(state: &AppState, browser: &Browser, setup: &TotpSetup, next: &str, error: Option<&str>) -> Response {
    let (error, described) = error.map_or((String::new(), ""), |m| {
        (
            format!("<p class=\"error\" id=\"code-error\" role=\"alert\">{}</p>", esc(m)),
            " aria-describedby=\"code-error\"",
        )
    });
    let body = format!(
        "<ol><li>On your phone, <a href=\"{}\">open this link in your authenticator app</a>, or add an account in it by hand with this key: <code>{}</code> (time-based, 6 digits, every 30 seconds).</li>\
         <li>Enter the code the app shows now.</li></ol>\
         <form method=\"post\" action=\"/account/totp/confirm\">{}\
         <label for=\"code\">Code from the app</label><input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\" maxlength=\"6\" required autofocus{described}>{error}\
         <button type=\"submit\">Turn on two-step sign-in</button></form>\
         <p><a href=\"/account\">Cancel</a></p>",
        esc(setup.uri.expose_secret()),
        esc(setup.text_key.expose_secret()),
        form_fields(state, browser, next),
    );
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(status, SETUP_TITLE, &body)
}

/// `POST /account/totp`: a new secret to set up.
pub async fn start_totp(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (form, _, user) = match browser.signed_in_form(&state, &headers, &body, "/account") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let res = match state.gh.start_totp(user).await {
        Ok(setup) => setup_page(&state, &browser, &setup, next_of(&form), None),
        Err(Error::Conflict(m)) => error_page(StatusCode::CONFLICT, &format!("{m}; remove it first.")),
        Err(e) => {
            tracing::error!(error = %e, "starting TOTP setup failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The authenticator could not be set up.",
            )
        }
    };
    browser.finish(res)
}

/// `POST /account/totp/confirm`: the first code turns the authenticator on; the recovery codes
/// are shown this once.
pub async fn confirm_totp(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (form, _, user) = match browser.signed_in_form(&state, &headers, &body, "/account") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let next = next_of(&form);
    let res = match state.gh.confirm_totp(user, form.get("code").unwrap_or("")).await {
        Ok(codes) => {
            let onward = if next.is_empty() {
                "<a href=\"/account\">Back to your account</a>".to_owned()
            } else {
                format!("<a href=\"{}\">Continue to the application</a>", esc(next))
            };
            let items: String = codes
                .iter()
                .map(|c| format!("<li><code>{}</code></li>", esc(c.expose_secret())))
                .collect();
            page(
                StatusCode::OK,
                "Two-step sign-in is on",
                &format!(
                    "<p class=\"notice\" role=\"status\">Signing in now asks for a code from your authenticator app after the password.</p>\
                     <h2>Recovery codes</h2><p>Each of these codes signs you in once if you lose your phone. Save them somewhere safe now: they are not shown again.</p>\
                     <ul class=\"recovery-codes\">{items}</ul><p>{onward}</p>"
                ),
            )
        }
        Err(Error::Invalid { reason, .. }) => match state.gh.pending_totp(user).await {
            Ok(Some(setup)) => setup_page(&state, &browser, &setup, next, Some(&format!("The code {reason}."))),
            Ok(None) => error_page(StatusCode::BAD_REQUEST, &format!("The code {reason}.")),
            Err(e) => {
                tracing::error!(error = %e, "reading TOTP setup failed");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The authenticator could not be set up.",
                )
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "confirming TOTP failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The authenticator could not be set up.",
            )
        }
    };
    browser.finish(res)
}

/// `POST /account/totp/remove`: needs the current password.
pub async fn remove_totp(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (form, _, user) = match browser.signed_in_form(&state, &headers, &body, "/account") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let password = SecretString::new(form.get("current_password").unwrap_or(""));
    let res = match state.gh.remove_totp(user, &password).await {
        Ok(()) => super::account::render(&state, &browser, Some(("notice", "The authenticator app is removed."))).await,
        Err(Error::Invalid { field, reason }) => {
            let message = format!("{}: {reason}", field.replace('_', " "));
            let mut res = super::account::render(&state, &browser, Some(("error", &message))).await;
            *res.status_mut() = StatusCode::BAD_REQUEST;
            res
        }
        Err(Error::NotFound(_)) => error_page(StatusCode::NOT_FOUND, "No authenticator app is set up."),
        Err(e) => {
            tracing::error!(error = %e, "removing TOTP failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The authenticator could not be removed.",
            )
        }
    };
    browser.finish(res)
}
