//! The openidconnect crate as the relying party: discovery, the code flow with PKCE and nonce for
//! each ID token algorithm (OIDC Core §3.1), userinfo (§5.3), refresh (§12), and a public client.

use gatehouse_testkit::Browser;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreGrantType, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreResponseMode, CoreResponseType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AccessTokenHash, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, IssuerUrl,
    JsonWebKey as _, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeChallengeMethod, PkceCodeVerifier,
    RedirectUrl, ResponseTypes, Scope, SubjectIdentifier, TokenResponse as _,
};
use serde_json::json;

use super::{Http, Metadata, PASSWORD, REDIRECT_URI, code_from, discover, error_code, project_with_user};
use crate::{TestServer, api_test};

/// An openidconnect client with the token and userinfo endpoints the metadata names.
pub type OidcClient = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointSet>;

/// An openidconnect client for `client_id`, configured from discovery.
pub fn oidc_client(meta: &Metadata, client_id: &str, secret: Option<&str>) -> OidcClient {
    CoreClient::from_provider_metadata(
        meta.clone(),
        ClientId::new(client_id.to_owned()),
        secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_token_uri(meta.token_endpoint().expect("token_endpoint").clone())
    .set_user_info_url(meta.userinfo_endpoint().expect("userinfo_endpoint").clone())
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap())
}

/// The userinfo claims for `token`, fetched and checked by the library (OIDC Core §5.3.2: the
/// `sub` must be the expected one when given).
pub async fn userinfo(
    client: &OidcClient,
    http: &Http,
    token: &AccessToken,
    sub: Option<SubjectIdentifier>,
) -> CoreUserInfoClaims {
    client
        .user_info(token.clone(), sub)
        .request_async(http)
        .await
        .unwrap_or_else(|e| panic!("userinfo fails: {e:?}"))
}

/// OIDC Core §12.2: a refreshed ID token should carry no nonce; if it does, it is the original one.
fn absent_or(expected: &Nonce) -> impl FnOnce(Option<&Nonce>) -> Result<(), String> + '_ {
    move |nonce| match nonce {
        Some(n) if n.secret() != expected.secret() => Err("a refreshed ID token carries another nonce".into()),
        _ => Ok(()),
    }
}

fn scope(s: &str) -> Scope {
    Scope::new(s.to_owned())
}

