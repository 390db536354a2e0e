//! Who sees what: another project's pages are 404, a member without developer rights sees no
//! write buttons and a forged write from them is refused, CSRF protects every change.

use serde_json::json;

use super::{assert_console_page, clients, csrf, member, sign_in};
use crate::api_test;

api_test!(another_projects_pages_are_not_found_for_a_non_member, |s| {
    let (mine, _) = s.project("Mine").await;
    let (theirs, key) = s.project("Theirs").await;
    let (client, _) = s
        .client(
            &key,
            &theirs,
            json!({ "name": "Hidden", "redirect_uris": ["https://h.example/cb"] }),
        )
        .await;
    member(&s, &mine, "me@example.com", json!({ "is_developer": true })).await;
    let (browser, _) = sign_in(&s, "me@example.com", &format!("/console/projects/{mine}/clients")).await;
    for path in [
        format!("/console/projects/{theirs}/clients"),
        format!("/console/projects/{theirs}/clients/{client}/delete"),
        format!("/console/projects/{theirs}/clients/export?format=xlsx"),
        "/console/projects/not-a-uuid/clients".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert_console_page(&page);
        assert!(!page.body.contains("Hidden") && !page.body.contains("Theirs"), "{path}");
    }
    let forged = browser
        .post(&format!("/console/projects/{theirs}/clients/{client}/delete"), &[])
        .await;
    assert_eq!(forged.status, 403, "a post without the CSRF token is refused first");
    let page = browser.get(&format!("/console/projects/{mine}/clients")).await;
    let forged = browser
        .post(
            &format!("/console/projects/{theirs}/clients/{client}/delete"),
            &csrf(&page),
        )
        .await;
    assert_eq!(forged.status, 404);
    assert_eq!(clients(&s, &key, &theirs).await.len(), 1, "the client is still there");
});

api_test!(
    a_member_without_developer_rights_sees_no_write_buttons_and_a_forged_delete_is_refused,
    |s| {
        let (p, key) = s.project("Readers").await;
        let (client, _) = s
            .client(
                &key,
                &p,
                json!({ "name": "Readable", "redirect_uris": ["https://r.example/cb"] }),
            )
            .await;
        member(&s, &p, "reader@example.com", json!({})).await;
        let (browser, page) = sign_in(&s, "reader@example.com", &format!("/console/projects/{p}/clients")).await;
        assert!(page.body.contains("Readable"));
        for button in ["New Client", ">Delete<", ">Edit<", "/delete"] {
            assert!(!page.body.contains(button), "a reader must not see {button}");
        }
        assert!(page.body.contains("Export to Excel") && page.body.contains(">View<"));
        for page in ["new".to_owned(), format!("{client}/delete")] {
            let refused = browser.get(&format!("/console/projects/{p}/clients/{page}")).await;
            assert_eq!(refused.status, 403, "{page}");
        }
        let forged = browser
            .post(&format!("/console/projects/{p}/clients/{client}/delete"), &csrf(&page))
            .await;
        assert_eq!(forged.status, 403, "{}", forged.body);
        assert_eq!(clients(&s, &key, &p).await.len(), 1);
    }
);
