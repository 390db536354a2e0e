//! `…/rooms`: the project's rooms (every member reads them, paged) and their room grants
//! (developers and admins read them: they name other members). Creating a room needs the right
//! to create rooms; deleting one and granting or revoking need developer rights.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use gatehouse_core::Error;
use gatehouse_core::ids::UserId;
use gatehouse_core::ports::Page;
use gatehouse_core::rooms::GrantRequest;
use serde_json::{Map, Value};

use super::forms::{self, Answer, FormState, Stop, when};
use super::layout::{ProjectPage, Shell};
use super::session::Console;
use crate::extract::{Form, Path};
use crate::state::AppState;

const SECTION: &str = "rooms";
const PAGE_SIZE: u32 = 50;
/// Most grants the page lists (it says how many more there are).
const GRANTS_SHOWN: u32 = 200;
/// The permission presets of SPEC §6.3, and `custom` for an `ApiScope` typed as JSON.
const PRESETS: [&str; 4] = ["user_default", "agent_default", "full", "custom"];

/// Room names are `a-z`, `0-9` and `-` (SPEC §6.3), so they go into paths as they are.
struct RoomRow {
    name: String,
    created: String,
}

struct GrantRow {
    room: String,
    user_id: String,
    email: String,
    permissions: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "console/rooms.html")]
struct RoomsPage {
    shell: Shell,
    base: String,
    rooms: Vec<RoomRow>,
    total: u64,
    first: u64,
    last: u64,
    previous: Option<String>,
    next: Option<String>,
    grants: Vec<GrantRow>,
    grants_total: u64,
    can_read_grants: bool,
    can_create: bool,
    can_develop: bool,
    presets: [&'static str; 4],
    form: FormState,
}

async fn render(console: &Console, state: &AppState, ctx: ProjectPage, offset: u64, form: FormState) -> Answer {
    let page = Page {
        offset,
        count: PAGE_SIZE,
    };
    let (rooms, total) = forms::ok(
        console,
        state,
        state.gh.list_rooms(&console.who, ctx.project.id, page).await,
    )
    .await?;
    let can_read_grants = ctx.access.require_developer_read().is_ok();
    let (grants, grants_total) = if can_read_grants {
        let shown = Page {
            offset: 0,
            count: GRANTS_SHOWN,
        };
        let found = state
            .gh
            .list_room_grants(&console.who, ctx.project.id, None, shown)
            .await;
        forms::ok(console, state, found).await?
    } else {
        (Vec::new(), 0)
    };
    let base = ctx.path(SECTION);
    let shown = rooms.len() as u64;
    let page = RoomsPage {
        rooms: rooms
            .iter()
            .map(|r| RoomRow {
                name: r.name.clone(),
                created: when(r.created_at),
            })
            .collect(),
        total,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        previous: (offset > 0).then(|| format!("{base}?offset={}", offset.saturating_sub(PAGE_SIZE.into()))),
        next: (offset + shown < total).then(|| format!("{base}?offset={}", offset + shown)),
        grants: grants
            .iter()
            .map(|g| GrantRow {
                room: g.room_name.clone(),
                user_id: g.user_id.to_string(),
                email: g.email.clone(),
                permissions: Value::Object(g.permissions.clone()).to_string(),
                updated: when(g.updated_at),
            })
            .collect(),
        grants_total,
        can_read_grants,
        can_create: ctx.access.require_room_creation().is_ok(),
        can_develop: ctx.can_develop(),
        presets: PRESETS,
        base,
        shell: ctx.shell,
        form,
    };
    Ok(console.page(page.form.status(), &page))
}

/// `GET …/rooms?offset=…`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let offset = Form::parse(query.unwrap_or_default().as_bytes())
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let ctx = forms::project(&console, &state, &project_id, SECTION, "Rooms").await?;
    render(&console, &state, ctx, offset, FormState::default()).await
}

/// The page again with `form` refused (a taken name is reported on the form's first field), or
/// the error page.
async fn refused(
    console: &Console,
    state: &AppState,
    ctx: ProjectPage,
    form: &Form,
    e: Error,
    fields: &[(&str, &str)],
) -> Answer {
    let again = match e {
        Error::Conflict(m) => FormState::refused(form, fields[0].1, m),
        e => forms::refused(console, state, form, e, fields).await?,
    };
    render(console, state, ctx, 0, again).await
}

