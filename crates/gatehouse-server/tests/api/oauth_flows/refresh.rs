//! Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): bound to their client, rotated with or without
//! a grace window, issued only with offline_access.

use gatehouse_testkit::Browser;
use serde_json::json;

use super::{EMAIL, PASSWORD, app, authorize_url, claims, code_for, exchange, pkce, refresh, token, tokens};
use crate::api_test;

api_test!(
    refresh_tokens_belong_to_their_client_and_rotate_with_a_grace_window,
    |s| {
        s.user(EMAIL, PASSWORD).await;
        let a = app(&s, json!({ "refresh_grace_seconds": 10 })).await;
        let other = app(&s, json!({})).await;
        let b = Browser::new(&s.base);
        let t = tokens(&s, &a, &b).await;
        let rt = t["refresh_token"].as_str().unwrap().to_owned();
        // Client B cannot use client A's token, and trying does not hurt A.
        let (st, e) = refresh(&s, &other, &rt).await;
        assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));
        // Eight concurrent refreshes of one token: one rotation, everyone gets the same pair.
        let form = [("grant_type", "refresh_token"), ("refresh_token", rt.as_str())];
        let results = futures::future::join_all((0..8).map(|_| token(&s, &a, &form))).await;
        let first = &results[0].1;
        for (st, r) in &results {
            assert_eq!(*st, 200, "{r}");
            assert_eq!(r, first, "every concurrent refresh returns the same successor pair");
        }
        let next = first["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(next, rt);
        // Rotating again: the token two generations back is a replay and revokes the family.
        let (st, newer) = refresh(&s, &a, &next).await;
        assert_eq!(st, 200);
        assert_eq!(
            s.introspect(newer["access_token"].as_str().unwrap()).await["active"],
            true
        );
        let (st, e) = refresh(&s, &a, &rt).await;
        assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));
        let (st, _) = refresh(&s, &a, newer["refresh_token"].as_str().unwrap()).await;
        assert_eq!(st, 400, "the family is revoked");
        assert_eq!(
            s.introspect(newer["access_token"].as_str().unwrap()).await["active"],
            false
        );
    }
);

api_test!(without_a_grace_window_reuse_revokes_the_family_at_once, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({ "refresh_grace_seconds": 0 })).await;
    let b = Browser::new(&s.base);
    let t = tokens(&s, &a, &b).await;
    let rt = t["refresh_token"].as_str().unwrap();
    let (st, next) = refresh(&s, &a, rt).await;
    assert_eq!(st, 200);
    let (st, _) = refresh(&s, &a, rt).await;
    assert_eq!(st, 400);
    let (st, _) = refresh(&s, &a, next["refresh_token"].as_str().unwrap()).await;
    assert_eq!(st, 400);
});

api_test!(
    refresh_tokens_need_offline_access_and_client_credentials_have_none,
    |s| {
        s.user(EMAIL, PASSWORD).await;
        let a = app(&s, json!({})).await;
        let b = Browser::new(&s.base);
        let (verifier, challenge) = pkce();
        let url = authorize_url(&s, &a, &challenge, &[]).replace("offline_access", "profile");
        let code = code_for(&b, &url).await;
        let (_, t) = exchange(&s, &a, &code, &verifier).await;
        assert!(t.get("refresh_token").is_none(), "{t}");
        let (st, cc) = token(&s, &a, &[("grant_type", "client_credentials")]).await;
        assert_eq!(st, 200);
        assert!(cc.get("refresh_token").is_none() && cc.get("id_token").is_none());
        assert_eq!(claims(cc["access_token"].as_str().unwrap())["sub"], a.id.as_str());
        assert_eq!(cc["scope"], "gatehouse_api");
        // Only disallowed scopes: invalid_scope.
        let (st, e) = token(&s, &a, &[("grant_type", "client_credentials"), ("scope", "llm_proxy")]).await;
        assert_eq!((st, e["error"].as_str()), (400, Some("invalid_scope")));
    }
);
