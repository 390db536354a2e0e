//! Interoperability: the `openidconnect` and `oauth2` crates, as real relying parties, drive the
//! provider on a real port. Their HTTP runs on our reqwest (not on the crates' own reqwest
//! feature, which would bring a second major version), and the user signs in and consents
//! through the HTML pages with the test browser, so nothing is faked between client and server.

mod front_channel;
mod oauth;
mod openid;
mod resources;

use futures::future::BoxFuture;
use gatehouse_testkit::{Browser, Page};
use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::{
    AsyncHttpClient, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl, EndpointSet,
    ErrorResponseType, HttpRequest, HttpResponse, IntrospectionUrl, PkceCodeChallenge, PkceCodeChallengeMethod,
    RedirectUrl, RequestTokenError, RevocationUrl, Scope, StandardErrorResponse,
};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType,
    CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, IssuerUrl, ProviderMetadata};
use serde::{Deserialize, Serialize};

use crate::TestServer;

/// Every test client's one redirect URI: nothing listens there, the browser stops at the redirect.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
/// The password of every test user.
pub const PASSWORD: &str = "interop-password-1";

/// The RFC 8414 fields of our metadata that OIDC Discovery (and so `CoreProviderMetadata`)
/// leaves to the caller; the openidconnect crate reads them as additional metadata.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ExtraMetadata {
    pub revocation_endpoint: RevocationUrl,
    pub introspection_endpoint: IntrospectionUrl,
    pub device_authorization_endpoint: DeviceAuthorizationUrl,
    pub code_challenge_methods_supported: Vec<PkceCodeChallengeMethod>,
    pub authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

/// OIDC Discovery metadata with [`ExtraMetadata`].
pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// An oauth2 client with every endpoint we serve, except userinfo (an OIDC matter).
pub type OAuthClient = BasicClient<EndpointSet, EndpointSet, EndpointSet, EndpointSet, EndpointSet>;

/// The async HTTP client both crates run on: our reqwest 0.13, redirects off (oauth2 requires it,
/// lest a malicious server bounce a request carrying credentials elsewhere).
///
/// oauth2 refuses a revocation URL that is not `https` (RFC 7009 §2), and the test server speaks
/// plain HTTP on loopback, so this client plays the TLS-terminating proxy for that one origin:
/// `https://127.0.0.1:PORT/…` is sent to `http://127.0.0.1:PORT/…`. See [`tls`].
pub struct Http {
    client: reqwest::Client,
    origin: String,
}

impl Http {
    /// A client for the server at `base`.
    pub fn new(base: &str) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client");
        Self {
            client,
            origin: base.to_owned(),
        }
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
        let (parts, body) = request.into_parts();
        let mut url = parts.uri.to_string();
        if let Some(rest) = url.strip_prefix(&tls(&self.origin)) {
            url = format!("{}{rest}", self.origin);
        }
        // oauth2 and reqwest 0.13 share the `http` 1.x crate, so method and headers carry over as is.
        let res = self
            .client
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await?;
        let status = res.status();
        let headers = res.headers().clone();
        let mut out = HttpResponse::new(res.bytes().await?.to_vec());
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        Ok(out)
    }
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = reqwest::Error;
    type Future = BoxFuture<'c, Result<HttpResponse, reqwest::Error>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// `url` with `https` for `http`: what the library is told, and [`Http`] undoes.
pub fn tls(url: &str) -> String {
    url.replacen("http://", "https://", 1)
}

/// The provider metadata, discovered by the openidconnect crate (which also fetches the JWKS).
pub async fn discover(s: &TestServer, http: &Http) -> Metadata {
    let issuer = IssuerUrl::new(s.base.clone()).unwrap();
    Metadata::discover_async(issuer, http)
        .await
        .unwrap_or_else(|e| panic!("discovery fails: {e:?}"))
}

/// An oauth2 client for `client_id` with the endpoints the provider metadata names.
pub fn oauth_client(meta: &Metadata, client_id: &str, secret: Option<&str>) -> OAuthClient {
    let extra = meta.additional_metadata();
    let client = BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(meta.authorization_endpoint().clone())
        .set_token_uri(meta.token_endpoint().expect("token_endpoint").clone())
        .set_device_authorization_url(extra.device_authorization_endpoint.clone())
        .set_introspection_url(extra.introspection_endpoint.clone())
        .set_revocation_url(RevocationUrl::new(tls(extra.revocation_endpoint.as_str())).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
    match secret {
        Some(secret) => client.set_client_secret(ClientSecret::new(secret.to_owned())),
        None => client,
    }
}

/// Checks the authorization response the browser stopped at (RFC 6749 §4.1.2, RFC 9207 §2) and
/// returns its code.
pub fn code_from(page: &Page, s: &TestServer, state: &CsrfToken) -> AuthorizationCode {
    let location = page.location.as_deref().unwrap_or_else(|| {
        panic!(
            "no redirect back to the client: {} {}\n{}",
            page.status, page.url, page.body
        )
    });
    assert!(location.starts_with(REDIRECT_URI), "redirected to {location}");
    let params = page.redirect_params();
    assert_eq!(params.get("error"), None, "authorization failed: {params:?}");
    assert_eq!(
        params.get("state").map(String::as_str),
        Some(state.secret().as_str()),
        "{params:?}"
    );
    assert_eq!(params.get("iss"), Some(&s.base), "RFC 9207 iss: {params:?}");
    AuthorizationCode::new(params.get("code").expect("a code").clone())
}

/// Signs `email` in through the pages with the oauth2 crate's code flow and PKCE; returns the
/// token response of the code exchange.
pub async fn sign_in(
    s: &TestServer,
    http: &Http,
    client: &OAuthClient,
    email: &str,
    scopes: &[&str],
) -> BasicTokenResponse {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes.iter().map(|s| Scope::new((*s).to_owned())))
        .set_pkce_challenge(challenge)
        .url();
    let page = Browser::new(&s.base).authorize(url.as_str(), email, PASSWORD).await;
    let code = code_from(&page, s, &state);
    client
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .unwrap_or_else(|e| panic!("code exchange fails: {e:?}"))
}

/// The `error` code of an OAuth error response (RFC 6749 §5.2); panics on success or on a
/// failure that is not an error response.
pub fn error_code<T, RE, E>(result: Result<T, RequestTokenError<RE, StandardErrorResponse<E>>>) -> String
where
    RE: std::error::Error + 'static,
    E: ErrorResponseType + std::fmt::Display,
{
    match result {
        Err(RequestTokenError::ServerResponse(e)) => serde_json::to_value(e.error())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .expect("an error code"),
        Err(other) => panic!("expected an OAuth error response, got {other:?}"),
        Ok(_) => panic!("expected an OAuth error response, got a success"),
    }
}

/// A new project with a user who can sign in; returns `(project_id, api_key, email)`.
pub async fn project_with_user(s: &TestServer, name: &str) -> (String, String, String) {
    let (project, key) = s.project(name).await;
    let email = format!("{name}@example.com");
    s.user(&email, PASSWORD).await;
    (project, key, email)
}
