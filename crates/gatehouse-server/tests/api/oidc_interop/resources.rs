//! The oauth2 crate asks for resource-bound tokens (RFC 8707) through the code flow with PKCE and
//! refresh, and the tokens' `aud` is the resource named, as RFC 9068 and RFC 9728 agree.

use gatehouse_testkit::Browser;
use oauth2::{CsrfToken, PkceCodeChallenge, Scope, TokenResponse as _};
use serde_json::json;

use super::{Http, PASSWORD, REDIRECT_URI, code_from, discover, error_code, oauth_client};
use crate::api_test;
use crate::resources::{jwt_parts, project_with_resources};

const ORDERS: &str = "https://orders.acme.example";
const BILLING: &str = "https://billing.acme.example";

api_test!(the_oauth2_crate_gets_tokens_for_the_resource_it_names, |s| {
    let http = Http::new(&s.base);
    let (project, key) = project_with_resources(&s, "interop").await;
    let email = "resources@example.com";
    s.user(email, PASSWORD).await;
    let settings = json!({
        "name": "app",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid offline_access orders.read billing.read",
    });
    let (id, secret) = s.client(&key, &project, settings).await;
    let client = oauth_client(&discover(&s, &http).await, &id, secret.as_deref());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(["openid", "offline_access", "orders.read", "billing.read"].map(|s| Scope::new(s.into())))
        .add_extra_param("resource", ORDERS)
        .add_extra_param("resource", BILLING)
        .set_pkce_challenge(challenge)
        .url();
    let page = Browser::new(&s.base).authorize(url.as_str(), email, PASSWORD).await;
    let token = client
        .exchange_code(code_from(&page, &s, &state))
        .set_pkce_verifier(verifier)
        .add_extra_param("resource", ORDERS)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("code exchange fails: {e:?}"));
    let (header, claims) = jwt_parts(token.access_token().secret());
    assert_eq!(
        (header["typ"].as_str(), claims["aud"].as_str()),
        (Some("at+jwt"), Some(ORDERS))
    );
    assert_eq!(token.scopes(), Some(&vec![Scope::new("orders.read".into())]));
    // The resource's RFC 9728 document names the same identifier as the token's audience.
    let (_, list) = s
        .call_as(
            &key,
            reqwest::Method::GET,
            &format!("/accounts/projects/{project}/resources"),
            None,
        )
        .await;
    let orders_id = list["resources"][0]["id"].as_str().unwrap();
    let meta: serde_json::Value = s
        .http
        .get(format!(
            "{}/.well-known/oauth-protected-resource/{project}/{orders_id}",
            s.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["resource"], claims["aud"]);
    // The refresh token serves the other resource the authorization named.
    let refresh_token = token.refresh_token().expect("offline_access was granted");
    let billing = client
        .exchange_refresh_token(refresh_token)
        .add_extra_param("resource", BILLING)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("refresh fails: {e:?}"));
    let (_, claims) = jwt_parts(billing.access_token().secret());
    assert_eq!(
        (claims["aud"].as_str(), claims["scope"].as_str()),
        (Some(BILLING), Some("billing.read"))
    );
    // And not one it did not.
    let next = billing.refresh_token().expect("a rotated refresh token");
    let refused = client
        .exchange_refresh_token(next)
        .add_extra_param("resource", "https://elsewhere.example")
        .request_async(&http)
        .await;
    assert_eq!(error_code(refused), "invalid_target");
});
