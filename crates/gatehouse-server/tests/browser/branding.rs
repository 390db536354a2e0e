//! An app's sign-in and consent pages in Chromium (SPEC §5.4): its name, its project, its logo
//! (served by a local HTTP server on another port, so only the CSP's `img-src` naming that origin
//! lets it load) and its links, accessible and readable on a phone.

use axum::Router;
use axum::http::header;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_testkit::{TestServer, WebBrowser};
use serde_json::json;

use crate::{EMAIL, PASSWORD, browser_test, fits_a_phone, inspect};

const REDIRECT: &str = "http://127.0.0.1:9/cb";
/// A 48×48 PNG: an orange disc with a white mark.
const LOGO_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAADAAAAAwCAYAAABXAvmHAAAAs0lEQVR42u3aXQqAMAwD4J3Eg3l/vIY+ykBwP+nShRR8E8knDF27UlxvXedxt1xbhk6HmQ1Og6CDL4NEBw+FrA4PRbDCQxDs8FOILOGHENnCdyO2BmQN34zYGpA9/C+i90GoggBG3gQL8IkwgAkYXUxMQIUwwAADsADU/QYYYEDw15gJCP0XMmDVnoAF0N1Suivh3pA7cyLNXYn2usSAQ2LEJDHkkxizygy6ZY4ayBz2YNcDW1oTMp7RaoIAAAAASUVORK5CYII=";

/// Serves the logo at `http://127.0.0.1:PORT/logo.png` until the test ends; returns its URL.
async fn logo_server() -> String {
    let png = STANDARD.decode(LOGO_PNG).expect("the logo decodes");
    let app = Router::new().route(
        "/logo.png",
        get(move || {
            let png = png.clone();
            async move { ([(header::CONTENT_TYPE, "image/png")], png) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/logo.png")
}

/// The authorization request of a client "Acme Notes" of the project "Acme Corp" with a logo,
/// a privacy policy and terms.
async fn branded_request(s: &TestServer, logo: &str) -> String {
    let (p, key) = s.project("Acme Corp").await;
    let settings = json!({
        "name": "Acme Notes",
        "redirect_uris": [REDIRECT],
        "scope": "openid profile email",
        "logo_uri": logo,
        "policy_uri": "https://notes.example.com/privacy",
        "tos_uri": "https://notes.example.com/terms",
    });
    let (client_id, _) = s.client(&key, &p, settings).await;
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile email"),
            ("state", "s-1"),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    format!("/oauth/authorize?{q}")
}

/// Checks the page shows the app: name, project, the logo loaded at its size with the app's
/// name as its text, and both links opening apart from the sign-in.
async fn shows_the_app(b: &WebBrowser, page: &str) {
    b.wait_for_text("Acme Notes").await;
    let text = b.text().await;
    assert!(text.contains("by Acme Corp"), "{page}: the project: {text}");
    let logo = b
        .client()
        .execute_async(
            "const done = arguments[0]; const img = document.querySelector('.app-brand img');
             const report = () => done([img.alt, img.naturalWidth, img.getBoundingClientRect().width]);
             if (img.complete) { report(); } else { img.onload = report; img.onerror = report; }",
            vec![],
        )
        .await
        .expect("the logo");
    assert_eq!(
        logo,
        json!(["Acme Notes", 48, 48]),
        "{page}: the logo loads, named, at 48 px"
    );
    for (id, href) in [
        ("app-policy", "https://notes.example.com/privacy"),
        ("app-terms", "https://notes.example.com/terms"),
    ] {
        let link = b
            .client()
            .execute(
                "const a = document.getElementById(arguments[0]); return [a.href, a.rel, a.textContent];",
                vec![json!(id)],
            )
            .await
            .expect("the link");
        assert_eq!(link[0], href, "{page}: {id}");
        assert_eq!(link[1], "noopener noreferrer", "{page}: {id}");
        assert!(link[2].as_str().unwrap().starts_with("Acme Notes "), "{page}: {link}");
    }
}

browser_test!(
    an_apps_sign_in_and_consent_pages_show_its_name_logo_project_and_links,
    |s, b| {
        let logo = logo_server().await;
        let request = branded_request(&s, &logo).await;
        b.goto(&request).await;
        b.wait_for_path("the sign-in page", |p| p.starts_with("/login")).await;
        b.wait_for_text("Sign in to Acme Notes").await;
        shows_the_app(&b, "sign-in").await;
        inspect(&b, "branded-login").await;
        fits_a_phone(&b, "branded-login").await;
        b.fill("Email", EMAIL).await;
        b.fill("Password", "not the password at all").await;
        b.click("Sign in").await;
        b.wait_for_text("The email or password is not correct.").await;
        shows_the_app(&b, "sign-in error").await;
        b.fill("Email", EMAIL).await;
        b.fill("Password", PASSWORD).await;
        b.click("Sign in").await;
        b.wait_for_text("Allow access?").await;
        shows_the_app(&b, "consent").await;
        inspect(&b, "branded-consent").await;
        fits_a_phone(&b, "branded-consent").await;
        b.click("Allow").await;
        let back = b.wait_for_path("the application", |p| p.starts_with("/cb?")).await;
        assert!(back.contains("code=") && back.contains("state=s-1"), "{back}");
    }
);
