//! The authorization code flow (RFC 6749 §4.1, RFC 7636, RFC 9700): single-use codes, PKCE,
//! exact redirect URIs, prompt/max_age, response modes and concurrent redemptions.

use std::time::Duration;

use gatehouse_testkit::Browser;
use serde_json::json;

use super::{
    App, EMAIL, PASSWORD, REDIRECT, app, authorize_url, claims, code_for, error_of, exchange, pkce, refresh, token,
    tokens,
};
use crate::api_test;

api_test!(
    a_second_redemption_of_a_code_fails_and_revokes_what_the_first_issued,
    |s| {
        s.user(EMAIL, PASSWORD).await;
        let a = app(&s, json!({})).await;
        let b = Browser::new(&s.base);
        let (verifier, challenge) = pkce();
        let code = code_for(&b, &authorize_url(&s, &a, &challenge, &[])).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ];
        let (st, first) = token(&s, &a, &form).await;
        assert_eq!(st, 200, "{first}");
        assert_eq!(
            s.introspect(first["access_token"].as_str().unwrap()).await["active"],
            true
        );
        let (st, again) = token(&s, &a, &form).await;
        assert_eq!((st, again["error"].as_str()), (400, Some("invalid_grant")), "{again}");
        assert_eq!(
            s.introspect(first["access_token"].as_str().unwrap()).await["active"],
            false
        );
        let (st, r) = refresh(&s, &a, first["refresh_token"].as_str().unwrap()).await;
        assert_eq!((st, r["error"].as_str()), (400, Some("invalid_grant")));
    }
);

api_test!(pkce_downgrade_plain_and_wrong_verifiers_are_refused, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({ "require_pkce": false })).await;
    let b = Browser::new(&s.base);
    // No challenge in the request, a verifier at the token endpoint: downgrade (RFC 9700 §2.1.1).
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.extend_pairs([
        ("response_type", "code"),
        ("client_id", a.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "s"),
    ]);
    let page = b
        .authorize(&format!("{}/oauth/authorize?{}", s.base, q.finish()), EMAIL, PASSWORD)
        .await;
    let code = page.redirect_params()["code"].clone();
    let (verifier, challenge) = pkce();
    let (st, t) = exchange(&s, &a, &code, &verifier).await;
    assert_eq!((st, t["error"].as_str()), (400, Some("invalid_grant")), "{t}");
    // plain is refused at the authorization endpoint, with state and iss.
    let url =
        authorize_url(&s, &a, &challenge, &[]).replace("code_challenge_method=S256", "code_challenge_method=plain");
    let p = error_of(&b.get(&url).await);
    assert_eq!(p["error"], "invalid_request");
    assert_eq!(p["state"], "xyz");
    assert_eq!(p["iss"], s.base);
    // A wrong verifier fails.
    let code = code_for(&b, &authorize_url(&s, &a, &challenge, &[])).await;
    let (other, _) = pkce();
    let (st, t) = token(
        &s,
        &a,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &other),
        ],
    )
    .await;
    assert_eq!((st, t["error"].as_str()), (400, Some("invalid_grant")));
    // A public client must send a challenge.
    let public = app(&s, json!({ "require_client_secret": false, "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"] })).await;
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.extend_pairs([
        ("response_type", "code"),
        ("client_id", public.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("state", "s"),
    ]);
    let p = error_of(&b.get(&format!("{}/oauth/authorize?{}", s.base, q.finish())).await);
    assert_eq!(p["error"], "invalid_request");
});

