//! Who may do what on the project pages: another project's pages are 404, a reader sees no
//! write buttons and their forged writes are refused, and every form needs the CSRF token.

use reqwest::Method;
use serde_json::json;

use super::admin;
use crate::api_test;
use crate::console::{assert_console_page, csrf, member, sign_in};

const SECTIONS: [&str; 7] = [
    "api-keys",
    "members",
    "rooms",
    "external-oauth",
    "secrets",
    "audit",
    "settings",
];

api_test!(every_project_page_renders_for_an_admin_with_labelled_inputs, |s| {
    let (p, _, _, browser, _) = admin(&s, "all@example.com", "settings").await;
    for section in SECTIONS {
        let page = browser.get(&format!("/console/projects/{p}/{section}")).await;
        assert_eq!(page.status, 200, "{section}");
        assert_console_page(&page);
        assert!(
            page.body.contains(&format!(
                "href=\"/console/projects/{p}/{section}\" aria-current=\"page\""
            )),
            "{section}"
        );
        for control in ["<input ", "<textarea ", "<select "] {
            for (i, _) in page.body.match_indices(control) {
                let tag = &page.body[i..i + page.body[i..].find('>').unwrap()];
                if tag.contains("type=\"hidden\"") || tag.contains(" hidden") {
                    continue;
                }
                let id = tag
                    .split(" id=\"")
                    .nth(1)
                    .unwrap_or_else(|| panic!("{section}: no id: {tag}"));
                let id = id.split('"').next().unwrap();
                assert!(
                    page.body.contains(&format!("<label for=\"{id}\"")),
                    "{section}: no label for {id}"
                );
            }
        }
    }
});

api_test!(another_projects_pages_are_not_found_and_its_forms_change_nothing, |s| {
    let (_, _, _, browser, page) = admin(&s, "mine@example.com", "members").await;
    let (theirs, key) = s.project("Theirs").await;
    for section in SECTIONS {
        let other = browser.get(&format!("/console/projects/{theirs}/{section}")).await;
        assert_eq!(other.status, 404, "{section}");
        assert!(!other.body.contains("Theirs"), "{section}");
    }
    let before = s.audit_actions(&key, &theirs).await;
    let mut fields = csrf(&page);
    fields.push(("name".into(), "stolen".into()));
    fields.push(("email".into(), "mine@example.com".into()));
    fields.push(("confirm_name".into(), "Theirs".into()));
    for path in [
        "api-keys",
        "members",
        "secrets",
        "settings",
        "settings/delete",
        "rooms",
        "external-oauth",
    ] {
        let forged = browser
            .post(&format!("/console/projects/{theirs}/{path}"), &fields)
            .await;
        assert_eq!(forged.status, 404, "{path}: {}", forged.body);
    }
    assert_eq!(s.audit_actions(&key, &theirs).await, before);
});

api_test!(a_reader_sees_no_write_buttons_and_forged_writes_are_refused, |s| {
    let (p, key) = s.project("Readable").await;
    member(&s, &p, "reader@example.com", json!({})).await;
    let (browser, page) = sign_in(&s, "reader@example.com", &format!("/console/projects/{p}/settings")).await;
    assert!(!page.body.contains("Delete project") && !page.body.contains("Save name"));
    for (section, button) in [
        ("api-keys", "Create API key"),
        ("members", ">Invite<"),
        ("secrets", "Add secret"),
        ("rooms", "Create room"),
        ("external-oauth", "Add registration"),
    ] {
        let view = browser.get(&format!("/console/projects/{p}/{section}")).await;
        assert_eq!(view.status, 200, "{section}");
        assert!(!view.body.contains(button), "{section}: {button}");
        assert!(
            !view.body.contains("method=\"post\" action=\"/console/projects"),
            "{section}"
        );
    }
    let audit = browser.get(&format!("/console/projects/{p}/audit")).await;
    assert!(audit.body.contains("visible to the project's developers and admins"));
    let before = s.audit_actions(&key, &p).await;
    let mut fields = csrf(&page);
    fields.push(("name".into(), "forged".into()));
    fields.push(("kind".into(), "keys".into()));
    fields.push(("value".into(), "{}".into()));
    fields.push(("confirm_name".into(), "Readable".into()));
    for path in [
        "api-keys",
        "secrets",
        "settings",
        "settings/delete",
        "rooms",
        "rooms/grants",
        "external-oauth",
    ] {
        let forged = browser.post(&format!("/console/projects/{p}/{path}"), &fields).await;
        assert_eq!(forged.status, 403, "{path}: {}", forged.body);
    }
    assert_eq!(s.audit_actions(&key, &p).await, before, "nothing changed");
    let (st, _) = s
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}"), None)
        .await;
    assert_eq!(st, 200);
});

api_test!(a_form_without_the_csrf_token_is_refused_and_changes_nothing, |s| {
    let (p, key, _, browser, _) = admin(&s, "csrf@example.com", "settings").await;
    let before = s.audit_actions(&key, &p).await;
    let fields = vec![
        ("name".to_owned(), "no token".to_owned()),
        ("email".to_owned(), "csrf@example.com".to_owned()),
        ("confirm_name".to_owned(), "Pages".to_owned()),
    ];
    for path in [
        format!("/console/projects/{p}/api-keys"),
        format!("/console/projects/{p}/members"),
        format!("/console/projects/{p}/secrets"),
        format!("/console/projects/{p}/settings"),
        format!("/console/projects/{p}/settings/delete"),
        format!("/console/projects/{p}/rooms"),
        format!("/console/projects/{p}/rooms/grants"),
        format!("/console/projects/{p}/external-oauth"),
        "/console/account/password".to_owned(),
    ] {
        let refused = browser.post(&path, &fields).await;
        assert_eq!(refused.status, 403, "{path}");
    }
    assert_eq!(s.audit_actions(&key, &p).await, before);
});
