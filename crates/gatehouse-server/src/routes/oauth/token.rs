//! The back-channel endpoints: token (RFC 6749 §3.2), device authorization (RFC 8628 §3.1),
//! revocation (RFC 7009), introspection (RFC 7662) and userinfo (OIDC Core §5.3).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::oauth::OAuthError;
use gatehouse_core::secret::Secret;
use gatehouse_core::service::oauth::{IntrospectionCaller, TokenParams};

use super::{OAuthJsonError, client_credentials, cors, is_preflight, origin_registered, preflight};
use crate::dto::{device_authorization_dto, token_dto};
use crate::extract::{Buffered, Form, Peer, charset_is_utf8, is_form};
use crate::state::AppState;

/// A form body, or `invalid_request` (RFC 6749 §3.2 requires `application/x-www-form-urlencoded`),
/// with status 415 when its `charset` is not UTF-8 (RFC 6749 Appendix B).
fn form(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthJsonError> {
    if !is_form(headers) {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded").into());
    }
    if !charset_is_utf8(headers) {
        return Err(OAuthJsonError::unsupported_media_type("the form must be UTF-8"));
    }
    Ok(Form::parse(body))
}

fn single(form: &Form, name: &str) -> Result<Option<String>, OAuthJsonError> {
    form.single(name)
        .map(|v| v.map(str::to_owned))
        .map_err(|e| OAuthError::invalid_request(e).into())
}

fn secret(form: &Form, name: &str) -> Result<Option<Secret<String>>, OAuthJsonError> {
    Ok(single(form, name)?.map(Secret::new))
}

/// Authenticates the calling client; failures are delayed per client and `peer` address.
async fn authenticate(
    state: &AppState,
    peer: Peer,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Arc<gatehouse_core::clients::Client>, OAuthJsonError> {
    let creds = client_credentials(headers, form)?;
    Ok(state.gh.authenticate_client(&creds, peer.0).await?)
}

/// JSON with the token-response headers (RFC 6749 §5.1: no caching). A response with tokens
/// runs to several hundred bytes: it is written into one buffer of about that size.
fn no_store(body: impl serde::Serialize) -> Response {
    let mut json = Vec::with_capacity(1024);
    if let Err(e) = serde_json::to_writer(&mut json, &body) {
        return OAuthJsonError::from(gatehouse_core::Error::unexpected(e)).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        json,
    )
        .into_response()
}

/// Whether the request's origin may read the answer to the client that authenticated.
fn client_origin_allowed(headers: &HeaderMap, client: &gatehouse_core::clients::Client) -> bool {
    headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| client.allows_cors_origin(o))
}

/// An error before the client is known (malformed body, failed authentication): readable by any
/// registered origin, as userinfo and discovery are, so a browser app can show it.
async fn early_error(state: &Arc<AppState>, headers: &HeaderMap, e: OAuthJsonError) -> Response {
    let allowed = origin_registered(state, headers).await;
    cors(headers, allowed, e.into_response())
}

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    Buffered { method, headers, body }: Buffered,
) -> Response {
    if is_preflight(&method, &headers) {
        return preflight(&state, &headers, "POST").await;
    }
    let result = async {
        let form = form(&headers, &body)?;
        let client = authenticate(&state, peer, &headers, &form).await?;
        let params = TokenParams {
            grant_type: single(&form, "grant_type")?,
            code: secret(&form, "code")?,
            redirect_uri: single(&form, "redirect_uri")?,
            code_verifier: secret(&form, "code_verifier")?,
            refresh_token: secret(&form, "refresh_token")?,
            device_code: secret(&form, "device_code")?,
            scope: single(&form, "scope")?,
            resource: repeated(&form, "resource"),
            audience: repeated(&form, "audience"),
            subject_token: secret(&form, "subject_token")?,
            subject_token_type: single(&form, "subject_token_type")?,
            actor_token: secret(&form, "actor_token")?,
            actor_token_type: single(&form, "actor_token_type")?,
            requested_token_type: single(&form, "requested_token_type")?,
        };
        let allowed = client_origin_allowed(&headers, &client);
        let response = state.gh.token(&client, params).await.map_err(OAuthJsonError::from);
        Ok::<_, OAuthJsonError>((allowed, response))
    }
    .await;
    match result {
        Ok((allowed, Ok(r))) => cors(&headers, allowed, no_store(token_dto(r))),
        Ok((allowed, Err(e))) => cors(&headers, allowed, e.into_response()),
        Err(e) => early_error(&state, &headers, e).await,
    }
}

