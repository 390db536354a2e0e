//! Implicit and hybrid response types (OIDC Core §3.2–§3.3, OAuth 2.0 Multiple Response Type
//! Encoding Practices, OAuth 2.0 Form Post Response Mode), checked by hand against the specs: what
//! each response carries, the response modes, and every refusal, each sent back in the mode the
//! response type uses.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_testkit::{Browser, Page};
use serde_json::{Value, json};

use super::{App, EMAIL, PASSWORD, REDIRECT, app, claims, error_of, exchange, pkce};
use crate::{TestServer, api_test};

/// The response types served besides `code`.
const FRONT_CHANNEL: [&str; 6] = [
    "code id_token",
    "code token",
    "code id_token token",
    "id_token",
    "id_token token",
    "token",
];

/// A client that registered every response type (with the implicit grant it needs).
async fn implicit_app(s: &TestServer, response_types: &[&str]) -> App {
    app(
        s,
        json!({
            "grant_types": ["authorization_code", "implicit", "refresh_token"],
            "response_types": response_types,
        }),
    )
    .await
}

/// The pairs of an authorization request for `response_type`, with state, nonce and (when a
/// code is asked for) a PKCE challenge; `extra` pairs replace or add to them.
fn pairs<'a>(
    app: &'a App,
    response_type: &'a str,
    challenge: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("response_type", response_type),
        ("client_id", app.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email offline_access"),
        ("state", "xyz"),
        ("nonce", "n-0S6"),
    ];
    if response_type.split(' ').any(|t| t == "code") {
        p.extend([("code_challenge", challenge), ("code_challenge_method", "S256")]);
    }
    for (k, v) in extra {
        p.retain(|(name, _)| name != k);
        if !v.is_empty() {
            p.push((k, v));
        }
    }
    p
}

fn url(s: &TestServer, pairs: &[(&str, &str)]) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().copied())
        .finish();
    format!("{}/oauth/authorize?{q}", s.base)
}

