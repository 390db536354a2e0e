//! What an app's pages show of it (SPEC §5.4): `logo_uri`, `policy_uri` and `tos_uri` are
//! refused like `client_uri` when they are not web URLs; the sign-in, sign-up, reset, consent and
//! device pages of its requests show its name, logo, project and links, escaped, with the logo's
//! origin (and nothing wider) added to the CSP's `img-src`; and every page uses the one stylesheet.

use gatehouse_testkit::{Browser, Page};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, api_test, backends};

const REDIRECT: &str = "http://127.0.0.1/cb";
const LOGO: &str = "https://cdn.example.com/acme/logo.png";
const POLICY: &str = "https://notes.example.com/privacy";
const TOS: &str = "https://notes.example.com/terms";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn branded_client(name: &str) -> Value {
    json!({
        "name": name,
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", DEVICE_GRANT],
        "scope": "openid profile email",
        "logo_uri": LOGO,
        "policy_uri": POLICY,
        "tos_uri": TOS,
    })
}

fn refused(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 400, "{field}: {body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("{field}:")), "{field}: {message}");
}

api_test!(logo_policy_and_terms_uris_are_refused_unless_web_urls, |s| {
    let (p, key) = s.project("Acme").await;
    let base = format!("/accounts/projects/{p}/oauth/clients");
    let long = format!("https://notes.example.com/{}", "a".repeat(2000));
    let bad = [
        "ftp://notes.example.com/x",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "http://notes.example.com/x",
        "/relative/logo.png",
        "notes.example.com/logo.png",
        "https://user:pw@notes.example.com/x",
        long.as_str(),
    ];
    for field in ["logo_uri", "policy_uri", "tos_uri"] {
        for value in bad {
            let mut body = branded_client("Notes");
            body[field] = json!(value);
            let (st, e) = s.call_as(&key, Method::POST, &base, Some(body)).await;
            refused(st, &e, field);
        }
    }
    let mut body = branded_client("Notes");
    body["logo_uri"] = json!("https://[2001:db8::1]/logo.png");
    let (st, e) = s.call_as(&key, Method::POST, &base, Some(body)).await;
    refused(st, &e, "logo_uri");
    let (_, list) = s.call_as(&key, Method::GET, &base, None).await;
    assert_eq!(list["total"], 0, "nothing refused was stored: {list}");

    let (st, created) = s
        .call_as(&key, Method::POST, &base, Some(branded_client("Notes")))
        .await;
    assert_eq!(st, 201, "{created}");
    let c = &created["client"];
    assert_eq!(
        (&c["logo_uri"], &c["policy_uri"], &c["tos_uri"]),
        (&json!(LOGO), &json!(POLICY), &json!(TOS))
    );
    let one = format!("{base}/{}", c["client_id"].as_str().unwrap());
    // A refused update changes nothing.
    let (st, e) = s
        .call_as(
            &key,
            Method::PUT,
            &one,
            Some(json!({ "name": "Renamed", "logo_uri": "javascript:alert(1)" })),
        )
        .await;
    refused(st, &e, "logo_uri");
    let (_, got) = s.call_as(&key, Method::GET, &one, None).await;
    assert_eq!(
        (&got["client"]["name"], &got["client"]["logo_uri"]),
        (&json!("Notes"), &json!(LOGO))
    );
    // Another project's key finds nothing to change.
    let (_, other) = s.project("Other").await;
    let (st, _) = s
        .call_as(&other, Method::PUT, &one, Some(json!({ "logo_uri": null })))
        .await;
    assert_eq!(st, 404);
    // `null` clears one field and keeps the others.
    let (st, upd) = s
        .call_as(&key, Method::PUT, &one, Some(json!({ "tos_uri": null })))
        .await;
    assert_eq!(st, 200, "{upd}");
    assert_eq!(
        (&upd["client"]["tos_uri"], &upd["client"]["logo_uri"]),
        (&Value::Null, &json!(LOGO))
    );
    let (st, e) = s
        .call_as(&key, Method::PUT, &one, Some(json!({ "policy_uri": 5 })))
        .await;
    assert_eq!(st, 400, "{e}");
});

