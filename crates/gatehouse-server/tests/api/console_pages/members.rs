//! Members: invite by email with the four flags (membership once accepted), change them, remove behind a confirmation; a
//! member without admin rights sees the list without buttons.

use super::{admin, assert_audited, submit};
use crate::api_test;
use crate::console::{PASSWORD, csrf, form_to, sign_in};

api_test!(
    an_admin_adds_a_member_by_email_changes_their_flags_and_removes_them,
    |s| {
        let (p, key, me, browser, page) = admin(&s, "owner@example.com", "members").await;
        let new = s.user("new@example.com", PASSWORD).await;
        let base = format!("/console/projects/{p}/members");
        for label in ["Admin", "Developer", "Can create rooms", "Can use the LLM proxy"] {
            assert!(page.body.contains(&format!(">{label}</label>")), "{label}");
        }
        let added = submit(
            &browser,
            &page,
            &base,
            &[("email", "new@example.com"), ("can_use_llm_proxy", "on")],
        )
        .await;
        assert!(
            added
                .body
                .contains("new@example.com is invited: they become a member when they accept"),
            "{}",
            added.body
        );
        assert!(added.body.contains("id=\"invitations\""), "listed as pending");
        assert_audited(&s, &key, &p, "invitation.create", &me).await;
        assert_eq!(
            crate::people::answer(&s.base, "new@example.com", PASSWORD, "accept").await,
            200
        );
        let (_, members) = s
            .call_as(
                &key,
                reqwest::Method::GET,
                &format!("/accounts/projects/{p}/users"),
                None,
            )
            .await;
        let m = members["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == "new@example.com")
            .cloned()
            .unwrap();
        assert_eq!(m["can_use_llm_proxy"], true, "{m}");
        assert_eq!(m["is_developer"], false, "{m}");
        let edit = browser.get(&format!("{base}/{new}")).await;
        assert!(
            edit.body
                .contains("id=\"can_use_llm_proxy\" name=\"can_use_llm_proxy\" checked")
        );
        let saved = submit(&browser, &edit, &format!("{base}/{new}"), &[("is_developer", "on")]).await;
        assert!(saved.body.contains("The rights of new@example.com are saved."));
        let e = super::last_event(&s, &key, &p).await;
        assert_eq!(e["action"], "member.update");
        assert_eq!(e["details"]["is_developer"], true, "{e}");
        assert_eq!(e["details"]["can_use_llm_proxy"], true, "{e}");
        let confirm = browser.get(&format!("{base}/{new}/remove")).await;
        assert!(confirm.body.contains("Remove new@example.com from Pages?"));
        let removed = submit(&browser, &confirm, &format!("{base}/{new}/remove"), &[]).await;
        assert!(removed.body.contains("Member removed.") && !removed.body.contains("<td>new@example.com"));
        assert_audited(&s, &key, &p, "member.remove", &me).await;
    }
);

api_test!(
    inviting_a_malformed_email_is_refused_next_to_the_field_keeping_the_flags,
    |s| {
        let (p, _, _, browser, page) = admin(&s, "owner2@example.com", "members").await;
        let base = format!("/console/projects/{p}/members");
        let refused = browser
            .submit(
                &form_to(&page, &base),
                &[("email", "nobody at example.com"), ("is_developer", "on")],
                None,
            )
            .await;
        assert_eq!(refused.status, 400);
        assert!(
            refused.body.contains("id=\"email-error\">must be an email address"),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("value=\"nobody at example.com\""));
        assert!(
            refused
                .body
                .contains("id=\"is_developer\" name=\"is_developer\" checked")
        );
    }
);

api_test!(
    a_new_member_sees_the_read_only_view_and_a_forged_write_is_refused,
    |s| {
        let (p, key, _, browser, page) = admin(&s, "owner3@example.com", "members").await;
        s.user("reader@example.com", PASSWORD).await;
        let base = format!("/console/projects/{p}/members");
        submit(&browser, &page, &base, &[("email", "reader@example.com")]).await;
        crate::people::answer(&s.base, "reader@example.com", PASSWORD, "accept").await;
        let (reader, view) = sign_in(&s, "reader@example.com", &base).await;
        assert!(view.body.contains("owner3@example.com") && view.body.contains("reader@example.com"));
        for button in [">Invite<", ">Change<", ">Remove<"] {
            assert!(!view.body.contains(button), "a reader must not see {button}");
        }
        let before = s.audit_actions(&key, &p).await;
        let mut fields = csrf(&view);
        fields.push(("email".into(), "owner3@example.com".into()));
        fields.push(("is_admin".into(), "on".into()));
        let forged = reader.post(&base, &fields).await;
        assert_eq!(forged.status, 403, "{}", forged.body);
        assert_eq!(s.audit_actions(&key, &p).await, before, "nothing changed");
    }
);
