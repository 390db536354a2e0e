//! Creating and editing clients through the form: the secret shown once, validation next to
//! its field with the typed values kept, Set New Secret, history and warnings.

use reqwest::Method;
use serde_json::json;

use super::{assert_console_page, clients, csrf, developer, form_to, text_of};
use crate::api_test;

/// A `client_credentials` token for `id:secret`: its status.
async fn token_status(s: &crate::TestServer, id: &str, secret: &str) -> u16 {
    s.http
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

api_test!(
    a_confidential_client_created_through_the_form_shows_its_secret_once,
    |s| {
        let (p, key, browser, list) = developer(&s, "dev@example.com").await;
        assert!(list.body.contains("id=\"new-client\""));
        let new = browser.get(&format!("/console/projects/{p}/clients/new")).await;
        assert_console_page(&new);
        for label in [
            "Client ID",
            "Client Name",
            "Client URI",
            "Require Client Secret",
            "Enabled",
            "Offline Access (Refresh Tokens)",
            "Allowed Grant Types",
            "Redirect URIs",
            "Post Logout Redirect URIs",
            "Allowed CORS Origins",
            "Allowed Scopes",
            "Basic Information",
            "Options",
        ] {
            assert!(
                new.body.contains(&format!(">{label}<")),
                "the form lacks the label {label}"
            );
        }
        // Implicit is off by default, and the form says why it should stay so (RFC 9700 §2.1.2).
        assert!(
            new.body
                .contains("<p class=\"hint\" id=\"grant_types-hint\">Leave <span class=\"mono\">implicit</span> off")
                && new.body.contains("which RFC 9700 discourages")
                && new.body.contains("aria-describedby=\"grant_types-hint\"")
                && new.body.contains("aria-describedby=\"response_types-hint\""),
            "no warning next to the implicit grant"
        );
        assert!(!new.body.contains("value=\"implicit\" checked"));
        let mut form = form_to(&new, &format!("/console/projects/{p}/clients"));
        let id = form.fields.iter().find(|(k, _)| k == "client_id").unwrap().1.clone();
        assert!(id.len() >= 22, "a generated Client ID is offered: {id}");
        form.fields.push(("grant_types".into(), "client_credentials".into()));
        let created = browser
            .submit(
                &form,
                &[("name", "Billing app"), ("redirect_uris", "https://billing.example/cb")],
                None,
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_console_page(&created);
        let secret = text_of(&created, "client-secret");
        assert_eq!(secret.len(), 43);
        assert!(created.body.contains("will not be shown again") && created.body.contains(">Copy<"));
        assert_eq!(token_status(&s, &id, &secret).await, 200, "the secret shown works");
        // A reload re-sends the POST: refused, and no secret again.
        let again = browser
            .submit(
                &form,
                &[("name", "Billing app"), ("redirect_uris", "https://billing.example/cb")],
                None,
            )
            .await;
        assert_eq!(again.status, 400);
        assert!(again.body.contains("is taken") && !again.body.contains(&secret));
        for path in [
            format!("/console/projects/{p}/clients"),
            format!("/console/projects/{p}/clients/{id}"),
        ] {
            let page = browser.get(&path).await;
            assert_eq!(page.status, 200);
            assert!(!page.body.contains(&secret), "{path} shows the secret again");
            assert!(page.body.contains("Billing app"));
        }
        assert_eq!(clients(&s, &key, &p).await.len(), 1, "one client, created once");
        // The audit names the person.
        let (_, audit) = s
            .call_as(&key, Method::GET, &format!("/accounts/projects/{p}/audit"), None)
            .await;
        let entry = &audit["events"].as_array().or(audit["entries"].as_array()).unwrap()[0];
        assert_eq!(entry["actor_type"], "user", "{audit}");
    }
);

api_test!(
    a_validation_error_is_shown_next_to_its_field_with_a_hint_and_the_typed_values_kept,
    |s| {
        let (p, key, browser, _) = developer(&s, "typo@example.com").await;
        let new = browser.get(&format!("/console/projects/{p}/clients/new")).await;
        let form = form_to(&new, &format!("/console/projects/{p}/clients"));
        let refused = browser
            .submit(
                &form,
                &[
                    ("name", "Typed <name>"),
                    ("redirect_uris", "https://spa.example/cb\nhttps://spa.example/other"),
                    ("allowed_cors_origins", "https://app.example.com/"),
                ],
                None,
            )
            .await;
        assert_eq!(refused.status, 400);
        assert_console_page(&refused);
        let b = &refused.body;
        assert!(b.contains("id=\"allowed_cors_origins\" name=\"allowed_cors_origins\" rows=\"3\" data-list spellcheck=\"false\" aria-invalid=\"true\" aria-describedby=\"allowed_cors_origins-error\""), "{b}");
        let message = text_of(&refused, "allowed_cors_origins-error");
        assert!(
            message.contains("remove the trailing slash: https://app.example.com"),
            "{message}"
        );
        assert!(
            b.contains("value=\"Typed &#60;name&#62;\"") || b.contains("value=\"Typed &lt;name&gt;\""),
            "the typed name is kept, escaped"
        );
        assert!(b.contains("https://spa.example/cb\nhttps://spa.example/other</textarea>"));
        assert_eq!(clients(&s, &key, &p).await.len(), 0);
    }
);

api_test!(
    editing_toggles_enabled_adds_a_redirect_uri_and_records_the_history,
    |s| {
        let (p, key, browser, _) = developer(&s, "edit@example.com").await;
        let (id, _) = s
            .client(
                &key,
                &p,
                json!({ "name": "Edited", "redirect_uris": ["https://e.example/cb"] }),
            )
            .await;
        let page = browser.get(&format!("/console/projects/{p}/clients/{id}")).await;
        assert_console_page(&page);
        assert!(
            page.body
                .contains(&format!("id=\"client_id\" name=\"client_id\" value=\"{id}\""))
                && page.body.contains(" readonly")
        );
        let mut form = form_to(&page, &format!("/console/projects/{p}/clients/{id}"));
        assert!(form.fields.iter().any(|(k, _)| k == "enabled"));
        form.fields.retain(|(k, _)| k != "enabled");
        let saved = browser
            .submit(
                &form,
                &[("redirect_uris", "https://e.example/cb\nhttps://e.example/second")],
                None,
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let (_, c) = s
            .call_as(
                &key,
                Method::GET,
                &format!("/accounts/projects/{p}/oauth/clients/{id}"),
                None,
            )
            .await;
        assert_eq!(c["client"]["enabled"], false);
        assert_eq!(
            c["client"]["redirect_uris"],
            json!(["https://e.example/cb", "https://e.example/second"])
        );
        let shown = browser.follow(saved).await;
        assert!(shown.body.contains("Client Edited saved."), "the flash message");
        assert!(
            shown.body.contains("<span class=\"mono\">enabled</span>: true → false"),
            "{}",
            shown.body
        );
        assert!(shown.body.contains("<span class=\"mono\">redirect_uris</span>: https://e.example/cb → https://e.example/cb, https://e.example/second"));
        let reload = browser.get(&format!("/console/projects/{p}/clients/{id}")).await;
        assert!(!reload.body.contains("saved."), "the flash is shown once");
        // The form saved against an old version is refused rather than overwriting.
        let stale = browser.submit(&form, &[("name", "Stale")], None).await;
        assert_eq!(stale.status, 400);
        assert!(stale.body.contains("someone changed this client"));
    }
);

api_test!(set_new_secret_shows_the_new_secret_once_and_a_reload_sets_none, |s| {
    let (p, key, browser, _) = developer(&s, "rotate@example.com").await;
    let (id, old) = s
        .client(
            &key,
            &p,
            json!({ "name": "Rotated", "grant_types": ["client_credentials"] }),
        )
        .await;
    let page = browser.get(&format!("/console/projects/{p}/clients/{id}")).await;
    let form = form_to(&page, &format!("/console/projects/{p}/clients/{id}/secret"));
    let shown = browser.submit(&form, &[("grace_seconds", "300")], None).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_console_page(&shown);
    let secret = text_of(&shown, "client-secret");
    assert_eq!(token_status(&s, &id, &secret).await, 200);
    assert_eq!(
        token_status(&s, &id, old.as_deref().unwrap()).await,
        200,
        "the grace period keeps the old secret"
    );
    let reload = browser.submit(&form, &[("grace_seconds", "300")], None).await;
    assert_eq!(reload.status, 303);
    let after = browser.follow(reload).await;
    assert!(after.body.contains("No new secret was set") && !after.body.contains(&secret));
    assert_eq!(
        token_status(&s, &id, &secret).await,
        200,
        "the secret shown is still the one"
    );
    // Last used follows the grants.
    assert!(
        !after.body.contains("Last used: <span id=\"last-used\">Never"),
        "{}",
        after.body
    );
    let list = browser.get(&format!("/console/projects/{p}/clients")).await;
    assert!(!list.body.contains(">Never<"));
});

api_test!(a_post_without_the_csrf_token_is_refused_and_changes_nothing, |s| {
    let (p, key, browser, page) = developer(&s, "csrf@example.com").await;
    let (id, _) = s
        .client(
            &key,
            &p,
            json!({ "name": "Kept", "redirect_uris": ["https://k.example/cb"] }),
        )
        .await;
    let fields = vec![("name".to_owned(), "Forged".to_owned())];
    for path in [
        format!("/console/projects/{p}/clients"),
        format!("/console/projects/{p}/clients/{id}"),
        format!("/console/projects/{p}/clients/{id}/secret"),
        format!("/console/projects/{p}/clients/{id}/delete"),
    ] {
        let res = browser.post(&path, &fields).await;
        assert_eq!(res.status, 403, "{path}");
        assert_console_page(&res);
    }
    let mut wrong = csrf(&page);
    wrong[0].1.push('x');
    wrong.push(("name".into(), "Forged".into()));
    assert_eq!(
        browser
            .post(&format!("/console/projects/{p}/clients"), &wrong)
            .await
            .status,
        403
    );
    assert_eq!(clients(&s, &key, &p).await, ["Kept"]);
});

api_test!(
    risky_configurations_are_flagged_with_their_reason_in_the_list_and_the_form,
    |s| {
        let (p, key, browser, _) = developer(&s, "risk@example.com").await;
        let (id, _) = s
        .client(&key, &p, json!({ "name": "Risky", "redirect_uris": ["https://r.example/cb"], "grant_types": ["authorization_code", "implicit"],
            "response_types": ["code", "token"], "require_pkce": false }))
        .await;
        s.client(
            &key,
            &p,
            json!({ "name": "Safe", "redirect_uris": ["https://s.example/cb"] }),
        )
        .await;
        let list = browser.get(&format!("/console/projects/{p}/clients")).await;
        assert_eq!(
            list.body.matches("2 warnings").count(),
            1,
            "only the risky client is flagged"
        );
        assert!(list.body.contains("The implicit grant puts tokens in the redirect URL"));
        let form = browser.get(&format!("/console/projects/{p}/clients/{id}")).await;
        assert!(form.body.contains("2 risky settings"));
        assert!(form.body.contains("PKCE is not required"));
        assert!(
            form.body.contains("<details class=\"advanced\" open>"),
            "the advanced settings open on a risk in them"
        );
    }
);

api_test!(
    the_token_exchange_policy_is_set_through_the_form_and_checked_against_the_project,
    |s| {
        let (p, key, browser, _) = developer(&s, "agent@example.com").await;
        let billing = "https://billing.acme.example";
        let (st, r) =
            crate::resources::create(&s, &key, &p, crate::resources::orders(billing, &["billing.read"])).await;
        assert_eq!(st, 201, "{r}");
        let new = browser.get(&format!("/console/projects/{p}/clients/new")).await;
        assert!(
            new.body.contains(">Token Exchange Resources<"),
            "the form lacks the field"
        );
        assert!(
            new.body
                .contains("value=\"urn:ietf:params:oauth:grant-type:token-exchange\"")
        );
        let mut form = form_to(&new, &format!("/console/projects/{p}/clients"));
        // Token exchange alone: no code flow, so no response type or redirect URI.
        form.fields
            .retain(|(k, _)| !["grant_types", "response_types", "offline_access"].contains(&k.as_str()));
        form.fields.push((
            "grant_types".into(),
            "urn:ietf:params:oauth:grant-type:token-exchange".into(),
        ));
        let refused = browser
            .submit(
                &form,
                &[
                    ("name", "Billing agent"),
                    ("token_exchange_resources", "https://other.example"),
                ],
                None,
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(
            refused.body.contains("id=\"token_exchange_resources-error\"")
                && refused.body.contains("is not an API resource of this project"),
            "{}",
            refused.body
        );
        assert!(
            refused.body.contains(">https://other.example</textarea>"),
            "the typed value is kept"
        );
        let created = browser
            .submit(
                &form,
                &[("name", "Billing agent"), ("token_exchange_resources", billing)],
                None,
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let (_, list) = s
            .call_as(
                &key,
                Method::GET,
                &format!("/accounts/projects/{p}/oauth/clients"),
                None,
            )
            .await;
        assert_eq!(
            list["clients"][0]["token_exchange_resources"],
            json!([billing]),
            "{list}"
        );
    }
);
