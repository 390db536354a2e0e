//! Discovery (OIDC Discovery 1.0 §3, RFC 8414 §2), the JWK Set (RFC 7517) and the protected
//! resource metadata of API resources (RFC 9728). Everything
//! advertised here works, and everything that works is advertised (SPEC §5.1).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::clients::{KNOWN_SCOPES, RESPONSE_TYPES};
use serde_json::json;

use gatehouse_core::ids::{ProjectId, ResourceId};
use uuid::Uuid;

use super::{cors, is_preflight, origin_registered, preflight};
use crate::error::ApiResult;
use crate::extract::Path;
use crate::state::AppState;

/// The provider metadata document.
pub fn metadata(issuer: &str) -> serde_json::Value {
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "userinfo_endpoint": format!("{issuer}/oauth/userinfo"),
        "jwks_uri": format!("{issuer}/oauth/jwks"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "device_authorization_endpoint": format!("{issuer}/oauth/device_authorization"),
        "end_session_endpoint": format!("{issuer}/oauth/logout"),
        "scopes_supported": KNOWN_SCOPES,
        "response_types_supported": RESPONSE_TYPES,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": [
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
            gatehouse_core::clients::TOKEN_EXCHANGE
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "sid", "at_hash", "c_hash",
            "name", "updated_at", "email", "email_verified", "roles", "amr", "acr"
        ],
        "acr_values_supported": gatehouse_core::factors::ACR_VALUES,
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "backchannel_logout_supported": false,
        "frontchannel_logout_supported": false
    })
}

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
pub async fn configuration(State(state): State<Arc<AppState>>, method: Method, headers: HeaderMap) -> Response {
    if is_preflight(&method, &headers) {
        return preflight(&state, &headers, "GET").await;
    }
    let body = metadata(&state.gh.provider_config().issuer);
    let mut res = axum::Json(body).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    let allowed = origin_registered(&state, &headers).await;
    cors(&headers, allowed, res)
}

/// `GET /.well-known/oauth-protected-resource/{project_id}/{resource_id}`: the RFC 9728 §2
/// metadata of an API resource, for its resource server to publish at its own well-known URL or
/// to point to. `jwks_uri` is left out: in this document it names the resource server's own keys.
pub async fn protected_resource(
    State(state): State<Arc<AppState>>,
    Path((project, resource)): Path<(Uuid, Uuid)>,
) -> ApiResult<Response> {
    let r = state
        .gh
        .published_resource(ProjectId::from_uuid(project), ResourceId::from_uuid(resource))
        .await?;
    let issuer = &state.gh.provider_config().issuer;
    let body = json!({
        "resource": r.identifier,
        "resource_name": r.name,
        "authorization_servers": [issuer],
        "scopes_supported": r.scopes.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        "bearer_methods_supported": ["header"],
    });
    let mut res = axum::Json(body).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(res)
}

/// `GET /oauth/jwks`: every published key, with `Cache-Control` and a strong `ETag`.
pub async fn jwks(State(state): State<Arc<AppState>>, method: Method, headers: HeaderMap) -> Response {
    if is_preflight(&method, &headers) {
        return preflight(&state, &headers, "GET").await;
    }
    let body = state.gh.jwks().to_string();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body.as_bytes());
    let etag: String = digest.as_ref()[..12].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{etag}\"");
    let max_age = format!("public, max-age={}", state.gh.provider_config().jwks_max_age_secs);
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/jwk-set+json")], body).into_response()
    };
    let h = res.headers_mut();
    if let (Ok(e), Ok(c)) = (HeaderValue::from_str(&etag), HeaderValue::from_str(&max_age)) {
        h.insert(header::ETAG, e);
        h.insert(header::CACHE_CONTROL, c);
    }
    let allowed = origin_registered(&state, &headers).await;
    cors(&headers, allowed, res)
}
