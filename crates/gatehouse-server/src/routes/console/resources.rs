//! `…/resources`: the project's API resources (SPEC §5.7) — the audiences its access tokens are
//! for, with their scopes — listed for every member; developers create, edit and delete them.
//! Scopes are typed one per line, the name then its description. Deleting a resource that clients
//! still use asks again and then deletes it with `force`, as REST does.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use gatehouse_core::Error;
use gatehouse_core::ids::ResourceId;
use gatehouse_core::jose::SigningAlg;
use gatehouse_core::resources::ApiResource;
use gatehouse_types::{ResourceInput, ResourceScope};

use super::forms::{self, Answer, FormState, Stop, when};
use super::layout::{self, ProjectPage, Shell};
use super::session::Console;
use crate::extract::{Form, Path};
use crate::state::AppState;

const SECTION: &str = "resources";
/// The core's field names and the form's (the same, but for the scopes' descriptions).
const FIELDS: &[(&str, &str)] = &[
    ("identifier", "identifier"),
    ("name", "name"),
    ("scopes", "scopes"),
    ("scopes.description", "scopes"),
    ("access_token_lifetime_secs", "access_token_lifetime_secs"),
    ("signing_alg", "signing_alg"),
    ("token_format", "token_format"),
];

struct Row {
    id: String,
    name: String,
    identifier: String,
    scopes: String,
    lifetime: u32,
    alg: &'static str,
    format: &'static str,
    updated: String,
}

impl Row {
    fn of(r: &ApiResource) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name.clone(),
            identifier: r.identifier.clone(),
            scopes: r.scopes.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(" "),
            lifetime: r.access_token_lifetime_secs,
            alg: r.signing_alg.as_str(),
            format: r.token_format.as_str(),
            updated: when(r.updated_at),
        }
    }
}

#[derive(Template)]
#[template(path = "console/resources.html")]
struct ListPage {
    shell: Shell,
    base: String,
    rows: Vec<Row>,
    can_develop: bool,
}

/// `GET …/resources`.
pub async fn list(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Answer {
    let ctx = forms::project(&console, &state, &project_id, SECTION, "API resources").await?;
    let all = forms::ok(
        &console,
        &state,
        state.gh.list_resources(&console.who, ctx.project.id).await,
    )
    .await?;
    let page = ListPage {
        base: ctx.path(SECTION),
        rows: all.iter().map(Row::of).collect(),
        can_develop: ctx.can_develop(),
        shell: ctx.shell,
    };
    Ok(console.page(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "console/resource_form.html")]
struct FormPage {
    shell: Shell,
    base: String,
    action: String,
    /// The identifier of the resource being edited; `None` for a new one.
    editing: Option<String>,
    algs: Vec<&'static str>,
    form: FormState,
}

impl FormPage {
    /// Whether `value` is the one chosen for the select `field`.
    fn selected(&self, field: &str, value: &str) -> bool {
        self.form.value(field) == value
    }
}

fn render(console: &Console, ctx: ProjectPage, editing: Option<&ApiResource>, form: FormState) -> Answer {
    let base = ctx.path(SECTION);
    let page = FormPage {
        action: editing.map_or_else(|| base.clone(), |r| format!("{base}/{}", r.id)),
        editing: editing.map(|r| r.identifier.clone()),
        algs: SigningAlg::ALL.iter().map(|a| a.as_str()).collect(),
        base,
        shell: ctx.shell,
        form,
    };
    Ok(console.page(page.form.status(), &page))
}

/// The form showing `r` as it is.
fn filled(r: &ApiResource) -> FormState {
    let scopes: Vec<String> = r
        .scopes
        .iter()
        .map(|s| format!("{} {}", s.name, s.description).trim_end().to_owned())
        .collect();
    FormState::with(&[
        ("identifier", &r.identifier),
        ("name", &r.name),
        ("scopes", &scopes.join("\n")),
        ("access_token_lifetime_secs", &r.access_token_lifetime_secs.to_string()),
        ("signing_alg", r.signing_alg.as_str()),
        ("token_format", r.token_format.as_str()),
    ])
}

/// The posted resource, or the form again with the message of a field that is not even a value
/// of its type (a lifetime that is not a number).
fn posted(form: &Form) -> Result<ResourceInput, FormState> {
    let scopes = form
        .get("scopes")
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, description) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            ResourceScope {
                name: name.to_owned(),
                description: description.trim().to_owned(),
            }
        })
        .collect();
    let lifetime = match form.get("access_token_lifetime_secs").map(str::trim).unwrap_or("") {
        "" => None,
        v => Some(v.parse().map_err(|_| {
            FormState::refused(form, "access_token_lifetime_secs", "must be a whole number of seconds")
        })?),
    };
    let choice = |field: &str| form.get(field).filter(|v| !v.is_empty()).map(str::to_owned);
    Ok(ResourceInput {
        identifier: form.get("identifier").unwrap_or("").trim().to_owned(),
        name: form.get("name").unwrap_or("").trim().to_owned(),
        scopes,
        access_token_lifetime_secs: lifetime,
        signing_alg: choice("signing_alg"),
        token_format: choice("token_format"),
    })
}

