//! Project secrets: metadata only; a value is write-only and never appears in any page.

use reqwest::Method;

use super::{admin, assert_audited, submit};
use crate::api_test;
use crate::console::form_to;

const VALUE: &str = "never-in-html-7f3a9c";

api_test!(a_secret_value_is_written_but_never_shown_in_any_page, |s| {
    let (p, key, me, browser, page) = admin(&s, "vault@example.com", "secrets").await;
    let base = format!("/console/projects/{p}/secrets");
    let typed = format!("{{\"API_TOKEN\": \"{VALUE}\"}}");
    let added = submit(
        &browser,
        &page,
        &base,
        &[("name", "billing"), ("kind", "keys"), ("value", &typed)],
    )
    .await;
    assert!(added.body.contains("Secret billing added."), "{}", added.body);
    assert!(
        added
            .body
            .contains("<td>billing</td><td>keys</td><td><span class=\"badge\">set</span>")
    );
    assert_audited(&s, &key, &p, "project_secret.create", &me).await;
    let (_, list) = s
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}/secrets"), None)
        .await;
    let id = list["secrets"][0]["id"].as_str().unwrap().to_owned();
    let (_, read) = s
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}/secrets/{id}"), None)
        .await;
    assert!(read.to_string().contains("data_base64"), "the value was stored: {read}");
    let replace = browser.get(&format!("{base}/{id}")).await;
    assert!(replace.body.contains("Replace billing") && replace.body.contains("value=\"billing\""));
    let refused = browser
        .submit(
            &form_to(&replace, &format!("{base}/{id}")),
            &[("value", &format!("not json {VALUE}"))],
            None,
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("id=\"value-error\""), "{}", refused.body);
    let replaced = submit(
        &browser,
        &replace,
        &format!("{base}/{id}"),
        &[("value", &format!("{{\"API_TOKEN\": \"{VALUE}-2\"}}"))],
    )
    .await;
    assert!(replaced.body.contains("Secret billing replaced."));
    assert_audited(&s, &key, &p, "project_secret.update", &me).await;
    let confirm = browser.get(&format!("{base}/{id}/delete")).await;
    for html in [&added.body, &replace.body, &refused.body, &replaced.body, &confirm.body] {
        assert!(!html.contains(VALUE), "a secret value in a page");
    }
    let deleted = submit(&browser, &confirm, &format!("{base}/{id}/delete"), &[]).await;
    assert!(deleted.body.contains("Secret deleted.") && deleted.body.contains("No secrets yet."));
    assert_audited(&s, &key, &p, "project_secret.delete", &me).await;
});
