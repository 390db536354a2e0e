//! Room secrets (SPEC §7): the `secrets.*` operations, on the room channel ([`operation`]) and
//! over REST at `/rooms/{room_name}/secrets/{operation}` with the participant token as bearer.
//! Both call the same use cases with the same bodies.

use std::sync::Arc;

use axum::extract::State;
use gatehouse_core::ids::{ParticipantId, RoomSecretId};
use gatehouse_core::participant::Verified;
use gatehouse_core::{Error, Result};
use gatehouse_types as t;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::dto;
use crate::error::ApiResult;
use crate::extract::{Json, Path, RoomToken};
use crate::state::AppState;

fn body<T: DeserializeOwned>(v: Value) -> Result<T> {
    // An absent body is an empty object, so `{}`-only operations need not send one.
    let v = if v.is_null() { json!({}) } else { v };
    serde_json::from_value(v).map_err(|e| Error::invalid("body", e.to_string()))
}

fn value(v: impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(v).map_err(Error::unexpected)
}

/// Runs `secrets.<op>` for `who` in `room`; `None` when there is no such operation. `from` is
/// the caller's connection when it asks over the room channel.
pub async fn operation(
    s: &AppState,
    who: &Verified,
    room: &str,
    from: Option<ParticipantId>,
    op: &str,
    input: Value,
) -> Option<Result<Value>> {
    let gh = &s.gh;
    Some(match op {
        "list" => match body::<Value>(input) {
            Ok(Value::Object(m)) if m.is_empty() => gh
                .list_room_secrets(who, room)
                .await
                .map(|c| dto::room_secret_list_dto(&c))
                .and_then(value),
            Ok(_) => Err(Error::invalid("body", "secrets.list takes {}")),
            Err(e) => Err(e),
        },
        "delete" => match body::<t::DeleteRoomSecret>(input) {
            Ok(req) => gh
                .delete_room_secret(who, room, RoomSecretId::from_uuid(req.id), req.delegated_to.as_deref())
                .await
                .map(|()| json!({})),
            Err(e) => Err(e),
        },
        "request_oauth_token" => match body::<t::RequestOAuthToken>(input) {
            Ok(req) => gh
                .request_oauth_token(who, room, from, req)
                .await
                .map(dto::oauth_token_dto)
                .and_then(value),
            Err(e) => Err(e),
        },
        "get_offline_oauth_token" => match body::<t::GetOfflineOAuthToken>(input) {
            Ok(req) => gh
                .get_offline_oauth_token(who, room, req)
                .await
                .map(dto::offline_token_dto)
                .and_then(value),
            Err(e) => Err(e),
        },
        "provide_oauth_authorization" => match body::<t::ProvideOAuthAuthorization>(input) {
            Ok(req) => gh.provide_oauth_authorization(who, room, req).await.map(|()| json!({})),
            Err(e) => Err(e),
        },
        "reject_oauth_authorization" => match body::<t::RejectOAuthAuthorization>(input) {
            Ok(req) => gh
                .reject_oauth_authorization(who, room, req.request_id.expose_secret(), req.error)
                .await
                .map(|()| json!({})),
            Err(e) => Err(e),
        },
        _ => return None,
    })
}

