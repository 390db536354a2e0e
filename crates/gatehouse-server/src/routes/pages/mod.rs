//! Server-rendered pages (SPEC §5.1, §5.4): sign in, sign out (also RP-initiated logout), the
//! device verification page, the account page, sign-up and password reset. Plain forms: they work without JavaScript and
//! a form-following HTTP client can use them.

pub(crate) mod account;
pub(crate) mod device;
pub(crate) mod factors;
mod notice;
pub(crate) mod passkeys;
pub(crate) mod reset;
pub(crate) mod second_step;
pub(crate) mod signup;
pub(crate) mod upstream;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::oauth::Session;
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::oauth::{SignIn, SignInOutcome};

use crate::extract::{Form, is_form};
use crate::routes::web::{
    Browser, SESSION_COOKIE, brand_of_next, branded_page, error_page, esc, hidden, local_path, page, see_other,
    set_cookie,
};
use crate::state::AppState;

/// A message shown above the form, or next to the field it is about.
enum Notice {
    Form(String),
    Email(String),
}

/// Whether sign-up is offered at all by the policy that applies to a sign-up returning to `next`
/// or through `invitation` (that of the app's or the invitation's project, else the server's).
async fn offers_sign_up(state: &AppState, next: &str, invitation: Option<&str>) -> bool {
    match state.gh.sign_up_policy_for(next, invitation).await {
        Ok(policy) => policy.offers_sign_up(),
        Err(e) => {
            tracing::error!(error = %e, "reading the sign-up policy failed");
            false
        }
    }
}

fn login_form(
    state: &AppState,
    browser: &Browser,
    next: &str,
    email: &str,
    sign_up: bool,
    notice: Option<Notice>,
) -> String {
    let alert = |id: &str, m: &str| format!("<p class=\"error\" id=\"{id}\" role=\"alert\">{}</p>", esc(m));
    let (form_error, email_error, described) = match notice {
        Some(Notice::Form(m)) => (alert("form-error", &m), String::new(), ""),
        Some(Notice::Email(m)) => (
            String::new(),
            alert("email-error", &m),
            " aria-invalid=\"true\" aria-describedby=\"email-error\"",
        ),
        None => (String::new(), String::new(), ""),
    };
    let with_next = |path: &str| {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        esc(&format!("{path}?{q}"))
    };
    let sign_up = if sign_up {
        format!(
            "<p>New here? <a href=\"{}\">Create an account</a></p>",
            with_next("/signup")
        )
    } else {
        String::new()
    };
    format!(
        "{form_error}<form method=\"post\" action=\"/login\">{}{}\
         <label for=\"email\">Email</label><input type=\"text\" id=\"email\" name=\"email\" value=\"{}\" autocomplete=\"username\" required autofocus{described}>{email_error}\
         <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>\
         {}<p><a href=\"{}\">Forgot your password?</a></p>{sign_up}{}",
        browser.csrf_field(state),
        hidden("next", next),
        esc(&email.replace(|c: char| c.is_control(), "")),
        passkeys::sign_in_button(state, browser, next),
        with_next("/reset"),
        upstream::buttons(state, next),
    )
}

/// The sign-in page, in the brand of the app whose authorization request `next` returns to.
async fn sign_in_page(
    state: &AppState,
    browser: &Browser,
    next: &str,
    email: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let brand = brand_of_next(state, next).await;
    let title = brand
        .as_ref()
        .map_or_else(|| "Sign in".to_owned(), |app| format!("Sign in to {}", app.name));
    let sign_up = offers_sign_up(state, next, None).await;
    let body = login_form(state, browser, next, email, sign_up, notice);
    browser.finish(branded_page(status, &title, brand.as_ref(), &body))
}

/// The sign-in page again, with `message` above the form; `sign_up` from [`offers_sign_up`].
fn login_again(
    state: &AppState,
    browser: &Browser,
    (next, sign_up): (&str, bool),
    status: StatusCode,
    message: &str,
) -> Response {
    page(
        status,
        "Sign in",
        &login_form(
            state,
            browser,
            next,
            "",
            sign_up,
            Some(Notice::Form(message.to_owned())),
        ),
    )
}

/// The `login_hint` of the authorization request being returned to, to prefill the email.
fn login_hint(next: &str) -> String {
    next.split_once('?')
        .map(|(_, q)| Form::parse(q.as_bytes()))
        .and_then(|f| f.get("login_hint").map(str::to_owned))
        .unwrap_or_default()
}

/// The `Set-Cookie` value of a new session, living as long as the session.
fn session_cookie(session: &Session, cookie: &SecretString, secure: bool) -> HeaderValue {
    let max_age = (session.expires_at.millis() - session.created_at.millis()) / 1000;
    set_cookie(SESSION_COOKIE, cookie.expose_secret(), Some(max_age), secure)
}

/// `GET /login`.
pub async fn login_page(State(state): State<Arc<AppState>>, browser: Browser, RawQuery(query): RawQuery) -> Response {
    let form = Form::parse(query.unwrap_or_default().as_bytes());
    let next = form.get("next").and_then(local_path).unwrap_or("/account");
    sign_in_page(&state, &browser, next, &login_hint(next), None, StatusCode::OK).await
}

