//! Health, readiness, metrics and the audit log. The OpenAPI document, which lists these routes,
//! is served by the openapi module.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use gatehouse_core::ids::ProjectId;
use gatehouse_core::ports::AuditFilter;
use gatehouse_core::service::page;
use gatehouse_types as t;
use uuid::Uuid;

use crate::dto::audit_event_dto;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::AppState;

/// Audit query: `count`, `offset`, and optionally one actor and one action family.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Page size, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    count: Option<u32>,
    /// Rows to skip (default 0).
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    offset: Option<u64>,
    /// Only this actor's entries: a user id, an API key id, … (exactly).
    #[param(min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$")]
    actor: Option<String>,
    /// Only this action (`client.create`) or family of actions (`client`).
    #[param(max_length = 64, pattern = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")]
    action: Option<String>,
}

/// The project's audit log, newest first (admins and developers).
#[utoipa::path(get, path = "/accounts/projects/{project_id}/audit", params(AuditQuery), tag = "audit",
    responses((status = 200, body = t::AuditList), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn audit(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<t::AuditList>> {
    let filter = AuditFilter {
        actor_id: q.actor,
        action: q.action,
    };
    let (events, total) =
        s.gh.list_audit(&who, ProjectId::from_uuid(id), &filter, page(q.count, q.offset)?)
            .await?;
    Ok(Json(t::AuditList {
        events: events.iter().map(audit_event_dto).collect(),
        total,
    }))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", security(), responses((status = 200, description = "alive")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "system", security(), responses((status = 200, description = "ready"), (status = 503, description = "database unreachable")))]
pub async fn readyz(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    match s.gh.ready().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Prometheus text exposition.
pub async fn metrics(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render() + &s.llm.counters.render(),
    )
}
