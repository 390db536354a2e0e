//! Participant tokens (SPEC §6.3): minting for a project's backend and validation.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gatehouse_core::ids::ProjectId;
use gatehouse_types as t;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::AppState;

/// Mint a participant token (developers), signed with one of the project's API keys: the caller's
/// own when the caller is one, else the newest. Default lifetime one hour.
#[utoipa::path(post, operation_id = "participants_create", path = "/accounts/projects/{project_id}/participant-tokens", request_body = t::CreateParticipantToken,
    tag = "participant-tokens",
    responses((status = 200, body = t::ParticipantToken), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody),
        (status = 409, body = t::ErrorBody)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<t::CreateParticipantToken>,
) -> ApiResult<Json<t::ParticipantToken>> {
    let token = s.gh.mint_participant_token(&who, ProjectId::from_uuid(id), b).await?;
    Ok(Json(t::ParticipantToken { token }))
}

/// Validate a participant token: its claims exactly as signed, or 401. Needs no other credential.
#[utoipa::path(post, operation_id = "participants_validate", path = "/api/participant-token/validate", request_body = t::ValidateParticipantToken,
    tag = "participant-tokens", security(),
    responses((status = 200, description = "the token's claims", body = Object), (status = 401, body = t::ErrorBody)))]
pub async fn validate(
    State(s): State<Arc<AppState>>,
    Json(b): Json<t::ValidateParticipantToken>,
) -> ApiResult<Response> {
    let verified = s.gh.validate_participant_token(&b.token).await?;
    // The payload's own bytes: exactly as signed, member order included.
    Ok(([(header::CONTENT_TYPE, "application/json")], verified.payload).into_response())
}
