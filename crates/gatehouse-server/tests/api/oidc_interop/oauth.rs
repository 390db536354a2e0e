//! The oauth2 crate as the client: client credentials (RFC 6749 §4.4) with both secret methods,
//! the device flow (RFC 8628), refresh rotation (SPEC §5.2), revocation (RFC 7009) and
//! introspection (RFC 7662).

use std::time::Duration;

use gatehouse_testkit::{Browser, Page};
use oauth2::basic::{BasicTokenResponse, BasicTokenType};
use oauth2::{
    AccessToken, AuthType, RefreshToken, Scope, StandardDeviceAuthorizationResponse, StandardRevocableToken,
    TokenIntrospectionResponse as _, TokenResponse as _,
};
use serde_json::json;

use super::openid::{oidc_client, userinfo};
use super::{
    Http, OAuthClient, PASSWORD, REDIRECT_URI, discover, error_code, oauth_client, project_with_user, sign_in,
};
use crate::{TestServer, api_test};

fn scope(s: &str) -> Scope {
    Scope::new(s.to_owned())
}

/// Whether introspection (as `client`, through the library) reports `token` active.
async fn active(client: &OAuthClient, http: &Http, token: &str, hint: Option<&str>) -> bool {
    let token = AccessToken::new(token.to_owned());
    let mut request = client.introspect(&token);
    if let Some(hint) = hint {
        request = request.set_token_type_hint(hint);
    }
    request
        .request_async(http)
        .await
        .unwrap_or_else(|e| panic!("introspection fails: {e:?}"))
        .active()
}

/// Refreshes through the library.
async fn refresh(
    client: &OAuthClient,
    http: &Http,
    token: &RefreshToken,
) -> Result<oauth2::basic::BasicTokenResponse, oauth2::basic::BasicRequestTokenError<reqwest::Error>> {
    client.exchange_refresh_token(token).request_async(http).await
}

/// A confidential client allowed refresh tokens, with `grace` seconds of rotation grace, and an
/// oauth2 client for it; returns it with the user's email.
async fn refreshing_client(s: &TestServer, http: &Http, grace: u32) -> (OAuthClient, String) {
    let (project, key, email) = project_with_user(s, "rotation").await;
    let settings = json!({
        "name": "app",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid email offline_access",
        "refresh_grace_seconds": grace,
    });
    let (id, secret) = s.client(&key, &project, settings).await;
    let meta = discover(s, http).await;
    (oauth_client(&meta, &id, secret.as_deref()), email)
}

/// A [`refreshing_client`] whose user has signed in with `scopes`: the client, the user's email
/// and the token response.
async fn signed_in(
    s: &TestServer,
    http: &Http,
    grace: u32,
    scopes: &[&str],
) -> (OAuthClient, String, BasicTokenResponse) {
    let (client, email) = refreshing_client(s, http, grace).await;
    let token = sign_in(s, http, &client, &email, scopes).await;
    (client, email, token)
}

/// The refresh token of `token`, whose sign-in was granted offline_access.
fn refresh_token_of(token: &BasicTokenResponse) -> &RefreshToken {
    token
        .refresh_token()
        .expect("a refresh token: offline_access was granted")
}

api_test!(
    client_credentials_through_the_library_with_basic_and_body_authentication,
    |s| {
        let http = Http::new(&s.base);
        let (project, key) = s.project("machines").await;
        let meta = discover(&s, &http).await;
        for (method, auth_type) in [
            ("client_secret_basic", AuthType::BasicAuth),
            ("client_secret_post", AuthType::RequestBody),
        ] {
            let settings = json!({
                "name": method,
                "grant_types": ["client_credentials"],
                "scope": "gatehouse_api.read_only",
                "token_endpoint_auth_method": method,
            });
            let (id, secret) = s.client(&key, &project, settings).await;
            let client = oauth_client(&meta, &id, secret.as_deref()).set_auth_type(auth_type);
            // `profile` is not the client's: SPEC §5.6 drops it, and RFC 6749 §5.1 then requires the
            // response to say what was granted.
            let token = client
                .exchange_client_credentials()
                .add_scope(scope("gatehouse_api.read_only"))
                .add_scope(scope("profile"))
                .request_async(&http)
                .await
                .unwrap_or_else(|e| panic!("{method}: client_credentials fails: {e:?}"));
            assert_eq!(token.token_type(), &BasicTokenType::Bearer);
            assert_eq!(
                token.scopes(),
                Some(&vec![scope("gatehouse_api.read_only")]),
                "{method}"
            );
            assert!(
                token.refresh_token().is_none(),
                "{method}: no refresh token for client credentials"
            );

            let introspection = client
                .introspect(token.access_token())
                .request_async(&http)
                .await
                .unwrap_or_else(|e| panic!("{method}: introspection fails: {e:?}"));
            assert!(introspection.active(), "{method}: {introspection:?}");
            assert_eq!(introspection.client_id().map(|c| c.as_str()), Some(id.as_str()));
            assert_eq!(introspection.sub(), Some(id.as_str()), "SPEC §5.2: sub = client_id");
            assert_eq!(introspection.iss(), Some(s.base.as_str()));
            assert_eq!(introspection.scopes(), Some(&vec![scope("gatehouse_api.read_only")]));
            assert!(
                introspection.exp().is_some_and(|e| e.timestamp() > now_secs()),
                "{introspection:?}"
            );
        }
    }
);

