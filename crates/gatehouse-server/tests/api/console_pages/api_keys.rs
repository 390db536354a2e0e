//! API keys: the value is shown once in the answer to the create form and never again; revoke
//! behind a confirmation.

use reqwest::Method;

use super::{admin, assert_audited, submit};
use crate::api_test;
use crate::console::{assert_console_page, form_to, text_of};

api_test!(an_api_key_value_is_shown_once_works_and_is_gone_after_reload, |s| {
    let (p, key, me, browser, page) = admin(&s, "keys@example.com", "api-keys").await;
    assert!(page.body.contains(">API keys</h1>") && page.body.contains("Create API key"));
    let base = format!("/console/projects/{p}/api-keys");
    let created = browser
        .submit(
            &form_to(&page, &base),
            &[("name", "deploy"), ("description", "CI deploys")],
            None,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_console_page(&created);
    assert!(created.body.contains("will not be shown again") && created.body.contains(">Copy<"));
    let value = text_of(&created, "once-value");
    assert!(value.starts_with("ma-"), "{value}");
    assert_audited(&s, &key, &p, "api_key.create", &me).await;
    let (st, _) = s
        .call_as(
            &value,
            Method::GET,
            &format!("/accounts/projects/{p}/oauth/clients"),
            None,
        )
        .await;
    assert_eq!(st, 200, "the key shown works");
    let reload = browser.get(&base).await;
    assert!(reload.body.contains("deploy") && reload.body.contains("CI deploys"));
    assert!(!reload.body.contains(&value), "the value is never shown again");
    let again = browser
        .submit(&form_to(&page, &base), &[("name", "deploy")], None)
        .await;
    assert_eq!(again.status, 400, "re-sending the form makes no second key");
    assert!(!again.body.contains("ma-") || !again.body.contains("once-value"));
    assert!(again.body.contains("the list changed"), "{}", again.body);
});

api_test!(an_api_key_with_an_empty_name_is_refused_next_to_the_field, |s| {
    let (p, _, _, browser, page) = admin(&s, "keys2@example.com", "api-keys").await;
    let base = format!("/console/projects/{p}/api-keys");
    let refused = browser
        .submit(
            &form_to(&page, &base),
            &[("name", ""), ("description", "kept text")],
            None,
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("id=\"name-error\""), "{}", refused.body);
    assert!(refused.body.contains("aria-describedby=\"name-error\""));
    assert!(refused.body.contains("value=\"kept text\""), "what was typed is kept");
});

api_test!(revoking_an_api_key_asks_first_and_the_key_stops_working, |s| {
    let (p, key, me, browser, page) = admin(&s, "keys3@example.com", "api-keys").await;
    let base = format!("/console/projects/{p}/api-keys");
    let created = browser
        .submit(&form_to(&page, &base), &[("name", "short-lived")], None)
        .await;
    let value = text_of(&created, "once-value");
    let list = browser.get(&base).await;
    let start = list.body.find("short-lived").unwrap();
    let href = list.body[start..]
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(href.ends_with("/revoke"), "{href}");
    let confirm = browser.get(&href).await;
    assert!(
        confirm.body.contains("Revoke the API key short-lived?"),
        "{}",
        confirm.body
    );
    let done = submit(&browser, &confirm, &href, &[]).await;
    assert!(done.body.contains("API key revoked."));
    assert!(!done.body.contains("short-lived"));
    assert_audited(&s, &key, &p, "api_key.revoke", &me).await;
    let (st, _) = s
        .call_as(
            &value,
            Method::GET,
            &format!("/accounts/projects/{p}/oauth/clients"),
            None,
        )
        .await;
    assert_eq!(st, 401);
});
