//! Rooms, room grants and `connect` (SPEC §6.3).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_core::ids::{ProjectId, UserId};
use gatehouse_core::service::page_sized_by;
use gatehouse_types as t;
use uuid::Uuid;

use crate::dto::{grant_request, room_connection_dto, room_dto, room_grant_dto};
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::AppState;

/// Create a room (developers, and members with `can_create_rooms`): 201, or 200 with the existing
/// room when `if_not_exists` is set and the name is taken.
#[utoipa::path(post, operation_id = "rooms_create", path = "/accounts/projects/{project_id}/rooms", request_body = t::CreateRoom, tag = "rooms",
    responses((status = 201, body = t::RoomInfo), (status = 200, description = "the existing room (if_not_exists)", body = t::RoomInfo),
        (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<t::CreateRoom>,
) -> ApiResult<(StatusCode, Json<t::RoomInfo>)> {
    let metadata = b.metadata.unwrap_or_default();
    let if_not_exists = b.if_not_exists == Some(true);
    let (room, created) =
        s.gh.create_room(&who, ProjectId::from_uuid(id), &b.name, metadata, if_not_exists)
            .await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(room_dto(&room))))
}

/// The project's rooms, oldest first (every member).
#[utoipa::path(get, operation_id = "rooms_list", path = "/accounts/projects/{project_id}/rooms", params(t::RoomListQuery), tag = "rooms",
    responses((status = 200, body = t::RoomList), (status = 400, body = t::ErrorBody)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Query(q): Query<t::RoomListQuery>,
) -> ApiResult<Json<t::RoomList>> {
    let page = page_sized_by("limit", q.limit, q.offset)?;
    let (rooms, total) = s.gh.list_rooms(&who, ProjectId::from_uuid(id), page).await?;
    Ok(Json(t::RoomList {
        rooms: rooms.iter().map(room_dto).collect(),
        total,
    }))
}

/// One room (every member).
#[utoipa::path(get, operation_id = "rooms_get", path = "/accounts/projects/{project_id}/rooms/{room_name}", tag = "rooms",
    responses((status = 200, body = t::RoomInfo), (status = 404, body = t::ErrorBody)))]
pub async fn get(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, room)): Path<(Uuid, String)>,
) -> ApiResult<Json<t::RoomInfo>> {
    Ok(Json(room_dto(
        &s.gh.get_room(&who, ProjectId::from_uuid(id), &room).await?,
    )))
}

/// Delete a room and its grants (developers).
#[utoipa::path(delete, operation_id = "rooms_delete", path = "/accounts/projects/{project_id}/rooms/{room_name}", tag = "rooms",
    responses((status = 204), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn delete(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, room)): Path<(Uuid, String)>,
) -> ApiResult<StatusCode> {
    s.gh.delete_room(&who, ProjectId::from_uuid(id), &room).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create or replace a user's grant in a room (developers). The user, named by `user_id` or
/// `email`, must be a member of the project.
#[utoipa::path(post, operation_id = "rooms_put_grant", path = "/accounts/projects/{project_id}/room-grants", request_body = t::CreateRoomGrant, tag = "rooms",
    responses((status = 200, body = t::RoomGrantInfo), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody),
        (status = 404, body = t::ErrorBody)))]
pub async fn put_grant(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<t::CreateRoomGrant>,
) -> ApiResult<Json<t::RoomGrantInfo>> {
    let grant =
        s.gh.put_room_grant(&who, ProjectId::from_uuid(id), grant_request(b))
            .await?;
    Ok(Json(room_grant_dto(&grant)))
}

/// The grants of one room (`room_name`) or of all rooms (developers).
#[utoipa::path(get, operation_id = "rooms_list_grants", path = "/accounts/projects/{project_id}/room-grants", params(t::RoomGrantQuery), tag = "rooms",
    responses((status = 200, body = t::RoomGrantList), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn list_grants(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Query(q): Query<t::RoomGrantQuery>,
) -> ApiResult<Json<t::RoomGrantList>> {
    let page = page_sized_by("limit", q.limit, q.offset)?;
    let (grants, total) =
        s.gh.list_room_grants(&who, ProjectId::from_uuid(id), q.room_name.as_deref(), page)
            .await?;
    Ok(Json(t::RoomGrantList {
        grants: grants.iter().map(room_grant_dto).collect(),
        total,
    }))
}

/// Remove a user's grant in a room (developers).
#[utoipa::path(delete, operation_id = "rooms_delete_grant", path = "/accounts/projects/{project_id}/room-grants/{room_name}/{user_id}", tag = "rooms",
    responses((status = 204), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn delete_grant(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, room, user)): Path<(Uuid, String, Uuid)>,
) -> ApiResult<StatusCode> {
    s.gh.delete_room_grant(&who, ProjectId::from_uuid(id), &room, UserId::from_uuid(user))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A participant token for the signed-in user, with the `ApiScope` of their grant in the room
/// (404 without one), and the room channel's URL.
#[utoipa::path(post, operation_id = "rooms_connect", path = "/accounts/projects/{project_id}/rooms/{room_name}/connect", request_body = t::ConnectRoom, tag = "rooms",
    responses((status = 200, body = t::RoomConnection), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn connect(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, room)): Path<(Uuid, String)>,
    Json(_options): Json<t::ConnectRoom>,
) -> ApiResult<Json<t::RoomConnection>> {
    let connection = s.gh.connect_room(&who, ProjectId::from_uuid(id), &room).await?;
    Ok(Json(room_connection_dto(connection)))
}