/// OIDC Core §3.2.2.10, §3.3.2.11: the base64url left half of the SHA-256 of the ASCII value
/// (ES256 ID tokens).
fn left_hash(value: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

/// The parameters of a redirect in the fragment (asserts the mode).
fn fragment_of(page: &Page) -> BTreeMap<String, String> {
    let location = page
        .location
        .as_deref()
        .unwrap_or_else(|| panic!("no redirect: {}", page.body));
    assert!(
        location.starts_with(&format!("{REDIRECT}#")),
        "not in the fragment: {location}"
    );
    page.redirect_params()
}

/// The fields of the only form on a `form_post` page, which must post to the redirect URI.
fn posted(page: &Page) -> BTreeMap<String, String> {
    assert_eq!(page.status, 200, "{}", page.body);
    let form = page.form();
    assert_eq!((form.action.as_str(), form.method.as_str()), (REDIRECT, "post"));
    form.fields.into_iter().collect()
}

async fn userinfo(s: &TestServer, access_token: &str) -> (u16, Value) {
    let res = s
        .http
        .get(format!("{}/oauth/userinfo", s.base))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

api_test!(
    every_response_type_answers_in_the_fragment_with_what_oidc_core_requires,
    |s| {
        s.user(EMAIL, PASSWORD).await;
        let mut all = FRONT_CHANNEL.to_vec();
        all.push("code");
        let a = implicit_app(&s, &all).await;
        let b = Browser::new(&s.base);
        for rt in FRONT_CHANNEL {
            let has = |part: &str| rt.split(' ').any(|t| t == part);
            let (verifier, challenge) = pkce();
            let page = b
                .authorize(&url(&s, &pairs(&a, rt, &challenge, &[])), EMAIL, PASSWORD)
                .await;
            let p = fragment_of(&page);
            assert_eq!(p.get("error"), None, "{rt}: {p:?}");
            assert_eq!(
                (p["state"].as_str(), p["iss"].as_str()),
                ("xyz", s.base.as_str()),
                "{rt}"
            );
            assert!(
                !p.contains_key("refresh_token"),
                "{rt}: a refresh token from the front channel"
            );
            assert_eq!(p.contains_key("code"), has("code"), "{rt}: {p:?}");
            assert_eq!(p.contains_key("access_token"), has("token"), "{rt}: {p:?}");
            assert_eq!(p.contains_key("id_token"), has("id_token"), "{rt}: {p:?}");
            if let Some(at) = p.get("access_token") {
                assert_eq!(p["token_type"], "Bearer", "{rt}");
                assert_eq!(p["expires_in"], "3600", "{rt}");
                // Nothing from the front channel can be refreshed.
                assert_eq!(p["scope"], "openid email", "{rt}");
                assert_eq!(s.introspect(at).await["active"], true, "{rt}");
                let (st, info) = userinfo(&s, at).await;
                assert_eq!((st, info["email"].as_str()), (200, Some(EMAIL)), "{rt}");
            }
            let front_sub = p.get("id_token").map(|t| {
                let c = claims(t);
                assert_eq!(c["iss"], s.base, "{rt}");
                assert_eq!(
                    (c["aud"].as_str(), c["azp"].as_str()),
                    (Some(a.id.as_str()), Some(a.id.as_str()))
                );
                assert_eq!(c["nonce"], "n-0S6", "{rt}");
                assert_eq!(c["email"], EMAIL, "{rt}");
                assert!(c["exp"].as_i64() > c["iat"].as_i64() && c["auth_time"].is_i64() && c["sid"].is_string());
                let hash = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
                assert_eq!(
                    hash("at_hash"),
                    p.get("access_token").map(|v| left_hash(v)),
                    "{rt}: at_hash"
                );
                assert_eq!(hash("c_hash"), p.get("code").map(|v| left_hash(v)), "{rt}: c_hash");
                c["sub"].clone()
            });
            let Some(code) = p.get("code") else { continue };
            // The hybrid flow's code redeems as usual; its ID token names the same person and
            // carries the nonce, and offline_access is honoured on the back channel.
            let (st, t) = exchange(&s, &a, code, &verifier).await;
            assert_eq!(st, 200, "{rt}: {t}");
            let c = claims(t["id_token"].as_str().unwrap());
            assert_eq!(c["nonce"], "n-0S6", "{rt}");
            assert_eq!(
                c["at_hash"].as_str(),
                Some(left_hash(t["access_token"].as_str().unwrap()).as_str())
            );
            if let Some(sub) = front_sub {
                assert_eq!(c["sub"], sub, "{rt}");
            }
            assert!(t["refresh_token"].is_string(), "{rt}: {t}");
        }
        // The parts of a response type may come in any order.
        let page = b
            .authorize(&url(&s, &pairs(&a, "token id_token", "", &[])), EMAIL, PASSWORD)
            .await;
        let p = fragment_of(&page);
        assert!(p.contains_key("access_token") && p.contains_key("id_token"), "{p:?}");
        // Signing out revokes the session's front-channel tokens like any other.
        let at = p["access_token"].clone();
        assert_eq!(s.introspect(&at).await["active"], true);
        let page = b.get(&format!("/oauth/logout?id_token_hint={}", p["id_token"])).await;
        assert_eq!(page.status, 200, "a signed-in browser confirms: {}", page.body);
        b.submit(&page.form(), &[], None).await;
        assert_eq!(s.introspect(&at).await["active"], false);
    }
);

api_test!(form_post_carries_codes_and_tokens_in_a_page_that_posts_them, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = implicit_app(&s, &["code", "code id_token token", "id_token"]).await;
    let b = Browser::new(&s.base);
    let (verifier, challenge) = pkce();
    let request = pairs(&a, "code id_token token", &challenge, &[("response_mode", "form_post")]);
    let page = b.authorize(&url(&s, &request), EMAIL, PASSWORD).await;
    assert_eq!(page.location, None);
    let f = posted(&page);
    let keys: Vec<&str> = f.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "code",
            "expires_in",
            "id_token",
            "iss",
            "scope",
            "state",
            "token_type"
        ]
    );
    assert_eq!((f["state"].as_str(), f["iss"].as_str()), ("xyz", s.base.as_str()));
    let c = claims(&f["id_token"]);
    assert_eq!(c["c_hash"].as_str(), Some(left_hash(&f["code"]).as_str()));
    assert_eq!(c["at_hash"].as_str(), Some(left_hash(&f["access_token"]).as_str()));
    // The page works with its CSP (the script is the server's own file), without JavaScript (a
    // button), and is never cached.
    let header = |n: &str| page.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
    assert!(header("content-security-policy").unwrap().contains("script-src 'self'"));
    assert_eq!(header("cache-control").as_deref(), Some("no-store"));
    assert!(
        page.body.contains("<script src=\"/assets/form_post.js\"></script>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<button type=\"submit\">Continue</button>"),
        "{}",
        page.body
    );
    let script = b.get("/assets/form_post.js").await;
    assert_eq!(
        (script.status, script.body.as_str()),
        (200, "document.forms[0].submit();\n")
    );
    assert_eq!(exchange(&s, &a, &f["code"], &verifier).await.0, 200);
    // Explicit fragment mode works too, and query mode is never used for tokens.
    let page = b
        .get(&url(&s, &pairs(&a, "id_token", "", &[("response_mode", "fragment")])))
        .await;
    assert!(fragment_of(&page).contains_key("id_token"));
});

