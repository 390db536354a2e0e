//! The handlers of the client form: new, create, show/edit, save, and Set New Secret. A new
//! secret (after create and after Set New Secret) is rendered in the answer to the POST, once:
//! never in a URL, a cookie or a redirect, and the page is `no-store`. Reloading re-sends the
//! POST, which the form's pre-filled Client ID (create) or version (new secret) turns into a
//! refusal instead of a second secret.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::clients::{Client, ClientSettings};
use gatehouse_core::ids::ClientId;
use gatehouse_core::ports::Page;
use gatehouse_core::rng::SystemRng;
use gatehouse_core::secret::{Secret, SecretString};

use super::clients_form::{FieldError, FormPage, Values};
use super::clients_history::{self, Entry};
use super::layout::{self, ProjectPage, Shell};
use super::session::Console;
use crate::extract::{Form, Path};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "console/client_secret.html")]
struct SecretPage {
    shell: Shell,
    list: String,
    client_id: String,
    name: String,
    secret: String,
    created: bool,
}

async fn context(console: &Console, state: &AppState, project_id: &str, title: &str) -> Result<ProjectPage, Response> {
    ProjectPage::load(console, state, project_id, "clients", title).await
}

/// A page or form for writers only: members who may only read get 403 (they see no such
/// button either), people outside the project 404.
pub(super) async fn writable(
    console: &Console,
    state: &AppState,
    project_id: &str,
    title: &str,
) -> Result<ProjectPage, Response> {
    let ctx = context(console, state, project_id, title).await?;
    match ctx.access.require_developer() {
        Ok(()) => Ok(ctx),
        Err(e) => Err(layout::error(console, state, e).await),
    }
}

/// A posted form of a writer with its CSRF token, and the project page it was posted to; or the
/// refusal (403 without the token, 404 for anyone who may not change clients).
pub(super) async fn posted(
    console: &Console,
    state: &AppState,
    project_id: &str,
    title: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Form, ProjectPage), Response> {
    let form = console.form(state, headers, body).map_err(|res| *res)?;
    let ctx = writable(console, state, project_id, title).await?;
    Ok((form, ctx))
}

fn new_values() -> Values {
    let mut defaults = ClientSettings::defaults(String::new(), true);
    defaults.response_types = vec!["code".into()];
    let id = ClientId::generate(&SystemRng::default());
    Values::of(id.as_str(), &defaults)
}

/// `GET …/clients/new`.
pub async fn new(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Response {
    let ctx = match writable(&console, &state, &project_id, "New Client").await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let list = ctx.path("clients");
    let page = FormPage::new(ctx.shell, list, true, new_values(), None);
    console.page(StatusCode::OK, &page)
}

/// The form again, with what was typed and the message next to its field.
fn refused(
    console: &Console,
    ctx: ProjectPage,
    creating: bool,
    v: Values,
    error: FieldError,
    stored: Option<&Client>,
) -> Response {
    let list = ctx.path("clients");
    let mut page = FormPage::new(ctx.shell, list, creating, v, stored.map(|c| &c.settings));
    page.version = stored.map_or(0, |c| c.version);
    page.official = stored.is_some_and(|c| c.official);
    page.error = Some(error);
    console.page(StatusCode::BAD_REQUEST, &page)
}

/// `POST …/clients`: create; a confidential client's secret is shown in the answer, once.
pub async fn create(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, ctx) = match posted(&console, &state, &project_id, "New Client", &headers, &body).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let v = Values::posted(&form);
    let input = match v.input(true) {
        Ok(i) => i,
        Err(e) => return refused(&console, ctx, true, v, e, None),
    };
    match state.gh.create_client(&console.who, ctx.project.id, &input).await {
        Ok((c, Some(secret))) => {
            let list = ctx.path("clients");
            let page = SecretPage {
                list,
                client_id: c.id.to_string(),
                name: c.settings.name.clone(),
                secret: secret.expose_secret().clone(),
                created: true,
                shell: ctx.shell,
            };
            console.page(StatusCode::CREATED, &page)
        }
        Ok((c, None)) => layout::redirect_with(
            &console,
            &ctx.path(&format!("clients/{}", c.id)),
            &format!("Client {} created.", c.settings.name),
        ),
        Err(Error::Invalid { field, reason }) => {
            let e = FieldError::from_core(&field, &reason, &v);
            refused(&console, ctx, true, v, e, None)
        }
        Err(Error::Conflict(_)) => {
            let e = FieldError {
                field: "client_id",
                message: "is taken: a client with this ID exists. If you just created it, its secret was shown once; set a new one from its page.".into(),
                hint: None,
            };
            refused(&console, ctx, true, v, e, None)
        }
        Err(e) => layout::error(&console, &state, e).await,
    }
}

