//! The participant token of a room entry point (SPEC §6.4): `Authorization: Bearer`, else
//! `?token=`, else a `Sec-WebSocket-Protocol` entry `bearer.<token>`. The room channel and the
//! room secrets routes admit their caller with it.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use gatehouse_core::participant::Verified;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The subprotocol prefix that carries a token.
pub const BEARER_PROTOCOL: &str = "bearer.";

/// The token a room entry point was given, if any. Extracting never fails: [`RoomToken::admit`]
/// refuses a missing or invalid token once the handler's other extractors have run, so a
/// malformed path or body is still answered before the token is looked at.
#[derive(Debug)]
pub struct RoomToken(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RoomToken {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(entry_token(&parts.headers, parts.uri.query())))
    }
}

impl RoomToken {
    /// The participant the token admits to `room`; 401 without a valid token granting the room.
    pub async fn admit(&self, s: &AppState, room: &str) -> ApiResult<Verified> {
        let token = self.0.as_deref().ok_or_else(|| {
            ApiError::unauthorized("a participant token is required (Bearer, ?token= or bearer.<token>)")
        })?;
        Ok(s.gh.admit_to_room(token, room).await?)
    }
}

/// The token of a room entry point: `Authorization: Bearer`, else `?token=`, else a
/// `bearer.<token>` subprotocol.
fn entry_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some((scheme, token)) = v.split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        return Some(token.trim().to_owned());
    }
    if let Some(q) = query
        && let Some((_, token)) = url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "token")
    {
        return Some(token.into_owned());
    }
    offered_protocols(headers).find_map(|p| p.strip_prefix(BEARER_PROTOCOL).map(str::to_owned))
}

/// The WebSocket subprotocols a request offers.
pub fn offered_protocols(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}