api_test!(discovery_through_the_library_yields_the_metadata_we_serve, |s| {
    let http = Http::new(&s.base);
    let issuer = IssuerUrl::new(s.base.clone()).unwrap();
    let core = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap_or_else(|e| panic!("discovery fails: {e:?}"));
    let at = |path: &str| format!("{}{path}", s.base);
    assert_eq!(core.issuer().as_str(), s.base);
    assert_eq!(core.authorization_endpoint().as_str(), at("/oauth/authorize"));
    assert_eq!(
        core.token_endpoint().map(|u| u.as_str()),
        Some(at("/oauth/token").as_str())
    );
    assert_eq!(
        core.userinfo_endpoint().map(|u| u.as_str()),
        Some(at("/oauth/userinfo").as_str())
    );
    assert_eq!(core.jwks_uri().as_str(), at("/oauth/jwks"));
    // Every response type a client may register is served, in every response mode.
    use CoreResponseType::{Code, IdToken, Token};
    let served = core.response_types_supported();
    for types in [
        vec![Code],
        vec![Token],
        vec![IdToken],
        vec![Code, IdToken],
        vec![IdToken, Token],
        vec![Code, Token],
        vec![Code, IdToken, Token],
    ] {
        let types = ResponseTypes::new(types);
        assert!(served.contains(&types), "{types:?} in {served:?}");
    }
    assert_eq!(served.len(), 7, "{served:?}");
    assert_eq!(
        core.response_modes_supported(),
        Some(&vec![
            CoreResponseMode::Query,
            CoreResponseMode::Fragment,
            CoreResponseMode::FormPost
        ])
    );
    for alg in [
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ] {
        assert!(core.id_token_signing_alg_values_supported().contains(&alg), "{alg:?}");
    }
    let grants = core.grant_types_supported().expect("grant_types_supported");
    for g in [
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
        CoreGrantType::ClientCredentials,
        CoreGrantType::DeviceCode,
        CoreGrantType::Implicit,
    ] {
        assert!(grants.contains(&g), "{g:?} in {grants:?}");
    }
    let methods = core
        .token_endpoint_auth_methods_supported()
        .expect("token_endpoint_auth_methods_supported");
    for m in [
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
        CoreClientAuthMethod::None,
    ] {
        assert!(methods.contains(&m), "{m:?} in {methods:?}");
    }
    let acr: Vec<&str> = core
        .acr_values_supported()
        .expect("acr_values_supported")
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(acr, ["urn:gatehouse:acr:1fa", "urn:gatehouse:acr:mfa"]);
    let scopes = core.scopes_supported().expect("scopes_supported");
    assert!(scopes.contains(&scope("openid")) && scopes.contains(&scope("offline_access")));
    // The library fetched and parsed the JWKS; OIDC Core §10.1 wants a kid on every key of a set
    // holding several, and we publish one per algorithm at least.
    let keys = core.jwks().keys();
    assert!(keys.len() >= 3, "{keys:?}");
    assert!(keys.iter().all(|k| k.key_id().is_some()), "{keys:?}");

    let meta = discover(&s, &http).await;
    let extra = meta.additional_metadata();
    assert_eq!(
        extra.code_challenge_methods_supported,
        vec![PkceCodeChallengeMethod::new("S256".into())]
    );
    assert!(extra.authorization_response_iss_parameter_supported);
    assert_eq!(extra.revocation_endpoint.as_str(), at("/oauth/revoke"));
    assert_eq!(extra.introspection_endpoint.as_str(), at("/oauth/introspect"));
    assert_eq!(
        extra.device_authorization_endpoint.as_str(),
        at("/oauth/device_authorization")
    );

    // RFC 8414 §3: the OAuth metadata document names the same issuer and endpoints.
    let res = s
        .http
        .get(at("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let oauth: Metadata = serde_json::from_str(&res.text().await.unwrap()).expect("RFC 8414 metadata parses");
    assert_eq!(oauth.issuer(), meta.issuer());
    assert_eq!(oauth.token_endpoint(), meta.token_endpoint());
    assert_eq!(
        oauth.additional_metadata().code_challenge_methods_supported,
        extra.code_challenge_methods_supported
    );
});

/// The code flow of a confidential client whose ID tokens are signed with `alg`: sign-in and
/// consent through the pages, then everything a relying party checks, done by the library.
async fn code_flow_verifies(s: &TestServer, alg: CoreJwsSigningAlgorithm, alg_name: &str) {
    let http = Http::new(&s.base);
    let (project, key, email) = project_with_user(s, "relying").await;
    let settings = json!({
        "name": "web",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile email offline_access",
        "id_token_signed_response_alg": alg_name,
    });
    let (id, secret) = s.client(&key, &project, settings).await;
    let meta = discover(s, &http).await;
    let client = oidc_client(&meta, &id, secret.as_deref());

    let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(scope("profile"))
        .add_scope(scope("email"))
        .add_scope(scope("offline_access"))
        .set_pkce_challenge(challenge)
        .url();
    let page = Browser::new(&s.base).authorize(url.as_str(), &email, PASSWORD).await;
    let code = code_from(&page, s, &state);
    let token = client
        .exchange_code(code)
        .set_pkce_verifier(pkce_verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("{alg_name}: code exchange fails: {e:?}"));

    // Only the algorithm the client registered is acceptable (OIDC Registration
    // `id_token_signed_response_alg`), not anything the provider supports.
    let verifier = client.id_token_verifier().set_allowed_algs([alg.clone()]);
    let id_token = token.id_token().expect("an ID token for the openid scope");
    let claims = id_token
        .claims(&verifier, &nonce)
        .unwrap_or_else(|e| panic!("{alg_name}: the ID token does not verify: {e:?}"));
    assert_eq!(id_token.signing_alg().unwrap(), &alg);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(email.as_str()));
    // RFC 8176: a password alone; the acr is the one-factor value discovery lists first.
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|m| m.as_str())
        .collect();
    assert_eq!(amr, ["pwd"]);
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:gatehouse:acr:1fa")
    );
    let signing_key = id_token.signing_key(&verifier).unwrap();
    let at_hash = AccessTokenHash::from_token(token.access_token(), &alg, signing_key).unwrap();
    assert_eq!(
        claims.access_token_hash(),
        Some(&at_hash),
        "{alg_name}: at_hash (OIDC Core §3.1.3.8)"
    );
    let refresh_token = token
        .refresh_token()
        .expect("a refresh token: offline_access was granted");

    let info = userinfo(&client, &http, token.access_token(), Some(claims.subject().clone())).await;
    assert_eq!(info.email().map(|e| e.as_str()), Some(email.as_str()));

    let refreshed = client
        .exchange_refresh_token(refresh_token)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("{alg_name}: refresh fails: {e:?}"));
    let rotated = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(rotated.secret(), refresh_token.secret());
    let new_id_token = refreshed.id_token().expect("an ID token on refresh");
    let new_claims = new_id_token
        .claims(&verifier, absent_or(&nonce))
        .unwrap_or_else(|e| panic!("{alg_name}: the refreshed ID token does not verify: {e:?}"));
    // OIDC Core §12.2: same subject and audience, and auth_time is still the original sign-in.
    assert_eq!(new_claims.subject(), claims.subject());
    assert_eq!(new_claims.audiences(), claims.audiences());
    assert_eq!(new_claims.auth_time(), claims.auth_time());
    assert_eq!(new_claims.auth_method_refs(), claims.auth_method_refs());
    assert_eq!(new_claims.auth_context_ref(), claims.auth_context_ref());
    if let Some(hash) = new_claims.access_token_hash() {
        let key = new_id_token.signing_key(&verifier).unwrap();
        assert_eq!(
            hash,
            &AccessTokenHash::from_token(refreshed.access_token(), &alg, key).unwrap()
        );
    }
    let info = userinfo(&client, &http, refreshed.access_token(), Some(claims.subject().clone())).await;
    assert_eq!(info.email().map(|e| e.as_str()), Some(email.as_str()));
}