/// `secrets.list` over REST.
#[utoipa::path(get, operation_id = "room_secrets_list", path = "/rooms/{room_name}/secrets", tag = "room secrets", security(("participant" = []), ("participant_query" = [])),
    responses((status = 200, body = t::RoomSecretList), (status = 401, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    Path(room): Path<String>,
    token: RoomToken,
) -> ApiResult<Json<t::RoomSecretList>> {
    let who = token.admit(&s, &room).await?;
    Ok(Json(dto::room_secret_list_dto(
        &s.gh.list_room_secrets(&who, &room).await?,
    )))
}

/// `secrets.list` over REST, as the other operations are called.
#[utoipa::path(post, operation_id = "room_secrets_list_post", path = "/rooms/{room_name}/secrets/list", tag = "room secrets", security(("participant" = []), ("participant_query" = [])),
    request_body = t::EmptyBody,
    responses((status = 200, body = t::RoomSecretList), (status = 401, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn list_post(
    State(s): State<Arc<AppState>>,
    Path(room): Path<String>,
    token: RoomToken,
    Json(input): Json<Value>,
) -> ApiResult<Json<t::RoomSecretList>> {
    let who = token.admit(&s, &room).await?;
    if !input.as_object().is_some_and(serde_json::Map::is_empty) {
        return Err(Error::invalid("body", "secrets.list takes {}").into());
    }
    Ok(Json(dto::room_secret_list_dto(
        &s.gh.list_room_secrets(&who, &room).await?,
    )))
}

/// `secrets.delete` over REST.
#[utoipa::path(post, operation_id = "room_secrets_delete", path = "/rooms/{room_name}/secrets/delete", tag = "room secrets", security(("participant" = []), ("participant_query" = [])),
    request_body = t::DeleteRoomSecret,
    responses((status = 200, body = Object), (status = 401, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn delete(
    State(s): State<Arc<AppState>>,
    Path(room): Path<String>,
    token: RoomToken,
    Json(req): Json<t::DeleteRoomSecret>,
) -> ApiResult<Json<Value>> {
    let who = token.admit(&s, &room).await?;
    s.gh.delete_room_secret(
        &who,
        &room,
        RoomSecretId::from_uuid(req.id),
        req.delegated_to.as_deref(),
    )
    .await?;
    Ok(Json(json!({})))
}

/// `secrets.request_oauth_token` over REST: answers when the participant has (up to the
/// request's `timeout`), unless a stored credential serves at once.
#[utoipa::path(post, operation_id = "room_secrets_request_oauth_token", path = "/rooms/{room_name}/secrets/request_oauth_token", tag = "room secrets", security(("participant" = []), ("participant_query" = [])),
    request_body = t::RequestOAuthToken,
    responses((status = 200, body = t::OAuthToken), (status = 400, body = t::ErrorBody), (status = 401, body = t::ErrorBody),
        (status = 403, body = t::ErrorBody), (status = 502, body = t::ErrorBody), (status = 504, body = t::ErrorBody)))]
pub async fn request_oauth_token(
    State(s): State<Arc<AppState>>,
    Path(room): Path<String>,
    token: RoomToken,
    Json(req): Json<t::RequestOAuthToken>,
) -> ApiResult<Json<t::OAuthToken>> {
    let who = token.admit(&s, &room).await?;
    Ok(Json(dto::oauth_token_dto(
        s.gh.request_oauth_token(&who, &room, None, req).await?,
    )))
}

/// `secrets.get_offline_oauth_token` over REST.
#[utoipa::path(post, operation_id = "room_secrets_get_offline_oauth_token", path = "/rooms/{room_name}/secrets/get_offline_oauth_token", tag = "room secrets", security(("participant" = []), ("participant_query" = [])),
    request_body = t::GetOfflineOAuthToken,
    responses((status = 200, body = t::OfflineOAuthToken), (status = 400, body = t::ErrorBody), (status = 401, body = t::ErrorBody),
        (status = 403, body = t::ErrorBody), (status = 502, body = t::ErrorBody)))]
pub async fn get_offline_oauth_token(
    State(s): State<Arc<AppState>>,
    Path(room): Path<String>,
    token: RoomToken,
    Json(req): Json<t::GetOfflineOAuthToken>,
) -> ApiResult<Json<t::OfflineOAuthToken>> {
    let who = token.admit(&s, &room).await?;
    Ok(Json(dto::offline_token_dto(
        s.gh.get_offline_oauth_token(&who, &room, req).await?,
    )))
}

/// `secrets.provide_oauth_authorization` over REST.
#[utoipa::path(post, operation_id = "room_secrets_provide_oauth_authorization", path = "/rooms/{room_name}/secrets/provide_oauth_authorization", tag = "room secrets", security(("participant" = []), ("participant_query" = [])),
    request_body = t::ProvideOAuthAuthorization,
    responses((status = 200, body = Object), (status = 400, body = t::ErrorBody), (status = 401, body = t::ErrorBody),
        (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody), (status = 502, body = t::ErrorBody)))]
pub async fn provide_oauth_authorization(
    State(s): State<Arc<AppState>>,
    Path(room): Path<String>,
    token: RoomToken,
    Json(req): Json<t::ProvideOAuthAuthorization>,
) -> ApiResult<Json<Value>> {
    let who = token.admit(&s, &room).await?;
    s.gh.provide_oauth_authorization(&who, &room, req).await?;
    Ok(Json(json!({})))
}

/// `secrets.reject_oauth_authorization` over REST.
#[utoipa::path(post, operation_id = "room_secrets_reject_oauth_authorization", path = "/rooms/{room_name}/secrets/reject_oauth_authorization", tag = "room secrets", security(("participant" = []), ("participant_query" = [])),
    request_body = t::RejectOAuthAuthorization,
    responses((status = 200, body = Object), (status = 400, body = t::ErrorBody), (status = 401, body = t::ErrorBody),
        (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn reject_oauth_authorization(
    State(s): State<Arc<AppState>>,
    Path(room): Path<String>,
    token: RoomToken,
    Json(req): Json<t::RejectOAuthAuthorization>,
) -> ApiResult<Json<Value>> {
    let who = token.admit(&s, &room).await?;
    s.gh.reject_oauth_authorization(&who, &room, req.request_id.expose_secret(), req.error)
        .await?;
    Ok(Json(json!({})))
}