/// The `img-src` directive of the page's CSP.
fn img_src(page: &Page) -> String {
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    let directives: Vec<&str> = csp
        .split(';')
        .map(str::trim)
        .filter(|d| d.starts_with("img-src"))
        .collect();
    assert_eq!(directives.len(), 1, "{csp}");
    directives[0].to_owned()
}

/// The page's text with askama's escapes of `<` and `>` written as the pages' own.
fn escaped_alike(page: &Page) -> String {
    page.body.replace("&#60;", "&lt;").replace("&#62;", "&gt;")
}

/// Asserts `page` shows the app "Acme <Notes>" of the project "Acme Corp", escaped, with its
/// logo and links, and allows images from the logo's origin only.
fn shows_the_app(page: &Page, what: &str) {
    assert!(!page.body.contains("<Notes>"), "{what}: never unescaped");
    let body = &escaped_alike(page);
    assert!(body.contains("Acme &lt;Notes&gt;"), "{what}: the name, escaped: {body}");
    assert!(body.contains("by Acme Corp"), "{what}: the project: {body}");
    assert!(
        body.contains(&format!(
            r#"<img src="{LOGO}" alt="Acme &lt;Notes&gt;" width="48" height="48">"#
        )),
        "{what}: the logo: {body}"
    );
    for (href, id) in [(POLICY, "app-policy"), (TOS, "app-terms")] {
        assert!(
            body.contains(&format!(
                r#"<a href="{href}" target="_blank" rel="noopener noreferrer" id="{id}">"#
            )),
            "{what}: {id}: {body}"
        );
    }
    assert_eq!(img_src(page), "img-src 'self' https://cdn.example.com", "{what}");
}

/// A branded client of a project named "Acme Corp" and the authorization URL of a request from it.
async fn branded_request(s: &TestServer) -> (String, String, String) {
    let (p, key) = s.project("Acme Corp").await;
    let (id, secret) = s.client(&key, &p, branded_client("Acme <Notes>")).await;
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid email"),
            ("state", "s"),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    (
        id,
        secret.expect("a confidential client"),
        format!("/oauth/authorize?{q}"),
    )
}

