//! `…/api-keys`: the project's API keys (developers and admins read the list), creating one
//! (admins; its value is shown once in the answer to the POST) and revoking one behind a
//! confirmation. The create form carries the newest key it saw, so re-sending the POST (reload)
//! is refused instead of making a second key.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use gatehouse_core::ids::ApiKeyId;
use gatehouse_core::model::ApiKeyRecord;
use gatehouse_core::secret::Secret;

use super::forms::{self, Answer, FormState, Stop, when};
use super::layout::{ProjectPage, Shell};
use super::session::Console;
use crate::extract::Path;
use crate::state::AppState;

const SECTION: &str = "api-keys";

/// One row of the list.
struct Row {
    id: String,
    name: String,
    description: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "console/api_keys.html")]
struct ListPage {
    shell: Shell,
    base: String,
    keys: Vec<Row>,
    can_read: bool,
    can_admin: bool,
    listed: String,
    form: FormState,
}

/// The id of the newest key, which the create form carries.
fn newest(keys: &[ApiKeyRecord]) -> String {
    keys.iter()
        .max_by_key(|k| (k.created_at, k.id.to_string()))
        .map_or_else(String::new, |k| k.id.to_string())
}

async fn render(console: &Console, state: &AppState, ctx: ProjectPage, form: FormState) -> Answer {
    let can_read = ctx.access.require_developer_read().is_ok();
    let keys = if can_read {
        forms::ok(
            console,
            state,
            state.gh.list_api_keys(&console.who, ctx.project.id).await,
        )
        .await?
    } else {
        Vec::new()
    };
    let page = ListPage {
        base: ctx.path(SECTION),
        listed: newest(&keys),
        keys: keys
            .iter()
            .map(|k| Row {
                id: k.id.to_string(),
                name: k.name.clone(),
                description: k.description.clone(),
                created: when(k.created_at),
                last_used: k.last_used_at.map_or_else(|| "Never".to_owned(), when),
            })
            .collect(),
        can_read,
        can_admin: ctx.access.require_admin().is_ok(),
        shell: ctx.shell,
        form,
    };
    Ok(console.page(page.form.status(), &page))
}

/// `GET …/api-keys`.
pub async fn list(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Answer {
    let ctx = forms::project(&console, &state, &project_id, SECTION, "API keys").await?;
    render(&console, &state, ctx, FormState::default()).await
}

/// `POST …/api-keys`: create; the value is in this answer only.
pub async fn create(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (form, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "API keys").await?;
    if ctx.access.require_developer_read().is_ok() {
        let keys = state
            .gh
            .list_api_keys(&console.who, ctx.project.id)
            .await
            .unwrap_or_default();
        if form.get("listed").unwrap_or("") != newest(&keys) {
            let again = FormState::refused(
                &form,
                "name",
                "was not created: the list changed since the form was shown (a reload sends the form again). Check the list and create the key again if you still need one.",
            );
            return render(&console, &state, ctx, again).await;
        }
    }
    let name = form.get("name").unwrap_or("").trim();
    let description = form.get("description").unwrap_or("").trim();
    match state
        .gh
        .create_api_key(&console.who, ctx.project.id, name, description)
        .await
    {
        Ok((record, value)) => {
            let what = format!("API key {}", record.name);
            Ok(forms::show_once(
                &console,
                ctx,
                "API key created",
                &what,
                &Secret::into_secret(value),
            ))
        }
        Err(e) => {
            let fields = [("name", "name"), ("description", "description")];
            let again = forms::refused(&console, &state, &form, e, &fields).await?;
            render(&console, &state, ctx, again).await
        }
    }
}

/// The key of the path, for admins (others: 404, they have no such button).
async fn key(
    console: &Console,
    state: &AppState,
    project_id: &str,
    id: &str,
) -> Result<(ProjectPage, ApiKeyRecord), Stop> {
    let admin = |c: &ProjectPage| c.access.require_admin().is_ok();
    let ctx = forms::project_if(console, state, project_id, (SECTION, "Revoke API key"), admin).await?;
    let keys = forms::ok(
        console,
        state,
        state.gh.list_api_keys(&console.who, ctx.project.id).await,
    )
    .await?;
    let key = forms::found(console, state, keys.into_iter().find(|k| k.id.to_string() == id))?;
    Ok((ctx, key))
}

/// `GET …/api-keys/{id}/revoke`: the confirmation.
pub async fn confirm_revoke(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
) -> Answer {
    let (ctx, key) = key(&console, &state, &project_id, &id).await?;
    let question = format!(
        "Revoke the API key {}? Programs using it stop working at once. This cannot be undone.",
        key.name
    );
    let action = ctx.path(&format!("{SECTION}/{id}/revoke"));
    forms::confirm(&console, ctx, &question, &action, "Revoke")
}

/// `POST …/api-keys/{id}/revoke`.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (_, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "API keys").await?;
    let key = ApiKeyId::from_uuid(forms::path_id(&console, &state, &id)?);
    let result = state.gh.revoke_api_key(&console.who, ctx.project.id, key).await;
    forms::changed(&console, &state, &ctx, result, "API key revoked.").await
}
