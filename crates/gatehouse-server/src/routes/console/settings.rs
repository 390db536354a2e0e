//! `…/settings`: the project's name and facts (every member reads them); admins rename the
//! project and delete it by typing its exact name.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;

use super::forms::{self, Answer, FormState, when};
use super::layout::{self, ProjectPage, Shell};
use super::session::Console;
use crate::extract::Path;
use crate::state::AppState;

const SECTION: &str = "settings";

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    shell: Shell,
    base: String,
    id: String,
    name: String,
    created: String,
    system: bool,
    can_admin: bool,
    form: FormState,
}

fn render(console: &Console, ctx: ProjectPage, form: FormState) -> Answer {
    let page = SettingsPage {
        base: ctx.path(SECTION),
        id: ctx.project.id.to_string(),
        name: ctx.project.name.clone(),
        created: when(ctx.project.created_at),
        system: ctx.project.is_system,
        can_admin: ctx.access.require_admin().is_ok(),
        shell: ctx.shell,
        form,
    };
    Ok(console.page(page.form.status(), &page))
}

/// `GET …/settings`.
pub async fn show(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Answer {
    let ctx = forms::project(&console, &state, &project_id, SECTION, "Settings").await?;
    let form = FormState::with(&[("name", &ctx.project.name)]);
    render(&console, ctx, form)
}

/// `POST …/settings`: rename.
pub async fn rename(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (form, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Settings").await?;
    let name = form.get("name").unwrap_or("").trim();
    match state.gh.rename_project(&console.who, ctx.project.id, name).await {
        Ok(p) => forms::done(&console, &ctx, &format!("The project is now called {}.", p.name)),
        Err(e) => {
            let again = forms::refused(&console, &state, &form, e, &[("name", "name")]).await?;
            render(&console, ctx, again)
        }
    }
}

/// `POST …/settings/delete`: delete when the typed name is exactly the project's.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (form, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Settings").await?;
    if ctx.access.require_admin().is_ok() && form.get("confirm_name") != Some(ctx.project.name.as_str()) {
        let message = format!(
            "does not match: type {} exactly to delete the project",
            ctx.project.name
        );
        let mut again = FormState::refused(&form, "confirm_name", message);
        again.set("name", &ctx.project.name);
        return render(&console, ctx, again);
    }
    forms::ok(
        &console,
        &state,
        state.gh.delete_project(&console.who, ctx.project.id).await,
    )
    .await?;
    let message = format!("Project {} deleted.", ctx.project.name);
    Ok(layout::redirect_with(&console, "/console", &message))
}
