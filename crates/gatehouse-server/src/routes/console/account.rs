//! `/console/account`: the signed-in person's profile, their sessions (each can be ended), and
//! changing the password, which ends every session and revokes every token (SPEC §5.4), this
//! console's included.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use gatehouse_core::ids::SessionId;
use gatehouse_core::secret::SecretString;

use super::forms::{self, Answer, FormState, when};
use super::layout::{self, Shell};
use super::session::Console;
use crate::extract::Path;
use crate::state::AppState;

const PATH: &str = "/console/account";

struct SessionRow {
    id: String,
    created: String,
    expires: String,
    ip: String,
    user_agent: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    shell: Shell,
    id: String,
    name: String,
    email: String,
    created: String,
    sessions: Vec<SessionRow>,
    form: FormState,
}

async fn render(console: &Console, state: &AppState, form: FormState) -> Answer {
    let sessions = forms::ok(console, state, state.gh.list_own_sessions(console.user.id).await).await?;
    let current = console.browser.session.as_ref().map(|(s, _)| s.id);
    let page = AccountPage {
        shell: Shell::new(console, state, "Your account", "account").await,
        id: console.user.id.to_string(),
        name: console.user.name.clone(),
        email: console.user.email.clone(),
        created: when(console.user.created_at),
        sessions: sessions
            .iter()
            .map(|s| SessionRow {
                id: s.id.to_string(),
                created: when(s.created_at),
                expires: when(s.expires_at),
                ip: s.ip.clone(),
                user_agent: s.user_agent.clone(),
                current: Some(s.id) == current,
            })
            .collect(),
        form,
    };
    Ok(console.page(page.form.status(), &page))
}

/// `GET /console/account`.
pub async fn show(State(state): State<Arc<AppState>>, console: Console) -> Answer {
    render(&console, &state, FormState::default()).await
}

/// `POST /console/account/password`.
pub async fn change_password(
    State(state): State<Arc<AppState>>,
    console: Console,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let form = forms::checked(&console, &state, &headers, &body)?;
    let current = SecretString::new(form.get("current_password").unwrap_or(""));
    let new = SecretString::new(form.get("new_password").unwrap_or(""));
    match state.gh.change_password(&console.user, &current, &new).await {
        Ok(()) => Ok(layout::message_page(
            &console,
            &state,
            StatusCode::OK,
            "Password changed",
            "Your password is changed and every session is signed out, this console included. Sign in again with the new password.",
        )),
        Err(e) => {
            let fields = [
                ("current_password", "current_password"),
                ("new_password", "new_password"),
            ];
            let again = forms::refused(&console, &state, &form, e, &fields).await?;
            render(&console, &state, again).await
        }
    }
}

/// `POST /console/account/sessions/{id}/end`.
pub async fn end_session(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    forms::checked(&console, &state, &headers, &body)?;
    let id = SessionId::from_uuid(forms::path_id(&console, &state, &id)?);
    forms::ok(&console, &state, state.gh.revoke_own_session(console.user.id, id).await).await?;
    Ok(layout::redirect_with(&console, PATH, "Session ended."))
}
