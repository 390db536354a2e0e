//! The OAuth 2.0 / OpenID Connect endpoints (SPEC §5.1). Errors here take the RFC 6749 §5.2
//! shape `{"error", "error_description"}`, not the REST API's.

pub(crate) mod authorize;
pub(crate) mod discovery;
pub(crate) mod token;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::oauth::{OAuthError, OAuthErrorCode};
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::oauth::ClientCredentials;
use gatehouse_types::OAuthErrorBody;

use crate::extract::Form;
use crate::state::AppState;

/// An OAuth error answered as JSON: 401 for `invalid_client` (with a Basic challenge) and
/// `invalid_token`, 403 for `insufficient_scope`, 400 otherwise; the second field overrides the
/// status (415 for a body in another charset than UTF-8).
pub struct OAuthJsonError(pub OAuthError, Option<StatusCode>);

impl OAuthJsonError {
    /// 415 with `invalid_request`: a form body in another charset than UTF-8.
    pub fn unsupported_media_type(message: &str) -> Self {
        Self(
            OAuthError::invalid_request(message),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        )
    }
}

impl From<OAuthError> for OAuthJsonError {
    fn from(error: OAuthError) -> Self {
        Self(error, None)
    }
}

impl From<gatehouse_core::Error> for OAuthJsonError {
    fn from(e: gatehouse_core::Error) -> Self {
        OAuthError::from(e).into()
    }
}

impl IntoResponse for OAuthJsonError {
    fn into_response(self) -> Response {
        let status = self.1.unwrap_or(match self.0.code {
            OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            OAuthErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        });
        let body = OAuthErrorBody {
            error: self.0.code.as_str().into(),
            error_description: Some(self.0.description.clone()),
        };
        let mut res = (status, axum::Json(body)).into_response();
        let challenge = match self.0.code {
            // RFC 9110 §15.5.2: every 401 carries a challenge.
            OAuthErrorCode::InvalidClient => Some("Basic realm=\"gatehouse\"".to_owned()),
            OAuthErrorCode::InvalidToken | OAuthErrorCode::InsufficientScope => Some(format!(
                "Bearer realm=\"gatehouse\", error=\"{}\"",
                self.0.code.as_str()
            )),
            _ => None,
        };
        if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        res.headers_mut()
            .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        res
    }
}

/// The client's credentials from the Basic header or the body (RFC 6749 §2.3.1): exactly one
/// method; the Basic user and password are form-decoded after base64.
pub fn client_credentials(headers: &HeaderMap, form: &Form) -> Result<ClientCredentials, OAuthJsonError> {
    let invalid = |m: &str| OAuthJsonError::from(OAuthError::invalid_request(m));
    let body_id = form.single("client_id").map_err(|e| invalid(&e))?;
    let body_secret = form.single("client_secret").map_err(|e| invalid(&e))?;
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let basic = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let fail = || OAuthJsonError::from(OAuthError::invalid_client("malformed Basic credentials"));
        let decoded = basic.ok_or_else(fail)?;
        let (id, secret) = decoded.split_once(':').ok_or_else(fail)?;
        let id = form_decode(id);
        if body_secret.is_some() {
            return Err(invalid("use one client authentication method, not several"));
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(invalid("client_id differs from the Basic credentials"));
        }
        return Ok(ClientCredentials::Basic {
            id,
            secret: SecretString::new(form_decode(secret)),
        });
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(ClientCredentials::Post {
            id: id.to_owned(),
            secret: SecretString::new(secret),
        }),
        (Some(id), None) => Ok(ClientCredentials::None { id: id.to_owned() }),
        (None, _) => Err(OAuthJsonError::from(OAuthError::invalid_client(
            "no client authentication",
        ))),
    }
}

/// One `application/x-www-form-urlencoded` value: `+` is a space, then `%XX` a byte; bytes that
/// are not UTF-8 become U+FFFD.
fn form_decode(s: &str) -> String {
    if !s.contains(['+', '%']) {
        return s.to_owned();
    }
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// CORS for the endpoints browsers call directly (SPEC §5.2). `allowed` says whether the
/// request's origin may read the response; preflights are answered for any registered origin.
/// Every answer varies on `Origin`, allowed or not, with or without one: a shared cache must
/// not hand a response made for one origin to another.
pub fn cors(headers: &HeaderMap, allowed: bool, mut res: Response) -> Response {
    let h = res.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = headers.get(header::ORIGIN).filter(|_| allowed) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
    res
}

/// Whether the request's `Origin` is some client's registered CORS origin.
pub async fn origin_registered(state: &Arc<AppState>, headers: &HeaderMap) -> bool {
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(o) => state.gh.cors_origin_allowed(o).await.unwrap_or(false),
        None => false,
    }
}

/// Answers a CORS preflight for a registered origin.
pub async fn preflight(state: &Arc<AppState>, headers: &HeaderMap, methods: &'static str) -> Response {
    let allowed = origin_registered(state, headers).await;
    let mut res = StatusCode::NO_CONTENT.into_response();
    if allowed {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    cors(headers, allowed, res)
}

/// Whether this is a CORS preflight.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

#[cfg(test)]
mod tests {
    use super::form_decode;

    #[test]
    fn basic_credentials_are_form_decoded() {
        for (raw, decoded) in [
            ("plain-id_1.x~", "plain-id_1.x~"),
            ("a+b", "a b"),
            ("a%2Bb", "a+b"),
            ("a%3Ab%25", "a:b%"),
            ("%C3%A9t%C3%A9", "\u{e9}t\u{e9}"),
            ("a&b=c", "a&b=c"),
            ("%FF", "\u{fffd}"),
            ("100%", "100%"),
            ("", ""),
        ] {
            assert_eq!(form_decode(raw), decoded, "{raw}");
        }
    }
}