api_test!(redirect_uris_match_exactly_and_bad_ones_never_redirect, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(
        &s,
        json!({ "redirect_uris": [REDIRECT, "https://app.example/cb?tenant=1"] }),
    )
    .await;
    let b = Browser::new(&s.base);
    let (_, challenge) = pkce();
    for bad in [
        "https://evil.example/cb",
        "https://app.example/cb?tenant=1&x=2",
        "https://app.example/cb?tenant=2",
        "https://app.example/cb",
        "http://127.0.0.1/cb/",
    ] {
        let url = authorize_url(&s, &a, &challenge, &[]).replace(&urlencode(REDIRECT), &urlencode(bad));
        let page = b.get(&url).await;
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.location.is_none(), "{bad} must not redirect");
        assert!(page.body.contains("redirect_uri"), "{}", page.body);
    }
    // Missing with two registered is ambiguous.
    let url = authorize_url(&s, &a, &challenge, &[]).replace(&format!("redirect_uri={}&", urlencode(REDIRECT)), "");
    assert_eq!(b.get(&url).await.status, 400);
    // Unknown client: error page too.
    let page = b
        .get(&authorize_url(
            &s,
            &App {
                id: "nope-nope".into(),
                secret: String::new(),
            },
            &challenge,
            &[],
        ))
        .await;
    assert_eq!((page.status, page.location.is_none()), (400, true));
    // The loopback port may vary (RFC 8252 §7.3), and the code is bound to the URI used.
    let (verifier, challenge) = pkce();
    let port_uri = "http://127.0.0.1:49152/cb";
    let url = authorize_url(&s, &a, &challenge, &[]).replace(&urlencode(REDIRECT), &urlencode(port_uri));
    let page = b.authorize(&url, EMAIL, PASSWORD).await;
    assert!(
        page.location.as_deref().unwrap().starts_with(port_uri),
        "{:?}",
        page.location
    );
    let code = page.redirect_params()["code"].clone();
    let (st, t) = exchange(&s, &a, &code, &verifier).await;
    assert_eq!(
        (st, t["error"].as_str()),
        (400, Some("invalid_grant")),
        "the token request must repeat the exact URI"
    );
});

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

api_test!(prompt_none_max_age_unknown_parameters_and_post_follow_the_rules, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({})).await;
    let b = Browser::new(&s.base);
    let (verifier, challenge) = pkce();
    // prompt=none without a session: login_required at the client, never a page.
    let p = error_of(&b.get(&authorize_url(&s, &a, &challenge, &[("prompt", "none")])).await);
    assert_eq!(
        (p["error"].as_str(), p["state"].as_str(), p["iss"].as_str()),
        ("login_required", "xyz", s.base.as_str())
    );
    // Unknown parameters are ignored.
    let code = code_for(
        &b,
        &authorize_url(&s, &a, &challenge, &[("foo", "bar"), ("ui_locales", "de")]),
    )
    .await;
    let (st, t) = exchange(&s, &a, &code, &verifier).await;
    assert_eq!(st, 200);
    let first_auth = claims(t["id_token"].as_str().unwrap())["auth_time"].as_i64().unwrap();
    // With the session and consent, prompt=none now answers with a code.
    let p = error_of(&b.get(&authorize_url(&s, &a, &challenge, &[("prompt", "none")])).await);
    assert!(p.contains_key("code"), "{p:?}");
    // max_age=1 after two seconds: sign in again, with a fresh auth_time.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let page = b.get(&authorize_url(&s, &a, &challenge, &[("max_age", "1")])).await;
    assert!(
        page.location.as_deref().unwrap().starts_with("/login"),
        "{:?}",
        page.location
    );
    let p = error_of(
        &b.get(&authorize_url(
            &s,
            &a,
            &challenge,
            &[("max_age", "1"), ("prompt", "none")],
        ))
        .await,
    );
    assert_eq!(p["error"], "login_required");
    let (verifier, challenge) = pkce();
    let code = code_for(&b, &authorize_url(&s, &a, &challenge, &[("max_age", "1")])).await;
    let (_, t) = exchange(&s, &a, &code, &verifier).await;
    let c = claims(t["id_token"].as_str().unwrap());
    assert!(c["auth_time"].as_i64().unwrap() > first_auth, "{c}");
    // prompt=login forces the form even with a session.
    let page = b.get(&authorize_url(&s, &a, &challenge, &[("prompt", "login")])).await;
    assert!(page.location.as_deref().unwrap().starts_with("/login"));
    // POST to the authorization endpoint works like GET.
    let (_, challenge) = pkce();
    let url = authorize_url(&s, &a, &challenge, &[]);
    let (_, query) = url.split_once('?').unwrap();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let p = error_of(&b.post("/oauth/authorize", &pairs).await);
    assert!(p.contains_key("code"), "{p:?}");
    // A parameter given twice is refused (RFC 6749 §3.1) on an error page.
    let page = b.get(&format!("{url}&state=again")).await;
    assert_eq!(page.status, 400);
});

