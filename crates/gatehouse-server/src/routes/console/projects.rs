//! `/console`: the person's projects, how to get one when they have none, and a form to create
//! one (whoever the core lets: every signed-in user, who becomes its admin; server admins see
//! every project); `/console/switch`, the project switcher without JavaScript.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::access::Principal;

use super::layout::{self, Shell};
use super::session::Console;
use crate::extract::Form;
use crate::routes::web::see_other;
use crate::state::AppState;

/// A project in the list.
struct Card {
    id: String,
    name: String,
    system: bool,
}

#[derive(Template)]
#[template(path = "console/projects.html")]
struct ProjectsPage {
    shell: Shell,
    projects: Vec<Card>,
    email: String,
    can_create: bool,
    name: String,
    name_error: Option<String>,
}

async fn render(
    console: &Console,
    state: &AppState,
    status: StatusCode,
    name: &str,
    name_error: Option<String>,
) -> Response {
    let projects = match state.gh.list_projects(&console.who).await {
        Ok(p) => p,
        Err(e) => return layout::error(console, state, e).await,
    };
    let page = ProjectsPage {
        shell: Shell::new(console, state, "Projects", "").await,
        projects: projects
            .into_iter()
            .map(|p| Card {
                id: p.id.to_string(),
                name: p.name,
                system: p.is_system,
            })
            .collect(),
        email: console.user.email.clone(),
        // Who may create projects is the core's rule (every signed-in user, SPEC §3).
        can_create: !matches!(console.who, Principal::User { read_only: true, .. }),
        name: name.to_owned(),
        name_error,
    };
    console.page(status, &page)
}

/// `GET /console`.
pub async fn index(State(state): State<Arc<AppState>>, console: Console) -> Response {
    render(&console, &state, StatusCode::OK, "", None).await
}

/// `POST /console/projects`: a server admin creates a project.
pub async fn create(State(state): State<Arc<AppState>>, console: Console, headers: HeaderMap, body: Bytes) -> Response {
    let form = match console.form(&state, &headers, &body) {
        Ok(f) => f,
        Err(res) => return *res,
    };
    let name = form.get("name").unwrap_or("").trim().to_owned();
    match state.gh.create_project(&console.who, &name).await {
        Ok(p) => layout::redirect_with(
            &console,
            &format!("/console/projects/{}/clients", p.id),
            &format!("Project {} created.", p.name),
        ),
        Err(Error::Invalid { reason, .. }) => {
            let message = format!("The project name {reason}.");
            render(&console, &state, StatusCode::BAD_REQUEST, &name, Some(message)).await
        }
        Err(e) => layout::error(&console, &state, e).await,
    }
}

/// `GET /console/switch?project=…`: the switcher's form without JavaScript.
pub async fn switch(console: Console, RawQuery(query): RawQuery) -> Response {
    let form = Form::parse(query.unwrap_or_default().as_bytes());
    match form.get("project").and_then(|p| uuid::Uuid::try_parse(p).ok()) {
        Some(id) => console
            .browser
            .finish(see_other(&format!("/console/projects/{id}/clients"))),
        None => console.browser.finish(see_other("/console")),
    }
}
