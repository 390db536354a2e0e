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
    let mine = browser
        .get(&format!("{base}?actor=Auditor%40Example.com&action="))
        .await;
    assert!(mine.body.contains("1–1 of 1 entry"), "{}", mine.body);
    assert!(mine.body.contains("<td>auditor@example.com</td>") && mine.body.contains("By the console"));
    let members = browser.get(&format!("{base}?action=member.add")).await;
    assert!(members.body.contains("member.add") && !members.body.contains("project.update"));
    // A family of actions, filtered in storage: the creation and all 56 renames, paged.
    let family = browser.get(&format!("{base}?action=project")).await;
    assert!(family.body.contains("1–50 of 57 entries"), "{}", family.body);
    let rest = browser.get(&format!("{base}?action=project&offset=50")).await;
    assert!(
        rest.body.contains("51–57 of 57 entries") && rest.body.contains("Name 0"),
        "{}",
        rest.body
    );
    assert!(
        !browser
            .get(&format!("{base}?action=proj"))
            .await
            .body
            .contains("project.update")
    );
    // Filters that cannot select anything say why next to their field, keeping what was typed.
    let stranger = browser.get(&format!("{base}?actor=nobody%40example.com")).await;
    assert!(
        stranger.body.contains("id=\"actor-error\"")
            && stranger
                .body
                .contains("No member of this project has the email nobody@example.com.")
    );
    assert!(stranger.body.contains("value=\"nobody@example.com\""));
    let odd = browser.get(&format!("{base}?action=client%25")).await;
    assert!(
        odd.body.contains("id=\"action-error\"") && odd.body.contains("aria-invalid=\"true\""),
        "{}",
        odd.body
    );
    // The REST API takes the same filters.
    let (st, body) = s
        .call(
            Method::GET,
            &format!("/accounts/projects/{p}/audit?action=project&count=10"),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(body["total"], 57);
    assert!(
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "project.update")
    );
    let (_, created) = s
        .call(
            Method::GET,
            &format!("/accounts/projects/{p}/audit?action=project.create"),
            None,
        )
        .await;
    assert_eq!(created["total"], 1);
    let actor = body["events"][0]["actor_id"].as_str().unwrap().to_owned();
    let (st, body) = s
        .call(
            Method::GET,
            &format!("/accounts/projects/{p}/audit?actor={actor}&action=member"),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert!(
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor_id"] == actor.as_str() && e["action"].as_str().unwrap().starts_with("member."))
    );
    let (st, body) = s
        .call(
            Method::GET,
            &format!("/accounts/projects/{p}/audit?action=Project_%25"),
            None,
        )
        .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_request")), "{body}");
});

api_test!(
    the_settings_page_changes_how_people_sign_in_with_errors_next_to_the_field,
    |s| {
        let (p, key, me, browser, page) = admin(&s, "policy@example.com", "settings").await;
        let base = format!("/console/projects/{p}/settings");
        let action = format!("{base}/sign-in");
        assert!(
            page.body.contains("<label for=\"signup\">Who may sign up</label>"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("<option value=\"inherit\" selected>"),
            "{}",
            page.body
        );
        let refused = browser
            .submit(
                &form_to(&page, &action),
                &[("signup", "domains"), ("signup_domains", "")],
                None,
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.body.contains("id=\"signup_domains-error\""), "{}", refused.body);
        assert!(
            refused.body.contains("<option value=\"domains\" selected>"),
            "the choice is kept"
        );
        assert!(refused.body.contains("value=\"Pages\""), "the other form is unchanged");
        let bad = browser
            .submit(&form_to(&page, &action), &[("signup", "sometimes")], None)
            .await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("id=\"signup-error\""), "{}", bad.body);
        let forged = browser
            .post(
                &action,
                &[("csrf".into(), "forged".into()), ("signup".into(), "open".into())],
            )
            .await;
        assert_eq!(forged.status, 403);

        let saved = submit(
            &browser,
            &page,
            &action,
            &[
                ("signup", "domains"),
                ("signup_domains", "corp.example\nteam.example"),
                ("require_second_factor", "on"),
            ],
        )
        .await;
        assert!(saved.body.contains("The sign-in settings are saved."), "{}", saved.body);
        assert!(
            saved.body.contains("domains: corp.example, team.example"),
            "{}",
            saved.body
        );
        assert!(
            saved
                .body
                .contains("id=\"require_second_factor\" name=\"require_second_factor\" checked")
        );
        assert_audited(&s, &key, &p, "project.settings", &me).await;
        let (_, v) = s
            .call_as(&key, Method::GET, &format!("/accounts/projects/{p}/settings"), None)
            .await;
        assert_eq!(
            v,
            json!({ "signup": "domains", "signup_domains": ["corp.example", "team.example"], "require_second_factor": true })
        );
    }
);
