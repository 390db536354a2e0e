//! What ends tokens and sessions: revocation (RFC 7009), userinfo, logout, a changed password, a
//! disabled or deleted client, and the same state shared by two nodes; user tokens on the REST API.

use gatehouse_testkit::Browser;
use reqwest::Method;
use serde_json::{Value, json};

use super::{
    App, EMAIL, PASSWORD, REDIRECT, app, authorize_url, code_for, exchange, pkce, post_form, refresh, token, tokens,
};
use crate::api_test;
use crate::nodes::{two_nodes, within_a_second};

api_test!(user_tokens_with_the_api_scopes_call_the_rest_api, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({ "scope": "openid gatehouse_api gatehouse_api.read_only" })).await;
    let b = Browser::new(&s.base);
    let (p, _) = s.project("Shared").await;
    let uid = s.call(Method::GET, "/accounts/projects", None).await;
    assert_eq!(uid.0, 200);
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/accounts/projects/{p}/users"),
            Some(json!({ "email": EMAIL, "is_admin": true })),
        )
        .await;
    assert_eq!(st, 201);
    for (scope, can_write) in [
        ("openid gatehouse_api", true),
        ("openid gatehouse_api.read_only", false),
    ] {
        let (verifier, challenge) = pkce();
        let url =
            authorize_url(&s, &a, &challenge, &[]).replace("openid+email+offline_access", &scope.replace(' ', "+"));
        let code = code_for(&b, &url).await;
        let (_, t) = exchange(&s, &a, &code, &verifier).await;
        let at = t["access_token"].as_str().unwrap();
        let (st, me) = s.call_as(at, Method::GET, "/accounts/profiles/me", None).await;
        assert_eq!((st, me["email"].as_str()), (200, Some(EMAIL)), "{me}");
        let (st, list) = s
            .call_as(at, Method::GET, &format!("/accounts/projects/{p}/oauth/clients"), None)
            .await;
        assert_eq!(st, 200, "{list}");
        let (st, _) = s
            .call_as(
                at,
                Method::POST,
                &format!("/accounts/projects/{p}/oauth/clients"),
                Some(json!({ "name": "x", "grant_types": ["client_credentials"], "response_types": [] })),
            )
            .await;
        assert_eq!(st, if can_write { 201 } else { 403 }, "{scope}");
    }
    // A token without an API scope, and a client-credentials token, are refused.
    let (st, cc) = token(&s, &a, &[("grant_type", "client_credentials")]).await;
    assert_eq!(st, 200);
    let (st, _) = s
        .call_as(
            cc["access_token"].as_str().unwrap(),
            Method::GET,
            "/accounts/profiles/me",
            None,
        )
        .await;
    assert_eq!(st, 401);
    let (st, _) = s
        .call_as("not-a-token", Method::GET, "/accounts/profiles/me", None)
        .await;
    assert_eq!(st, 401);
});

api_test!(revocation_userinfo_and_logout_work_as_specified, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({ "post_logout_redirect_uris": ["https://app.example/bye"] })).await;
    let b = Browser::new(&s.base);
    let t = tokens(&s, &a, &b).await;
    let at = t["access_token"].as_str().unwrap();
    let info: Value = s
        .http
        .get(format!("{}/oauth/userinfo", s.base))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], EMAIL);
    let (st, info) = post_form(&s, "/oauth/userinfo", None, &[("access_token", at)]).await;
    assert_eq!((st, info["email"].as_str()), (200, Some(EMAIL)));
    let res = s
        .http
        .get(format!("{}/oauth/userinfo", s.base))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // Revoking the access token: introspection and userinfo refuse it; the refresh token lives on.
    assert_eq!(post_form(&s, "/oauth/revoke", Some(&a), &[("token", at)]).await.0, 200);
    assert_eq!(s.introspect(at).await["active"], false);
    assert_eq!(
        s.http
            .get(format!("{}/oauth/userinfo", s.base))
            .bearer_auth(at)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Unknown tokens revoke "successfully" (RFC 7009 §2.2).
    assert_eq!(
        post_form(&s, "/oauth/revoke", Some(&a), &[("token", "garbage")])
            .await
            .0,
        200
    );
    // A fresh pair from the refresh token, introspected once so that its answer is cached…
    let (st, t2) = refresh(&s, &a, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 200, "{t2}");
    let at2 = t2["access_token"].as_str().unwrap();
    assert_eq!(s.introspect(at2).await["active"], true);
    // RP-initiated logout: a wrong post_logout_redirect_uri is an error page, the registered one is followed.
    let hint = t["id_token"].as_str().unwrap();
    let bad = b
        .get(&format!(
            "/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri=https://evil.example/"
        ))
        .await;
    assert_eq!((bad.status, bad.location.is_none()), (400, true));
    let page = b
        .get(&format!(
            "/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri=https://app.example/bye&state=s1"
        ))
        .await;
    assert_eq!(page.status, 200, "a signed-in browser confirms");
    let done = b.submit(&page.form(), &[], None).await;
    assert_eq!(done.location.as_deref(), Some("https://app.example/bye?state=s1"));
    // …and the session's tokens are revoked (revoke_on_logout defaults to true).
    let (st, _) = refresh(&s, &a, t2["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 400);
    assert_eq!(s.introspect(at2).await["active"], false);
    // And the browser must sign in again.
    let (_, challenge) = pkce();
    let page = b.get(&authorize_url(&s, &a, &challenge, &[])).await;
    assert!(page.location.as_deref().unwrap().starts_with("/login"));
});

api_test!(changing_the_password_ends_sessions_and_revokes_tokens, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({})).await;
    let b = Browser::new(&s.base);
    let t = tokens(&s, &a, &b).await;
    assert_eq!(s.introspect(t["access_token"].as_str().unwrap()).await["active"], true);
    let other = Browser::new(&s.base);
    let form = other.get("/login").await.form();
    other
        .submit(&form, &[("email", EMAIL), ("password", PASSWORD)], None)
        .await;
    let account = b.get("/account").await;
    assert_eq!(account.status, 200);
    assert_eq!(account.body.matches("/revoke\"").count(), 2, "both sessions are listed");
    let form = account
        .forms()
        .into_iter()
        .find(|f| f.action == "/account/password")
        .unwrap();
    let wrong = b
        .submit(
            &form,
            &[
                ("current_password", "not my password!"),
                ("new_password", "a brand new password"),
            ],
            None,
        )
        .await;
    assert!(wrong.body.contains("current password"), "{}", wrong.body);
    let done = b
        .submit(
            &form,
            &[("current_password", PASSWORD), ("new_password", "a brand new password")],
            None,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(s.introspect(t["access_token"].as_str().unwrap()).await["active"], false);
    assert!(
        other
            .get("/account")
            .await
            .location
            .as_deref()
            .unwrap()
            .starts_with("/login")
    );
    let form = b.get("/login").await.form();
    assert_eq!(
        b.submit(&form, &[("email", EMAIL), ("password", "a brand new password")], None)
            .await
            .status,
        303
    );
});

