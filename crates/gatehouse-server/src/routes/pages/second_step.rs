//! The second step of signing in (SPEC §5.4): after a correct password, a person with an
//! authenticator app types its current code or one of their recovery codes, or a person with a
//! passkey uses it ([`super::passkeys`]), before any session exists. What the password step
//! proved travels in a sealed, short-lived, HttpOnly cookie.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::oauth::{SECOND_STEP_TTL_SECS, SecondStep, SignInOutcome};

use crate::extract::{Form, is_form};
use crate::routes::web::{
    Browser, SESSION_COOKIE, cookie, error_page, esc, hidden, local_path, page, see_other, set_cookie,
};
use crate::state::AppState;

/// The cookie holding the sealed proof of the password step.
pub(crate) const SECOND_STEP_COOKIE: &str = "gh_second_step";
const TITLE: &str = "Two-step sign-in";

/// The page's choices: `(totp, passkey)` says whether the person has an authenticator app and
/// passkeys.
fn form(state: &AppState, browser: &Browser, next: &str, (totp, passkey): (bool, bool), error: Option<&str>) -> String {
    let (error, described) = error.map_or((String::new(), ""), |m| {
        (
            format!("<p class=\"error\" id=\"code-error\" role=\"alert\">{}</p>", esc(m)),
            " aria-describedby=\"code-error\"",
        )
    });
    let passkey = if passkey {
        let lead = if totp {
            "<p>Or use one of your passkeys.</p>"
        } else {
            "<p>Use one of your passkeys to finish signing in.</p>"
        };
        format!("{lead}{}", super::passkeys::second_step_button(state, browser, next))
    } else {
        String::new()
    };
    let code = if totp {
        format!(
            "<p>Enter the 6-digit code your authenticator app shows, or one of your recovery codes.</p>\
             <form method=\"post\" action=\"/login/second\">{}{}\
             <label for=\"code\">Code</label><input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" inputmode=\"text\" maxlength=\"64\" required autofocus{described}>{error}\
             <button type=\"submit\">Continue</button></form>",
            browser.csrf_field(state),
            hidden("next", next),
        )
    } else {
        error
    };
    format!("{code}{passkey}<p><a href=\"/login\">Sign in as someone else</a></p>")
}

/// The second step's page again, with `message`.
pub(crate) fn again(
    state: &AppState,
    browser: &Browser,
    next: &str,
    choices: (bool, bool),
    status: StatusCode,
    message: &str,
) -> Response {
    page(status, TITLE, &form(state, browser, next, choices, Some(message)))
}

/// The page of a second step that came too late (or without the password step's cookie).
pub(crate) fn start_over(next: &str, secure: bool) -> Response {
    let to = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    forget(
        page(
            StatusCode::UNAUTHORIZED,
            TITLE,
            &format!(
                "<p class=\"error\" role=\"alert\">The sign-in took too long. Please enter your password again.</p><p><a href=\"/login?{}\">Sign in</a></p>",
                esc(&to)
            ),
        ),
        secure,
    )
}

/// Drops the password step's cookie from a response (it has served its purpose, or expired).
pub(crate) fn forget(mut res: Response, secure: bool) -> Response {
    res.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SECOND_STEP_COOKIE, "", Some(0), secure));
    res
}

/// The answer to a correct password of a person with a second factor: the page of their
/// choices, and the cookie that carries `pending` to it.
pub(crate) async fn ask(state: &AppState, browser: &Browser, next: &str, pending: &SecretString) -> Response {
    let choices = match state.gh.second_step_choices(pending).await {
        Ok(Some(c)) => c,
        Ok(None) => return start_over(next, browser.secure),
        Err(e) => {
            tracing::error!(error = %e, "reading second factors failed");
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Signing in failed; try again.");
        }
    };
    let mut res = page(StatusCode::OK, TITLE, &form(state, browser, next, choices, None));
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SECOND_STEP_COOKIE,
            pending.expose_secret(),
            Some(SECOND_STEP_TTL_SECS),
            browser.secure,
        ),
    );
    res
}

/// `POST /login/second`: on a right code sets the session cookie and returns to `next`.
pub async fn submit(State(state): State<Arc<AppState>>, headers: HeaderMap, browser: Browser, body: Bytes) -> Response {
    if !is_form(&headers) {
        return browser.finish(error_page(StatusCode::BAD_REQUEST, "Expected a form post."));
    }
    let form_data = Form::parse(&body);
    let next = form_data
        .get("next")
        .and_then(local_path)
        .unwrap_or("/account")
        .to_owned();
    let pending = SecretString::new(cookie(&headers, SECOND_STEP_COOKIE).unwrap_or(""));
    // Without a live password step the answer is "start again" whatever the code.
    let choices = state
        .gh
        .second_step_choices(&pending)
        .await
        .ok()
        .flatten()
        .unwrap_or((true, false));
    let again =
        |status: StatusCode, message: &str| browser.finish(again(&state, &browser, &next, choices, status, message));
    if !browser.check_csrf(&state, &form_data) {
        return again(StatusCode::FORBIDDEN, "The form expired; please enter the code again.");
    }
    let step = SecondStep {
        pending,
        code: SecretString::new(form_data.get("code").unwrap_or("")),
        ip: browser.ip.clone(),
        user_agent: browser.user_agent.clone(),
    };
    let forget = |res: Response| browser.finish(forget(res, browser.secure));
    match state.gh.sign_in_second_step(step).await {
        Ok(SignInOutcome::SignedIn { session, cookie }) => {
            let max_age = (session.expires_at.millis() - session.created_at.millis()) / 1000;
            let mut res = see_other(&next);
            res.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, cookie.expose_secret(), Some(max_age), browser.secure),
            );
            forget(res)
        }
        Ok(SignInOutcome::Invalid) => again(StatusCode::UNAUTHORIZED, "The code is not correct."),
        Ok(SignInOutcome::Throttled { retry_after_secs }) => {
            let mut res = again(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many wrong codes. Try again in {retry_after_secs} s."),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Ok(SignInOutcome::Expired | SignInOutcome::SecondFactor { .. }) => {
            browser.finish(start_over(&next, browser.secure))
        }
        Err(Error::Invalid { reason, .. }) => again(StatusCode::BAD_REQUEST, &format!("The code {reason}.")),
        Err(e) => {
            tracing::error!(error = %e, "second sign-in step failed");
            again(StatusCode::INTERNAL_SERVER_ERROR, "Signing in failed; try again.")
        }
    }
}