/// Seconds since the epoch.
fn now_secs() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(now.as_secs()).unwrap()
}

/// Signs in on the device verification page and allows or denies `user_code` (RFC 8628 §3.3).
async fn decide_on_device_page(b: &Browser, url: &str, user_code: &str, email: &str, decision: &str) -> Page {
    let login = b.follow(b.get(url).await).await;
    let form = login.form();
    assert_eq!(
        form.action, "/login",
        "the device page asks to sign in first: {}",
        login.body
    );
    let page = b
        .follow(b.submit(&form, &[("email", email), ("password", PASSWORD)], None).await)
        .await;
    let form = page.form();
    assert_eq!(form.action, "/device", "{}", page.body);
    let page = b.submit(&form, &[("user_code", user_code)], None).await;
    let form = page.form();
    assert_eq!(form.action, "/device/confirm", "{}", page.body);
    b.submit(&form, &[], Some(("decision", decision))).await
}

/// A public device-flow client and the library's device authorization for it.
async fn device_authorization(
    s: &TestServer,
    http: &Http,
) -> (OAuthClient, StandardDeviceAuthorizationResponse, String, String) {
    let (project, key, email) = project_with_user(s, "television").await;
    let settings = json!({
        "name": "tv",
        "require_client_secret": false,
        "token_endpoint_auth_method": "none",
        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
        "scope": "openid email offline_access",
    });
    let (id, _) = s.client(&key, &project, settings).await;
    let meta = discover(s, http).await;
    let client = oauth_client(&meta, &id, None);
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(scope("openid"))
        .add_scope(scope("email"))
        .add_scope(scope("offline_access"))
        .request_async(http)
        .await
        .unwrap_or_else(|e| panic!("device authorization fails: {e:?}"));
    assert_eq!(details.verification_uri().as_str(), format!("{}/device", s.base));
    let code = details.user_code().secret().clone();
    assert!(
        code.len() == 9
            && code.as_bytes()[4] == b'-'
            && code.chars().filter(|c| *c != '-').all(|c| c.is_ascii_alphanumeric()),
        "SPEC §5.1: user code XXXX-XXXX, got {code}"
    );
    (client, details, id, email)
}

/// A device authorization the user answers with `decision` (`allow` or `deny`) in a browser
/// while the library polls (RFC 8628 §3.4): the polling's outcome (its RFC 6749 error code when
/// refused), the client, its id and the user's email.
async fn device_decision(
    s: &TestServer,
    http: &Http,
    decision: &str,
) -> (Result<BasicTokenResponse, String>, OAuthClient, String, String) {
    let (client, details, id, email) = device_authorization(s, http).await;
    let user_code = details.user_code().secret().clone();
    let url = format!("/device?user_code={user_code}");
    let browser = Browser::new(&s.base);
    let (token, page) = tokio::join!(
        client.exchange_device_access_token(&details).request_async(
            http,
            tokio::time::sleep,
            Some(Duration::from_secs(60))
        ),
        decide_on_device_page(&browser, &url, &user_code, &email, decision),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let token = token.map_err(|e| error_code(Err::<(), _>(e)));
    (token, client, id, email)
}

api_test!(
    device_flow_through_the_library_while_the_user_approves_in_a_browser,
    |s| {
        let http = Http::new(&s.base);
        let (token, client, id, email) = device_decision(&s, &http, "allow").await;
        let token = token.unwrap_or_else(|e| panic!("device token polling fails: {e}"));
        let refresh_token = refresh_token_of(&token);

        let meta = discover(&s, &http).await;
        let oidc = oidc_client(&meta, &id, None);
        let info = userinfo(&oidc, &http, token.access_token(), None).await;
        assert_eq!(info.email().map(|e| e.as_str()), Some(email.as_str()));
        let refreshed = refresh(&client, &http, refresh_token)
            .await
            .unwrap_or_else(|e| panic!("the device grant's refresh fails: {e:?}"));
        let info = userinfo(&oidc, &http, refreshed.access_token(), None).await;
        assert_eq!(info.email().map(|e| e.as_str()), Some(email.as_str()));
    }
);

api_test!(device_flow_denied_in_the_browser_ends_polling_with_access_denied, |s| {
    let http = Http::new(&s.base);
    let (token, ..) = device_decision(&s, &http, "deny").await;
    assert_eq!(token.err().as_deref(), Some("access_denied"), "RFC 8628 §3.5");
});

api_test!(reusing_a_rotated_refresh_token_without_grace_revokes_the_family, |s| {
    let http = Http::new(&s.base);
    let (client, _, first) = signed_in(&s, &http, 0, &["openid", "offline_access"]).await;
    let r1 = refresh_token_of(&first);
    let second = refresh(&client, &http, r1)
        .await
        .unwrap_or_else(|e| panic!("refresh fails: {e:?}"));
    let r2 = second.refresh_token().expect("a rotated refresh token");
    assert_ne!(r2.secret(), r1.secret());
    assert!(active(&client, &http, second.access_token().secret(), None).await);
    assert!(active(&client, &http, r2.secret(), Some("refresh_token")).await);

    assert_eq!(error_code(refresh(&client, &http, r1).await), "invalid_grant");
    assert_eq!(
        error_code(refresh(&client, &http, r2).await),
        "invalid_grant",
        "the newest token of a replayed family still works"
    );
});

api_test!(
    the_previous_refresh_token_within_the_grace_window_returns_the_same_pair,
    |s| {
        let http = Http::new(&s.base);
        let (client, _, first) = signed_in(&s, &http, 10, &["openid", "offline_access"]).await;
        let r1 = refresh_token_of(&first);
        let second = refresh(&client, &http, r1)
            .await
            .unwrap_or_else(|e| panic!("refresh fails: {e:?}"));
        let again = refresh(&client, &http, r1)
            .await
            .unwrap_or_else(|e| panic!("a retry inside the grace window fails: {e:?}"));
        let r2 = second.refresh_token().expect("a rotated refresh token");
        assert_eq!(again.access_token().secret(), second.access_token().secret());
        assert_eq!(again.refresh_token().map(|t| t.secret()), Some(r2.secret()));

        // The successor is still live and rotates as usual.
        let third = refresh(&client, &http, r2)
            .await
            .unwrap_or_else(|e| panic!("the successor does not refresh: {e:?}"));
        assert!(third.refresh_token().is_some_and(|r3| r3.secret() != r2.secret()));
        // r1 is no longer the immediately previous token: no pair for it.
        assert_eq!(error_code(refresh(&client, &http, r1).await), "invalid_grant");
    }
);

api_test!(revoking_a_refresh_token_through_the_library_ends_its_family, |s| {
    let http = Http::new(&s.base);
    let (client, _, token) = signed_in(&s, &http, 10, &["openid", "offline_access"]).await;
    let access = token.access_token().secret();
    let refresh_token = refresh_token_of(&token);
    assert!(active(&client, &http, access, None).await);
    assert!(active(&client, &http, refresh_token.secret(), Some("refresh_token")).await);

    client
        .revoke_token(StandardRevocableToken::RefreshToken(refresh_token.clone()))
        .expect("a revocation request")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("revocation fails: {e:?}"));
    assert_eq!(
        error_code(refresh(&client, &http, refresh_token).await),
        "invalid_grant"
    );
    assert!(!active(&client, &http, refresh_token.secret(), Some("refresh_token")).await);
    assert!(
        !active(&client, &http, access, None).await,
        "the family's access token is still active after revocation"
    );
});

