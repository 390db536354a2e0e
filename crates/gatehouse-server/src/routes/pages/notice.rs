//! What the sign-up and reset pages share: their askama pages in the console's look, the page
//! that says one thing (with a link onwards or a confirming button), and the answers to a
//! throttled or expired form.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::clients::AppBrand;

use crate::extract::{Form, is_form};
use crate::routes::console::forms::FormState;
use crate::routes::console::layout::html;
use crate::routes::web::Browser;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    /// Messages are not branded: they answer mailed links, not an app's request.
    brand: Option<&'a AppBrand>,
    class: &'a str,
    text: &'a str,
    csrf: String,
    /// (action, token, button label) of a confirming form.
    confirm: Option<(&'a str, &'a str, &'a str)>,
    /// (href, label) of a link onwards.
    onward: Option<(&'a str, &'a str)>,
}

/// A page saying `text` (`class`: `notice` or `error`), with a link onwards.
pub fn message(
    browser: &Browser,
    status: StatusCode,
    title: &str,
    text: &str,
    onward: Option<(&str, &str)>,
) -> Response {
    let class = if status.is_success() { "notice" } else { "error" };
    let page = MessagePage {
        title,
        brand: None,
        class,
        text,
        csrf: String::new(),
        confirm: None,
        onward,
    };
    browser.finish(html(status, &page))
}

/// A page asking to confirm a mailed link with a button that posts `token` to `action`.
pub fn confirm(
    state: &AppState,
    browser: &Browser,
    title: &str,
    text: &str,
    action: &str,
    token: &str,
    label: &str,
) -> Response {
    let page = MessagePage {
        title,
        brand: None,
        class: "notice",
        text,
        csrf: browser.csrf_token(state),
        confirm: Some((action, token, label)),
        onward: None,
    };
    browser.finish(html(StatusCode::OK, &page))
}

/// The page for a link that is not (or no longer) usable.
pub fn dead_link(browser: &Browser, again: (&str, &str)) -> Response {
    message(
        browser,
        StatusCode::BAD_REQUEST,
        "This link does not work",
        "The link was used already, has expired, or was not copied whole.",
        Some(again),
    )
}

/// `429` with `Retry-After` on `res`.
pub fn throttled(mut res: Response, retry_after_secs: u64) -> Response {
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The message of a throttled form, on its form-level error.
pub fn wait_message(retry_after_secs: u64) -> String {
    format!("Too many attempts. Try again in {retry_after_secs} s.")
}

/// The form of a post when it is a form with this browser's CSRF token; otherwise `None`
/// (the page is shown again with "the form expired").
pub fn posted(state: &AppState, browser: &Browser, headers: &axum::http::HeaderMap, body: &[u8]) -> Option<Form> {
    let form = Form::parse(body);
    (is_form(headers) && browser.check_csrf(state, &form)).then_some(form)
}

/// The refusal of an expired form, on its form-level error.
pub fn expired(form: &Form) -> FormState {
    FormState::refused(form, "form", "The form expired; please try again.")
}

/// The page of a throttled link use.
pub fn too_many(browser: &Browser, retry_after_secs: u64) -> Response {
    message(
        browser,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        &wait_message(retry_after_secs),
        None,
    )
}

/// The page of an unexpected failure (logged).
pub fn failed(browser: &Browser, e: &Error) -> Response {
    tracing::error!(error = %e, "a mailed link failed");
    message(
        browser,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something is wrong",
        "Try again later.",
        None,
    )
}

/// The sign-in page, returning to `next` (the account page when empty).
pub fn login_to(next: &str) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", if next.is_empty() { "/account" } else { next })
        .finish();
    format!("/login?{q}")
}