api_test!(
    an_apps_sign_in_consent_and_device_pages_show_its_name_logo_project_and_links,
    |s| {
        s.user("ada@example.com", "correct horse battery staple").await;
        let (id, secret, request) = branded_request(&s).await;
        let b = Browser::new(&s.base);
        let login = b.follow(b.get(&request).await).await;
        assert!(
            escaped_alike(&login).contains("<h1>Sign in to Acme &lt;Notes&gt;</h1>"),
            "{}",
            login.body
        );
        shows_the_app(&login, "sign-in");
        let wrong = b
            .submit(
                &login.form(),
                &[("email", "ada@example.com"), ("password", "wrong password!")],
                None,
            )
            .await;
        assert_eq!(wrong.status, 401);
        shows_the_app(&wrong, "sign-in again");
        let reset_link = login
            .body
            .find("/reset?next=")
            .expect("the reset link keeps the request");
        let reset_href = &login.body[reset_link..login.body[reset_link..].find('"').unwrap() + reset_link];
        let reset = b.get(&reset_href.replace("&amp;", "&")).await;
        assert_eq!(reset.status, 200);
        shows_the_app(&reset, "reset");
        let consent = b
            .follow(
                b.submit(
                    &login.form(),
                    &[
                        ("email", "ada@example.com"),
                        ("password", "correct horse battery staple"),
                    ],
                    None,
                )
                .await,
            )
            .await;
        assert!(consent.body.contains("Allow access?"), "{}", consent.body);
        shows_the_app(&consent, "consent");

        let res = s
            .http
            .post(format!("{}/oauth/device_authorization", s.base))
            .basic_auth(&id, Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("scope=openid")
            .send()
            .await
            .unwrap();
        let d: Value = res.json().await.unwrap();
        let device = b.get(d["verification_uri_complete"].as_str().unwrap()).await;
        assert_eq!(img_src(&device), "img-src 'self'", "the code form names no app yet");
        let allow = b.submit(&device.form(), &[], None).await;
        assert!(allow.body.contains("Allow this device?"), "{}", allow.body);
        shows_the_app(&allow, "device");
    }
);

api_test!(pages_without_a_logo_allow_images_from_the_server_alone, |s| {
    let b = Browser::new(&s.base);
    assert_eq!(img_src(&b.get("/login").await), "img-src 'self'");
    let (p, key) = s.project("Plain Corp").await;
    let mut settings = branded_client("Plain");
    settings["logo_uri"] = Value::Null;
    let (id, _) = s.client(&key, &p, settings).await;
    let next = format!("/oauth/authorize?client_id={id}&response_type=code");
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", &next)
        .finish();
    let login = b.get(&format!("/login?{q}")).await;
    assert!(login.body.contains("<h1>Sign in to Plain</h1>"), "{}", login.body);
    assert!(
        login.body.contains("by Plain Corp") && !login.body.contains("<img"),
        "{}",
        login.body
    );
    assert_eq!(img_src(&login), "img-src 'self'");
    // A disabled app brands nothing.
    let (st, _) = s
        .call_as(
            &key,
            Method::PUT,
            &format!("/accounts/projects/{p}/oauth/clients/{id}"),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(st, 200);
    let login = b.get(&format!("/login?{q}")).await;
    assert!(
        login.body.contains("<h1>Sign in</h1>") && !login.body.contains("Plain"),
        "{}",
        login.body
    );
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_up_page_of_an_apps_request_shows_the_app() {
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, |c| c.signup = "open".into()).await;
        let (_, _, request) = branded_request(&s).await;
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &request)
            .finish();
        let b = Browser::new(&s.base);
        let page = b.get(&format!("/signup?{q}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            escaped_alike(&page).contains("<h1>Create your account for Acme &lt;Notes&gt;</h1>"),
            "{}",
            page.body
        );
        shows_the_app(&page, "sign-up");
        let refused = b.submit(&page.form(), &[("email", "not an address")], None).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        shows_the_app(&refused, "sign-up again");
        s.stop().await;
    }
}

/// The stylesheets a page links.
fn stylesheets(page: &Page) -> Vec<String> {
    page.body
        .match_indices("<link rel=\"stylesheet\" href=\"")
        .map(|(i, m)| {
            let rest = &page.body[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

api_test!(every_page_links_the_one_stylesheet, |s| {
    s.user("ada@example.com", "correct horse battery staple").await;
    let (_, _, request) = branded_request(&s).await;
    let b = Browser::new(&s.base);
    let mut pages = Vec::new();
    for path in [
        "/login",
        "/signup",
        "/reset",
        "/reset/confirm?token=nothing",
        "/signup/verify?token=nothing",
        "/logout",
        "/oauth/authorize",
        "/device",
        "/console",
    ] {
        pages.push((path, b.follow(b.get(path).await).await));
    }
    let login = b.follow(b.get(&request).await).await;
    let consent = b
        .follow(
            b.submit(
                &login.form(),
                &[
                    ("email", "ada@example.com"),
                    ("password", "correct horse battery staple"),
                ],
                None,
            )
            .await,
        )
        .await;
    pages.push(("consent", consent));
    pages.push(("/account", b.get("/account").await));
    pages.push(("/device signed in", b.get("/device").await));
    for (path, page) in &pages {
        assert!(page.body.contains("<html"), "{path}: {} {}", page.status, page.body);
        assert_eq!(stylesheets(page), ["/assets/console.css"], "{path}");
        assert!(
            page.body.contains(r##"<a class="skip" href="#main">"##),
            "{path}: the shell's skip link"
        );
        assert!(
            page.body.contains(r#"<main id="main""#),
            "{path}: the shell's main landmark"
        );
    }
    let css = s
        .http
        .get(format!("{}/assets/console.css", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let old = s
        .http
        .get(format!("{}/assets/gatehouse.css", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 404, "there is one stylesheet");
});
