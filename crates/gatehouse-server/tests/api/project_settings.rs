//! `GET, PUT /accounts/projects/{project_id}/settings` (SPEC §5.4): who may change how people sign
//! in to a project's apps, what bad values get, and the audit record.

use reqwest::Method;
use serde_json::json;

use crate::api_test;
use crate::people::invitations::project_admin;

api_test!(only_a_projects_admins_change_its_sign_in_settings, |s| {
    let (a, admin) = project_admin(&s).await;
    let (b, b_key) = s.project("Other").await;
    let path = |p: &str| format!("/accounts/projects/{p}/settings");

    let (st, v) = s.call_as(&admin, Method::GET, &path(&a), None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v,
        json!({ "signup": "inherit", "signup_domains": [], "require_second_factor": false })
    );
    let body = json!({ "signup": "domains", "signup_domains": ["@Corp.Example"], "require_second_factor": true });
    let (st, v) = s.call_as(&admin, Method::PUT, &path(&a), Some(body.clone())).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v,
        json!({ "signup": "domains", "signup_domains": ["corp.example"], "require_second_factor": true })
    );
    assert_eq!(s.call_as(&admin, Method::GET, &path(&a), None).await.1, v);
    assert_eq!(s.audit_actions(&admin, &a).await[0], "project.settings");

    // Another project: not found for A's admin, whatever the method; its settings unchanged.
    for method in [Method::GET, Method::PUT] {
        let (st, e) = s.call_as(&admin, method.clone(), &path(&b), Some(body.clone())).await;
        assert_eq!(st, 404, "{method}: {e}");
    }
    let (_, untouched) = s.call(Method::GET, &path(&b), None).await;
    assert_eq!(untouched["signup"], "inherit");
    // A developer's key of the project reads but may not change.
    assert_eq!(s.call_as(&b_key, Method::GET, &path(&b), None).await.0, 200);
    let (st, e) = s.call_as(&b_key, Method::PUT, &path(&b), Some(body.clone())).await;
    assert_eq!(st, 403, "{e}");
    // Nor may A's key reach B.
    let (st, _) = s.call_as(&b_key, Method::PUT, &path(&a), Some(body)).await;
    assert_eq!(st, 404);
});

api_test!(bad_sign_in_settings_are_refused_by_field_and_change_nothing, |s| {
    let (p, _) = s.project("Strict").await;
    let path = format!("/accounts/projects/{p}/settings");
    for (body, field) in [
        (json!({ "signup": "domains" }), "signup_domains"),
        (
            json!({ "signup": "domains", "signup_domains": ["not a domain"] }),
            "signup_domains",
        ),
        (
            json!({ "signup": "open", "signup_domains": ["corp.example"] }),
            "signup_domains",
        ),
        (json!({ "signup": "sometimes" }), "signup"),
        (
            json!({ "signup": "open", "require_second_factor": "yes" }),
            "require_second_factor",
        ),
        (json!({ "signup": "open", "colour": "blue" }), "colour"),
        (json!({ "require_second_factor": true }), "signup"),
    ] {
        let (st, e) = s.call(Method::PUT, &path, Some(body.clone())).await;
        assert!(st == 400 || st == 422, "{body}: {st} {e}");
        let message = e["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{body}: {e}");
    }
    let many: Vec<String> = (0..101).map(|i| format!("d{i}.example")).collect();
    let (st, e) = s
        .call(
            Method::PUT,
            &path,
            Some(json!({ "signup": "domains", "signup_domains": many })),
        )
        .await;
    assert_eq!(st, 400, "{e}");
    let (_, v) = s.call(Method::GET, &path, None).await;
    assert_eq!(v["signup"], "inherit", "nothing changed: {v}");
    let (st, _) = s
        .call(
            Method::GET,
            "/accounts/projects/00000000-0000-4000-8000-000000000000/settings",
            None,
        )
        .await;
    assert_eq!(st, 404);
});
