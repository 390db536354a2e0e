//! Room secrets (SPEC §7): the `secrets.*` operations, on the room channel and over REST at
//! `/rooms/{room_name}/secrets/{operation}` with the participant token as bearer. Both go
//! through [`operation`], so they behave the same.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use gatehouse_core::ids::ParticipantId;
use gatehouse_core::participant::Verified;
use gatehouse_core::{Error, Result};
use gatehouse_types as t;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::room_channel::admit;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
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
            Ok(Value::Object(m)) if m.is_empty() => gh.list_room_secrets(who, room).await.and_then(value),
            Ok(_) => Err(Error::invalid("body", "secrets.list takes {}")),
            Err(e) => Err(e),
        },
        "delete" => match body::<t::DeleteRoomSecret>(input) {
            Ok(req) => gh.delete_room_secret(who, room, req).await.map(|()| json!({})),
            Err(e) => Err(e),
        },
        "request_oauth_token" => match body::<t::RequestOAuthToken>(input) {
            Ok(req) => gh.request_oauth_token(who, room, from, req).await.and_then(value),
            Err(e) => Err(e),
        },
        "get_offline_oauth_token" => match body::<t::GetOfflineOAuthToken>(input) {
            Ok(req) => gh.get_offline_oauth_token(who, room, req).await.and_then(value),
            Err(e) => Err(e),
        },
        "provide_oauth_authorization" => match body::<t::ProvideOAuthAuthorization>(input) {
            Ok(req) => gh.provide_oauth_authorization(who, room, req).await.map(|()| json!({})),
            Err(e) => Err(e),
        },
        "reject_oauth_authorization" => match body::<t::RejectOAuthAuthorization>(input) {
            Ok(req) => gh.reject_oauth_authorization(who, room, req).await.map(|()| json!({})),
            Err(e) => Err(e),
        },
        _ => return None,
    })
}

/// `secrets.<operation>` over REST: the same body and answer as on the room channel.
/// `request_oauth_token` answers when the participant has (up to its `timeout`).
#[utoipa::path(post, path = "/rooms/{room_name}/secrets/{operation}", tag = "room secrets", security(()),
    params(
        ("room_name" = String, Path, description = "the room"),
        ("operation" = String, Path, description = "list, delete, request_oauth_token, get_offline_oauth_token, provide_oauth_authorization or reject_oauth_authorization"),
    ),
    request_body = Object,
    responses(
        (status = 200, description = "the operation's answer: RoomSecretList, {}, OAuthToken or OfflineOAuthToken", body = Object),
        (status = 400, body = t::ErrorBody), (status = 401, body = t::ErrorBody), (status = 403, body = t::ErrorBody),
        (status = 404, body = t::ErrorBody), (status = 502, body = t::ErrorBody), (status = 504, body = t::ErrorBody)))]
pub async fn rest(
    State(s): State<Arc<AppState>>,
    Path((room, op)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    Json(input): Json<Value>,
) -> ApiResult<Json<Value>> {
    let who = admit(&s, &headers, query.as_deref(), &room).await?;
    match operation(&s, &who, &room, None, &op, input).await {
        Some(answer) => Ok(Json(answer?)),
        None => Err(crate::error::ApiError::not_found("operation")),
    }
}

/// `secrets.list` over REST, as a GET.
#[utoipa::path(get, path = "/rooms/{room_name}/secrets", tag = "room secrets", security(()),
    responses((status = 200, body = t::RoomSecretList), (status = 401, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Json<t::RoomSecretList>> {
    let who = admit(&s, &headers, query.as_deref(), &room).await?;
    Ok(Json(s.gh.list_room_secrets(&who, &room).await?))
}
