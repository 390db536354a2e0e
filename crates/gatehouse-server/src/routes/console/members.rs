//! `…/members`: the project's members and their four flags (every member reads the list);
//! admins invite a person by email (server admins add existing accounts at once), see and
//! withdraw pending invitations, change members' flags and remove them behind a confirmation.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use gatehouse_core::Error;
use gatehouse_core::access::MemberFlags;
use gatehouse_core::ids::{InvitationId, UserId};
use gatehouse_core::model::Member;
use gatehouse_core::service::accounts::UserRef;
use gatehouse_core::service::people::Added;

use super::forms::{self, Answer, FormState, Stop};
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

/// A pending invitation.
struct Invited {
    id: String,
    email: String,
    flags: [bool; 4],
    expires: String,
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
    invitations: Vec<Invited>,
    can_admin: bool,
    form: FormState,
}

async fn render(console: &Console, state: &AppState, ctx: ProjectPage, form: FormState) -> Answer {
    let members = forms::ok(
        console,
        state,
        state.gh.list_members(&console.who, ctx.project.id).await,
    )
    .await?;
    let invitations = forms::ok(
        console,
        state,
        state.gh.list_invitations(&console.who, ctx.project.id).await,
    )
    .await?;
    let page = ListPage {
        invitations: invitations
            .iter()
            .map(|i| Invited {
                id: i.id.to_string(),
                email: i.email.clone(),
                flags: flags_of(i.flags),
                expires: i.expires_at.rfc3339(),
            })
            .collect(),
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
    Ok(console.page(page.form.status(), &page))
}

/// `GET …/members`.
pub async fn list(State(state): State<Arc<AppState>>, console: Console, Path(project_id): Path<String>) -> Answer {
    let ctx = forms::project(&console, &state, &project_id, SECTION, "Members").await?;
    render(&console, &state, ctx, FormState::default()).await
}

/// `POST …/members`: add a person by email.
pub async fn add(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (form, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Members").await?;
    let email = form.get("email").unwrap_or("").trim().to_owned();
    let added = state
        .gh
        .add_member(&console.who, ctx.project.id, UserRef::Email(email), posted_flags(&form))
        .await;
    let again = match added {
        Ok(Added::Member(m)) => return forms::done(&console, &ctx, &format!("{} is now a member.", m.user.email)),
        Ok(Added::Invited(i)) => {
            let message = format!(
                "{} is invited: they become a member when they accept on their account page.",
                i.email
            );
            return forms::done(&console, &ctx, &message);
        }
        Err(Error::Invalid { field, reason }) if field == "email" => FormState::refused(&form, "email", reason),
        Err(Error::Conflict(_)) => FormState::refused(&form, "email", "is already a member"),
        Err(e) => forms::refused(&console, &state, &form, e, &[("email", "email")]).await?,
    };
    render(&console, &state, ctx, again).await
}

/// The member of the path, for admins only (others: 404, they have no such button).
async fn member(
    console: &Console,
    state: &AppState,
    project_id: &str,
    user_id: &str,
    title: &str,
) -> Result<(ProjectPage, Member), Stop> {
    let admin = |c: &ProjectPage| c.access.require_admin().is_ok();
    let ctx = forms::project_if(console, state, project_id, (SECTION, title), admin).await?;
    let members = forms::ok(
        console,
        state,
        state.gh.list_members(&console.who, ctx.project.id).await,
    )
    .await?;
    let member = members.into_iter().find(|m| m.user.id.to_string() == user_id);
    Ok((ctx, forms::found(console, state, member)?))
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

fn member_page(console: &Console, ctx: ProjectPage, m: &Member, form: FormState) -> Answer {
    let page = MemberPage {
        list: ctx.path(SECTION),
        action: ctx.path(&format!("{SECTION}/{}", m.user.id)),
        email: m.user.email.clone(),
        shell: ctx.shell,
        form,
    };
    Ok(console.page(page.form.status(), &page))
}

/// `GET …/members/{user_id}`: the change form.
pub async fn show(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, user_id)): Path<(String, String)>,
) -> Answer {
    let (ctx, m) = member(&console, &state, &project_id, &user_id, "Member").await?;
    member_page(&console, ctx, &m, flags_form(m.flags))
}

/// `POST …/members/{user_id}`: save the flags.
pub async fn update(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let form = forms::checked(&console, &state, &headers, &body)?;
    let (ctx, m) = member(&console, &state, &project_id, &user_id, "Member").await?;
    let flags = posted_flags(&form);
    match state
        .gh
        .update_member(&console.who, ctx.project.id, m.user.id, |_| flags)
        .await
    {
        Ok(m) => forms::done(&console, &ctx, &format!("The rights of {} are saved.", m.user.email)),
        Err(Error::Conflict(reason)) => member_page(&console, ctx, &m, FormState::refused(&form, "is_admin", reason)),
        Err(e) => Err(layout::error(&console, &state, e).await.into()),
    }
}

/// `POST …/members/invitations/{id}/withdraw`.
pub async fn withdraw(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (_, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Members").await?;
    let id = InvitationId::from_uuid(forms::path_id(&console, &state, &id)?);
    let result = state.gh.revoke_invitation(&console.who, ctx.project.id, id).await;
    forms::changed(&console, &state, &ctx, result, "Invitation withdrawn.").await
}

/// `GET …/members/{user_id}/remove`: the confirmation.
pub async fn confirm_remove(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, user_id)): Path<(String, String)>,
) -> Answer {
    let (ctx, m) = member(&console, &state, &project_id, &user_id, "Remove member").await?;
    let question = format!(
        "Remove {} from {}? They lose access to the project at once.",
        m.user.email, ctx.project.name
    );
    let action = ctx.path(&format!("{SECTION}/{user_id}/remove"));
    forms::confirm(&console, ctx, &question, &action, "Remove")
}

/// `POST …/members/{user_id}/remove`.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (_, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Members").await?;
    let user = UserId::from_uuid(forms::path_id(&console, &state, &user_id)?);
    let result = state.gh.remove_member(&console.who, ctx.project.id, user).await;
    forms::changed(&console, &state, &ctx, result, "Member removed.").await
}