api_test!(refusals_travel_back_in_the_response_mode_of_the_type, |s| {
    s.user(EMAIL, PASSWORD).await;
    let code_only = app(&s, json!({})).await;
    let id_token_only = implicit_app(&s, &["id_token"]).await;
    let full = implicit_app(&s, &FRONT_CHANNEL).await;
    let b = Browser::new(&s.base);
    let (_, challenge) = pkce();
    let refused = |page: Page, mode: char, error: &str, about: &str| {
        let p = error_of(&page);
        let location = page.location.unwrap();
        assert!(
            location.starts_with(&format!("{REDIRECT}{mode}")),
            "{about}: {location}"
        );
        assert_eq!(p["error"], error, "{about}: {p:?}");
        assert_eq!(
            (p["state"].as_str(), p["iss"].as_str()),
            ("xyz", s.base.as_str()),
            "{about}"
        );
        p["error_description"].clone()
    };
    // RFC 6749 §4.1.2.1, §4.2.2.1: a type the client did not register.
    for (client, rt, mode) in [
        (&code_only, "id_token token", '#'),
        (&code_only, "code id_token", '#'),
        (&id_token_only, "token", '#'),
        (&id_token_only, "code", '?'),
    ] {
        let page = b.get(&url(&s, &pairs(client, rt, &challenge, &[]))).await;
        let why = refused(page, mode, "unsupported_response_type", rt);
        assert!(why.contains(rt), "{why}");
    }
    // form_post, when asked for, carries the refusal too.
    let request = pairs(&code_only, "token", "", &[("response_mode", "form_post")]);
    let f = posted(&b.get(&url(&s, &request)).await);
    assert_eq!(f["error"], "unsupported_response_type");
    // An unknown part is no response type at all: refused in the default (query) mode.
    let page = b.get(&url(&s, &pairs(&full, "code foo", &challenge, &[]))).await;
    refused(page, '?', "unsupported_response_type", "code foo");
    // OIDC Core §3.2.2.1, §3.3.2.11: a nonce whenever an ID token comes back, and in hybrid flows.
    for rt in [
        "id_token",
        "id_token token",
        "code id_token",
        "code token",
        "code id_token token",
    ] {
        let page = b.get(&url(&s, &pairs(&full, rt, &challenge, &[("nonce", "")]))).await;
        let why = refused(page, '#', "invalid_request", rt);
        assert!(why.contains("nonce"), "{why}");
    }
    // Tokens never travel in the query; an unknown mode is refused; both in the fragment.
    for (rt, mode) in [
        ("id_token", "query"),
        ("token", "query"),
        ("code id_token", "web_message"),
    ] {
        let page = b
            .get(&url(&s, &pairs(&full, rt, &challenge, &[("response_mode", mode)])))
            .await;
        let why = refused(page, '#', "invalid_request", rt);
        assert!(why.contains("response_mode"), "{why}");
    }
    // An ID token is only for an OpenID request.
    let page = b
        .get(&url(&s, &pairs(&full, "id_token", "", &[("scope", "email")])))
        .await;
    refused(page, '#', "invalid_scope", "id_token without openid");
    // A hybrid flow's code keeps the code flow's PKCE rules.
    let page = b
        .get(&url(
            &s,
            &pairs(&full, "code id_token", &challenge, &[("code_challenge", "")]),
        ))
        .await;
    refused(page, '#', "invalid_request", "hybrid without PKCE");
    // prompt=none without a session: login_required, in the fragment.
    let page = b
        .get(&url(&s, &pairs(&full, "id_token token", "", &[("prompt", "none")])))
        .await;
    refused(page, '#', "login_required", "prompt=none");
    // Denying consent answers in the fragment as well.
    let signed_in = b
        .authorize(&url(&s, &pairs(&full, "id_token", "", &[])), EMAIL, PASSWORD)
        .await;
    assert!(fragment_of(&signed_in).contains_key("id_token"));
    let consent = b
        .get(&url(&s, &pairs(&full, "id_token", "", &[("prompt", "consent")])))
        .await;
    let denied = b.submit(&consent.form(), &[], Some(("decision", "deny"))).await;
    refused(denied, '#', "access_denied", "deny");
});
