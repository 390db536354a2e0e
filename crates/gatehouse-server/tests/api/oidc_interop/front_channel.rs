//! The openidconnect crate as the relying party of the implicit and hybrid flows (OIDC Core
//! §3.2–§3.3): it builds the requests, and verifies the ID tokens from the fragment (signature,
//! issuer, audience, expiry, nonce) and their `at_hash` and `c_hash` with its own helpers.

use gatehouse_testkit::Browser;
use openidconnect::core::{CoreAuthenticationFlow, CoreIdToken, CoreJwsSigningAlgorithm, CoreResponseType};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthorizationCode, AuthorizationCodeHash, CsrfToken, Nonce, PkceCodeChallenge, Scope,
    TokenResponse as _,
};
use serde_json::json;

use super::openid::{oidc_client, userinfo};
use super::{Http, PASSWORD, REDIRECT_URI, discover, project_with_user};
use crate::{TestServer, api_test};

/// Every implicit and hybrid flow the library can ask for, for a client whose ID tokens are
/// signed with `alg`.
async fn front_channel_verifies(s: &TestServer, alg: CoreJwsSigningAlgorithm, alg_name: &str) {
    use CoreResponseType::{Code, IdToken, Token};
    let http = Http::new(&s.base);
    let (project, key, email) = project_with_user(s, "spa").await;
    let settings = json!({
        "name": "single-page app",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "implicit"],
        "response_types": ["code", "code id_token", "code token", "code id_token token", "id_token", "id_token token"],
        "scope": "openid email",
        "id_token_signed_response_alg": alg_name,
    });
    let (id, secret) = s.client(&key, &project, settings).await;
    let meta = discover(s, &http).await;
    let client = oidc_client(&meta, &id, secret.as_deref());
    let verifier = client.id_token_verifier().set_allowed_algs([alg.clone()]);
    let b = Browser::new(&s.base);
    let flows = [
        CoreAuthenticationFlow::Hybrid(vec![Code, IdToken]),
        CoreAuthenticationFlow::Hybrid(vec![Code, IdToken, Token]),
        CoreAuthenticationFlow::Hybrid(vec![Code, Token]),
        CoreAuthenticationFlow::Implicit(false),
        CoreAuthenticationFlow::Implicit(true),
    ];
    for flow in flows {
        let what = format!("{alg_name} {flow:?}");
        let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(flow.clone(), CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()));
        if matches!(flow, CoreAuthenticationFlow::Hybrid(_)) {
            request = request.set_pkce_challenge(challenge);
        }
        let (url, state, nonce) = request.url();
        let page = b.authorize(url.as_str(), &email, PASSWORD).await;
        let location = page.location.clone().unwrap_or_else(|| panic!("{what}: {}", page.body));
        assert!(location.starts_with(&format!("{REDIRECT_URI}#")), "{what}: {location}");
        let p = page.redirect_params();
        assert_eq!(p.get("state"), Some(state.secret()), "{what}: {p:?}");
        assert_eq!(p.get("iss"), Some(&s.base), "{what}: RFC 9207");
        let access_token = p.get("access_token").map(|t| AccessToken::new(t.clone()));
        let code = p.get("code").map(|c| AuthorizationCode::new(c.clone()));
        let Some(raw) = p.get("id_token") else {
            // `code token`: the ID token comes from the token endpoint only.
            assert!(access_token.is_some() && code.is_some(), "{what}: {p:?}");
            continue;
        };
        let id_token: CoreIdToken = raw.parse().unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let claims = id_token
            .claims(&verifier, &nonce)
            .unwrap_or_else(|e| panic!("{what}: the ID token does not verify: {e:?}"));
        assert!(
            id_token.claims(&verifier, &Nonce::new("another".into())).is_err(),
            "{what}: another nonce must fail"
        );
        let signing_key = id_token.signing_key(&verifier).unwrap();
        let at_hash = access_token
            .as_ref()
            .map(|t| AccessTokenHash::from_token(t, &alg, signing_key).unwrap());
        assert_eq!(claims.access_token_hash(), at_hash.as_ref(), "{what}: at_hash");
        let c_hash = code
            .as_ref()
            .map(|c| AuthorizationCodeHash::from_code(c, &alg, signing_key).unwrap());
        assert_eq!(claims.code_hash(), c_hash.as_ref(), "{what}: c_hash");
        if let Some(token) = &access_token {
            let info = userinfo(&client, &http, token, Some(claims.subject().clone())).await;
            assert_eq!(info.email().map(|e| e.as_str()), Some(email.as_str()), "{what}");
        }
        if let Some(code) = code {
            let token = client
                .exchange_code(code)
                .set_pkce_verifier(pkce_verifier)
                .request_async(&http)
                .await
                .unwrap_or_else(|e| panic!("{what}: the hybrid code does not redeem: {e:?}"));
            // OIDC Core §3.3.3.6: the same subject, and the nonce of the request.
            let back = token
                .id_token()
                .expect("an ID token from the token endpoint")
                .claims(&verifier, &nonce)
                .unwrap_or_else(|e| panic!("{what}: the token endpoint's ID token: {e:?}"));
            assert_eq!(back.subject(), claims.subject(), "{what}");
            assert_eq!(back.issuer(), claims.issuer(), "{what}");
        }
    }
}

api_test!(hybrid_and_implicit_flows_with_es256_verify_in_the_library, |s| {
    front_channel_verifies(&s, CoreJwsSigningAlgorithm::EcdsaP256Sha256, "ES256").await;
});

api_test!(hybrid_and_implicit_flows_with_rs256_verify_in_the_library, |s| {
    front_channel_verifies(&s, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, "RS256").await;
});

api_test!(hybrid_and_implicit_flows_with_eddsa_verify_in_the_library, |s| {
    front_channel_verifies(&s, CoreJwsSigningAlgorithm::EdDsa, "EdDSA").await;
});
