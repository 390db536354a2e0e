//! The authorization server's flows and security rules, black-box against the real server on
//! both backends: RFC 6749, RFC 7636, RFC 9700 (Security BCP) and the OpenID Foundation's basic
//! OP checklist (SPEC §5.2).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_testkit::{Browser, Page};
use reqwest::Method;
use serde_json::{Value, json};

use crate::nodes::{two_nodes, within_a_second};
use crate::{TestServer, api_test};

pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "http://127.0.0.1/cb";

/// A PKCE pair (RFC 7636 §4.1–4.2).
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
        + &URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest))
}

/// Form bodies for reqwest (its `form` feature is not enabled).
pub trait FormBody {
    fn form_pairs(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_pairs(self, pairs: &[(&str, &str)]) -> Self {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().copied())
            .finish();
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

/// A confidential web client of the system project and a user to sign in with.
pub struct App {
    pub id: String,
    pub secret: String,
}

pub async fn app(s: &TestServer, extra: Value) -> App {
    let mut settings = json!({
        "name": "Web app",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scope": "openid profile email offline_access gatehouse_api",
    });
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let (id, secret) = s.client(&s.admin_key, &s.system_project, settings).await;
    App {
        id,
        secret: secret.unwrap_or_default(),
    }
}

/// An authorization URL for `app` with PKCE; `extra` pairs are appended.
pub fn authorize_url(s: &TestServer, app: &App, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.extend_pairs([
        ("response_type", "code"),
        ("client_id", app.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email offline_access"),
        ("state", "xyz"),
        ("nonce", "n-0S6"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    q.extend_pairs(extra.iter().copied());
    format!("{}/oauth/authorize?{}", s.base, q.finish())
}

/// `POST /oauth/token` as `app` (Basic auth); status and JSON.
pub async fn token(s: &TestServer, app: &App, form: &[(&str, &str)]) -> (u16, Value) {
    post_form(s, "/oauth/token", Some(app), form).await
}

pub async fn post_form(s: &TestServer, path: &str, app: Option<&App>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut r = s.http.post(format!("{}{path}", s.base)).form_pairs(form);
    if let Some(a) = app {
        r = r.basic_auth(&a.id, Some(&a.secret));
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Signs in through the forms and returns the code for `url` (a fresh PKCE pair is the caller's).
pub async fn code_for(b: &Browser, url: &str) -> String {
    let page = b.authorize(url, EMAIL, PASSWORD).await;
    let p = page.redirect_params();
    assert!(p.contains_key("code"), "no code: {p:?}");
    p["code"].clone()
}

/// A full code flow; returns the token response.
pub async fn tokens(s: &TestServer, app: &App, b: &Browser) -> Value {
    let (verifier, challenge) = pkce();
    let code = code_for(b, &authorize_url(s, app, &challenge, &[])).await;
    let (st, t) = exchange(s, app, &code, &verifier).await;
    assert_eq!(st, 200, "{t}");
    t
}

/// Exchanges a code with its PKCE verifier at the registered redirect URI.
pub async fn exchange(s: &TestServer, app: &App, code: &str, verifier: &str) -> (u16, Value) {
    token(
        s,
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Refreshes with `refresh_token` as `app`.
pub async fn refresh(s: &TestServer, app: &App, refresh_token: &str) -> (u16, Value) {
    token(
        s,
        app,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
    )
    .await
}

pub async fn introspect(s: &TestServer, token: &str) -> Value {
    let res = s
        .http
        .post(format!("{}/oauth/introspect", s.base))
        .bearer_auth(&s.admin_key)
        .form_pairs(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn error_of(page: &Page) -> BTreeMap<String, String> {
    assert_eq!(
        page.status, 303,
        "expected a redirect, got {}: {}",
        page.status, page.body
    );
    page.redirect_params()
}

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
            introspect(&s, first["access_token"].as_str().unwrap()).await["active"],
            true
        );
        let (st, again) = token(&s, &a, &form).await;
        assert_eq!((st, again["error"].as_str()), (400, Some("invalid_grant")), "{again}");
        assert_eq!(
            introspect(&s, first["access_token"].as_str().unwrap()).await["active"],
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
            introspect(&s, newer["access_token"].as_str().unwrap()).await["active"],
            true
        );
        let (st, e) = refresh(&s, &a, &rt).await;
        assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")));
        let (st, _) = refresh(&s, &a, newer["refresh_token"].as_str().unwrap()).await;
        assert_eq!(st, 400, "the family is revoked");
        assert_eq!(
            introspect(&s, newer["access_token"].as_str().unwrap()).await["active"],
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
    assert_eq!(introspect(&s, at).await["active"], false);
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
    assert_eq!(introspect(&s, at2).await["active"], true);
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
    assert_eq!(introspect(&s, at2).await["active"], false);
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
    assert_eq!(
        introspect(&s, t["access_token"].as_str().unwrap()).await["active"],
        true
    );
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
    assert_eq!(
        introspect(&s, t["access_token"].as_str().unwrap()).await["active"],
        false
    );
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
    assert_eq!(
        introspect(&s, t["access_token"].as_str().unwrap()).await["active"],
        false
    );
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
    assert_eq!(introspect(&n2, &at).await["active"], true);
    assert_eq!(
        post_form(&n1, "/oauth/revoke", Some(&a), &[("token", &at)]).await.0,
        200
    );
    within_a_second("the revoked token failing on node 2", async || {
        introspect(&n2, &at).await["active"] == false
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

api_test!(the_device_flow_answers_pending_slow_down_denied_and_spent, |s| {
    s.user(EMAIL, PASSWORD).await;
    let a = app(
        &s,
        json!({ "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"] }),
    )
    .await;
    let grant = "urn:ietf:params:oauth:grant-type:device_code";
    let (st, d) = post_form(
        &s,
        "/oauth/device_authorization",
        Some(&a),
        &[("scope", "openid offline_access")],
    )
    .await;
    assert_eq!(st, 200, "{d}");
    let code = d["user_code"].as_str().unwrap().to_owned();
    assert!(code.len() == 9 && code.as_bytes()[4] == b'-', "{code}");
    let dc = d["device_code"].as_str().unwrap().to_owned();
    let poll_form = [("grant_type", grant), ("device_code", dc.as_str())];
    let poll = || token(&s, &a, &poll_form);
    assert_eq!(poll().await.1["error"], "authorization_pending");
    let (_, e) = poll().await;
    assert_eq!(e["error"], "slow_down", "polling faster than the interval");
    // The user approves on the verification page, coming from the complete URI.
    let b = Browser::new(&s.base);
    let page = b
        .follow(b.get(d["verification_uri_complete"].as_str().unwrap()).await)
        .await;
    let page = b
        .follow(
            b.submit(&page.form(), &[("email", EMAIL), ("password", PASSWORD)], None)
                .await,
        )
        .await;
    assert!(page.body.contains(&code), "the code is prefilled");
    let wrong = b.submit(&page.form(), &[("user_code", "BCDF-GHJK")], None).await;
    assert_eq!(wrong.status, 400);
    let confirm = b.submit(&page.form(), &[], None).await;
    assert!(confirm.body.contains("Web app"), "{}", confirm.body);
    let done = b.submit(&confirm.form(), &[], Some(("decision", "allow"))).await;
    assert!(done.body.contains("return to your device"), "{}", done.body);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (st, t) = poll().await;
    assert_eq!(st, 200, "{t}");
    assert!(t["refresh_token"].is_string());
    let (_, again) = poll().await;
    assert_eq!(again["error"], "invalid_grant", "a device code is spent once");
    // Denied requests say so.
    let (_, d2) = post_form(&s, "/oauth/device_authorization", Some(&a), &[("scope", "openid")]).await;
    let page = b
        .get(&format!("/device?user_code={}", d2["user_code"].as_str().unwrap()))
        .await;
    let confirm = b.submit(&page.form(), &[], None).await;
    b.submit(&confirm.form(), &[], Some(("decision", "deny"))).await;
    let (_, e) = token(
        &s,
        &a,
        &[
            ("grant_type", grant),
            ("device_code", d2["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(e["error"], "access_denied");
    // Unknown device codes and other clients' codes are invalid_grant.
    let (_, e) = token(&s, &a, &[("grant_type", grant), ("device_code", "nope")]).await;
    assert_eq!(e["error"], "invalid_grant");
});

api_test!(malformed_token_requests_get_rfc_6749_errors, |s| {
    let a = app(&s, json!({})).await;
    let (st, e) = token(&s, &a, &[]).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_request")));
    let (st, e) = token(&s, &a, &[("grant_type", "password")]).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("unsupported_grant_type")));
    let (st, e) = token(
        &s,
        &a,
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(
        (st, e["error"].as_str()),
        (400, Some("invalid_request")),
        "parameters appear once"
    );
    let (st, e) = post_form(&s, "/oauth/token", None, &[("grant_type", "client_credentials")]).await;
    assert_eq!((st, e["error"].as_str()), (401, Some("invalid_client")));
    // Two authentication methods at once are refused.
    let res = s
        .http
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(&a.id, Some(&a.secret))
        .form_pairs(&[("grant_type", "client_credentials"), ("client_secret", &a.secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // JSON is not a token request.
    let res = s
        .http
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(&a.id, Some(&a.secret))
        .json(&json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // A wrong Basic secret gets a Basic challenge.
    let res = s
        .http
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(&a.id, Some("wrong"))
        .form_pairs(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    // An oversized body is refused before anything else.
    let big = "x".repeat(200 * 1024);
    let (st, _) = token(&s, &a, &[("grant_type", "client_credentials"), ("scope", &big)]).await;
    assert_eq!(st, 413);
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

api_test!(discovery_and_jwks_describe_what_the_server_does, |s| {
    let meta: Value = s
        .http
        .get(format!("{}/.well-known/openid-configuration", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let same: Value = s
        .http
        .get(format!("{}/.well-known/oauth-authorization-server", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta, same);
    assert_eq!(meta["issuer"], s.base.as_str());
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["request_uri_parameter_supported"], false);
    for key in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "device_authorization_endpoint",
        "end_session_endpoint",
    ] {
        let url = meta[key].as_str().unwrap();
        assert!(url.starts_with(&s.base), "{key}");
        let res = s.http.get(url).send().await.unwrap();
        assert_ne!(res.status(), 404, "{key} is served");
    }
    let res = s.http.get(format!("{}/oauth/jwks", s.base)).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("max-age=300"));
    let jwks: Value = res.json().await.unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    for alg in ["ES256", "RS256", "EdDSA"] {
        assert!(algs.contains(&alg), "{alg} published");
    }
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"].is_string() && k.get("d").is_none()),
        "public keys only"
    );
    let again = s
        .http
        .get(format!("{}/oauth/jwks", s.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
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
                assert_eq!(
                    introspect(&s, t["access_token"].as_str().unwrap()).await["active"],
                    false
                );
            } else {
                assert_eq!(t["error"], "invalid_grant");
            }
        }
    }
});

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

api_test!(
    request_objects_and_openid_requests_without_redirect_uri_are_refused,
    |s| {
        s.user(EMAIL, PASSWORD).await;
        let a = app(&s, json!({})).await;
        let b = Browser::new(&s.base);
        let (_, challenge) = pkce();
        let p = error_of(
            &b.get(&authorize_url(
                &s,
                &a,
                &challenge,
                &[("request", "eyJhbGciOiJub25lIn0.e30.")],
            ))
            .await,
        );
        assert_eq!(p["error"], "request_not_supported");
        let p = error_of(
            &b.get(&authorize_url(
                &s,
                &a,
                &challenge,
                &[("request_uri", "https://rp.example/r")],
            ))
            .await,
        );
        assert_eq!(p["error"], "request_uri_not_supported");
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

api_test!(device_answers_are_rate_limited_like_lookups, |s| {
    s.user(EMAIL, PASSWORD).await;
    let b = Browser::new(&s.base);
    let form = b.get("/login").await.form();
    b.submit(&form, &[("email", EMAIL), ("password", PASSWORD)], None).await;
    let page = b.get("/device").await;
    let csrf = page.form().fields.into_iter().find(|(k, _)| k == "csrf").unwrap().1;
    let mut limited = false;
    for i in 0..10 {
        let guess = format!("BCDFGHJ{}", ['K', 'L', 'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'V'][i]);
        let res = b
            .post(
                "/device/confirm",
                &[
                    ("csrf".into(), csrf.clone()),
                    ("user_code".into(), guess),
                    ("decision".into(), "allow".into()),
                ],
            )
            .await;
        assert_eq!(res.status, 400);
        limited |= res.body.contains("too many wrong codes");
    }
    assert!(limited, "guessing at the confirm step is throttled too");
});
