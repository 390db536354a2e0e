//! Defences of the sign-in pages and the token endpoint: brute-force delays, CORS, framing and
//! CSRF, and nothing secret stored in plaintext.

use std::time::{Duration, Instant};

use gatehouse_testkit::Browser;
use reqwest::Method;
use serde_json::json;

use super::{
    App, EMAIL, FormBody as _, PASSWORD, app, authorize_url, code_for, exchange, pkce, post_form, refresh, token,
};
use crate::api_test;

api_test!(login_brute_force_slows_the_attacker_and_never_blocks_other_users, |s| {
    s.user(EMAIL, PASSWORD).await;
    let attacker = Browser::from_address(&s.base, Some("127.0.0.2".parse().unwrap()));
    let mut throttled = false;
    for _ in 0..8 {
        let form = attacker.get("/login").await.form();
        let started = Instant::now();
        let page = attacker
            .submit(&form, &[("email", EMAIL), ("password", "wrong password guess")], None)
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a throttled attempt answers at once"
        );
        assert!(matches!(page.status, 401 | 429), "{}", page.status);
        if page.status == 429 {
            throttled = true;
            assert!(page.headers.contains_key("retry-after"));
            assert!(page.body.contains("Too many failed attempts"));
        }
    }
    assert!(throttled, "repeated failures are delayed");
    // Even the right password waits while throttled from that address...
    let form = attacker.get("/login").await.form();
    assert_eq!(
        attacker
            .submit(&form, &[("email", EMAIL), ("password", PASSWORD)], None)
            .await
            .status,
        429
    );
    // ...but the user from elsewhere signs in at once.
    let user = Browser::from_address(&s.base, Some("127.0.0.3".parse().unwrap()));
    let form = user.get("/login").await.form();
    let page = user
        .submit(&form, &[("email", EMAIL), ("password", PASSWORD)], None)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // Unknown emails get the same answer as wrong passwords.
    let other = Browser::from_address(&s.base, Some("127.0.0.4".parse().unwrap()));
    let form = other.get("/login").await.form();
    let page = other
        .submit(&form, &[("email", "nobody@example.com"), ("password", PASSWORD)], None)
        .await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("The email or password is not correct."));
});

api_test!(client_authentication_failures_are_delayed_per_client, |s| {
    let a = app(&s, json!({})).await;
    let wrong = App {
        id: a.id.clone(),
        secret: "x".repeat(43),
    };
    let mut codes = Vec::new();
    for _ in 0..14 {
        let (st, e) = token(&s, &wrong, &[("grant_type", "client_credentials")]).await;
        assert_eq!((st, e["error"].as_str()), (401, Some("invalid_client")));
        codes.push(e["error_description"].as_str().unwrap().to_owned());
    }
    assert!(
        codes.iter().any(|d| d.contains("too many failed attempts")),
        "{codes:?}"
    );
    let other = app(&s, json!({})).await;
    assert_eq!(
        token(&s, &other, &[("grant_type", "client_credentials")]).await.0,
        200,
        "other clients are unaffected"
    );
});

api_test!(cors_follows_the_clients_registered_origins, |s| {
    let a = app(&s, json!({ "allowed_cors_origins": ["https://app.example"] })).await;
    let preflight = |path: &'static str, origin: &'static str| {
        s.http
            .request(Method::OPTIONS, format!("{}{path}", s.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    for path in [
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/userinfo",
        "/oauth/jwks",
        "/.well-known/openid-configuration",
    ] {
        let ok = preflight(path, "https://app.example").await.unwrap();
        assert_eq!(
            ok.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some("https://app.example"),
            "{path}"
        );
        let bad = preflight(path, "https://evil.example").await.unwrap();
        assert!(bad.headers().get("access-control-allow-origin").is_none(), "{path}");
    }
    // The authorization endpoint never answers CORS.
    let res = preflight("/oauth/authorize", "https://app.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    // The token response is readable by the client's own origin only.
    let res = s
        .http
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(&a.id, Some(&a.secret))
        .header("origin", "https://app.example")
        .form_pairs(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example");
    assert_eq!(res.headers()["cache-control"], "no-store");
});

api_test!(sign_in_and_consent_pages_cannot_be_framed_and_carry_csrf_tokens, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({})).await;
    let b = Browser::new(&s.base);
    let login = b.get("/login").await;
    let (_, challenge) = pkce();
    let consent = {
        let page = b.follow(b.get(&authorize_url(&s, &a, &challenge, &[])).await).await;
        let form = page.form();
        b.follow(b.submit(&form, &[("email", EMAIL), ("password", PASSWORD)], None).await)
            .await
    };
    assert!(consent.body.contains("action=\"/consent\""), "{}", consent.body);
    for page in [&login, &consent] {
        assert_eq!(page.headers["x-frame-options"], "DENY");
        assert!(
            page.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert!(page.form().fields.iter().any(|(k, v)| k == "csrf" && !v.is_empty()));
    }
    // A consent post without the browser's CSRF cookie is refused.
    let form = consent.form();
    let stranger = Browser::new(&s.base);
    let page = stranger.submit(&form, &[], Some(("decision", "allow"))).await;
    assert_eq!(page.status, 403);
    // The session cookie is HttpOnly and SameSite=Lax.
    let form = b.get("/login").await.form();
    let page = b.submit(&form, &[("email", EMAIL), ("password", PASSWORD)], None).await;
    let cookie = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("gh_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
});

api_test!(codes_tokens_sessions_and_keys_are_never_stored_in_plaintext, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({ "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"] })).await;
    let b = Browser::new(&s.base);
    let (verifier, challenge) = pkce();
    let code = code_for(&b, &authorize_url(&s, &a, &challenge, &[])).await;
    let (_, t) = exchange(&s, &a, &code, &verifier).await;
    let (_, r) = refresh(&s, &a, t["refresh_token"].as_str().unwrap()).await;
    let (_, d) = post_form(&s, "/oauth/device_authorization", Some(&a), &[("scope", "openid")]).await;
    let session = b.cookie("gh_session").unwrap();
    let (_, session_secret) = session.split_once('.').unwrap();
    let dump = s.database_bytes().await;
    for (what, secret) in [
        ("code", code.as_str()),
        ("refresh token", t["refresh_token"].as_str().unwrap()),
        ("rotated refresh token", r["refresh_token"].as_str().unwrap()),
        ("device code", d["device_code"].as_str().unwrap()),
        ("session secret", session_secret),
        ("password", PASSWORD),
    ] {
        assert!(!crate::contains(&dump, secret), "{what} is stored in plaintext");
    }
    // The client id is in the dump, so the search itself works.
    assert!(crate::contains(&dump, &a.id));
});
