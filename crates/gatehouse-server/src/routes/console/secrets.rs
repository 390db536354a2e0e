//! `…/secrets`: the project's secrets as metadata (name, type, version, when changed; every
//! member reads it); developers add, replace and delete them. A value is write-only: it is
//! posted, sealed by the core, and never rendered, not even back into a refused form.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::ids::SecretId;
use gatehouse_core::model::ProjectSecretRecord;
use gatehouse_core::secret::SecretString;

use super::forms::{self, Answer, FormState, Stop, when};
use super::layout::{ProjectPage, Shell};
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
) -> Answer {
    let secrets = forms::ok(
        console,
        state,
        state.gh.list_project_secrets(&console.who, ctx.project.id).await,
    )
    .await?;
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
    Ok(console.page(page.form.status(), &page))
}

/// `GET …/secrets`.
pub async fn list(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Answer {
    let ctx = forms::project(&console, &state, &project_id, SECTION, "Secrets").await?;
    render(&console, &state, ctx, None, FormState::default()).await
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
) -> Answer {
    let (form, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Secrets").await?;
    let (name, kind, data) = posted(&form);
    match state
        .gh
        .create_project_secret(&console.who, ctx.project.id, &name, &kind, &data)
        .await
    {
        Ok(s) => forms::done(&console, &ctx, &format!("Secret {} added.", s.name)),
        Err(e) => {
            let again = forms::refused(&console, &state, &form, e, FIELDS).await?;
            render(&console, &state, ctx, None, again).await
        }
    }
}

/// The secret of the path, for developers only (others: 404, they have no such button).
async fn secret(
    console: &Console,
    state: &AppState,
    project_id: &str,
    id: &str,
    title: &str,
) -> Result<(ProjectPage, ProjectSecretRecord), Stop> {
    let ctx = forms::project_if(console, state, project_id, (SECTION, title), ProjectPage::can_develop).await?;
    let all = forms::ok(
        console,
        state,
        state.gh.list_project_secrets(&console.who, ctx.project.id).await,
    )
    .await?;
    let secret = forms::found(console, state, all.into_iter().find(|s| s.id.to_string() == id))?;
    Ok((ctx, secret))
}

/// `GET …/secrets/{id}`: the replace form.
pub async fn show(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
) -> Answer {
    let (ctx, s) = secret(&console, &state, &project_id, &id, "Replace secret").await?;
    let form = FormState::with(&[("name", &s.name), ("kind", &s.kind)]);
    render(&console, &state, ctx, Some(&s), form).await
}

/// `POST …/secrets/{id}`: replace the name, type and value.
pub async fn update(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let form = forms::checked(&console, &state, &headers, &body)?;
    let (ctx, s) = secret(&console, &state, &project_id, &id, "Replace secret").await?;
    let (name, kind, data) = posted(&form);
    match state
        .gh
        .update_project_secret(&console.who, ctx.project.id, s.id, &name, &kind, &data)
        .await
    {
        Ok(s) => forms::done(&console, &ctx, &format!("Secret {} replaced.", s.name)),
        Err(e) => {
            let again = forms::refused(&console, &state, &form, e, FIELDS).await?;
            render(&console, &state, ctx, Some(&s), again).await
        }
    }
}

/// `GET …/secrets/{id}/delete`: the confirmation.
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
) -> Answer {
    let (ctx, s) = secret(&console, &state, &project_id, &id, "Delete secret").await?;
    let question = format!(
        "Delete the secret {}? Programs reading it get nothing from now on. This cannot be undone.",
        s.name
    );
    let action = ctx.path(&format!("{SECTION}/{id}/delete"));
    forms::confirm(&console, ctx, &question, &action, "Delete")
}

/// `POST …/secrets/{id}/delete`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (_, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Secrets").await?;
    let id = SecretId::from_uuid(forms::path_id(&console, &state, &id)?);
    let result = state.gh.delete_project_secret(&console.who, ctx.project.id, id).await;
    forms::changed(&console, &state, &ctx, result, "Secret deleted.").await
}
