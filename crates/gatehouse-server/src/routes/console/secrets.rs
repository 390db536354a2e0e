//! `…/secrets`: the project's secrets as metadata (name, type, version, when changed; every
//! member reads it); developers add, replace and delete them. A value is write-only: it is
//! posted, sealed by the core, and never rendered, not even back into a refused form.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::ids::SecretId;
use gatehouse_core::model::ProjectSecretRecord;
use gatehouse_core::secret::SecretString;

use super::forms::{self, FormState, when};
use super::layout::{self, ProjectPage, Shell};
use super::session::Console;
use crate::extract::{Form, Path};
use crate::state::AppState;

const SECTION: &str = "secrets";
/// The core's field names and the form's.
const FIELDS: &[(&str, &str)] = &[("name", "name"), ("type", "kind"), ("data_base64", "value")];

struct Row {
    id: String,
    name: String,
    kind: String,
    version: i64,
    updated: String,
}

#[derive(Template)]
#[template(path = "console/secrets.html")]
struct SecretsPage {
    shell: Shell,
    base: String,
    action: String,
    /// The name of the secret whose value is replaced (its own page), or the list.
    editing: Option<String>,
    secrets: Vec<Row>,
    can_develop: bool,
    form: FormState,
}

async fn render(
    console: &Console,
    state: &AppState,
    ctx: ProjectPage,
    editing: Option<&ProjectSecretRecord>,
    form: FormState,
) -> Response {
    let secrets = match state.gh.list_project_secrets(&console.who, ctx.project.id).await {
        Ok(s) => s,
        Err(e) => return forms::failed(console, state, e).await,
    };
    let base = ctx.path(SECTION);
    let page = SecretsPage {
        action: editing.map_or_else(|| base.clone(), |s| format!("{base}/{}", s.id)),
        editing: editing.map(|s| s.name.clone()),
        secrets: secrets
            .iter()
            .map(|s| Row {
                id: s.id.to_string(),
                name: s.name.clone(),
                kind: s.kind.clone(),
                version: s.version,
                updated: when(s.updated_at),
            })
            .collect(),
        can_develop: ctx.can_develop(),
        base,
        shell: ctx.shell,
        form,
    };
    console.page(page.form.status(), &page)
}

/// `GET …/secrets`.
pub async fn list(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Response {
    match forms::project(&console, &state, &project_id, SECTION, "Secrets").await {
        Ok(ctx) => render(&console, &state, ctx, None, FormState::default()).await,
        Err(res) => res,
    }
}

/// The posted name, type and value (base64 of the typed JSON, as the core takes it).
fn posted(form: &Form) -> (String, String, SecretString) {
    let value = form.get("value").unwrap_or("").trim();
    (
        form.get("name").unwrap_or("").trim().to_owned(),
        form.get("kind").unwrap_or("keys").to_owned(),
        SecretString::new(STANDARD.encode(value)),
    )
}

/// `POST …/secrets`: add a secret.
pub async fn create(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, ctx) = match forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Secrets").await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let (name, kind, data) = posted(&form);
    match state
        .gh
        .create_project_secret(&console.who, ctx.project.id, &name, &kind, &data)
        .await
    {
        Ok(s) => layout::redirect_with(&console, &ctx.path(SECTION), &format!("Secret {} added.", s.name)),
        Err(e) => match forms::refusal(e, FIELDS) {
            Ok((field, m)) => render(&console, &state, ctx, None, FormState::refused(&form, &field, m)).await,
            Err(e) => forms::failed(&console, &state, e).await,
        },
    }
}

/// The secret of the path, for developers only (others: 404, they have no such button).
async fn secret(
    console: &Console,
    state: &AppState,
    project_id: &str,
    id: &str,
    title: &str,
) -> Result<(ProjectPage, ProjectSecretRecord), Response> {
    let ctx = forms::project(console, state, project_id, SECTION, title).await?;
    if !ctx.can_develop() {
        return Err(layout::not_found(console, state));
    }
    let id = uuid::Uuid::try_parse(id).ok().map(SecretId::from_uuid);
    let all = match state.gh.list_project_secrets(&console.who, ctx.project.id).await {
        Ok(s) => s,
        Err(e) => return Err(forms::failed(console, state, e).await),
    };
    match all.into_iter().find(|s| Some(s.id) == id) {
        Some(s) => Ok((ctx, s)),
        None => Err(layout::not_found(console, state)),
    }
}

/// `GET …/secrets/{id}`: the replace form.
pub async fn show(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
) -> Response {
    match secret(&console, &state, &project_id, &id, "Replace secret").await {
        Ok((ctx, s)) => {
            let form = FormState::with(&[("name", &s.name), ("kind", &s.kind)]);
            render(&console, &state, ctx, Some(&s), form).await
        }
        Err(res) => res,
    }
}

/// `POST …/secrets/{id}`: replace the name, type and value.
pub async fn update(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match console.form(&state, &headers, &body) {
        Ok(f) => f,
        Err(res) => return res,
    };
    let (ctx, s) = match secret(&console, &state, &project_id, &id, "Replace secret").await {
        Ok(found) => found,
        Err(res) => return res,
    };
    let (name, kind, data) = posted(&form);
    match state
        .gh
        .update_project_secret(&console.who, ctx.project.id, s.id, &name, &kind, &data)
        .await
    {
        Ok(s) => layout::redirect_with(&console, &ctx.path(SECTION), &format!("Secret {} replaced.", s.name)),
        Err(e) => match forms::refusal(e, FIELDS) {
            Ok((field, m)) => render(&console, &state, ctx, Some(&s), FormState::refused(&form, &field, m)).await,
            Err(e) => forms::failed(&console, &state, e).await,
        },
    }
}

/// `GET …/secrets/{id}/delete`: the confirmation.
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
) -> Response {
    match secret(&console, &state, &project_id, &id, "Delete secret").await {
        Ok((ctx, s)) => {
            let question = format!(
                "Delete the secret {}? Programs reading it get nothing from now on. This cannot be undone.",
                s.name
            );
            let action = ctx.path(&format!("{SECTION}/{id}/delete"));
            let back = ctx.path(SECTION);
            forms::confirm(&console, ctx, &question, &action, "Delete", &back)
        }
        Err(res) => res,
    }
}

/// `POST …/secrets/{id}/delete`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_, ctx) = match forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Secrets").await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let Ok(id) = uuid::Uuid::try_parse(&id).map(SecretId::from_uuid) else {
        return layout::not_found(&console, &state);
    };
    match state.gh.delete_project_secret(&console.who, ctx.project.id, id).await {
        Ok(()) => layout::redirect_with(&console, &ctx.path(SECTION), "Secret deleted."),
        Err(e) => forms::failed(&console, &state, e).await,
    }
}
