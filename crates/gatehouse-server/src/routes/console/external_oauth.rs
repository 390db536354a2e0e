//! `…/external-oauth`: the project's external OAuth registrations (SPEC §4.5; every member reads
//! them, rooms' own registrations included); developers add, edit and delete the project's.
//! The client secret is write-only: the page says whether one is set, an empty field keeps it,
//! and it is never rendered.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use gatehouse_core::ids::RegistrationId;
use gatehouse_core::model::Registration;
use gatehouse_core::secret::SecretString;
use gatehouse_types::{ExternalOAuthEndpoints, ExternalOAuthInput};

use super::forms::{self, Answer, FormState, Stop};
use super::layout::{ProjectPage, Shell};
use super::session::Console;
use crate::extract::{Form, Path};
use crate::state::AppState;

const SECTION: &str = "external-oauth";
/// The core's field names and the form's.
const FIELDS: &[(&str, &str)] = &[
    ("name", "name"),
    ("client_id", "client_id"),
    ("client_secret", "client_secret"),
    ("oauth.authorization_endpoint", "authorization_endpoint"),
    ("oauth.token_endpoint", "token_endpoint"),
    ("oauth.revocation_endpoint", "revocation_endpoint"),
    ("oauth.issuer", "issuer"),
    ("oauth.scopes", "scopes"),
    ("redirect_uris", "redirect_uris"),
];

struct Row {
    id: String,
    name: String,
    client_id: String,
    authorization_endpoint: String,
    has_secret: bool,
    room: Option<String>,
}

#[derive(Template)]
#[template(path = "console/external_oauth.html")]
struct RegistrationsPage {
    shell: Shell,
    base: String,
    action: String,
    editing: Option<String>,
    has_secret: bool,
    rows: Vec<Row>,
    can_develop: bool,
    form: FormState,
}

async fn render(
    console: &Console,
    state: &AppState,
    ctx: ProjectPage,
    editing: Option<&Registration>,
    form: FormState,
) -> Answer {
    let found = state.gh.list_registrations(&console.who, ctx.project.id, None).await;
    let all = forms::ok(console, state, found).await?;
    let base = ctx.path(SECTION);
    let page = RegistrationsPage {
        action: editing.map_or_else(|| base.clone(), |r| format!("{base}/{}", r.id)),
        editing: editing.map(|r| r.name.clone()),
        has_secret: editing.is_some_and(|r| r.client_secret.is_some()),
        rows: all
            .iter()
            .map(|r| Row {
                id: r.id.to_string(),
                name: r.name.clone(),
                client_id: r.client_id.clone(),
                authorization_endpoint: r.endpoints.authorization_endpoint.clone(),
                has_secret: r.client_secret.is_some(),
                room: r.room_name.clone(),
            })
            .collect(),
        can_develop: ctx.can_develop(),
        base,
        shell: ctx.shell,
        form,
    };
    Ok(console.page(page.form.status(), &page))
}