api_test!(
    introspection_through_the_library_reports_active_and_revoked_access_tokens,
    |s| {
        let http = Http::new(&s.base);
        let (client, email, token) = signed_in(&s, &http, 10, &["openid", "email"]).await;
        let introspection = client
            .introspect(token.access_token())
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("introspection fails: {e:?}"));
        assert!(introspection.active(), "{introspection:?}");
        assert_eq!(introspection.client_id(), Some(client.client_id()));
        assert_eq!(introspection.iss(), Some(s.base.as_str()));
        assert_eq!(introspection.username(), Some(email.as_str()));
        assert_eq!(introspection.scopes(), Some(&vec![scope("openid"), scope("email")]));
        assert!(introspection.sub().is_some_and(|s| !s.is_empty()));
        assert!(introspection.jti().is_some());

        client
            .revoke_token(StandardRevocableToken::AccessToken(token.access_token().clone()))
            .expect("a revocation request")
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("revocation fails: {e:?}"));
        assert!(!active(&client, &http, token.access_token().secret(), None).await);
        // RFC 7662 §2.2: anything unknown is simply inactive.
        assert!(!active(&client, &http, "not-a-token", None).await);
    }
);

api_test!(introspection_finds_an_access_token_under_a_refresh_token_hint, |s| {
    let http = Http::new(&s.base);
    let (client, _, token) = signed_in(&s, &http, 10, &["openid", "offline_access"]).await;
    // RFC 7662 §2.1: a hint that names the wrong type only changes where the search starts.
    assert!(
        active(&client, &http, token.access_token().secret(), Some("refresh_token")).await,
        "an active access token introspected with token_type_hint=refresh_token reads inactive"
    );
});

api_test!(revocation_finds_a_refresh_token_under_an_access_token_hint, |s| {
    let http = Http::new(&s.base);
    let (client, _, token) = signed_in(&s, &http, 10, &["openid", "offline_access"]).await;
    let refresh_token = refresh_token_of(&token);
    // RFC 7009 §2.1: the server extends its search past the hinted type. The library sends
    // token_type_hint=access_token for this variant.
    client
        .revoke_token(StandardRevocableToken::AccessToken(AccessToken::new(
            refresh_token.secret().clone(),
        )))
        .expect("a revocation request")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("revocation fails: {e:?}"));
    assert_eq!(
        error_code(refresh(&client, &http, refresh_token).await),
        "invalid_grant",
        "a refresh token revoked with token_type_hint=access_token still refreshes"
    );
});