api_test!(fragment_and_form_post_response_modes_deliver_the_code, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({})).await;
    let b = Browser::new(&s.base);
    let (verifier, challenge) = pkce();
    // The sign-in form is prefilled from login_hint.
    let login = b
        .follow(
            b.get(&authorize_url(&s, &a, &challenge, &[("login_hint", EMAIL)]))
                .await,
        )
        .await;
    assert!(
        login.form().fields.iter().any(|(k, v)| k == "email" && v == EMAIL),
        "{}",
        login.body
    );
    let page = b
        .authorize(
            &authorize_url(&s, &a, &challenge, &[("response_mode", "fragment")]),
            EMAIL,
            PASSWORD,
        )
        .await;
    let location = page.location.clone().unwrap();
    assert!(location.starts_with(&format!("{REDIRECT}#code=")), "{location}");
    let code = page.redirect_params()["code"].clone();
    assert_eq!(exchange(&s, &a, &code, &verifier).await.0, 200);
    // form_post: a page whose only form posts code, state and iss to the redirect URI.
    let (verifier, challenge) = pkce();
    let page = b
        .get(&authorize_url(&s, &a, &challenge, &[("response_mode", "form_post")]))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let form = page.form();
    assert_eq!(form.action, REDIRECT);
    let field = |n: &str| {
        form.fields
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!((field("state"), field("iss")), ("xyz".to_owned(), s.base.clone()));
    assert_eq!(exchange(&s, &a, &field("code"), &verifier).await.0, 200);
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    // An unknown response_mode is an error sent back to the client.
    let p = error_of(
        &b.get(&authorize_url(&s, &a, &challenge, &[("response_mode", "web_message")]))
            .await,
    );
    assert_eq!(p["error"], "invalid_request");
});

api_test!(max_age_zero_and_prompt_login_are_satisfied_by_one_fresh_sign_in, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({})).await;
    let b = Browser::new(&s.base);
    tokens(&s, &a, &b).await;
    for extra in [("max_age", "0"), ("prompt", "login")] {
        let (verifier, challenge) = pkce();
        let url = authorize_url(&s, &a, &challenge, &[extra]);
        // Opening the authorization URL again without signing in never yields a code.
        let page = b.get(&url).await;
        assert!(page.location.as_deref().unwrap().starts_with("/login"), "{extra:?}");
        // Signing in once brings the code, without a loop back to the form.
        let code = code_for(&b, &url).await;
        assert_eq!(exchange(&s, &a, &code, &verifier).await.0, 200, "{extra:?}");
    }
    // A forged login marker does not skip the sign-in.
    let (_, challenge) = pkce();
    let url = authorize_url(&s, &a, &challenge, &[("prompt", "login"), ("gh_login", "1.AAAA")]);
    assert!(b.get(&url).await.location.as_deref().unwrap().starts_with("/login"));
});

api_test!(concurrent_redemptions_of_one_code_never_leave_working_tokens, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(&s, json!({})).await;
    let b = Browser::new(&s.base);
    for _ in 0..3 {
        let (verifier, challenge) = pkce();
        let code = code_for(&b, &authorize_url(&s, &a, &challenge, &[])).await;
        let results = futures::future::join_all((0..4).map(|_| exchange(&s, &a, &code, &verifier))).await;
        for (st, t) in &results {
            if *st == 200 {
                // Whoever got tokens holds revoked ones: a replay happened.
                assert_eq!(s.introspect(t["access_token"].as_str().unwrap()).await["active"], false);
            } else {
                assert_eq!(t["error"], "invalid_grant");
            }
        }
    }
});

api_test!(
    request_objects_and_openid_requests_without_redirect_uri_are_refused,
    |s| {
        s.user(EMAIL, PASSWORD).await;
        let a = app(&s, json!({})).await;
        let b = Browser::new(&s.base);
        let (_, challenge) = pkce();
        for (extra, refusal) in [
            (("request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported"),
            (("request_uri", "https://rp.example/r"), "request_uri_not_supported"),
        ] {
            let p = error_of(&b.get(&authorize_url(&s, &a, &challenge, &[extra])).await);
            assert_eq!(p["error"], refusal);
        }
        let url = authorize_url(&s, &a, &challenge, &[]).replace(&format!("redirect_uri={}&", urlencode(REDIRECT)), "");
        let page = b.get(&url).await;
        assert_eq!((page.status, page.location.is_none()), (400, true));
        // A token request must repeat a redirect_uri the authorization request named.
        let (verifier, challenge) = pkce();
        let code = code_for(&b, &authorize_url(&s, &a, &challenge, &[])).await;
        let (st, e) = token(
            &s,
            &a,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
            ],
        )
        .await;
        assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));
    }
);