/// `GET …/resources/new`.
pub async fn new(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Answer {
    let ctx = forms::project_if(
        &console,
        &state,
        &project_id,
        (SECTION, "New API resource"),
        ProjectPage::can_develop,
    )
    .await?;
    let form = FormState::with(&[("access_token_lifetime_secs", "3600"), ("signing_alg", "ES256")]);
    render(&console, ctx, None, form)
}

/// `POST …/resources`: create.
pub async fn create(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (form, ctx) = forms::posted(
        &console,
        &state,
        (&headers, &body),
        &project_id,
        SECTION,
        "New API resource",
    )
    .await?;
    let result = match posted(&form) {
        Ok(input) => state.gh.create_resource(&console.who, ctx.project.id, &input).await,
        Err(again) => return render(&console, ctx, None, again),
    };
    match result {
        Ok(r) => forms::done(&console, &ctx, &format!("API resource {} created.", r.name)),
        Err(e) => {
            let again = forms::refused(&console, &state, &form, e, FIELDS).await?;
            render(&console, ctx, None, again)
        }
    }
}

/// The resource of the path, for developers only (others: 404, they have no such button).
async fn resource(
    console: &Console,
    state: &AppState,
    project_id: &str,
    id: &str,
    title: &str,
) -> Result<(ProjectPage, ApiResource), Stop> {
    let ctx = forms::project_if(console, state, project_id, (SECTION, title), ProjectPage::can_develop).await?;
    let id = ResourceId::from_uuid(forms::path_id(console, state, id)?);
    let r = forms::ok(
        console,
        state,
        state.gh.get_resource(&console.who, ctx.project.id, id).await,
    )
    .await?;
    Ok((ctx, r))
}

/// `GET …/resources/{id}`: the edit form.
pub async fn show(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
) -> Answer {
    let (ctx, r) = resource(&console, &state, &project_id, &id, "Edit API resource").await?;
    render(&console, ctx, Some(&r), filled(&r))
}

/// `POST …/resources/{id}`: replace its settings.
pub async fn update(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let form = forms::checked(&console, &state, &headers, &body)?;
    let (ctx, r) = resource(&console, &state, &project_id, &id, "Edit API resource").await?;
    let result = match posted(&form) {
        Ok(input) => {
            state
                .gh
                .update_resource(&console.who, ctx.project.id, r.id, &input)
                .await
        }
        Err(again) => return render(&console, ctx, Some(&r), again),
    };
    match result {
        Ok(saved) => forms::done(&console, &ctx, &format!("API resource {} saved.", saved.name)),
        Err(e) => {
            let again = forms::refused(&console, &state, &form, e, FIELDS).await?;
            render(&console, ctx, Some(&r), again)
        }
    }
}

#[derive(Template)]
#[template(path = "console/resource_delete.html")]
struct DeletePage<'a> {
    shell: Shell,
    name: &'a str,
    identifier: &'a str,
    action: &'a str,
    back: &'a str,
    /// Why a plain delete was refused (clients use the resource): then the button forces it.
    in_use: Option<&'a str>,
}

fn delete_page(console: &Console, ctx: ProjectPage, r: &ApiResource, in_use: Option<&str>) -> Answer {
    let action = ctx.path(&format!("{SECTION}/{}/delete", r.id));
    let back = ctx.path(SECTION);
    let status = if in_use.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let page = DeletePage {
        shell: ctx.shell,
        name: &r.name,
        identifier: &r.identifier,
        action: &action,
        back: &back,
        in_use,
    };
    Ok(console.page(status, &page))
}

/// `GET …/resources/{id}/delete`: the confirmation.
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
) -> Answer {
    let (ctx, r) = resource(&console, &state, &project_id, &id, "Delete API resource").await?;
    delete_page(&console, ctx, &r, None)
}

/// `POST …/resources/{id}/delete`: deletes; one that clients use asks again, and the second
/// answer (`force=true`) deletes it anyway.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let form = forms::checked(&console, &state, &headers, &body)?;
    let (ctx, r) = resource(&console, &state, &project_id, &id, "Delete API resource").await?;
    let force = form.get("force") == Some("true");
    match state
        .gh
        .delete_resource(&console.who, ctx.project.id, r.id, force)
        .await
    {
        Ok(()) => forms::done(&console, &ctx, &format!("API resource {} deleted.", r.name)),
        Err(Error::Conflict(m)) if !force => {
            // The core says which clients use it, then how REST forces it; the button does that here.
            let why = m.split(';').next().unwrap_or(&m);
            delete_page(&console, ctx, &r, Some(why))
        }
        Err(e) => Err(layout::error(&console, &state, e).await.into()),
    }
}