/// `GET …/clients/{client_id}`: the form (read-only for members), risks and history.
pub async fn show(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, client_id)): Path<(String, String)>,
) -> Response {
    let ctx = match context(&console, &state, &project_id, "OAuth client").await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let c = match state.gh.get_client(&console.who, ctx.project.id, &client_id).await {
        Ok(c) => c,
        Err(e) => return layout::error(&console, &state, e).await,
    };
    let page = Page {
        offset: 0,
        count: clients_history::SHOWN,
    };
    let history = match state
        .gh
        .client_history(&console.who, ctx.project.id, &client_id, page)
        .await
    {
        Ok((records, _)) => records.iter().map(|r| Entry::of(r, &console)).collect(),
        Err(_) => Vec::new(),
    };
    let can_develop = ctx.can_develop();
    let mut shell = ctx.shell;
    shell.title = c.settings.name.clone();
    let list = format!("/console/projects/{}/clients", ctx.project.id);
    let mut page = FormPage::new(
        shell,
        list,
        false,
        Values::of(c.id.as_str(), &c.settings),
        Some(&c.settings),
    );
    page.can_develop = can_develop;
    page.official = c.official;
    page.version = c.version;
    page.history = history;
    page.last_used = clients_history::last_used(state.gh.client_last_used(&c));
    console.page(StatusCode::OK, &page)
}

/// [`posted`] to one client: also the stored client, and whether the form was made from its
/// current version.
async fn posted_to(
    console: &Console,
    state: &AppState,
    (project_id, client_id): (&str, &str),
    title: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Form, ProjectPage, Client, bool), Response> {
    let (form, ctx) = posted(console, state, project_id, title, headers, body).await?;
    match state.gh.get_client(&console.who, ctx.project.id, client_id).await {
        Ok(c) => {
            let fresh = form.get("version").and_then(|v| v.parse().ok()) == Some(c.version);
            Ok((form, ctx, c, fresh))
        }
        Err(e) => Err(layout::error(console, state, e).await),
    }
}

/// `POST …/clients/{client_id}`: save the form.
pub async fn update(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, client_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, ctx, stored, fresh) = match posted_to(
        &console,
        &state,
        (&project_id, &client_id),
        "OAuth client",
        &headers,
        &body,
    )
    .await
    {
        Ok(p) => p,
        Err(res) => return res,
    };
    let mut v = Values::posted(&form);
    v.client_id = stored.id.to_string();
    if !fresh {
        let e = FieldError {
            field: "name",
            message: "was not saved: someone changed this client since you opened it. Review it and save again.".into(),
            hint: None,
        };
        return refused(&console, ctx, false, v, e, Some(&stored));
    }
    let input = match v.input(false) {
        Ok(i) => i,
        Err(e) => return refused(&console, ctx, false, v, e, Some(&stored)),
    };
    match state
        .gh
        .update_client(&console.who, ctx.project.id, &client_id, &input)
        .await
    {
        Ok(c) => layout::redirect_with(
            &console,
            &ctx.path(&format!("clients/{client_id}")),
            &format!("Client {} saved.", c.settings.name),
        ),
        Err(Error::Invalid { field, reason }) => {
            let e = FieldError::from_core(&field, &reason, &v);
            refused(&console, ctx, false, v, e, Some(&stored))
        }
        Err(e) => layout::error(&console, &state, e).await,
    }
}

/// `POST …/clients/{client_id}/secret`: Set New Secret, shown once in the answer.
pub async fn rotate_secret(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, client_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, ctx, stored, fresh) = match posted_to(
        &console,
        &state,
        (&project_id, &client_id),
        "Client secret",
        &headers,
        &body,
    )
    .await
    {
        Ok(p) => p,
        Err(res) => return res,
    };
    let back = ctx.path(&format!("clients/{client_id}"));
    if !fresh {
        return layout::redirect_with(
            &console,
            &back,
            "No new secret was set: the client changed since the form was shown (a reload re-sends it). Set a new secret again if you need one.",
        );
    }
    let chosen = form
        .get("client_secret")
        .filter(|s| !s.is_empty())
        .map(SecretString::new);
    let grace = form
        .get("grace_seconds")
        .and_then(|g| g.trim().parse().ok())
        .unwrap_or(0);
    match state
        .gh
        .rotate_client_secret(&console.who, ctx.project.id, &client_id, chosen, grace)
        .await
    {
        Ok(secret) => {
            let list = ctx.path("clients");
            let page = SecretPage {
                list,
                client_id: stored.id.to_string(),
                name: stored.settings.name.clone(),
                secret: Secret::into_secret(secret),
                created: false,
                shell: ctx.shell,
            };
            console.page(StatusCode::OK, &page)
        }
        Err(Error::Invalid { field, reason }) => {
            layout::redirect_with(&console, &back, &format!("No new secret was set: {field} {reason}."))
        }
        Err(e) => layout::error(&console, &state, e).await,
    }
}
