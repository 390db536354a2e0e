//! API resources in the console: created, edited and deleted through the core use cases and
//! audited; bad input refused next to its field with what was typed kept; another project's
//! resource is not found; a resource clients use is deleted only when the second answer forces
//! it; readers see no write buttons and a forged write is refused.

use reqwest::Method;
use serde_json::json;

use super::{admin, assert_audited, submit};
use crate::api_test;
use crate::console::{form_to, member, sign_in};

const FORM: &[(&str, &str)] = &[
    ("identifier", "https://api.acme.example"),
    ("name", "Orders API"),
    ("scopes", "orders.read Read your orders\r\n\r\norders.write"),
    ("access_token_lifetime_secs", "600"),
    ("signing_alg", "EdDSA"),
    ("token_format", "jwt"),
];

api_test!(api_resources_are_created_edited_and_deleted_through_the_console, |s| {
    let (p, key, me, browser, page) = admin(&s, "apis@example.com", "resources").await;
    let base = format!("/console/projects/{p}/resources");
    assert!(page.body.contains("No API resources yet."), "{}", page.body);
    let new = browser.get(&format!("{base}/new")).await;
    assert_eq!(new.status, 200, "{}", new.body);
    assert!(new.body.contains("<label for=\"scopes\">Scopes</label>"));
    let created = submit(&browser, &new, &base, FORM).await;
    assert!(
        created.body.contains("API resource Orders API created."),
        "{}",
        created.body
    );
    assert!(created.body.contains("orders.read orders.write"), "{}", created.body);
    assert_audited(&s, &key, &p, "resource.create", &me).await;
    let (_, listed) = s
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}/resources"), None)
        .await;
    let r = listed["resources"][0].clone();
    assert_eq!(
        (r["signing_alg"].as_str(), r["access_token_lifetime_secs"].as_u64()),
        (Some("EdDSA"), Some(600))
    );
    assert_eq!(
        r["scopes"],
        json!([{ "name": "orders.read", "description": "Read your orders" }, { "name": "orders.write", "description": "" }])
    );
    let id = r["id"].as_str().unwrap().to_owned();

    let edit = browser.get(&format!("{base}/{id}")).await;
    assert!(edit.body.contains("Edit https://api.acme.example"), "{}", edit.body);
    assert!(
        edit.body
            .contains("orders.read Read your orders\norders.write</textarea>"),
        "{}",
        edit.body
    );
    assert!(edit.body.contains("<option value=\"EdDSA\" selected>"), "{}", edit.body);
    let saved = submit(
        &browser,
        &edit,
        &format!("{base}/{id}"),
        &[
            ("name", "Orders"),
            ("scopes", "orders.read"),
            ("token_format", "opaque"),
        ],
    )
    .await;
    assert!(saved.body.contains("API resource Orders saved."), "{}", saved.body);
    assert_audited(&s, &key, &p, "resource.update", &me).await;
    let (_, got) = s
        .call_as(
            &key,
            Method::GET,
            &format!("/accounts/projects/{p}/resources/{id}"),
            None,
        )
        .await;
    assert_eq!(got["token_format"], "opaque", "{got}");
    let edit = browser.get(&format!("{base}/{id}")).await;
    assert!(
        edit.body.contains("<option value=\"opaque\" selected>"),
        "{}",
        edit.body
    );

    // In use by a client: the first answer asks again (409), the forced one deletes.
    let settings = json!({
        "name": "Shop",
        "redirect_uris": ["https://app.example.com/cb"],
        "grant_types": ["client_credentials"],
        "scope": "orders.read",
    });
    s.client(&key, &p, settings).await;
    let confirm = browser.get(&format!("{base}/{id}/delete")).await;
    assert_eq!(confirm.status, 200);
    let again = browser
        .submit(&form_to(&confirm, &format!("{base}/{id}/delete")), &[], None)
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.body.contains("clients use this resource (Shop") || again.body.contains("clients use this resource ("),
        "{}",
        again.body
    );
    assert!(again.body.contains("name=\"force\" value=\"true\""));
    let (_, still) = s
        .call_as(
            &key,
            Method::GET,
            &format!("/accounts/projects/{p}/resources/{id}"),
            None,
        )
        .await;
    assert_eq!(still["id"], id.as_str(), "not deleted yet");
    let deleted = submit(&browser, &again, &format!("{base}/{id}/delete"), &[]).await;
    assert!(
        deleted.body.contains("API resource Orders deleted."),
        "{}",
        deleted.body
    );
    assert_audited(&s, &key, &p, "resource.delete", &me).await;
});

