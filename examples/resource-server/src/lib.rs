//! A resource server protected by Gatehouse: a small orders API that validates Gatehouse's JWT
//! access tokens offline.
//!
//! 1. At start, [`ResourceServer::discover`] reads the issuer's RFC 8414 metadata
//!    (`/.well-known/oauth-authorization-server`, whose `issuer` must be the one configured) and
//!    fetches the key set its `jwks_uri` names ([`jwks`]).
//! 2. Each request's `Authorization: Bearer` token is checked offline ([`token`]): signature,
//!    `typ: at+jwt`, `iss`, `exp`, and `aud` = this resource's identifier; then the scope its
//!    route needs (`GET /orders`: `orders.read`, `POST /orders`: `orders.write`).
//! 3. Refusals follow RFC 6750 §3: no token is `401` with `WWW-Authenticate: Bearer realm="…"`
//!    and no error code; a bad one `401` with `error="invalid_token"`; a token without the route's scope `403`
//!    with `error="insufficient_scope", scope="…"`; a malformed `Authorization` header `400` with
//!    `error="invalid_request"`. Every challenge also carries RFC 9728 §5.1's `resource_metadata`,
//!    the URL of the document below, from which a client finds the authorization server.
//! 4. `/.well-known/oauth-protected-resource` (with the identifier's path appended, RFC 9728 §3.1)
//!    serves the RFC 9728 document that points OAuth clients to Gatehouse.
//!
//! [`ResourceServer::router`] builds the router; the binary and the integration test serve it.

pub mod jwks;
pub mod token;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use jwks::Jwks;
use token::Claims;

/// The scope `GET /orders` needs.
pub const READ_SCOPE: &str = "orders.read";
/// The scope `POST /orders` needs.
pub const WRITE_SCOPE: &str = "orders.write";

/// What the resource server needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Gatehouse's public URL, its issuer (`http://127.0.0.1:8080`).
    pub issuer: String,
    /// This API's resource identifier at Gatehouse: the `aud` its tokens carry.
    pub resource: String,
}

/// The part of the authorization server metadata (RFC 8414 §2) this server reads.
#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

/// The running resource server: its settings and Gatehouse's keys.
#[derive(Debug)]
pub struct ResourceServer {
    settings: Settings,
    jwks: Jwks,
}

