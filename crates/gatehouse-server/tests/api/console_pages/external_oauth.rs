//! External OAuth registrations: add, edit and delete; the client secret is write-only (the
//! page says "set", never the value) and an empty field keeps it.

use reqwest::Method;

use super::{admin, assert_audited, submit};
use crate::api_test;
use crate::console::form_to;

const SECRET: &str = "provider-secret-91c2e";

api_test!(
    a_registration_is_added_edited_and_deleted_and_its_secret_never_shown,
    |s| {
        let (p, key, me, browser, page) = admin(&s, "oauth@example.com", "external-oauth").await;
        let base = format!("/console/projects/{p}/external-oauth");
        let fields = [
            ("name", "GitHub"),
            ("client_id", "gh-client"),
            ("client_secret", SECRET),
            ("authorization_endpoint", "https://github.example/login/oauth/authorize"),
            ("token_endpoint", "https://github.example/login/oauth/access_token"),
            ("scopes", "repo read:user"),
            ("redirect_uris", "https://app.example/oauth/callback"),
        ];
        let refused = browser
            .submit(
                &form_to(&page, &base),
                &[fields[0], fields[1], fields[2], fields[3], fields[4]],
                None,
            )
            .await;
        assert_eq!(refused.status, 400);
        assert!(
            refused.body.contains("id=\"redirect_uris-error\">between 1 and 20"),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("value=\"gh-client\"") && !refused.body.contains(SECRET));
        let added = submit(&browser, &page, &base, &fields).await;
        assert!(added.body.contains("Registration GitHub added."), "{}", added.body);
        assert!(added.body.contains("<span class=\"badge on\">set</span>") && !added.body.contains(SECRET));
        assert_audited(&s, &key, &p, "external_oauth.create", &me).await;
        let (_, list) = s
            .call_as(
                &key,
                Method::GET,
                &format!("/accounts/projects/{p}/external-oauth"),
                None,
            )
            .await;
        let id = list["registrations"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{list}"))
            .to_owned();
        let edit = browser.get(&format!("{base}/{id}")).await;
        assert!(edit.body.contains("A secret is <strong>set</strong>") && !edit.body.contains(SECRET));
        assert!(edit.body.contains("value=\"repo read:user\""));
        let saved = submit(
            &browser,
            &edit,
            &format!("{base}/{id}"),
            &[("name", "GitHub Enterprise")],
        )
        .await;
        assert!(
            saved.body.contains("Registration GitHub Enterprise saved."),
            "{}",
            saved.body
        );
        assert!(
            saved.body.contains("<span class=\"badge on\">set</span>"),
            "an empty field keeps the secret"
        );
        assert_audited(&s, &key, &p, "external_oauth.update", &me).await;
        let edit = browser.get(&format!("{base}/{id}")).await;
        let removed = submit(&browser, &edit, &format!("{base}/{id}"), &[("remove_secret", "on")]).await;
        assert!(
            removed.body.contains("<span class=\"badge off\">none</span>"),
            "{}",
            removed.body
        );
        let confirm = browser.get(&format!("{base}/{id}/delete")).await;
        assert!(confirm.body.contains("Delete the registration GitHub Enterprise?"));
        let deleted = submit(&browser, &confirm, &format!("{base}/{id}/delete"), &[]).await;
        assert!(deleted.body.contains("Registration deleted.") && deleted.body.contains("No registrations yet."));
        assert_audited(&s, &key, &p, "external_oauth.delete", &me).await;
    }
);
