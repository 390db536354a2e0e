//! `…/members`: the project's members and their four flags (every member reads the list);
//! admins add a person by email, change their flags and remove them behind a confirmation.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::access::MemberFlags;
use gatehouse_core::ids::UserId;
use gatehouse_core::model::Member;
use gatehouse_core::service::accounts::UserRef;

use super::forms::{self, FormState};
use super::layout::{self, ProjectPage, Shell};
use super::session::Console;
use crate::extract::{Form, Path};
use crate::state::AppState;

const SECTION: &str = "members";
/// The flags' form fields, in the table's column order.
const FLAGS: [&str; 4] = ["is_admin", "is_developer", "can_create_rooms", "can_use_llm_proxy"];

struct Row {
    id: String,
    email: String,
    name: String,
    flags: [bool; 4],
}

fn flags_of(f: MemberFlags) -> [bool; 4] {
    [f.is_admin, f.is_developer, f.can_create_rooms, f.can_use_llm_proxy]
}

fn posted_flags(form: &Form) -> MemberFlags {
    let on = |n: &str| form.get(n).is_some();
    MemberFlags {
        is_admin: on(FLAGS[0]),
        is_developer: on(FLAGS[1]),
        can_create_rooms: on(FLAGS[2]),
        can_use_llm_proxy: on(FLAGS[3]),
    }
}

/// The form ticked as `flags`.
fn flags_form(flags: MemberFlags) -> FormState {
    let ticked: Vec<(&str, &str)> = FLAGS
        .iter()
        .zip(flags_of(flags))
        .filter(|(_, on)| *on)
        .map(|(n, _)| (*n, "on"))
        .collect();
    FormState::with(&ticked)
}

#[derive(Template)]
#[template(path = "console/members.html")]
struct ListPage {
    shell: Shell,
    base: String,
    members: Vec<Row>,
    can_admin: bool,
    form: FormState,
}

async fn render(console: &Console, state: &AppState, ctx: ProjectPage, form: FormState) -> Response {
    let members = match state.gh.list_members(&console.who, ctx.project.id).await {
        Ok(m) => m,
        Err(e) => return forms::failed(console, state, e).await,
    };
    let page = ListPage {
        base: ctx.path(SECTION),
        members: members
            .iter()
            .map(|m| Row {
                id: m.user.id.to_string(),
                email: m.user.email.clone(),
                name: m.user.name.clone(),
                flags: flags_of(m.flags),
            })
            .collect(),
        can_admin: ctx.access.require_admin().is_ok(),
        shell: ctx.shell,
        form,
    };
    console.page(page.form.status(), &page)
}

/// `GET …/members`.
pub async fn list(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Response {
    match forms::project(&console, &state, &project_id, SECTION, "Members").await {
        Ok(ctx) => render(&console, &state, ctx, FormState::default()).await,
        Err(res) => res,
    }
}

/// `POST …/members`: add a person by email.
pub async fn add(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, ctx) = match forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Members").await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let email = form.get("email").unwrap_or("").trim().to_owned();
    let flags = posted_flags(&form);
    let refused = |m: &str| FormState::refused(&form, "email", m);
    match state
        .gh
        .add_member(&console.who, ctx.project.id, UserRef::Email(email.clone()), flags)
        .await
    {
        Ok(m) => layout::redirect_with(
            &console,
            &ctx.path(SECTION),
            &format!("{} is now a member.", m.user.email),
        ),
        Err(Error::NotFound("user")) => {
            let f = refused("has no account on this server: the person needs one before they can be added");
            render(&console, &state, ctx, f).await
        }
        Err(Error::Conflict(_)) => render(&console, &state, ctx, refused("is already a member")).await,
        Err(e) => match forms::refusal(e, &[("email", "email")]) {
            Ok((field, message)) => render(&console, &state, ctx, FormState::refused(&form, &field, message)).await,
            Err(e) => forms::failed(&console, &state, e).await,
        },
    }
}

/// The member of the path, for admins only (others: 404, they have no such button).
async fn member(
    console: &Console,
    state: &AppState,
    project_id: &str,
    user_id: &str,
    title: &str,
) -> Result<(ProjectPage, Member), Response> {
    let ctx = forms::project(console, state, project_id, SECTION, title).await?;
    if ctx.access.require_admin().is_err() {
        return Err(layout::not_found(console, state));
    }
    let members = match state.gh.list_members(&console.who, ctx.project.id).await {
        Ok(m) => m,
        Err(e) => return Err(forms::failed(console, state, e).await),
    };
    match members.into_iter().find(|m| m.user.id.to_string() == user_id) {
        Some(m) => Ok((ctx, m)),
        None => Err(layout::not_found(console, state)),
    }
}

#[derive(Template)]
#[template(path = "console/member.html")]
struct MemberPage {
    shell: Shell,
    list: String,
    action: String,
    email: String,
    form: FormState,
}

fn member_page(console: &Console, ctx: ProjectPage, m: &Member, form: FormState) -> Response {
    let page = MemberPage {
        list: ctx.path(SECTION),
        action: ctx.path(&format!("{SECTION}/{}", m.user.id)),
        email: m.user.email.clone(),
        shell: ctx.shell,
        form,
    };
    console.page(page.form.status(), &page)
}

/// `GET …/members/{user_id}`: the change form.
pub async fn show(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, user_id)): Path<(String, String)>,
) -> Response {
    match member(&console, &state, &project_id, &user_id, "Member").await {
        Ok((ctx, m)) => member_page(&console, ctx, &m, flags_form(m.flags)),
        Err(res) => res,
    }
}

/// `POST …/members/{user_id}`: save the flags.
pub async fn update(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, ctx) = match forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Member").await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let Ok(user) = uuid::Uuid::try_parse(&user_id).map(UserId::from_uuid) else {
        return layout::not_found(&console, &state);
    };
    let flags = posted_flags(&form);
    match state
        .gh
        .update_member(&console.who, ctx.project.id, user, |_| flags)
        .await
    {
        Ok(m) => layout::redirect_with(
            &console,
            &ctx.path(SECTION),
            &format!("The rights of {} are saved.", m.user.email),
        ),
        Err(Error::Conflict(reason)) => match member(&console, &state, &project_id, &user_id, "Member").await {
            Ok((ctx, m)) => member_page(&console, ctx, &m, FormState::refused(&form, "is_admin", reason)),
            Err(res) => res,
        },
        Err(e) => forms::failed(&console, &state, e).await,
    }
}

/// `GET …/members/{user_id}/remove`: the confirmation.
pub async fn confirm_remove(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, user_id)): Path<(String, String)>,
) -> Response {
    match member(&console, &state, &project_id, &user_id, "Remove member").await {
        Ok((ctx, m)) => {
            let question = format!(
                "Remove {} from {}? They lose access to the project at once.",
                m.user.email, ctx.project.name
            );
            let action = ctx.path(&format!("{SECTION}/{user_id}/remove"));
            let back = ctx.path(SECTION);
            forms::confirm(&console, ctx, &question, &action, "Remove", &back)
        }
        Err(res) => res,
    }
}

/// `POST …/members/{user_id}/remove`.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_, ctx) = match forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Members").await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let Ok(user) = uuid::Uuid::try_parse(&user_id).map(UserId::from_uuid) else {
        return layout::not_found(&console, &state);
    };
    match state.gh.remove_member(&console.who, ctx.project.id, user).await {
        Ok(()) => layout::redirect_with(&console, &ctx.path(SECTION), "Member removed."),
        Err(e) => forms::failed(&console, &state, e).await,
    }
}
