//! Extractors: the authenticated [`Caller`], JSON/query/path extractors whose rejections are
//! [`ApiError`]s, so malformed input always gets the documented error body, and the
//! [`Buffered`] request of the OAuth back-channel endpoints.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use crate::error::ApiError;
use crate::state::AppState;
use gatehouse_core::access::Principal;

/// The authenticated caller of a REST endpoint: `Authorization: Bearer <API key or user access token>`.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer credential"))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be Bearer <credential>"))?;
        // API keys carry the MeshAgent prefix; anything else must be a Gatehouse access token.
        let principal = if token.starts_with("ma-") {
            state.gh.authenticate_api_key(token).await?
        } else {
            state.gh.authenticate_user_token(token).await?
        };
        Ok(Self(principal))
    }
}

/// JSON body whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Query string whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Path parameters whose rejection is an [`ApiError`] (404).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// A request's method, headers and buffered body, for the endpoints that read all three. The
/// headers are moved out of the request: axum's `HeaderMap` extractor copies them.
#[derive(Debug)]
pub struct Buffered {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Buffered {
    type Rejection = BytesRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let headers = std::mem::take(&mut parts.headers);
        let method = parts.method.clone();
        // The rest of the request stays together: the body limit travels in its extensions.
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self { method, headers, body })
    }
}
