//! The client form: create a confidential client and see its secret once, edit it, and a
//! validation error next to its field; and the same creation with the keyboard alone.

use gatehouse_testkit::TestServer;
use gatehouse_testkit::webdriver::Key;
use gatehouse_testkit::webdriver::Locator;
use reqwest::Method;
use serde_json::Value;

use crate::console::{client, open, project};
use crate::{browser_test, copy_shown, inspect};

/// Whether `secret` gets a client-credentials token for `client_id`.
async fn secret_works(s: &TestServer, client_id: &str, secret: &str) -> bool {
    let res = s
        .http
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(client_id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    res.status() == 200
}

browser_test!(
    a_confidential_client_is_created_through_the_form_and_its_secret_shown_once,
    |s, b| {
        let (p, clients) = project(&s).await;
        open(&b, &clients).await;
        b.click("New Client").await;
        b.wait_for_path("the new client form", |p| p.ends_with("/clients/new"))
            .await;
        inspect(&b, "client-form").await;
        b.fill("Client ID", "billing-portal").await;
        b.fill("Client Name", "Billing Portal").await;
        b.fill("Client URI", "https://billing.example.com").await;
        b.check("Require Client Secret", true).await;
        b.check("client_credentials", true).await;
        b.fill("New entry for Redirect URIs", "https://billing.example.com/cb")
            .await;
        b.click_id("redirect_uris-add").await;
        b.wait_for_text("https://billing.example.com/cb").await;
        b.click("Save").await;
        b.wait_for_text("will not be shown again").await;
        inspect(&b, "client-secret").await;
        let (shown, copied) = copy_shown(&b).await;
        assert_eq!(copied, shown, "Copy put the secret on the clipboard");
        assert!(
            secret_works(&s, "billing-portal", &shown).await,
            "the secret shown is the client's"
        );
        // Reloading posts the form again: that must not show the secret (nor make a second client).
        b.client().refresh().await.unwrap();
        b.wait_for("h1").await;
        assert!(
            !b.html().await.contains(&shown),
            "the secret is shown again after reload"
        );
        b.client().back().await.unwrap();
        b.wait_for("h1").await;
        assert!(
            !b.html().await.contains(&shown),
            "the secret is shown again on going back"
        );
        let path = format!("/accounts/projects/{p}/oauth/clients/billing-portal");
        let (_, c) = s.call(Method::GET, &path, None).await;
        assert_eq!(c["client"]["redirect_uris"][0], "https://billing.example.com/cb", "{c}");
    }
);

browser_test!(
    editing_toggles_enabled_and_adds_a_redirect_uri_with_the_add_button,
    |s, b| {
        let (p, clients) = project(&s).await;
        let id = client(&s, &p, "Mobile App").await;
        open(&b, &clients).await;
        b.click("Edit Mobile App").await;
        b.wait_for_path("the client form", |p| p.ends_with(&id)).await;
        let readonly = b.field("Client ID").await.attr("readonly").await.unwrap();
        assert!(readonly.is_some(), "the client ID cannot be edited");
        inspect(&b, "client-edit").await;
        b.check("Enabled", false).await;
        b.fill("New entry for Redirect URIs", "https://mobile.example.com/second")
            .await;
        b.click_id("redirect_uris-add").await;
        b.click("Save").await;
        b.wait_for_text("Client Mobile App saved.").await;
        let (_, c) = s
            .call(Method::GET, &format!("/accounts/projects/{p}/oauth/clients/{id}"), None)
            .await;
        assert_eq!(c["client"]["enabled"], false, "{c}");
        let uris: Vec<&str> = c["client"]["redirect_uris"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            uris,
            ["https://app.example.com/cb", "https://mobile.example.com/second"]
        );
    }
);

browser_test!(
    a_validation_error_is_shown_next_to_its_field_and_keeps_what_was_typed,
    |s, b| {
        let (_, clients) = project(&s).await;
        open(&b, &format!("{clients}/new")).await;
        b.fill("Client Name", "Shop Front").await;
        b.fill("New entry for Redirect URIs", "https://shop.example.com/cb")
            .await;
        b.click_id("redirect_uris-add").await;
        b.fill("New entry for Allowed CORS Origins", "https://app.example.com/")
            .await;
        b.click_id("allowed_cors_origins-add").await;
        b.click("Save").await;
        let error = b.wait_for("#allowed_cors_origins-error").await;
        let message = error.text().await.unwrap();
        assert!(message.contains("https://app.example.com"), "{message}");
        let origins = b.client().find(Locator::Id("allowed_cors_origins")).await.unwrap();
        assert_eq!(
            origins.attr("aria-describedby").await.unwrap().as_deref(),
            Some("allowed_cors_origins-error")
        );
        assert_eq!(
            b.field("Client Name").await.prop("value").await.unwrap().as_deref(),
            Some("Shop Front")
        );
        inspect(&b, "client-form-error").await;
    }
);

browser_test!(a_client_is_created_with_the_keyboard_alone, |s, b| {
    let (p, clients) = project(&s).await;
    open(&b, &clients).await;
    b.tab_to("a \"New Client\"", 40).await;
    b.press(Key::Enter).await;
    b.wait_for_path("the new client form", |p| p.ends_with("/clients/new"))
        .await;
    b.tab_to("input \"Client ID\"", 40).await;
    b.type_keys("kiosk").await;
    b.press(Key::Tab).await;
    b.type_keys("Kiosk").await;
    // Client credentials only: untick the authorization code grant, tick client credentials.
    b.tab_to("input \"authorization_code\"", 10).await;
    b.press(Key::Space).await;
    b.tab_to("input \"client_credentials\"", 10).await;
    b.press(Key::Space).await;
    // …and, in the folded advanced settings, the `code` response type that grant needed.
    b.tab_to("summary \"Advanced settings\"", 20).await;
    b.press(Key::Enter).await;
    b.tab_to("input \"code\"", 10).await;
    b.press(Key::Space).await;
    b.tab_to("button \"Save\"", 60).await;
    b.press(Key::Enter).await;
    b.wait_for_text("will not be shown again").await;
    b.allow_clipboard().await;
    b.tab_to("button \"Copy\"", 40).await;
    b.press(Key::Enter).await;
    b.wait_for_text("Copied").await;
    let (_, c) = s
        .call(
            Method::GET,
            &format!("/accounts/projects/{p}/oauth/clients/kiosk"),
            None,
        )
        .await;
    assert_eq!(c["client"]["name"], "Kiosk", "{c}");
    assert_eq!(
        c["client"]["grant_types"],
        serde_json::json!(["client_credentials"]),
        "{c}"
    );
});

browser_test!(
    a_new_secret_is_shown_once_and_the_old_one_works_through_the_grace_period,
    |s, b| {
        let (p, clients) = project(&s).await;
        let settings = serde_json::json!({ "name": "Nightly Job", "grant_types": ["client_credentials"] });
        let (id, old) = s.client(&s.admin_key, &p, settings).await;
        let old = old.expect("a confidential client");
        open(&b, &format!("{clients}/{id}")).await;
        b.fill("Keep the current secret valid for (seconds)", "3600").await;
        b.click("Set New Secret").await;
        b.wait_for_text("will not be shown again").await;
        let (shown, copied) = copy_shown(&b).await;
        assert_eq!(copied, shown);
        assert_ne!(shown, old);
        assert!(secret_works(&s, &id, &shown).await, "the new secret works");
        assert!(
            secret_works(&s, &id, &old).await,
            "the old secret works during the grace period"
        );
        b.click("I have copied it").await;
        b.wait_for_path("the client's page", |p| p.ends_with(&id)).await;
        assert!(!b.html().await.contains(&shown), "the secret is on the client's page");
    }
);
