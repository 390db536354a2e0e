//! `/reset` (SPEC §5.4): "Forgot your password?" asks for the address and mails a link, with the
//! same answer whether or not the address has an account; the link's page sets a new password
//! once, which signs the account out everywhere.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::people::LinkPurpose;
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::people::{LinkUse, Sent};

use super::notice::{dead_link, expired, failed, message, posted, throttled, too_many, wait_message};
use crate::extract::Form;
use crate::routes::console::forms::FormState;
use crate::routes::console::layout::html;
use crate::routes::web::{Browser, SESSION_COOKIE, set_cookie};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/reset.html")]
struct ResetPage<'a> {
    title: &'a str,
    csrf: String,
    /// The link's token: the page asks for the new password.
    token: Option<&'a str>,
    form: FormState,
}

fn form_page(
    state: &AppState,
    browser: &Browser,
    status: StatusCode,
    form: FormState,
    token: Option<&str>,
) -> Response {
    let title = if token.is_some() {
        "Choose a new password"
    } else {
        "Forgot your password?"
    };
    let page = ResetPage {
        title,
        csrf: browser.csrf_token(state),
        token,
        form,
    };
    browser.finish(html(status, &page))
}

const AGAIN: (&str, &str) = ("/reset", "Ask for a new link");

/// `GET /reset`.
pub async fn show(State(state): State<Arc<AppState>>, browser: Browser) -> Response {
    form_page(&state, &browser, StatusCode::OK, FormState::default(), None)
}

/// `POST /reset`: mails a link if the address has an account (the answer does not say).
pub async fn submit(State(state): State<Arc<AppState>>, headers: HeaderMap, browser: Browser, body: Bytes) -> Response {
    let again = |status, form| form_page(&state, &browser, status, form, None);
    let Some(form) = posted(&state, &browser, &headers, &body) else {
        return again(StatusCode::FORBIDDEN, expired(&Form::parse(&body)));
    };
    match state
        .gh
        .request_password_reset(form.get("email").unwrap_or(""), &browser.ip)
        .await
    {
        Ok(Sent::Sent) => message(
            &browser,
            StatusCode::OK,
            "Check your email",
            "If an account has this address, a link to choose a new password is on its way. It works for one hour.",
            Some(("/login", "Back to sign in")),
        ),
        Ok(Sent::Throttled { retry_after_secs }) => throttled(
            again(
                StatusCode::OK,
                FormState::refused(&form, "form", wait_message(retry_after_secs)),
            ),
            retry_after_secs,
        ),
        Err(Error::Invalid { field, reason }) => {
            again(StatusCode::BAD_REQUEST, FormState::refused(&form, &field, reason))
        }
        Err(e) => failed(&browser, &e),
    }
}

/// `GET /reset/confirm?token=…`: the new-password form of a live link.
pub async fn confirm_page(State(state): State<Arc<AppState>>, browser: Browser, RawQuery(query): RawQuery) -> Response {
    let q = Form::parse(query.unwrap_or_default().as_bytes());
    let token = q.get("token").unwrap_or("");
    match state.gh.check_link(token, LinkPurpose::Reset, &browser.ip).await {
        Ok(LinkUse::Done(())) => form_page(&state, &browser, StatusCode::OK, FormState::default(), Some(token)),
        Ok(LinkUse::Refused) => dead_link(&browser, AGAIN),
        Ok(LinkUse::Throttled { retry_after_secs }) => {
            throttled(too_many(&browser, retry_after_secs), retry_after_secs)
        }
        Err(e) => failed(&browser, &e),
    }
}

/// `POST /reset/confirm`: sets the new password once and signs the account out everywhere.
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let raw = Form::parse(&body);
    let token = raw.get("token").unwrap_or("").to_owned();
    let Some(form) = posted(&state, &browser, &headers, &body) else {
        return form_page(&state, &browser, StatusCode::FORBIDDEN, expired(&raw), Some(&token));
    };
    let new = SecretString::new(form.get("new_password").unwrap_or(""));
    match state.gh.reset_password(&token, &new, &browser.ip).await {
        Ok(LinkUse::Done(())) => {
            let mut res = message(
                &browser,
                StatusCode::OK,
                "Password set",
                "Your new password is set, and every session of your account is signed out.",
                Some(("/login", "Sign in")),
            );
            res.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, "", Some(0), browser.secure),
            );
            res
        }
        Ok(LinkUse::Refused) => dead_link(&browser, AGAIN),
        Ok(LinkUse::Throttled { retry_after_secs }) => {
            throttled(too_many(&browser, retry_after_secs), retry_after_secs)
        }
        Err(Error::Invalid { field, reason }) => form_page(
            &state,
            &browser,
            StatusCode::BAD_REQUEST,
            FormState::refused(&form, &field, reason),
            Some(&token),
        ),
        Err(e) => failed(&browser, &e),
    }
}
