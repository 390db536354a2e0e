//! Project settings (rename; delete only with the exact name typed) and the audit log (paged,
//! newest first, filtered by actor and action).

use reqwest::Method;
use serde_json::json;

use super::{admin, assert_audited, submit};
use crate::api_test;
use crate::console::form_to;

api_test!(deleting_a_project_needs_its_exact_name_typed, |s| {
    let (p, key, me, browser, page) = admin(&s, "settings@example.com", "settings").await;
    let base = format!("/console/projects/{p}/settings");
    let renamed = submit(&browser, &page, &base, &[("name", "Pages Renamed")]).await;
    assert!(renamed.body.contains("The project is now called Pages Renamed."));
    assert_audited(&s, &key, &p, "project.update", &me).await;
    let refused = browser
        .submit(
            &form_to(&renamed, &format!("{base}/delete")),
            &[("confirm_name", "pages renamed")],
            None,
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("id=\"confirm_name-error\">does not match"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"pages renamed\""));
    let (st, _) = s
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}"), None)
        .await;
    assert_eq!(st, 200, "the project is still there");
    let done = submit(
        &browser,
        &renamed,
        &format!("{base}/delete"),
        &[("confirm_name", "Pages Renamed")],
    )
    .await;
    assert!(done.url.ends_with("/console"), "{}", done.url);
    assert!(done.body.contains("Project Pages Renamed deleted."));
    let (st, _) = s.call(Method::GET, &format!("/accounts/projects/{p}"), None).await;
    assert_eq!(st, 404);
});

api_test!(the_audit_log_pages_newest_first_and_filters_by_actor_and_action, |s| {
    let (p, _, _, browser, page) = admin(&s, "auditor@example.com", "audit").await;
    assert!(
        page.body.contains("<label for=\"actor\">Actor</label>")
            && page.body.contains("<label for=\"action\">Action</label>")
    );
    for i in 0..55 {
        let (st, _) = s
            .call(
                Method::PUT,
                &format!("/accounts/projects/{p}"),
                Some(json!({ "name": format!("Name {i}") })),
            )
            .await;
        assert_eq!(st, 200);
    }
    let settings = browser.get(&format!("/console/projects/{p}/settings")).await;
    submit(
        &browser,
        &settings,
        &format!("/console/projects/{p}/settings"),
        &[("name", "By the console")],
    )
    .await;
    let base = format!("/console/projects/{p}/audit");
    let all = browser.get(&base).await;
    assert!(all.body.contains("1–50 of"), "{}", all.body);
    assert!(all.body.contains("rel=\"next\""));
    let newest = all.body.find("By the console").unwrap();
    assert!(newest < all.body.find("Name 54").unwrap(), "newest first");
    let older = browser.get(&format!("{base}?offset=50")).await;
    assert!(older.body.contains("51–") && older.body.contains("Name 0"));
    let mine = browser.get(&format!("{base}?actor=auditor%40example&action=")).await;
    assert!(mine.body.contains("1–1 of 1 entry"), "{}", mine.body);
    assert!(mine.body.contains("<td>auditor@example.com</td>") && mine.body.contains("By the console"));
    let members = browser.get(&format!("{base}?action=member.add")).await;
    assert!(members.body.contains("member.add") && !members.body.contains("project.update"));
});
