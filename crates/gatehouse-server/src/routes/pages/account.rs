//! The account page (SPEC §5.4): who is signed in, the project invitations waiting for them
//! (accept or decline), their sessions (revocable), the two-step sign-in section
//! ([`super::factors`]), and changing the password, which ends every session and revokes every
//! token.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use gatehouse_core::ids::{InvitationId, SessionId};
use gatehouse_core::secret::SecretString;

use crate::extract::Path;
use crate::routes::web::{Browser, SESSION_COOKIE, error_page, esc, page, see_other, set_cookie, to_login};
use crate::state::AppState;

/// `GET /account`.
pub async fn show(State(state): State<Arc<AppState>>, browser: Browser) -> Response {
    let res = render(&state, &browser, None).await;
    browser.finish(res)
}

pub(crate) async fn render(state: &AppState, browser: &Browser, message: Option<(&str, &str)>) -> Response {
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
    let invitations = match state.gh.own_invitations(user).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "listing invitations failed");
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Your invitations could not be loaded.",
            );
        }
    };
    let factors = match super::factors::section(state, browser, user, "").await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "reading second factors failed");
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Your account could not be loaded.");
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
    let invited: String = invitations
        .iter()
        .map(|(i, p)| {
            format!(
                "<li><strong>{name}</strong> (until {until}) \
                 <form method=\"post\" action=\"/account/invitations/{id}/accept\">{csrf}<button type=\"submit\" aria-label=\"Accept the invitation to {name}\">Accept</button></form> \
                 <form method=\"post\" action=\"/account/invitations/{id}/decline\">{csrf}<button type=\"submit\" class=\"secondary\" aria-label=\"Decline the invitation to {name}\">Decline</button></form></li>",
                name = esc(&p.name),
                until = esc(&i.expires_at.rfc3339()),
                id = i.id,
            )
        })
        .collect();
    let invited = if invited.is_empty() {
        String::new()
    } else {
        format!(
            "<h2>Invitations</h2><p>You become a member of a project when you accept its invitation.</p><ul id=\"invitations\">{invited}</ul>"
        )
    };
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
        "{message}<p>Signed in as <strong>{}</strong> ({}).</p>{invited}\
         <h2>Sessions</h2><table><thead><tr><th>Signed in</th><th>Address</th><th>Browser</th><th></th></tr></thead><tbody>{rows}</tbody></table>{factors}\
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

/// `POST /account/invitations/{id}/accept` and `…/decline`.
pub async fn answer_invitation(
    State(state): State<Arc<AppState>>,
    Path((id, answer)): Path<(uuid::Uuid, String)>,
    headers: HeaderMap,
    browser: Browser,
    body: Bytes,
) -> Response {
    let (_, _, user) = match browser.signed_in_form(&state, &headers, &body, "/account") {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let accept = match answer.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return browser.finish(error_page(StatusCode::NOT_FOUND, "No such answer.")),
    };
    let res = match state
        .gh
        .answer_invitation(user, InvitationId::from_uuid(id), accept)
        .await
    {
        Ok(()) => {
            let done = if accept {
                "You are a member of the project now."
            } else {
                "The invitation is declined."
            };
            render(&state, &browser, Some(("notice", done))).await
        }
        Err(e) => error_page(StatusCode::NOT_FOUND, &e.to_string()),
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