impl ResourceServer {
    /// Discovers Gatehouse's metadata and fetches its keys.
    pub async fn discover(settings: Settings) -> anyhow::Result<Arc<Self>> {
        // No redirects: the metadata and keys come from the issuer's own URLs.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        let url = format!(
            "{}/.well-known/oauth-authorization-server",
            settings.issuer.trim_end_matches('/')
        );
        let meta: Metadata = http
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("fetching {url}"))?
            .json()
            .await
            .with_context(|| format!("reading {url}"))?;
        // RFC 8414 §3.3: the metadata must name the issuer it was fetched for.
        if meta.issuer != settings.issuer {
            bail!("{url} names the issuer {:?}, not {:?}", meta.issuer, settings.issuer);
        }
        let jwks = Jwks::fetch(http, meta.jwks_uri).await?;
        Ok(Arc::new(Self { settings, jwks }))
    }

    /// The key set, to see how often it was fetched.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// The API's routes and its RFC 9728 metadata.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/orders", get(list_orders).post(create_order))
            .route(&self.metadata_path(), get(metadata))
            .with_state(self)
    }

    /// RFC 9728 §3.1: `/.well-known/oauth-protected-resource`, followed by the identifier's path
    /// (without a trailing slash).
    pub fn metadata_path(&self) -> String {
        let path = url::Url::parse(&self.settings.resource)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("/.well-known/oauth-protected-resource{path}")
    }

    /// The metadata document's URL (RFC 9728 §3.1): the identifier's origin and
    /// [`ResourceServer::metadata_path`].
    pub fn metadata_url(&self) -> String {
        let origin = url::Url::parse(&self.settings.resource)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        format!("{origin}{}", self.metadata_path())
    }

    /// The token's claims if the request carries a valid token with `scope`; the RFC 6750 §3
    /// refusal otherwise.
    pub async fn authorize(&self, headers: &HeaderMap, scope: &str) -> Result<Claims, Response> {
        let token = match bearer(headers) {
            Ok(Some(t)) => t,
            Ok(None) => return Err(self.challenge(StatusCode::UNAUTHORIZED, None)),
            Err(why) => {
                return Err(self.challenge(StatusCode::BAD_REQUEST, Some(("invalid_request", why, None))));
            }
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let s = &self.settings;
        let claims = token::validate(token, &self.jwks, &s.issuer, &s.resource, now)
            .await
            .map_err(|why| self.challenge(StatusCode::UNAUTHORIZED, Some(("invalid_token", why, None))))?;
        if !claims.has_scope(scope) {
            let why = "the token lacks the scope this request needs";
            return Err(self.challenge(StatusCode::FORBIDDEN, Some(("insufficient_scope", why, Some(scope)))));
        }
        Ok(claims)
    }

    /// A refusal with its `WWW-Authenticate` challenge (RFC 6750 §3): the realm and the metadata
    /// document's URL (RFC 9728 §5.1), and for an error
    /// its code, description and, for `insufficient_scope`, the scope needed. The body repeats
    /// them as JSON.
    fn challenge(&self, status: StatusCode, error: Option<(&str, &str, Option<&str>)>) -> Response {
        // Values are quoted-strings: the identifier is a URI and the rest are fixed texts, none
        // with a quote or backslash.
        let mut value = format!(
            "Bearer realm=\"{}\", resource_metadata=\"{}\"",
            self.settings.resource,
            self.metadata_url()
        );
        let mut body = serde_json::Map::new();
        if let Some((code, description, scope)) = error {
            value.push_str(&format!(", error=\"{code}\", error_description=\"{description}\""));
            body.insert("error".into(), code.into());
            body.insert("error_description".into(), description.into());
            if let Some(scope) = scope {
                value.push_str(&format!(", scope=\"{scope}\""));
                body.insert("scope".into(), scope.into());
            }
        }
        let mut response = (status, Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        response
    }
}

/// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1); `None` without a Bearer
/// credential; a reason when the header is malformed.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| "the Authorization header is not ASCII")?;
    let Some((scheme, token)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if ok {
        Ok(Some(token))
    } else {
        Err("the Bearer credential is malformed")
    }
}

async fn list_orders(State(rs): State<Arc<ResourceServer>>, headers: HeaderMap) -> Response {
    match rs.authorize(&headers, READ_SCOPE).await {
        Ok(c) => Json(json!({
            "orders": [{ "id": 1, "item": "tea", "quantity": 2 }],
            "sub": c.sub,
            "client_id": c.client_id,
        }))
        .into_response(),
        Err(refusal) => refusal,
    }
}

async fn create_order(State(rs): State<Arc<ResourceServer>>, headers: HeaderMap) -> Response {
    match rs.authorize(&headers, WRITE_SCOPE).await {
        Ok(c) => (StatusCode::CREATED, Json(json!({ "id": 2, "created_by": c.sub }))).into_response(),
        Err(refusal) => refusal,
    }
}

/// RFC 9728 §2: where this resource's tokens come from, built from the settings (Gatehouse
/// serves the same document per resource; see the README).
async fn metadata(State(rs): State<Arc<ResourceServer>>) -> Response {
    Json(json!({
        "resource": rs.settings.resource,
        "authorization_servers": [rs.settings.issuer],
        "scopes_supported": [READ_SCOPE, WRITE_SCOPE],
        "bearer_methods_supported": ["header"],
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn the_bearer_credential_is_read_as_rfc_6750_says() {
        assert_eq!(bearer(&HeaderMap::new()), Ok(None));
        assert_eq!(bearer(&with("Basic YTpi")), Ok(None));
        assert_eq!(bearer(&with("Bearer a.b-c_d~e+f/g==")), Ok(Some("a.b-c_d~e+f/g==")));
        assert_eq!(bearer(&with("bearer abc")), Ok(Some("abc")));
        for bad in ["Bearer ", "Bearer a b", "Bearer a\"b", "Bearer ==", "Bearer a=b"] {
            assert!(bearer(&with(bad)).is_err(), "{bad}");
        }
    }
}
