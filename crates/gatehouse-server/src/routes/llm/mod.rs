//! The LLM proxy gate (SPEC §8): each project's provider configuration, usage and limits here, the
//! proxied routes `/openai/v1/*` and `/anthropic/v1/*` in [`proxy`], the answers' way back in
//! [`stream`].

pub(crate) mod proxy;
mod stream;

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_core::ids::ProjectId;
use gatehouse_types as t;
use uuid::Uuid;

use gatehouse_core::service::UsageGroup;

use crate::dto::{llm_limits, llm_limits_dto, llm_provider, llm_provider_dto, llm_usage_row_dto};
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::AppState;

/// Set a provider's key and base URL (developers). The key is write-only.
#[utoipa::path(put, operation_id = "llm_provider_put", path = "/accounts/projects/{project_id}/llm/providers/{provider}", request_body = t::LlmProviderInput, tag = "llm",
    responses((status = 200, body = t::LlmProvider), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn put_provider(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, name)): Path<(Uuid, t::LlmProviderName)>,
    Json(b): Json<t::LlmProviderInput>,
) -> ApiResult<Json<t::LlmProvider>> {
    let config =
        s.gh.put_llm_provider(
            &who,
            ProjectId::from_uuid(id),
            llm_provider(name),
            &b.api_key,
            b.base_url.as_deref(),
        )
        .await?;
    Ok(Json(llm_provider_dto(name, Some(&config))))
}

/// Whether a provider key is set, and the base URL.
#[utoipa::path(get, operation_id = "llm_provider_get", path = "/accounts/projects/{project_id}/llm/providers/{provider}", tag = "llm",
    responses((status = 200, body = t::LlmProvider)))]
pub async fn get_provider(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, name)): Path<(Uuid, t::LlmProviderName)>,
) -> ApiResult<Json<t::LlmProvider>> {
    let config =
        s.gh.get_llm_provider(&who, ProjectId::from_uuid(id), llm_provider(name))
            .await?;
    Ok(Json(llm_provider_dto(name, config.as_ref())))
}

/// Remove a provider's key and base URL (developers).
#[utoipa::path(delete, operation_id = "llm_provider_delete", path = "/accounts/projects/{project_id}/llm/providers/{provider}", tag = "llm",
    responses((status = 204), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn delete_provider(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, name)): Path<(Uuid, t::LlmProviderName)>,
) -> ApiResult<StatusCode> {
    s.gh.delete_llm_provider(&who, ProjectId::from_uuid(id), llm_provider(name))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Usage counted from the upstreams' own numbers, added up by minute, caller, provider or model.
#[utoipa::path(get, operation_id = "llm_usage", path = "/accounts/projects/{project_id}/llm/usage", params(t::LlmUsageQuery), tag = "llm",
    responses((status = 200, body = t::LlmUsage)))]
pub async fn usage(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Query(q): Query<t::LlmUsageQuery>,
) -> ApiResult<Json<t::LlmUsage>> {
    let groups = q
        .group_by
        .as_deref()
        .unwrap_or("provider,model")
        .split(',')
        .map(|g| {
            UsageGroup::parse(g.trim()).ok_or_else(|| ApiError::bad_request(format!("group_by: unknown group {g:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (from, to, rows) =
        s.gh.llm_usage_report(&who, ProjectId::from_uuid(id), q.from, q.to, &groups)
            .await?;
    Ok(Json(t::LlmUsage {
        from,
        to,
        rows: rows.into_iter().map(llm_usage_row_dto).collect(),
    }))
}

/// Set the project's limits (project admins): requests per minute and tokens per day, for the
/// project and for each caller. Every LLM route answers 429 with `Retry-After` past them.
#[utoipa::path(put, operation_id = "llm_limits_put", path = "/accounts/projects/{project_id}/llm/limits", request_body = t::LlmLimitsInput, tag = "llm",
    responses((status = 200, body = t::LlmLimits), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn put_limits(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<t::LlmLimitsInput>,
) -> ApiResult<Json<t::LlmLimits>> {
    let config =
        s.gh.put_llm_limits(&who, ProjectId::from_uuid(id), llm_limits(b))
            .await?;
    Ok(Json(llm_limits_dto(Some(&config))))
}

/// The project's limits (all `null` when none were set).
#[utoipa::path(get, operation_id = "llm_limits_get", path = "/accounts/projects/{project_id}/llm/limits", tag = "llm",
    responses((status = 200, body = t::LlmLimits)))]
pub async fn get_limits(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<t::LlmLimits>> {
    let config = s.gh.get_llm_limits(&who, ProjectId::from_uuid(id)).await?;
    Ok(Json(llm_limits_dto(config.as_ref())))
}
