//! Project secrets (SPEC §7.6): lists show metadata; reading one returns its data and is audited.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_core::ids::{ProjectId, SecretId};
use gatehouse_types as t;
use uuid::Uuid;

use crate::dto::project_secret_dto;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::AppState;

/// Store a project secret (developers).
#[utoipa::path(post, operation_id = "secrets_create", path = "/accounts/projects/{project_id}/secrets", request_body = t::ProjectSecretInput, tag = "project-secrets",
    responses((status = 201, body = t::ProjectSecretInfo), (status = 400, body = t::ErrorBody), (status = 409, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<t::ProjectSecretInput>,
) -> ApiResult<(StatusCode, Json<t::ProjectSecretInfo>)> {
    let r =
        s.gh.create_project_secret(&who, ProjectId::from_uuid(id), &b.name, &b.kind, &b.data_base64)
            .await?;
    Ok((StatusCode::CREATED, Json(project_secret_dto(&r))))
}

/// Metadata of every project secret.
#[utoipa::path(get, operation_id = "secrets_list", path = "/accounts/projects/{project_id}/secrets", tag = "project-secrets", responses((status = 200, body = t::ProjectSecretList)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<t::ProjectSecretList>> {
    let rs = s.gh.list_project_secrets(&who, ProjectId::from_uuid(id)).await?;
    Ok(Json(t::ProjectSecretList {
        secrets: rs.iter().map(project_secret_dto).collect(),
    }))
}

/// One secret with its data (developers and admins).
#[utoipa::path(get, operation_id = "secrets_get", path = "/accounts/projects/{project_id}/secrets/{secret_id}", tag = "project-secrets",
    responses((status = 200, body = t::ProjectSecret), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn get(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, secret)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<t::ProjectSecret>> {
    let (r, data) =
        s.gh.read_project_secret(&who, ProjectId::from_uuid(id), SecretId::from_uuid(secret))
            .await?;
    Ok(Json(t::ProjectSecret {
        info: project_secret_dto(&r),
        data_base64: data,
    }))
}

/// Replace a secret's name, type and data (developers).
#[utoipa::path(put, operation_id = "secrets_update", path = "/accounts/projects/{project_id}/secrets/{secret_id}", request_body = t::ProjectSecretInput, tag = "project-secrets",
    responses((status = 200, body = t::ProjectSecretInfo), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn update(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, secret)): Path<(Uuid, Uuid)>,
    Json(b): Json<t::ProjectSecretInput>,
) -> ApiResult<Json<t::ProjectSecretInfo>> {
    let r =
        s.gh.update_project_secret(
            &who,
            ProjectId::from_uuid(id),
            SecretId::from_uuid(secret),
            &b.name,
            &b.kind,
            &b.data_base64,
        )
        .await?;
    Ok(Json(project_secret_dto(&r)))
}

/// Delete a secret (developers).
#[utoipa::path(delete, operation_id = "secrets_delete", path = "/accounts/projects/{project_id}/secrets/{secret_id}", tag = "project-secrets",
    responses((status = 204), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn delete(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, secret)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    s.gh.delete_project_secret(&who, ProjectId::from_uuid(id), SecretId::from_uuid(secret))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
