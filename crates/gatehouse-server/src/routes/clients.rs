//! The OAuth client registry (SPEC §4.4): MeshAgent's paths, secrets shown once.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::ids::ProjectId;
use gatehouse_core::service::page;
use gatehouse_types as t;
use uuid::Uuid;

use crate::dto::client_dto;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::AppState;

/// Register a client. Confidential clients get `client_secret`, shown only here.
#[utoipa::path(post, operation_id = "clients_create", path = "/accounts/projects/{project_id}/oauth/clients", request_body = t::ClientInput, tag = "oauth-clients",
    responses((status = 201, body = t::CreatedClient), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<t::ClientInput>,
) -> ApiResult<(StatusCode, Json<t::CreatedClient>)> {
    let (c, secret) = s.gh.create_client(&who, ProjectId::from_uuid(id), &b).await?;
    let client = t::ClientWithSecret {
        client: client_dto(&c),
        client_secret: secret.map(Into::into),
    };
    Ok((StatusCode::CREATED, Json(t::CreatedClient { client })))
}

/// A page of clients matching `filter` (id or name, case-insensitive), with the total.
#[utoipa::path(get, operation_id = "clients_list", path = "/accounts/projects/{project_id}/oauth/clients", params(t::ListQuery), tag = "oauth-clients",
    responses((status = 200, body = t::ClientList), (status = 400, body = t::ErrorBody)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Query(q): Query<t::ListQuery>,
) -> ApiResult<Json<t::ClientList>> {
    let (clients, total) =
        s.gh.list_clients(
            &who,
            ProjectId::from_uuid(id),
            q.filter.as_deref(),
            page(q.count, q.offset)?,
        )
        .await?;
    Ok(Json(t::ClientList {
        clients: clients.iter().map(client_dto).collect(),
        total,
    }))
}

/// One client (never its secret).
#[utoipa::path(get, operation_id = "clients_get", path = "/accounts/projects/{project_id}/oauth/clients/{client_id}", tag = "oauth-clients",
    responses((status = 200, body = t::ClientResponse), (status = 404, body = t::ErrorBody)))]
pub async fn get(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, client)): Path<(Uuid, String)>,
) -> ApiResult<Json<t::ClientResponse>> {
    let c = s.gh.get_client(&who, ProjectId::from_uuid(id), &client).await?;
    Ok(Json(t::ClientResponse { client: client_dto(&c) }))
}

/// Change any subset of the mutable fields; `client_id` is immutable.
#[utoipa::path(put, operation_id = "clients_update", path = "/accounts/projects/{project_id}/oauth/clients/{client_id}", request_body = t::ClientInput, tag = "oauth-clients",
    responses((status = 200, body = t::ClientResponse), (status = 400, body = t::ErrorBody), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn update(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, client)): Path<(Uuid, String)>,
    Json(b): Json<t::ClientInput>,
) -> ApiResult<Json<t::ClientResponse>> {
    let c = s.gh.update_client(&who, ProjectId::from_uuid(id), &client, &b).await?;
    Ok(Json(t::ClientResponse { client: client_dto(&c) }))
}

/// Delete a client; official clients need `force=true`.
#[utoipa::path(delete, operation_id = "clients_delete", path = "/accounts/projects/{project_id}/oauth/clients/{client_id}", params(t::DeleteClientQuery), tag = "oauth-clients",
    responses((status = 204), (status = 404, body = t::ErrorBody), (status = 409, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn delete(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, client)): Path<(Uuid, String)>,
    Query(q): Query<t::DeleteClientQuery>,
) -> ApiResult<StatusCode> {
    s.gh.delete_client(&who, ProjectId::from_uuid(id), &client, q.force)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a new secret (generated from `{}`, or the caller's); the old one may stay valid for `grace_seconds`.
#[utoipa::path(post, operation_id = "clients_rotate_secret", path = "/accounts/projects/{project_id}/oauth/clients/{client_id}/secret", request_body = t::SetClientSecret, tag = "oauth-clients",
    responses((status = 200, body = t::ClientSecret), (status = 400, body = t::ErrorBody), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn rotate_secret(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, client)): Path<(Uuid, String)>,
    Json(b): Json<t::SetClientSecret>,
) -> ApiResult<Json<t::ClientSecret>> {
    let secret =
        s.gh.rotate_client_secret(
            &who,
            ProjectId::from_uuid(id),
            &client,
            b.client_secret,
            b.grace_seconds.unwrap_or(0),
        )
        .await?;
    Ok(Json(t::ClientSecret {
        client_secret: secret.into(),
    }))
}

/// The filtered list as `.xlsx`, `.pdf` or `.csv`.
#[utoipa::path(get, operation_id = "clients_export", path = "/accounts/projects/{project_id}/oauth/clients/export", params(t::ExportQuery), tag = "oauth-clients",
    responses((status = 200, description = "The file, in the format asked for", content(
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Vec<u8> = "application/pdf"),
            (String = "text/csv"))),
        (status = 400, body = t::ErrorBody)))]
pub async fn export(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Query(q): Query<t::ExportQuery>,
) -> ApiResult<Response> {
    let file =
        s.gh.export_clients(&who, ProjectId::from_uuid(id), &q.format, q.filter.as_deref())
            .await?;
    let disposition = format!("attachment; filename=\"{}\"", file.file_name);
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        file.bytes,
    )
        .into_response())
}