/// `GET …/external-oauth`.
pub async fn list(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Answer {
    let ctx = forms::project(&console, &state, &project_id, SECTION, "External OAuth").await?;
    render(&console, &state, ctx, None, FormState::default()).await
}

/// The input of the posted form; `delegated_to` is kept from `current` (the form does not show it).
fn input(form: &Form, current: Option<&Registration>) -> ExternalOAuthInput {
    let text = |n: &str| form.get(n).unwrap_or("").trim().to_owned();
    let optional = |n: &str| Some(text(n)).filter(|v| !v.is_empty());
    let secret = form.get("client_secret").unwrap_or("");
    ExternalOAuthInput {
        name: text("name"),
        oauth: ExternalOAuthEndpoints {
            authorization_endpoint: text("authorization_endpoint"),
            token_endpoint: text("token_endpoint"),
            revocation_endpoint: optional("revocation_endpoint"),
            issuer: optional("issuer"),
            scopes: optional("scopes").map(|s| s.split_whitespace().map(str::to_owned).collect()),
            no_pkce: Some(form.get("no_pkce").is_some()),
        },
        client_id: text("client_id"),
        client_secret: if form.get("remove_secret").is_some() {
            Some(SecretString::new(""))
        } else if secret.is_empty() {
            None
        } else {
            Some(SecretString::new(secret))
        },
        redirect_uris: text("redirect_uris")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        delegated_to: current.and_then(|r| r.delegated_to.clone()),
    }
}

/// The form of a stored registration.
fn stored(r: &Registration) -> FormState {
    let e = &r.endpoints;
    let scopes = e.scopes.as_ref().map(|s| s.join(" ")).unwrap_or_default();
    let redirects = r.redirect_uris.join("\n");
    let mut values = vec![
        ("name", r.name.as_str()),
        ("client_id", r.client_id.as_str()),
        ("authorization_endpoint", e.authorization_endpoint.as_str()),
        ("token_endpoint", e.token_endpoint.as_str()),
        ("revocation_endpoint", e.revocation_endpoint.as_deref().unwrap_or("")),
        ("issuer", e.issuer.as_deref().unwrap_or("")),
        ("scopes", &scopes),
        ("redirect_uris", &redirects),
    ];
    if e.no_pkce {
        values.push(("no_pkce", "on"));
    }
    FormState::with(&values)
}

/// `POST …/external-oauth`: add a registration.
pub async fn create(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let posted = (&headers, &body[..]);
    let (form, ctx) = forms::posted(&console, &state, posted, &project_id, SECTION, "External OAuth").await?;
    let created = state
        .gh
        .create_registration(&console.who, ctx.project.id, None, &input(&form, None))
        .await;
    match created {
        Ok(r) => forms::done(&console, &ctx, &format!("Registration {} added.", r.name)),
        Err(e) => {
            let again = forms::refused(&console, &state, &form, e, FIELDS).await?;
            render(&console, &state, ctx, None, again).await
        }
    }
}

/// The project registration of the path, for developers (others: 404, they have no such button).
async fn registration(
    console: &Console,
    state: &AppState,
    project_id: &str,
    id: &str,
    title: &str,
) -> Result<(ProjectPage, Registration), Stop> {
    let ctx = forms::project_if(console, state, project_id, (SECTION, title), ProjectPage::can_develop).await?;
    let found = state.gh.list_registrations(&console.who, ctx.project.id, None).await;
    let all = forms::ok(console, state, found).await?;
    let project_level = all
        .into_iter()
        .find(|r| r.id.to_string() == id && r.room_name.is_none());
    Ok((ctx, forms::found(console, state, project_level)?))
}

/// `GET …/external-oauth/{id}`: the edit form.
pub async fn show(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
) -> Answer {
    let (ctx, r) = registration(&console, &state, &project_id, &id, "External OAuth registration").await?;
    render(&console, &state, ctx, Some(&r), stored(&r)).await
}

/// `POST …/external-oauth/{id}`: save.
pub async fn update(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let form = forms::checked(&console, &state, &headers, &body)?;
    let (ctx, r) = registration(&console, &state, &project_id, &id, "External OAuth registration").await?;
    let saved = state
        .gh
        .update_registration(&console.who, ctx.project.id, None, r.id, &input(&form, Some(&r)))
        .await;
    match saved {
        Ok(saved) => forms::done(&console, &ctx, &format!("Registration {} saved.", saved.name)),
        Err(e) => {
            let again = forms::refused(&console, &state, &form, e, FIELDS).await?;
            render(&console, &state, ctx, Some(&r), again).await
        }
    }
}

/// `GET …/external-oauth/{id}/delete`: the confirmation.
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
) -> Answer {
    let (ctx, r) = registration(&console, &state, &project_id, &id, "Delete registration").await?;
    let question = format!(
        "Delete the registration {}? Rooms can no longer sign people in to this provider through it.",
        r.name
    );
    let action = ctx.path(&format!("{SECTION}/{id}/delete"));
    forms::confirm(&console, ctx, &question, &action, "Delete")
}

/// `POST …/external-oauth/{id}/delete`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let posted = (&headers, &body[..]);
    let (_, ctx) = forms::posted(&console, &state, posted, &project_id, SECTION, "External OAuth").await?;
    let id = RegistrationId::from_uuid(forms::path_id(&console, &state, &id)?);
    let result = state
        .gh
        .delete_registration(&console.who, ctx.project.id, None, id)
        .await;
    forms::changed(&console, &state, &ctx, result, "Registration deleted.").await
}
