//! External OAuth registrations at project and room scope (SPEC §4.5).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_core::ids::{ProjectId, RegistrationId};
use gatehouse_types as t;
use uuid::Uuid;

use crate::dto::registration_dto;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::AppState;

/// Path of project-scoped routes, and of room-scoped routes with the room name. One extractor for
/// four path shapes: the handlers' annotations name the parameters of the documented shapes.
#[derive(Debug, serde::Deserialize)]
pub struct Scope {
    project_id: Uuid,
    room_name: Option<String>,
    registration_id: Option<Uuid>,
}

impl Scope {
    fn project(&self) -> ProjectId {
        ProjectId::from_uuid(self.project_id)
    }

    fn registration(&self) -> RegistrationId {
        RegistrationId::from_uuid(self.registration_id.unwrap_or_default())
    }
}

/// Create a registration (developers). `client_secret` is write-only.
#[utoipa::path(post, operation_id = "external_oauth_create", path = "/accounts/projects/{project_id}/external-oauth", params(("project_id" = Uuid, Path)), request_body = t::ExternalOAuthInput, tag = "external-oauth",
    responses((status = 201, body = t::ExternalOAuthRegistration), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(p): Path<Scope>,
    Json(b): Json<t::ExternalOAuthInput>,
) -> ApiResult<(StatusCode, Json<t::ExternalOAuthRegistration>)> {
    let r =
        s.gh.create_registration(&who, p.project(), p.room_name.as_deref(), &b)
            .await?;
    Ok((StatusCode::CREATED, Json(registration_dto(&r))))
}

/// Registrations of the project, or of the room.
#[utoipa::path(get, operation_id = "external_oauth_list", path = "/accounts/projects/{project_id}/external-oauth", params(("project_id" = Uuid, Path)), tag = "external-oauth", responses((status = 200, body = t::ExternalOAuthList)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(p): Path<Scope>,
) -> ApiResult<Json<t::ExternalOAuthList>> {
    let rs =
        s.gh.list_registrations(&who, p.project(), p.room_name.as_deref())
            .await?;
    Ok(Json(t::ExternalOAuthList {
        registrations: rs.iter().map(registration_dto).collect(),
    }))
}

/// Replace a registration (developers). Absent `client_secret` keeps it; `""` removes it.
#[utoipa::path(put, operation_id = "external_oauth_update", path = "/accounts/projects/{project_id}/external-oauth/{registration_id}", params(("project_id" = Uuid, Path), ("registration_id" = Uuid, Path)), request_body = t::ExternalOAuthInput, tag = "external-oauth",
    responses((status = 200, body = t::ExternalOAuthRegistration), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn update(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(p): Path<Scope>,
    Json(b): Json<t::ExternalOAuthInput>,
) -> ApiResult<Json<t::ExternalOAuthRegistration>> {
    let r =
        s.gh.update_registration(&who, p.project(), p.room_name.as_deref(), p.registration(), &b)
            .await?;
    Ok(Json(registration_dto(&r)))
}

/// Delete a registration (developers).
#[utoipa::path(delete, operation_id = "external_oauth_delete", path = "/accounts/projects/{project_id}/external-oauth/{registration_id}", params(("project_id" = Uuid, Path), ("registration_id" = Uuid, Path)), tag = "external-oauth",
    responses((status = 204), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn delete(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(p): Path<Scope>,
) -> ApiResult<StatusCode> {
    s.gh.delete_registration(&who, p.project(), p.room_name.as_deref(), p.registration())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