api_test!(a_disabled_or_deleted_client_stops_at_once, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({})).await;
    let b = Browser::new(&s.base);
    let t = tokens(&s, &a, &b).await;
    let path = format!("/accounts/projects/{}/oauth/clients/{}", s.system_project, a.id);
    let (st, _) = s.call(Method::PUT, &path, Some(json!({ "enabled": false }))).await;
    assert_eq!(st, 200);
    assert_eq!(s.introspect(t["access_token"].as_str().unwrap()).await["active"], false);
    assert_eq!(token(&s, &a, &[("grant_type", "client_credentials")]).await.0, 401);
    let (_, challenge) = pkce();
    assert_eq!(b.get(&authorize_url(&s, &a, &challenge, &[])).await.status, 400);
    let (st, _) = s.call(Method::DELETE, &path, None).await;
    assert_eq!(st, 204);
    let (st, _) = refresh(&s, &a, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 401);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_rotation_revocation_and_client_state() {
    let Some((n1, n2)) = two_nodes().await else { return };
    n1.user(EMAIL, PASSWORD).await;
    let a = app(&n1, json!({ "refresh_grace_seconds": 10 })).await;
    let b = Browser::new(&n1.base);
    let t = tokens(&n1, &a, &b).await;
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    // Concurrent refreshes of one token on both nodes: one rotation, the same pair everywhere.
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
    let results = futures::future::join_all((0..8).map(|i| {
        let node = if i % 2 == 0 { &n1 } else { &n2 };
        token(node, &a, &form)
    }))
    .await;
    for (st, r) in &results {
        assert_eq!(*st, 200, "{r}");
        assert_eq!(r, &results[0].1);
    }
    let at = results[0].1["access_token"].as_str().unwrap().to_owned();
    // A revocation on node 1 is seen by node 2 at once.
    assert_eq!(n2.introspect(&at).await["active"], true);
    assert_eq!(
        post_form(&n1, "/oauth/revoke", Some(&a), &[("token", &at)]).await.0,
        200
    );
    within_a_second("the revoked token failing on node 2", async || {
        n2.introspect(&at).await["active"] == false
    })
    .await;
    // Disabling the client on node 1 stops it on node 2 within a second.
    assert_eq!(token(&n2, &a, &[("grant_type", "client_credentials")]).await.0, 200);
    let path = format!("/accounts/projects/{}/oauth/clients/{}", n1.system_project, a.id);
    assert_eq!(
        n1.call(Method::PUT, &path, Some(json!({ "enabled": false }))).await.0,
        200
    );
    within_a_second("the disabled client failing on node 2", async || {
        token(&n2, &a, &[("grant_type", "client_credentials")]).await.0 == 401
    })
    .await;
    n2.stop().await;
    n1.stop().await;
}

api_test!(a_deleted_clients_id_reused_elsewhere_inherits_nothing, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({ "client_id": "reused-client-id" })).await;
    let b = Browser::new(&s.base);
    let t = tokens(&s, &a, &b).await;
    let path = format!("/accounts/projects/{}/oauth/clients/{}", s.system_project, a.id);
    assert_eq!(s.call(Method::DELETE, &path, None).await.0, 204);
    let (other, key) = s.project("Other tenant").await;
    let settings = json!({ "client_id": "reused-client-id", "name": "Look-alike", "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"], "scope": "openid email offline_access" });
    let (id, secret) = s.client(&key, &other, settings).await;
    let twin = App {
        id,
        secret: secret.unwrap(),
    };
    // The old refresh token does not work for the new client, and consent is asked again.
    let (st, _) = refresh(&s, &twin, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 400);
    let (_, challenge) = pkce();
    let page = b.follow(b.get(&authorize_url(&s, &twin, &challenge, &[])).await).await;
    assert!(
        page.body.contains("action=\"/consent\""),
        "no inherited consent: {}",
        page.body
    );
});