api_test!(code_flow_with_es256_id_tokens_verifies_in_the_library, |s| {
    code_flow_verifies(&s, CoreJwsSigningAlgorithm::EcdsaP256Sha256, "ES256").await;
});

api_test!(code_flow_with_rs256_id_tokens_verifies_in_the_library, |s| {
    code_flow_verifies(&s, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, "RS256").await;
});

api_test!(code_flow_with_eddsa_id_tokens_verifies_in_the_library, |s| {
    code_flow_verifies(&s, CoreJwsSigningAlgorithm::EdDsa, "EdDSA").await;
});

api_test!(public_client_with_pkce_signs_in_through_the_library, |s| {
    let http = Http::new(&s.base);
    let (project, key, email) = project_with_user(&s, "native").await;
    let settings = json!({
        "name": "native app",
        "require_client_secret": false,
        "token_endpoint_auth_method": "none",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code"],
        "scope": "openid profile email",
    });
    let (id, secret) = s.client(&key, &project, settings).await;
    assert_eq!(secret, None, "a public client has no secret");
    let meta = discover(&s, &http).await;
    let client = oidc_client(&meta, &id, None);

    // The verifier is kept as text so the second redemption below can present it again.
    let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let verifier_text = pkce_verifier.secret().clone();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(scope("email"))
        .set_pkce_challenge(challenge)
        .url();
    let page = Browser::new(&s.base).authorize(url.as_str(), &email, PASSWORD).await;
    let code = code_from(&page, &s, &state);
    let token = client
        .exchange_code(code.clone())
        .set_pkce_verifier(PkceCodeVerifier::new(verifier_text.clone()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the public client's code exchange fails: {e:?}"));
    // The default algorithm is ES256 (SPEC §4.1).
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = token
        .id_token()
        .expect("an ID token")
        .claims(&verifier, &nonce)
        .unwrap_or_else(|e| panic!("the ID token does not verify: {e:?}"));
    assert!(
        token.refresh_token().is_none(),
        "no refresh token without the refresh_token grant"
    );
    let info = userinfo(&client, &http, token.access_token(), Some(claims.subject().clone())).await;
    assert_eq!(info.email().map(|e| e.as_str()), Some(email.as_str()));

    // RFC 6749 §4.1.2: the code is single use, and a second redemption revokes what the first
    // issued (SPEC §5.2).
    let again = client
        .exchange_code(code)
        .set_pkce_verifier(PkceCodeVerifier::new(verifier_text))
        .request_async(&http)
        .await;
    assert_eq!(error_code(again), "invalid_grant");
    let revoked = client
        .user_info(token.access_token().clone(), None)
        .request_async::<openidconnect::EmptyAdditionalClaims, _, openidconnect::core::CoreGenderClaim>(&http)
        .await;
    assert!(
        revoked.is_err(),
        "the first redemption's access token still works at userinfo"
    );
});