api_test!(
    bad_resource_input_is_refused_next_to_its_field_and_keeps_what_was_typed,
    |s| {
        let (p, _, _, browser, _) = admin(&s, "typos@example.com", "resources").await;
        let base = format!("/console/projects/{p}/resources");
        let new = browser.get(&format!("{base}/new")).await;
        for (changes, field, says) in [
            (
                &[("identifier", "not-a-uri")][..],
                "identifier",
                "must be an absolute URI",
            ),
            (
                &[("identifier", "https://api.example/#x")][..],
                "identifier",
                "fragment",
            ),
            (&[("name", "")][..], "name", ""),
            (&[("scopes", "openid Your identity")][..], "scopes", "built-in scope"),
            (&[("scopes", "a.b\na.b")][..], "scopes", "listed twice"),
            (&[("scopes", "bad\"scope")][..], "scopes", "RFC 6749"),
            (
                &[("access_token_lifetime_secs", "ten")][..],
                "access_token_lifetime_secs",
                "whole number",
            ),
            (
                &[("access_token_lifetime_secs", "5")][..],
                "access_token_lifetime_secs",
                "60-86400",
            ),
            (&[("signing_alg", "HS256")][..], "signing_alg", "ES256"),
            (&[("token_format", "paper")][..], "token_format", "jwt"),
        ] {
            let mut fields: Vec<(&str, &str)> = FORM.to_vec();
            for (k, v) in changes {
                fields.retain(|(f, _)| f != k);
                fields.push((k, v));
            }
            let refused = browser.submit(&form_to(&new, &base), &fields, None).await;
            assert_eq!(refused.status, 400, "{changes:?}: {}", refused.body);
            assert!(
                refused.body.contains(&format!("id=\"{field}-error\"")) && refused.body.contains(says),
                "{changes:?}: {}",
                refused.body
            );
            let kept = if field == "scopes" {
                "Orders API"
            } else {
                "orders.read Read your orders"
            };
            assert!(refused.body.contains(kept), "what was typed is kept: {}", refused.body);
        }
        let (_, listed) = s
            .call(Method::GET, &format!("/accounts/projects/{p}/resources"), None)
            .await;
        assert_eq!(listed["resources"], json!([]), "nothing was created");
        let forged = browser
            .post(
                &base,
                &[
                    ("csrf".into(), "forged".into()),
                    ("identifier".into(), "https://x.example".into()),
                ],
            )
            .await;
        assert_eq!(forged.status, 403);
    }
);

api_test!(
    another_projects_resource_is_not_found_and_readers_get_no_write_buttons,
    |s| {
        let (other, other_key) = s.project("Other").await;
        let (_, r) = s
            .call_as(
                &other_key,
                Method::POST,
                &format!("/accounts/projects/{other}/resources"),
                Some(json!({ "identifier": "https://other.example", "name": "Theirs" })),
            )
            .await;
        let theirs = r["id"].as_str().unwrap().to_owned();
        let (p, key, _, browser, _) = admin(&s, "mine@example.com", "resources").await;
        for path in [
            format!("/console/projects/{p}/resources/{theirs}"),
            format!("/console/projects/{p}/resources/{theirs}/delete"),
            format!("/console/projects/{other}/resources"),
            format!("/console/projects/{p}/resources/not-an-id"),
        ] {
            assert_eq!(browser.get(&path).await.status, 404, "{path}");
        }
        s.call_as(
            &key,
            Method::POST,
            &format!("/accounts/projects/{p}/resources"),
            Some(json!({ "identifier": "https://mine.example", "name": "Mine" })),
        )
        .await;
        member(&s, &p, "reader@example.com", json!({})).await;
        let (reader, page) = sign_in(&s, "reader@example.com", &format!("/console/projects/{p}/resources")).await;
        assert!(page.body.contains("https://mine.example"), "{}", page.body);
        assert!(!page.body.contains("New resource") && !page.body.contains("Edit Mine"));
        assert_eq!(
            reader.get(&format!("/console/projects/{p}/resources/new")).await.status,
            404
        );
    }
);
