//! `/signup` (SPEC §5.4): the sign-up form, as the policy that applies allows it (that of the
//! project whose app's authorization request or invitation led here, else the server's), and the page of
//! the verification link, which creates the account when its button is pressed. Reached from an
//! authorization request (`next=`), the person returns to it after signing in.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::clients::AppBrand;
use gatehouse_core::people::LinkPurpose;
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::people::{LinkUse, Sent, SignUp, SignUpOutcome};

use super::notice::{
    confirm, dead_link, expired, failed, login_to, message, posted, throttled, too_many, wait_message,
};
use crate::extract::Form;
use crate::routes::console::forms::FormState;
use crate::routes::console::layout::html;
use crate::routes::web::{Browser, brand_of_next, local_path, with_logo};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/signup.html")]
struct SignUpPage<'a> {
    title: &'a str,
    brand: Option<&'a AppBrand>,
    csrf: String,
    next: &'a str,
    invitation: Option<&'a str>,
    login: String,
    form: FormState,
}

/// The form, in the brand of the app whose authorization request `next` returns to.
async fn form_page(
    state: &AppState,
    browser: &Browser,
    status: StatusCode,
    form: FormState,
    next: &str,
    invitation: Option<&str>,
) -> Response {
    let brand = brand_of_next(state, next).await;
    let title = brand.as_ref().map_or_else(
        || "Create your account".to_owned(),
        |app| format!("Create your account for {}", app.name),
    );
    let page = SignUpPage {
        title: &title,
        brand: brand.as_ref(),
        csrf: browser.csrf_token(state),
        next,
        invitation,
        login: login_to(next),
        form,
    };
    browser.finish(with_logo(html(status, &page), brand.as_ref()))
}

fn closed(browser: &Browser) -> Response {
    message(
        browser,
        StatusCode::NOT_FOUND,
        "Sign-up is closed",
        "Accounts on this server are created by its administrators, or through an invitation.",
        Some(("/login", "Sign in")),
    )
}

/// `GET /signup[?next=…][&invitation=…]`.
pub async fn show(State(state): State<Arc<AppState>>, browser: Browser, RawQuery(query): RawQuery) -> Response {
    let q = Form::parse(query.unwrap_or_default().as_bytes());
    let next = q.get("next").and_then(local_path).unwrap_or("");
    let invitation = q.get("invitation").filter(|t| t.len() <= 128);
    if !super::offers_sign_up(&state, next, invitation).await {
        return closed(&browser);
    }
    let mut form = FormState::default();
    if let Some(token) = invitation {
        match state.gh.invited_email(token).await {
            Ok(Some(email)) => form.set("email", &email),
            Ok(None) => return dead_link(&browser, ("/login", "Sign in")),
            Err(e) => {
                tracing::error!(error = %e, "reading an invitation failed");
                return message(
                    &browser,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something is wrong",
                    "Try again later.",
                    None,
                );
            }
        }
    }
    form_page(&state, &browser, StatusCode::OK, form, next, invitation).await
}

/// `POST /signup`.
pub async fn submit(State(state): State<Arc<AppState>>, headers: HeaderMap, browser: Browser, body: Bytes) -> Response {
    let raw = Form::parse(&body);
    let next = raw.get("next").and_then(local_path).unwrap_or("").to_owned();
    let invitation = raw.get("invitation").filter(|t| t.len() <= 128).map(str::to_owned);
    let again = |status, form| form_page(&state, &browser, status, form, &next, invitation.as_deref());
    if !super::offers_sign_up(&state, &next, invitation.as_deref()).await {
        return closed(&browser);
    }
    let Some(form) = posted(&state, &browser, &headers, &body) else {
        return again(StatusCode::FORBIDDEN, expired(&raw)).await;
    };
    let req = SignUp {
        email: form.get("email").unwrap_or("").to_owned(),
        name: form.get("name").unwrap_or("").to_owned(),
        password: SecretString::new(form.get("password").unwrap_or("")),
        ip: browser.ip.clone(),
        next: next.clone(),
        invitation: invitation.clone(),
    };
    match state.gh.sign_up(req).await {
        Ok(SignUpOutcome::Sent(Sent::Sent)) => message(
            &browser,
            StatusCode::OK,
            "Check your email",
            "We sent a link to the address you gave. Follow it to confirm the address and finish creating your account.",
            None,
        ),
        Ok(SignUpOutcome::Sent(Sent::Throttled { retry_after_secs })) => throttled(
            again(
                StatusCode::OK,
                FormState::refused(&form, "form", wait_message(retry_after_secs)),
            )
            .await,
            retry_after_secs,
        ),
        Ok(SignUpOutcome::NotAllowed) => {
            again(
                StatusCode::FORBIDDEN,
                FormState::refused(&form, "email", "may not sign up on this server: ask for an invitation"),
            )
            .await
        }
        Err(Error::Invalid { field, reason }) => {
            again(StatusCode::BAD_REQUEST, FormState::refused(&form, &field, reason)).await
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-up failed");
            again(
                StatusCode::INTERNAL_SERVER_ERROR,
                FormState::refused(&form, "form", "Signing up failed; try again."),
            )
            .await
        }
    }
}

/// `GET /signup/verify?token=…`: asks to confirm (the link is used by the button's POST).
pub async fn verify_page(State(state): State<Arc<AppState>>, browser: Browser, RawQuery(query): RawQuery) -> Response {
    let q = Form::parse(query.unwrap_or_default().as_bytes());
    let token = q.get("token").unwrap_or("");
    match state.gh.check_link(token, LinkPurpose::SignUp, &browser.ip).await {
        Ok(LinkUse::Done(())) => confirm(
            &state,
            &browser,
            "Confirm your email address",
            "Press the button to confirm the address and create your account.",
            "/signup/verify",
            token,
            "Confirm and create my account",
        ),
        Ok(LinkUse::Refused) => dead_link(&browser, ("/signup", "Sign up again")),
        Ok(LinkUse::Throttled { retry_after_secs }) => {
            throttled(too_many(&browser, retry_after_secs), retry_after_secs)
        }
        Err(e) => failed(&browser, &e),
    }
}

/// `POST /signup/verify`: creates the account.
pub async fn verify(State(state): State<Arc<AppState>>, headers: HeaderMap, browser: Browser, body: Bytes) -> Response {
    let Some(form) = posted(&state, &browser, &headers, &body) else {
        return message(
            &browser,
            StatusCode::FORBIDDEN,
            "The form expired",
            "Open the link from the mail again.",
            None,
        );
    };
    match state
        .gh
        .verify_sign_up(form.get("token").unwrap_or(""), &browser.ip)
        .await
    {
        Ok(LinkUse::Done(next)) => message(
            &browser,
            StatusCode::OK,
            "Your account is ready",
            "Your address is confirmed. Sign in with it and your password to continue.",
            Some((&login_to(&next), "Sign in and continue")),
        ),
        Ok(LinkUse::Refused) => dead_link(&browser, ("/signup", "Sign up again")),
        Ok(LinkUse::Throttled { retry_after_secs }) => {
            throttled(too_many(&browser, retry_after_secs), retry_after_secs)
        }
        Err(e) => failed(&browser, &e),
    }
}
