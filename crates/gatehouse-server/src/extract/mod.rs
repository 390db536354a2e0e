//! Extractors: the authenticated [`Caller`], JSON/query/path extractors whose rejections are
//! [`ApiError`]s, so malformed input always gets the documented error body, the participant
//! token of the room entry points ([`RoomToken`]), and the form bodies and [`Buffered`] requests
//! of the OAuth back-channel endpoints and the browser pages ([`form`]), and the address a
//! request comes from ([`Peer`]).

mod form;
mod json;
mod peer;
mod room_token;

pub use form::{Buffered, Form, charset_is_utf8, is_form};
pub use json::Json;
pub use peer::Peer;
pub use room_token::{BEARER_PROTOCOL, RoomToken, offered_protocols};

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AppState;
use gatehouse_core::access::Principal;

/// The authenticated caller of a REST endpoint: `Authorization: Bearer <API key or user access token>`.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)?
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer credential"))?;
        // API keys carry the MeshAgent prefix; anything else must be a Gatehouse access token.
        let principal = if token.starts_with("ma-") {
            state.gh.authenticate_api_key(token).await?
        } else {
            state.gh.authenticate_user_token(token).await?
        };
        Ok(Self(principal))
    }
}

/// The credential of `Authorization: Bearer <credential>`; `None` without that header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(header) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Some)
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be Bearer <credential>"))
}

/// Query string whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Path parameters whose rejection is an [`ApiError`] (404).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);