/// `POST /login`: on success sets the session cookie and returns to `next`.
pub async fn login(State(state): State<Arc<AppState>>, headers: HeaderMap, browser: Browser, body: Bytes) -> Response {
    if !is_form(&headers) {
        return browser.finish(error_page(StatusCode::BAD_REQUEST, "Expected a form post."));
    }
    let form = Form::parse(&body);
    let next = form.get("next").and_then(local_path).unwrap_or("/account").to_owned();
    let email = form.get("email").unwrap_or("").to_owned();
    let again =
        |status: StatusCode, notice: Notice| sign_in_page(&state, &browser, &next, &email, Some(notice), status);
    let refused = |m: &str| Notice::Form(m.to_owned());
    if !browser.check_csrf(&state, &form) {
        return again(
            StatusCode::FORBIDDEN,
            refused("The form expired; please sign in again."),
        )
        .await;
    }
    let attempt = SignIn {
        email: email.clone(),
        password: SecretString::new(form.get("password").unwrap_or("")),
        ip: browser.ip.clone(),
        user_agent: browser.user_agent.clone(),
    };
    match state.gh.sign_in(attempt).await {
        Ok(SignInOutcome::SignedIn { session, cookie }) => {
            let mut res = see_other(&next);
            res.headers_mut()
                .append(header::SET_COOKIE, session_cookie(&session, &cookie, browser.secure));
            browser.finish(res)
        }
        Ok(SignInOutcome::SecondFactor { pending }) => {
            browser.finish(second_step::ask(&state, &browser, &next, &pending).await)
        }
        Ok(SignInOutcome::Invalid | SignInOutcome::Expired) => {
            again(
                StatusCode::UNAUTHORIZED,
                refused("The email or password is not correct."),
            )
            .await
        }
        Ok(SignInOutcome::Throttled { retry_after_secs }) => {
            let mut res = again(
                StatusCode::TOO_MANY_REQUESTS,
                refused(&format!("Too many failed attempts. Try again in {retry_after_secs} s.")),
            )
            .await;
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(Error::Invalid { field, reason }) if field == "email" => {
            again(StatusCode::BAD_REQUEST, Notice::Email(format!("The email {reason}."))).await
        }
        Err(Error::Invalid { field, reason }) => {
            again(StatusCode::BAD_REQUEST, refused(&format!("{field}: {reason}"))).await
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            again(
                StatusCode::INTERNAL_SERVER_ERROR,
                refused("Signing in failed; try again."),
            )
            .await
        }
    }
}

/// `GET, POST /logout` and `/oauth/logout` (OIDC RP-Initiated Logout 1.0). A signed-in browser
/// confirms with a CSRF-protected form, so no third party can sign a user out; then the session
/// ends and the browser goes to the registered `post_logout_redirect_uri`.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    browser: Browser,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let form = Form::of_request(&method, &headers, query.as_deref(), &body).unwrap_or_default();
    let field = |n: &str| form.single(n).ok().flatten();
    let plan = state
        .gh
        .plan_logout(
            field("id_token_hint"),
            field("client_id"),
            field("post_logout_redirect_uri"),
            field("state"),
        )
        .await;
    let plan = match plan {
        Ok(p) => p,
        Err(e) => return browser.finish(error_page(StatusCode::BAD_REQUEST, &e.to_string())),
    };
    let confirmed = method == Method::POST && form.get("confirm") == Some("yes") && browser.check_csrf(&state, &form);
    let done = |signed_out: bool| -> Response {
        let mut res = match &plan.redirect {
            Some(to) => see_other(to),
            None => page(
                StatusCode::OK,
                "Signed out",
                "<p>You are signed out of Gatehouse.</p><p><a href=\"/login\">Sign in again</a></p>",
            ),
        };
        if signed_out {
            res.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, "", Some(0), browser.secure),
            );
        }
        res
    };
    let res = match (&browser.session, confirmed) {
        (None, _) => done(false),
        (Some((session, _)), true) => match state.gh.sign_out(session).await {
            Ok(()) => done(true),
            Err(e) => {
                tracing::error!(error = %e, "sign-out failed");
                error_page(StatusCode::INTERNAL_SERVER_ERROR, "Signing out failed; try again.")
            }
        },
        (Some((_, user)), false) => {
            let keep: String = ["id_token_hint", "client_id", "post_logout_redirect_uri", "state"]
                .iter()
                .filter_map(|n| field(n).map(|v| hidden(n, v)))
                .collect();
            let asking = plan.client_name.as_deref().map_or(String::new(), |c| {
                format!("<p><strong>{}</strong> asks you to sign out.</p>", esc(c))
            });
            let body = format!(
                "{asking}<p>Sign <strong>{}</strong> out of Gatehouse?</p><form method=\"post\" action=\"/oauth/logout\">{}{keep}{}<button type=\"submit\">Sign out</button></form>",
                esc(&user.email),
                browser.csrf_field(&state),
                hidden("confirm", "yes"),
            );
            page(StatusCode::OK, "Sign out", &body)
        }
    };
    browser.finish(res)
}
