//! The pages every application's users see: sign-in, consent, device and account.

use gatehouse_testkit::TestServer;
use gatehouse_testkit::webdriver::Key;
use serde_json::{Value, json};

use crate::{EMAIL, PASSWORD, browser_test, fits_a_phone, inspect};

const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// A third-party (not official) client of the system project, so users are asked to consent.
async fn app(s: &TestServer, name: &str, grants: &[&str]) -> (String, String) {
    let settings = json!({
        "name": name,
        "redirect_uris": [REDIRECT],
        "grant_types": grants,
        "scope": "openid profile email offline_access",
    });
    let (id, secret) = s.client(&s.admin_key, &s.system_project, settings).await;
    (id, secret.expect("a confidential client"))
}

browser_test!(the_sign_in_page_and_its_error_are_accessible_and_fit_a_phone, |s, b| {
    b.goto("/login").await;
    inspect(&b, "login").await;
    fits_a_phone(&b, "login").await;
    b.fill("Email", EMAIL).await;
    b.fill("Password", "not the password at all").await;
    b.click("Sign in").await;
    b.wait_for_text("The email or password is not correct.").await;
    inspect(&b, "login-error").await;
    fits_a_phone(&b, "login-error").await;
});

browser_test!(
    a_person_signs_in_with_the_keyboard_alone_and_always_sees_the_focus,
    |s, b| {
        b.goto("/login?next=/account").await;
        assert_eq!(
            b.focused().await,
            "input \"Email\"",
            "the email field has the focus on arrival"
        );
        b.type_keys(EMAIL).await;
        b.press(Key::Tab).await;
        assert_eq!(b.focused().await, "input \"Password\"");
        assert!(b.focus_visible().await, "the password field shows its focus");
        b.type_keys(PASSWORD).await;
        b.press(Key::Tab).await;
        assert_eq!(b.focused().await, "button \"Sign in\"");
        assert!(b.focus_visible().await, "the Sign in button shows its focus");
        b.press(Key::Enter).await;
        b.wait_for_path("the account page", |p| p == "/account").await;
        b.wait_for_text(EMAIL).await;
    }
);

browser_test!(the_consent_page_is_accessible_and_allowing_returns_a_code, |s, b| {
    let (client_id, _) = app(&s, "Photo Album", &["authorization_code"]).await;
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
    b.sign_in(&format!("/oauth/authorize?{q}"), EMAIL, PASSWORD).await;
    b.wait_for_text("Photo Album asks to access your Gatehouse account.")
        .await;
    inspect(&b, "consent").await;
    fits_a_phone(&b, "consent").await;
    b.tab_to("button \"Allow\"", 10).await;
    assert!(b.focus_visible().await, "the Allow button shows its focus");
    b.press(Key::Enter).await;
    let back = b.wait_for_path("the application", |p| p.starts_with("/cb?")).await;
    assert!(back.contains("code=") && back.contains("state=s-1"), "{back}");
});

browser_test!(the_device_pages_are_accessible_and_connect_a_device, |s, b| {
    let (id, secret) = app(&s, "Living Room TV", &["urn:ietf:params:oauth:grant-type:device_code"]).await;
    let res = s
        .http
        .post(format!("{}/oauth/device_authorization", s.base))
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("scope=openid+profile")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let d: Value = res.json().await.unwrap();
    let code = d["user_code"].as_str().unwrap();
    b.sign_in(&format!("/device?user_code={code}"), EMAIL, PASSWORD).await;
    b.wait_for_text("Enter the code shown on your device.").await;
    inspect(&b, "device").await;
    fits_a_phone(&b, "device").await;
    b.click("Continue").await;
    b.wait_for_text("Living Room TV on a device asks to sign in as you")
        .await;
    inspect(&b, "device-allow").await;
    fits_a_phone(&b, "device-allow").await;
    b.click("Allow").await;
    b.wait_for_text("You may return to your device.").await;
});

browser_test!(the_account_page_is_accessible_and_fits_a_phone, |s, b| {
    b.sign_in("/account", EMAIL, PASSWORD).await;
    b.wait_for_text("Sessions").await;
    inspect(&b, "account").await;
    fits_a_phone(&b, "account").await;
});

browser_test!(the_accessibility_check_fails_on_an_unlabelled_field, |s, b| {
    // The checks above can fail: axe-core finds a field without a label on a page made to have one.
    b.goto("data:text/html,<!doctype html><html lang=en><title>t</title><main><input type=text></main>")
        .await;
    let found = b.axe().await;
    assert!(found.iter().any(|v| v.rule == "label"), "axe-core found: {found:?}");
});

browser_test!(each_session_s_sign_out_button_names_its_session, |s, b| {
    b.sign_in("/account", EMAIL, PASSWORD).await;
    b.wait_for_text("Sessions").await;
    let row = b.button("Sign out").await;
    let name = row.attr("aria-label").await.unwrap().unwrap_or_default();
    assert!(
        name.starts_with("Sign out the session of ") && name.contains("127.0.0.1"),
        "{name}"
    );
});
