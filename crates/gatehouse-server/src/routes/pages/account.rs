//! The account page (SPEC §5.4): who is signed in, their sessions (revocable), and changing
//! the password, which ends every session and revokes every token.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use gatehouse_core::ids::SessionId;
use gatehouse_core::secret::SecretString;

use crate::extract::Path;
use crate::routes::web::{Browser, SESSION_COOKIE, error_page, esc, page, see_other, set_cookie, to_login};
use crate::state::AppState;

/// `GET /account`.
pub async fn show(State(state): State<Arc<AppState>>, browser: Browser) -> Response {
    let res = render(&state, &browser, None).await;
    browser.finish(res)
}

async fn render(state: &AppState, browser: &Browser, message: Option<(&str, &str)>) -> Response {
    let Some((current, user)) = &browser.session else {
        return to_login("/account");
    };
    let sessions = match state.gh.list_own_sessions(user.id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "listing sessions failed");
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Your sessions could not be loaded.");
        }
    };
    let identities = match state.gh.list_own_identities(user.id).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "listing linked identities failed");
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Your sign-in providers could not be loaded.",
            );
        }
    };
    let csrf = browser.csrf_field(state);
    let rows: String = sessions
        .iter()
        .map(|s| {
            let this = if s.id == current.id { " (this browser)" } else { "" };
            format!(
                "<tr><td>{}{this}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/account/sessions/{}/revoke\">{csrf}<button type=\"submit\" class=\"secondary\" aria-label=\"Sign out the session of {} from {}\">Sign out</button></form></td></tr>",
                esc(&s.created_at.rfc3339()),
                esc(&s.ip),
                esc(&s.user_agent),
                s.id,
                esc(&s.created_at.rfc3339()),
                esc(&s.ip),
            )
        })
        .collect();
    let message = message.map_or(String::new(), |(class, m)| {
        format!("<p class=\"{class}\" role=\"status\">{}</p>", esc(m))
    });
    let body = format!(
        "{message}<p>Signed in as <strong>{}</strong> ({}).</p>\
         <h2>Sessions</h2><table><thead><tr><th>Signed in</th><th>Address</th><th>Browser</th><th></th></tr></thead><tbody>{rows}</tbody></table>\
         {}<h2>Change password</h2><form method=\"post\" action=\"/account/password\">{csrf}\
         <label for=\"current_password\">Current password</label><input type=\"password\" id=\"current_password\" name=\"current_password\" autocomplete=\"current-password\" required>\
         <label for=\"new_password\">New password</label><input type=\"password\" id=\"new_password\" name=\"new_password\" autocomplete=\"new-password\" minlength=\"12\" required>\
         <button type=\"submit\">Change password</button></form>\
         <p>Changing the password signs you out everywhere.</p>\
         <form method=\"post\" action=\"/oauth/logout\">{csrf}<input type=\"hidden\" name=\"confirm\" value=\"yes\"><button type=\"submit\" class=\"secondary\">Sign out</button></form>",
        esc(&user.name),
        esc(&user.email),
        super::upstream::account_section(state, &identities, &csrf),
    );
    page(StatusCode::OK, "Your account", &body)
}

/// `POST /account/password`.
pub async fn change_password(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (form, _, user) = match browser.signed_in_form(&state, &headers, &body, "/account") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let current = SecretString::new(form.get("current_password").unwrap_or(""));
    let new = SecretString::new(form.get("new_password").unwrap_or(""));
    let res = match state.gh.change_password(user, &current, &new).await {
        Ok(()) => {
            let mut res = page(
                StatusCode::OK,
                "Password changed",
                "<p class=\"notice\">Your password is changed and every session is signed out.</p><p><a href=\"/login\">Sign in</a></p>",
            );
            res.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, "", Some(0), browser.secure),
            );
            res
        }
        Err(gatehouse_core::Error::Invalid { field, reason }) => {
            render(
                &state,
                &browser,
                Some(("error", &format!("{}: {reason}", field.replace('_', " ")))),
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "password change failed");
            error_page(StatusCode::INTERNAL_SERVER_ERROR, "The password could not be changed.")
        }
    };
    browser.finish(res)
}

/// `POST /account/sessions/{id}/revoke`.
pub async fn revoke_session(
    State(state): State<Arc<AppState>>,
    Path(id): Path<uuid::Uuid>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (_, current, user) = match browser.signed_in_form(&state, &headers, &body, "/account") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let res = match state.gh.revoke_own_session(user.id, SessionId::from_uuid(id)).await {
        Ok(()) if current.id.uuid() == id => see_other("/login"),
        Ok(()) => see_other("/account"),
        Err(e) => error_page(StatusCode::NOT_FOUND, &e.to_string()),
    };
    browser.finish(res)
}
