//! "Continue with …" in real Chromium: the sign-in page's provider link, the provider's own
//! sign-in and consent pages (a second Gatehouse behind the test kit's re-signing proxy), the way
//! back to the account page, and the account page's sign-in providers with Remove.

use std::path::Path;

use gatehouse_server::identity_providers::IdentityProviderSettings;
use gatehouse_testkit::idp::OidcIdp;
use gatehouse_testkit::webdriver::Key;
use gatehouse_testkit::{TestServer, WebBrowser, backends};

use crate::{EMAIL, PASSWORD, SCREENSHOTS, fits_a_phone, inspect};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_continues_with_an_upstream_provider_and_removes_the_link() {
    for backend in backends() {
        // A provider each time: it remembers consent.
        let idp = OidcIdp::start(&[(EMAIL, PASSWORD)]).await;
        let settings = IdentityProviderSettings {
            name: "corp".into(),
            display_name: Some("Corp ID".into()),
            kind: "oidc".into(),
            issuer: Some(idp.issuer.clone()),
            github_url: None,
            github_api_url: None,
            client_id: idp.client_id.clone(),
            client_secret: Some(idp.secret.clone().into()),
            client_secret_file: None,
            scopes: None,
            allow_signup: false,
        };
        let s = TestServer::spawn_fresh(backend, |c| {
            c.allow_insecure_upstreams = true;
            c.identity_providers = vec![settings];
        })
        .await;
        idp.redirect_to(&format!("{}/login/with/corp/callback", s.base)).await;
        s.user(EMAIL, "a local password of ada").await;
        let Some(b) = WebBrowser::start(&s.base, Path::new(SCREENSHOTS)).await else {
            return;
        };
        b.goto("/login?next=/account").await;
        b.button("Continue with Corp ID").await;
        inspect(&b, "login-with-providers").await;
        fits_a_phone(&b, "login-with-providers").await;
        // Reached with the keyboard, the link shows its focus and follows with Enter.
        b.tab_to("a \"Continue with Corp ID\"", 6).await;
        assert!(b.focus_visible().await, "the provider link shows its focus");
        b.press(Key::Enter).await;
        // The provider's own pages.
        b.wait_for_text("Sign in").await;
        b.fill("Email", EMAIL).await;
        b.fill("Password", PASSWORD).await;
        b.click("Sign in").await;
        b.click("Allow").await;
        b.wait_for_path("the account page", |p| p == "/account").await;
        b.wait_for_text("Sign-in providers").await;
        b.wait_for_text("Corp ID").await;
        inspect(&b, "account-sign-in-providers").await;
        fits_a_phone(&b, "account-sign-in-providers").await;
        b.click(&format!("Remove the Corp ID sign-in of {EMAIL}")).await;
        b.wait_for_text("No sign-in provider is linked").await;
        b.close().await;
        s.stop().await;
        idp.stop().await;
    }
}
