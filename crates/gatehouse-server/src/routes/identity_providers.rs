//! Upstream identity providers, managed by server admins (`/accounts/identity-providers`). The
//! config file's providers are listed with `"source": "config"` and cannot be changed here.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_core::service::idp::IdpEntry;
use gatehouse_types as t;

use crate::dto::identity_provider_dto;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::AppState;

fn dto(s: &AppState, e: &IdpEntry) -> t::IdentityProvider {
    identity_provider_dto(e, &s.gh.upstream_redirect_uri(&e.settings.name))
}

/// Every provider: the config file's, then those added here (server admins).
#[utoipa::path(get, operation_id = "identity_providers_list", path = "/accounts/identity-providers", tag = "identity-providers",
    responses((status = 200, body = t::IdentityProviderList), (status = 403, body = t::ErrorBody)))]
pub async fn list(State(s): State<Arc<AppState>>, Caller(who): Caller) -> ApiResult<Json<t::IdentityProviderList>> {
    let all = s.gh.list_identity_providers(&who).await?;
    Ok(Json(t::IdentityProviderList {
        identity_providers: all.iter().map(|e| dto(&s, e)).collect(),
    }))
}

/// Add a provider (server admins). `client_secret` is write-only.
#[utoipa::path(post, operation_id = "identity_providers_create", path = "/accounts/identity-providers", request_body = t::IdentityProviderInput, tag = "identity-providers",
    responses((status = 201, body = t::IdentityProvider), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Json(b): Json<t::IdentityProviderInput>,
) -> ApiResult<(StatusCode, Json<t::IdentityProvider>)> {
    let e = s.gh.create_identity_provider(&who, &b).await?;
    Ok((StatusCode::CREATED, Json(dto(&s, &e))))
}

/// One provider (server admins).
#[utoipa::path(get, operation_id = "identity_providers_get", path = "/accounts/identity-providers/{id}", params(("id" = String, Path)), tag = "identity-providers",
    responses((status = 200, body = t::IdentityProvider), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn get(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<t::IdentityProvider>> {
    let e = s.gh.get_identity_provider(&who, &id).await?;
    Ok(Json(dto(&s, &e)))
}

/// Change a provider added here (server admins); absent fields keep their value. The config
/// file's providers answer 409.
#[utoipa::path(patch, operation_id = "identity_providers_update", path = "/accounts/identity-providers/{id}", params(("id" = String, Path)), request_body = t::IdentityProviderPatch, tag = "identity-providers",
    responses((status = 200, body = t::IdentityProvider), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn update(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Json(b): Json<t::IdentityProviderPatch>,
) -> ApiResult<Json<t::IdentityProvider>> {
    let e = s.gh.update_identity_provider(&who, &id, &b).await?;
    Ok(Json(dto(&s, &e)))
}

/// Remove a provider added here and the identities linked through it (server admins). The
/// config file's providers answer 409.
#[utoipa::path(delete, operation_id = "identity_providers_delete", path = "/accounts/identity-providers/{id}", params(("id" = String, Path)), tag = "identity-providers",
    responses((status = 204), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn delete(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.gh.delete_identity_provider(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