/// The values of a parameter that may repeat, as given: RFC 8707 `resource`, RFC 8693 `audience`.
fn repeated(form: &Form, name: &str) -> Vec<String> {
    form.pairs()
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .collect()
}

/// `POST /oauth/device_authorization` (RFC 8628 §3.1).
pub async fn device_authorization(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    Buffered { headers, body, .. }: Buffered,
) -> Response {
    let result = async {
        let form = form(&headers, &body)?;
        let client = authenticate(&state, peer, &headers, &form).await?;
        let scope = single(&form, "scope")?;
        let resource = repeated(&form, "resource");
        Ok::<_, OAuthJsonError>(state.gh.device_authorize(&client, scope.as_deref(), &resource).await?)
    }
    .await;
    match result {
        Ok(r) => no_store(device_authorization_dto(r)),
        Err(e) => e.into_response(),
    }
}

/// `POST /oauth/revoke` (RFC 7009 §2): 200 whether or not the token was known.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    Buffered { method, headers, body }: Buffered,
) -> Response {
    if is_preflight(&method, &headers) {
        return preflight(&state, &headers, "POST").await;
    }
    let result = async {
        let form = form(&headers, &body)?;
        let client = authenticate(&state, peer, &headers, &form).await?;
        let allowed = client_origin_allowed(&headers, &client);
        let token = single(&form, "token")?.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        // RFC 7009 §2.1: the hint may be ignored; both token kinds are searched.
        single(&form, "token_type_hint")?;
        state.gh.revoke_token(&client, &token).await?;
        Ok::<_, OAuthJsonError>(allowed)
    }
    .await;
    match result {
        Ok(allowed) => cors(&headers, allowed, StatusCode::OK.into_response()),
        Err(e) => early_error(&state, &headers, e).await,
    }
}

/// `POST /oauth/introspect` (RFC 7662 §2): a confidential client or a project API key.
pub async fn introspect(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    Buffered { headers, body, .. }: Buffered,
) -> Response {
    let result = async {
        let form = form(&headers, &body)?;
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let caller = match bearer {
            Some(key) => {
                let principal = state
                    .gh
                    .authenticate_api_key(key)
                    .await
                    .map_err(|_| OAuthError::invalid_client("the API key is invalid"))?;
                match principal {
                    gatehouse_core::access::Principal::ApiKey { project_id, .. } => {
                        IntrospectionCaller::Project(project_id)
                    }
                    gatehouse_core::access::Principal::User { .. } => {
                        return Err(OAuthError::invalid_client("introspection needs a client or an API key").into());
                    }
                }
            }
            None => IntrospectionCaller::client(authenticate(&state, peer, &headers, &form).await?)?,
        };
        let token = single(&form, "token")?.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        // RFC 7662 §2.1: the hint may be ignored; both token kinds are searched.
        single(&form, "token_type_hint")?;
        Ok::<_, OAuthJsonError>(state.gh.introspect(&caller, &token).await?)
    }
    .await;
    match result {
        Ok(v) => no_store(v),
        Err(e) => e.into_response(),
    }
}

/// `GET, POST /oauth/userinfo`: the bearer token in the header or (POST) the form body (RFC 6750 §2).
pub async fn userinfo(State(state): State<Arc<AppState>>, Buffered { method, headers, body }: Buffered) -> Response {
    if is_preflight(&method, &headers) {
        return preflight(&state, &headers, "GET, POST").await;
    }
    let allowed = origin_registered(&state, &headers).await;
    let result = async {
        let header_token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::to_owned);
        let body_token = if method == Method::POST && is_form(&headers) {
            single(&form(&headers, &body)?, "access_token")?
        } else {
            None
        };
        let token = match (header_token, body_token) {
            (Some(_), Some(_)) => return Err(OAuthError::invalid_request("send the token once").into()),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => return Ok(None),
        };
        Ok::<_, OAuthJsonError>(Some(state.gh.userinfo(&token).await?))
    }
    .await;
    let res = match result {
        Ok(Some(v)) => no_store(v),
        // RFC 6750 §3.1: a request without credentials gets a bare challenge, no error code.
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"gatehouse\"")],
        )
            .into_response(),
        Err(e) => e.into_response(),
    };
    cors(&headers, allowed, res)
}