/// `POST …/rooms`: create a room.
pub async fn create(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (form, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Rooms").await?;
    let name = form.get("name").unwrap_or("").trim();
    match state
        .gh
        .create_room(&console.who, ctx.project.id, name, Map::new(), false)
        .await
    {
        Ok((room, _)) => forms::done(&console, &ctx, &format!("Room {} created.", room.name)),
        Err(e) => refused(&console, &state, ctx, &form, e, &[("name", "name")]).await,
    }
}

/// `POST …/rooms/grants`: grant a member a room (or replace their permissions in it).
pub async fn grant(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    const FIELDS: &[(&str, &str)] = &[
        ("room_name", "room_name"),
        ("name", "room_name"),
        ("user_id", "email"),
        ("email", "email"),
        ("permissions", "custom"),
    ];
    let (form, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Rooms").await?;
    let permissions = match form.get("preset").unwrap_or("user_default") {
        "custom" => match serde_json::from_str::<Value>(form.get("custom").unwrap_or("")) {
            Ok(v) => v,
            Err(e) => {
                let invalid = Error::invalid("permissions", format!("is not JSON: {e}"));
                return refused(&console, &state, ctx, &form, invalid, FIELDS).await;
            }
        },
        preset => Value::String(preset.to_owned()),
    };
    let req = GrantRequest {
        room_name: form.get("room_name").unwrap_or("").trim().to_owned(),
        user_id: None,
        email: Some(form.get("email").unwrap_or("").trim().to_owned()),
        permissions,
    };
    match state.gh.put_room_grant(&console.who, ctx.project.id, req).await {
        Ok(g) => forms::done(&console, &ctx, &format!("{} may use room {}.", g.email, g.room_name)),
        Err(e) => refused(&console, &state, ctx, &form, e, FIELDS).await,
    }
}

/// A developer's page of the rooms section (others: 404, they have no such button).
async fn developer_page(
    console: &Console,
    state: &AppState,
    project_id: &str,
    title: &str,
) -> Result<ProjectPage, Stop> {
    forms::project_if(console, state, project_id, (SECTION, title), ProjectPage::can_develop).await
}

/// `GET …/rooms/{room}/delete`: the confirmation.
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, room)): Path<(String, String)>,
) -> Answer {
    let ctx = developer_page(&console, &state, &project_id, "Delete room").await?;
    let found = state.gh.get_room(&console.who, ctx.project.id, &room).await;
    forms::ok(&console, &state, found).await?;
    let question = format!(
        "Delete the room {room} and its grants? Tokens already handed out for it stay valid until they expire."
    );
    let action = ctx.path(&format!("{SECTION}/{room}/delete"));
    forms::confirm(&console, ctx, &question, &action, "Delete")
}

/// `POST …/rooms/{room}/delete`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, room)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (_, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Rooms").await?;
    let result = state.gh.delete_room(&console.who, ctx.project.id, &room).await;
    forms::changed(&console, &state, &ctx, result, &format!("Room {room} deleted.")).await
}

/// `GET …/rooms/{room}/grants/{user_id}/revoke`: the confirmation.
pub async fn confirm_revoke(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, room, user_id)): Path<(String, String, String)>,
) -> Answer {
    let ctx = developer_page(&console, &state, &project_id, "Revoke room grant").await?;
    let all = Page {
        offset: 0,
        count: u32::MAX,
    };
    let found = state
        .gh
        .list_room_grants(&console.who, ctx.project.id, Some(&room), all)
        .await;
    let (grants, _) = forms::ok(&console, &state, found).await?;
    let g = forms::found(
        &console,
        &state,
        grants.iter().find(|g| g.user_id.to_string() == user_id),
    )?;
    let question = format!(
        "Revoke the grant of {} in room {}? They can no longer connect to it through the server.",
        g.email, g.room_name
    );
    let action = ctx.path(&format!("{SECTION}/{room}/grants/{user_id}/revoke"));
    forms::confirm(&console, ctx, &question, &action, "Revoke")
}

/// `POST …/rooms/{room}/grants/{user_id}/revoke`.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, room, user_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (_, ctx) = forms::posted(&console, &state, (&headers, &body), &project_id, SECTION, "Rooms").await?;
    let user = UserId::from_uuid(forms::path_id(&console, &state, &user_id)?);
    let result = state
        .gh
        .delete_room_grant(&console.who, ctx.project.id, &room, user)
        .await;
    forms::changed(&console, &state, &ctx, result, "Room grant revoked.").await
}
