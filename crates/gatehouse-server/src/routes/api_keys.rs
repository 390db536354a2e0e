//! API keys (SPEC §3): the value is shown once, in the create response.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_core::ids::{ApiKeyId, ProjectId};
use gatehouse_types as t;
use uuid::Uuid;

use crate::dto::{api_key_dto, created_api_key_dto};
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::AppState;

/// Create an API key (admins). `value` appears only in this response.
#[utoipa::path(post, operation_id = "api_keys_create", path = "/accounts/projects/{project_id}/api-keys", request_body = t::CreateApiKey, tag = "api-keys",
    responses((status = 201, body = t::CreatedApiKey), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<t::CreateApiKey>,
) -> ApiResult<(StatusCode, Json<t::CreatedApiKey>)> {
    let (k, value) =
        s.gh.create_api_key(&who, ProjectId::from_uuid(id), &b.name, &b.description)
            .await?;
    Ok((StatusCode::CREATED, Json(created_api_key_dto(k, value))))
}

/// The project's API keys, without values.
#[utoipa::path(get, operation_id = "api_keys_list", path = "/accounts/projects/{project_id}/api-keys", tag = "api-keys", responses((status = 200, body = t::ApiKeyList)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<t::ApiKeyList>> {
    let keys = s.gh.list_api_keys(&who, ProjectId::from_uuid(id)).await?;
    Ok(Json(t::ApiKeyList {
        keys: keys.iter().map(api_key_dto).collect(),
    }))
}

/// Revoke an API key at once, on every node (admins).
#[utoipa::path(delete, operation_id = "api_keys_revoke", path = "/accounts/projects/{project_id}/api-keys/{key_id}", tag = "api-keys",
    responses((status = 204), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn revoke(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, key)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    s.gh.revoke_api_key(&who, ProjectId::from_uuid(id), ApiKeyId::from_uuid(key))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
