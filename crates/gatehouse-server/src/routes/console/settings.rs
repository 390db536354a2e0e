//! `…/settings`: the project's name, facts and how people sign in to its apps (every member reads
//! them); admins rename the project, change its sign-up policy and second-factor requirement, and
//! delete it by typing its exact name.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use gatehouse_core::model::Project;
use gatehouse_core::people::ProjectSettings;

use super::forms::{self, Answer, FormState, when};
use super::layout::{self, ProjectPage, Shell};
use super::session::Console;
use crate::extract::{Form, Path};
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
    /// The sign-up policy, as the facts list says it.
    signup: String,
    require_second_factor: bool,
    form: FormState,
}

/// The fields of the form that was not posted, as the project has them, so that a refused
/// form shows the other one unchanged.
fn with_project(mut form: FormState, p: &Project, sign_in_posted: bool) -> FormState {
    if sign_in_posted {
        form.set("name", &p.name);
    } else {
        form.set("signup", p.settings.signup_name());
        form.set("signup_domains", &p.settings.signup_domains().join("\n"));
        if p.settings.require_second_factor {
            form.set("require_second_factor", "on");
        }
    }
    form
}

fn render(console: &Console, ctx: ProjectPage, form: FormState) -> Answer {
    let page = SettingsPage {
        base: ctx.path(SECTION),
        id: ctx.project.id.to_string(),
        name: ctx.project.name.clone(),
        created: when(ctx.project.created_at),
        system: ctx.project.is_system,
        can_admin: ctx.access.require_admin().is_ok(),
        signup: match ctx.project.settings.signup_domains() {
            [] => ctx.project.settings.signup_name().to_owned(),
            list => format!("domains: {}", list.join(", ")),
        },
        require_second_factor: ctx.project.settings.require_second_factor,
        shell: ctx.shell,
        form,
    };
    Ok(console.page(page.form.status(), &page))
}

/// `GET …/settings`.
pub async fn show(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Answer {
    let ctx = forms::project(&console, &state, &project_id, SECTION, "Settings").await?;
    let form = with_project(FormState::default(), &ctx.project, false);
    let form = with_project(form, &ctx.project, true);
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
            let again = with_project(again, &ctx.project, false);
            render(&console, ctx, again)
        }
    }
}

/// The posted sign-in settings.
fn posted_settings(form: &Form) -> gatehouse_core::Result<ProjectSettings> {
    let domains: Vec<String> = form
        .get("signup_domains")
        .unwrap_or("")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    ProjectSettings::parse(
        form.get("signup").unwrap_or(""),
        &domains,
        form.get("require_second_factor").is_some(),
    )
}

/// `POST …/settings/sign-in`: the sign-up policy and the second-factor requirement.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (form, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Settings").await?;
    let result = match posted_settings(&form) {
        Ok(settings) => {
            state
                .gh
                .update_project_settings(&console.who, ctx.project.id, &settings)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => forms::done(&console, &ctx, "The sign-in settings are saved."),
        Err(e) => {
            let fields = [("signup", "signup"), ("signup_domains", "signup_domains")];
            let again = forms::refused(&console, &state, &form, e, &fields).await?;
            let again = with_project(again, &ctx.project, true);
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
        let again = FormState::refused(&form, "confirm_name", message);
        let again = with_project(with_project(again, &ctx.project, false), &ctx.project, true);
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
