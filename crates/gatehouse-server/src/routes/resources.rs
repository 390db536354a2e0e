//! API resources of a project (SPEC §5.7): the audiences and scopes of the project's own APIs.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_core::ids::{ProjectId, ResourceId};
use gatehouse_types as t;
use uuid::Uuid;

use crate::dto::resource_dto;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::AppState;

/// Register an API resource (developers).
#[utoipa::path(post, operation_id = "resources_create", path = "/accounts/projects/{project_id}/resources", request_body = t::ResourceInput, tag = "api-resources",
    responses((status = 201, body = t::ApiResource), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<t::ResourceInput>,
) -> ApiResult<(StatusCode, Json<t::ApiResource>)> {
    let r = s.gh.create_resource(&who, ProjectId::from_uuid(id), &b).await?;
    Ok((StatusCode::CREATED, Json(resource_dto(&r))))
}

/// Every API resource of the project.
#[utoipa::path(get, operation_id = "resources_list", path = "/accounts/projects/{project_id}/resources", tag = "api-resources", responses((status = 200, body = t::ResourceList)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<t::ResourceList>> {
    let rs = s.gh.list_resources(&who, ProjectId::from_uuid(id)).await?;
    Ok(Json(t::ResourceList {
        resources: rs.iter().map(resource_dto).collect(),
    }))
}

/// One API resource.
#[utoipa::path(get, operation_id = "resources_get", path = "/accounts/projects/{project_id}/resources/{resource_id}", tag = "api-resources",
    responses((status = 200, body = t::ApiResource), (status = 404, body = t::ErrorBody)))]
pub async fn get(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, resource)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<t::ApiResource>> {
    let r =
        s.gh.get_resource(&who, ProjectId::from_uuid(id), ResourceId::from_uuid(resource))
            .await?;
    Ok(Json(resource_dto(&r)))
}

/// Replace an API resource's settings (developers).
#[utoipa::path(put, operation_id = "resources_update", path = "/accounts/projects/{project_id}/resources/{resource_id}", request_body = t::ResourceInput, tag = "api-resources",
    responses((status = 200, body = t::ApiResource), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn update(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, resource)): Path<(Uuid, Uuid)>,
    Json(b): Json<t::ResourceInput>,
) -> ApiResult<Json<t::ApiResource>> {
    let r =
        s.gh.update_resource(&who, ProjectId::from_uuid(id), ResourceId::from_uuid(resource), &b)
            .await?;
    Ok(Json(resource_dto(&r)))
}

/// Delete an API resource; one that clients use needs `force=true`.
#[utoipa::path(delete, operation_id = "resources_delete", path = "/accounts/projects/{project_id}/resources/{resource_id}", params(t::DeleteResourceQuery), tag = "api-resources",
    responses((status = 204), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn delete(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, resource)): Path<(Uuid, Uuid)>,
    Query(q): Query<t::DeleteResourceQuery>,
) -> ApiResult<StatusCode> {
    s.gh.delete_resource(&who, ProjectId::from_uuid(id), ResourceId::from_uuid(resource), q.force)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
