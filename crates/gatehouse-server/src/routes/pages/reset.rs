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
use gatehouse_core::clients::AppBrand;
use gatehouse_core::people::LinkPurpose;
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::people::{LinkUse, Sent};

use super::notice::{dead_link, expired, failed, login_to, message, posted, throttled, too_many, wait_message};
use crate::extract::Form;
use crate::routes::console::forms::FormState;
use crate::routes::console::layout::html;
use crate::routes::web::{Browser, SESSION_COOKIE, brand_of_next, local_path, set_cookie, with_logo};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/reset.html")]
struct ResetPage<'a> {
    title: &'a str,
    brand: Option<&'a AppBrand>,
    csrf: String,
    /// Where signing in goes afterwards: an app's authorization request brands the page.
    next: &'a str,
    login: String,
    /// The link's token: the page asks for the new password.
    token: Option<&'a str>,
    form: FormState,
}

/// The form asking for the address (`token` `None`, in the brand of the app whose authorization
/// request `next` returns to) or for the new password of a mailed link.
async fn form_page(
    state: &AppState,
    browser: &Browser,
    status: StatusCode,
    form: FormState,
    token: Option<&str>,
    next: &str,
) -> Response {
    let brand = match token {
        None => brand_of_next(state, next).await,
        Some(_) => None,
    };
    let title = if token.is_some() {
        "Choose a new password"
    } else {
        "Forgot your password?"
    };
    let page = ResetPage {
        title,
        brand: brand.as_ref(),
        csrf: browser.csrf_token(state),
        next,
        login: login_to(next),
        token,
        form,
    };
    browser.finish(with_logo(html(status, &page), brand.as_ref()))
}

const AGAIN: (&str, &str) = ("/reset", "Ask for a new link");

/// `GET /reset[?next=…]`.
pub async fn show(State(state): State<Arc<AppState>>, browser: Browser, RawQuery(query): RawQuery) -> Response {
    let q = Form::parse(query.unwrap_or_default().as_bytes());
    let next = q.get("next").and_then(local_path).unwrap_or("");
    form_page(&state, &browser, StatusCode::OK, FormState::default(), None, next).await
}

/// `POST /reset`: mails a link if the address has an account (the answer does not say).
pub async fn submit(State(state): State<Arc<AppState>>, headers: HeaderMap, browser: Browser, body: Bytes) -> Response {
    let raw = Form::parse(&body);
    let next = raw.get("next").and_then(local_path).unwrap_or("").to_owned();
    let again = |status, form| form_page(&state, &browser, status, form, None, &next);
    let Some(form) = posted(&state, &browser, &headers, &body) else {
        return again(StatusCode::FORBIDDEN, expired(&raw)).await;
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
            Some((&login_to(&next), "Back to sign in")),
        ),
        Ok(Sent::Throttled { retry_after_secs }) => throttled(
            again(
                StatusCode::OK,
                FormState::refused(&form, "form", wait_message(retry_after_secs)),
            )
            .await,
            retry_after_secs,
        ),
        Err(Error::Invalid { field, reason }) => {
            again(StatusCode::BAD_REQUEST, FormState::refused(&form, &field, reason)).await
        }
        Err(e) => failed(&browser, &e),
    }
}

/// `GET /reset/confirm?token=…`: the new-password form of a live link.
pub async fn confirm_page(State(state): State<Arc<AppState>>, browser: Browser, RawQuery(query): RawQuery) -> Response {
    let q = Form::parse(query.unwrap_or_default().as_bytes());
    let token = q.get("token").unwrap_or("");
    match state.gh.check_link(token, LinkPurpose::Reset, &browser.ip).await {
        Ok(LinkUse::Done(())) => {
            form_page(&state, &browser, StatusCode::OK, FormState::default(), Some(token), "").await
        }
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
        return form_page(&state, &browser, StatusCode::FORBIDDEN, expired(&raw), Some(&token), "").await;
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
        Err(Error::Invalid { field, reason }) => {
            form_page(
                &state,
                &browser,
                StatusCode::BAD_REQUEST,
                FormState::refused(&form, &field, reason),
                Some(&token),
                "",
            )
            .await
        }
        Err(e) => failed(&browser, &e),
    }
}
