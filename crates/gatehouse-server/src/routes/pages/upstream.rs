//! Signing in through upstream identity providers (SPEC §5.4): the "Continue with …" links of
//! the sign-in page, the start (`GET /login/with/{name}`, which sets the pending sign-in's
//! cookie and sends the browser to the provider), the provider's redirect back
//! (`GET /login/with/{name}/callback`), and the account page's section listing linked
//! identities with a CSRF-protected form to remove each. The rules are in core
//! (`service/idp/`); nothing here needs JavaScript.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::idp::LinkedIdentity;
use gatehouse_core::ids::IdentityId;
use gatehouse_core::service::idp::{PENDING_TTL_SECS, UpstreamCallback, UpstreamOutcome};

use super::session_cookie;
use crate::extract::{Form, Path};
use crate::routes::web::{Browser, cookie, error_page, esc, local_path, page, see_other, set_cookie};
use crate::state::AppState;

/// The cookie holding the sealed pending sign-in.
const PENDING_COOKIE: &str = "gh_upstream";

/// The "Continue with …" links of the sign-in page, each returning to `next`.
pub(crate) fn buttons(state: &AppState, next: &str) -> String {
    let providers = state.gh.identity_providers();
    if providers.is_empty() {
        return String::new();
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    let links: String = providers
        .iter()
        .map(|p| {
            format!(
                "<li><a class=\"button secondary\" href=\"/login/with/{}?{}\">Continue with {}</a></li>",
                esc(&p.name),
                esc(&query),
                esc(&p.display_name)
            )
        })
        .collect();
    format!("<p class=\"or\">or</p><ul class=\"upstreams\">{links}</ul>")
}

/// `GET /login/with/{name}?next=…`.
pub async fn start(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    browser: Browser,
    RawQuery(query): RawQuery,
) -> Response {
    let form = Form::parse(query.unwrap_or_default().as_bytes());
    let next = form.get("next").and_then(local_path).unwrap_or("/account");
    let res = match state.gh.start_upstream_sign_in(&name, next).await {
        Ok(start) => {
            let mut res = see_other(&start.location);
            res.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(PENDING_COOKIE, &start.cookie, Some(PENDING_TTL_SECS), browser.secure),
            );
            res
        }
        Err(Error::NotFound(what)) => error_page(StatusCode::NOT_FOUND, &format!("No such {what}.")),
        Err(e) => {
            tracing::warn!(error = %e, "upstream sign-in could not start");
            error_page(
                StatusCode::BAD_GATEWAY,
                "That sign-in provider cannot be reached now; try again later.",
            )
        }
    };
    browser.finish(res)
}

/// `GET /login/with/{name}/callback`: the provider's answer (RFC 6749 §4.1.2, RFC 9207).
pub async fn callback(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    browser: Browser,
    RawQuery(query): RawQuery,
) -> Response {
    let form = Form::parse(query.unwrap_or_default().as_bytes());
    let one = |n: &str| form.single(n).ok().flatten();
    let cb = UpstreamCallback {
        cookie: cookie(&headers, PENDING_COOKIE),
        code: one("code"),
        state: one("state"),
        iss: one("iss"),
        error: one("error"),
        ip: &browser.ip,
        user_agent: &browser.user_agent,
    };
    let mut res = match state.gh.finish_upstream_sign_in(&name, cb).await {
        Ok(UpstreamOutcome::SignedIn { session, cookie, next }) => {
            let mut res = see_other(local_path(&next).unwrap_or("/account"));
            res.headers_mut()
                .append(header::SET_COOKIE, session_cookie(&session, &cookie, browser.secure));
            res
        }
        Ok(UpstreamOutcome::Refused(why)) => page(
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            &format!(
                "<p class=\"error\" role=\"alert\">{}</p><p><a href=\"/login\">Back to sign in</a></p>",
                esc(&why)
            ),
        ),
        Err(Error::NotFound(what)) => error_page(StatusCode::NOT_FOUND, &format!("No such {what}.")),
        Err(e) => {
            tracing::error!(error = %e, "upstream sign-in failed");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "Signing in failed; try again.")
        }
    };
    // The pending sign-in is spent either way.
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(PENDING_COOKIE, "", Some(0), browser.secure),
    );
    browser.finish(res)
}

/// The account page's section: the linked identities, each with a form to remove it.
pub(crate) fn account_section(state: &AppState, identities: &[LinkedIdentity], csrf: &str) -> String {
    if state.gh.identity_providers().is_empty() && identities.is_empty() {
        return String::new();
    }
    let display = |name: &str| {
        state
            .gh
            .identity_providers()
            .iter()
            .find(|p| p.name == name)
            .map_or_else(|| name.to_owned(), |p| p.display_name.clone())
    };
    let rows: String = identities
        .iter()
        .map(|i| {
            let provider = display(&i.provider);
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/account/identities/{}/remove\">{csrf}<button type=\"submit\" class=\"secondary\" aria-label=\"Remove the {} sign-in of {}\">Remove</button></form></td></tr>",
                esc(&provider),
                esc(&i.email),
                esc(&i.created_at.rfc3339()),
                i.id,
                esc(&provider),
                esc(&i.email),
            )
        })
        .collect();
    let list = if identities.is_empty() {
        "<p>No sign-in provider is linked. Use “Continue with …” on the sign-in page to link one.</p>".to_owned()
    } else {
        format!(
            "<table><thead><tr><th>Provider</th><th>Email</th><th>Linked</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    format!("<h2>Sign-in providers</h2>{list}")
}

/// `POST /account/identities/{id}/remove`.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    Path(id): Path<uuid::Uuid>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (_, _, user) = match browser.signed_in_form(&state, &headers, &body, "/account") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let res = match state.gh.unlink_own_identity(user, IdentityId::from_uuid(id)).await {
        Ok(()) => see_other("/account"),
        Err(Error::Invalid { reason, .. }) => {
            error_page(StatusCode::CONFLICT, &format!("This sign-in provider {reason}."))
        }
        Err(Error::NotFound(what)) => error_page(StatusCode::NOT_FOUND, &format!("No such {what}.")),
        Err(e) => {
            tracing::error!(error = %e, "removing a linked identity failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The sign-in provider could not be removed.",
            )
        }
    };
    browser.finish(res)
}
