//! Passkeys in real Chromium with WebDriver's virtual authenticator (a platform authenticator
//! with resident keys that verifies its user): one is added on the account page, signs in alone
//! from an app's authorization request, then stands in for the code after the password, and is
//! removed. The ID tokens say what was used (RFC 8176 `amr`, and `acr`).

use std::path::Path;

use gatehouse_testkit::{TestServer, WebBrowser};
use serde_json::{Value, json};

use crate::{EMAIL, PASSWORD, SCREENSHOTS, fits_a_phone, inspect};

/// A server whose public URL is `http://localhost:PORT`: WebAuthn refuses IP addresses, and
/// browsers treat `localhost` as a secure origin.
async fn localhost_server(backend: gatehouse_testkit::Backend) -> (TestServer, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://localhost:{port}");
    let issuer = base.clone();
    let s = TestServer::spawn_fresh(backend, |c| {
        c.listen = format!("127.0.0.1:{port}");
        c.issuer = Some(issuer);
    })
    .await;
    (s, base)
}

/// The claims of the ID token in the fragment the browser was sent back with.
async fn id_token_claims(b: &WebBrowser) -> Value {
    let url = b.client().current_url().await.expect("the current URL");
    let fragment = url.fragment().unwrap_or_else(|| panic!("no fragment in {url}"));
    let token = url::form_urlencoded::parse(fragment.as_bytes())
        .find(|(k, _)| k == "id_token")
        .unwrap_or_else(|| panic!("no id_token in {url}"))
        .1
        .into_owned();
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(payload.as_bytes())
            .expect("base64url"),
    )
    .expect("JSON claims")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_signs_in_alone_and_as_the_second_factor() {
    for backend in gatehouse_testkit::backends() {
        let (s, base) = localhost_server(backend).await;
        s.user(EMAIL, PASSWORD).await;
        let Some(b) = WebBrowser::start(&base, Path::new(SCREENSHOTS)).await else {
            return;
        };
        let authenticator = b.add_virtual_authenticator().await;
        let redirect = format!("{base}/cb");
        let settings = json!({
            "name": "Photo Album",
            "redirect_uris": [redirect],
            "grant_types": ["authorization_code", "implicit"],
            "response_types": ["code", "id_token"],
            "scope": "openid email",
        });
        let (client_id, _) = s.client(&s.admin_key, &s.system_project, settings).await;
        let authorize = |extra: &[(&str, &str)]| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.extend_pairs([
                ("response_type", "id_token"),
                ("client_id", client_id.as_str()),
                ("redirect_uri", redirect.as_str()),
                ("scope", "openid email"),
                ("nonce", "n-1"),
            ]);
            q.extend_pairs(extra);
            format!("/oauth/authorize?{}", q.finish())
        };

        // Added on the account page, after signing in with the password.
        b.sign_in("/account", EMAIL, PASSWORD).await;
        b.wait_for_text("You have no passkey yet.").await;
        inspect(&b, "account-passkeys").await;
        b.fill("Name of the new passkey", "Work laptop").await;
        b.click("Add a passkey").await;
        b.wait_for_text("The passkey is added.").await;
        b.wait_for("#passkeys").await;
        assert!(b.text().await.contains("Work laptop"));
        inspect(&b, "account-passkey-added").await;
        fits_a_phone(&b, "account-passkey-added").await;
        let held = b.virtual_credentials(&authenticator).await;
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0]["isResidentCredential"], true, "a discoverable credential");

        // Alone, from an app's authorization request: no email, no password.
        b.goto("/logout").await;
        b.click("Sign out").await;
        b.wait_for_text("You are signed out").await;
        b.goto(&authorize(&[("state", "s-1")])).await;
        b.wait_for_text("Sign in with a passkey").await;
        inspect(&b, "login-with-passkey").await;
        fits_a_phone(&b, "login-with-passkey").await;
        b.click("Sign in with a passkey").await;
        b.wait_for_text("Photo Album asks to access your Gatehouse account.")
            .await;
        b.click("Allow").await;
        b.wait_for_path("back at the app", |p| p.starts_with("/cb")).await;
        let claims = id_token_claims(&b).await;
        assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]), "{claims}");
        assert_eq!(claims["acr"], "urn:gatehouse:acr:mfa", "{claims}");

        // After the password, the passkey instead of a code (`prompt=login`: a fresh sign-in).
        b.goto(&authorize(&[("state", "s-2"), ("prompt", "login")])).await;
        b.wait_for_path("the sign-in page", |p| p.starts_with("/login")).await;
        b.fill("Email", EMAIL).await;
        b.fill("Password", PASSWORD).await;
        b.click("Sign in").await;
        b.wait_for_text("Use one of your passkeys to finish signing in.").await;
        inspect(&b, "login-second-step-passkey").await;
        fits_a_phone(&b, "login-second-step-passkey").await;
        b.click("Use a passkey").await;
        b.wait_for_path("past the sign-in", |p| !p.starts_with("/login")).await;
        if !b.path().await.starts_with("/cb") {
            b.click("Allow").await;
        }
        b.wait_for_path("back at the app", |p| p.starts_with("/cb")).await;
        let claims = id_token_claims(&b).await;
        assert_eq!(claims["amr"], json!(["pwd", "hwk", "user", "mfa"]), "{claims}");
        assert_eq!(claims["acr"], "urn:gatehouse:acr:mfa", "{claims}");

        // Its last use is listed, and it is removed.
        b.goto("/account").await;
        b.wait_for("#passkeys").await;
        assert!(!b.text().await.contains("never"), "last used is recorded");
        b.click("Remove the passkey Work laptop").await;
        b.wait_for_text("The passkey is removed.").await;
        b.wait_for_text("You have no passkey yet.").await;
        b.close().await;
        s.stop().await;
    }
}
