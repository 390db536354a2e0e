//! The account page: profile, sessions (end one), and the password change with its errors next
//! to the fields.

use gatehouse_testkit::Browser;

use super::submit;
use crate::api_test;
use crate::console::{PASSWORD, form_to, sign_in};

api_test!(the_account_page_shows_the_profile_and_ends_another_session, |s| {
    s.user("me@example.com", PASSWORD).await;
    let (browser, page) = sign_in(&s, "me@example.com", "/console/account").await;
    assert!(page.body.contains("id=\"account-email\">me@example.com<"));
    assert!(page.body.contains("this browser"));
    let other = Browser::new(&s.base);
    let elsewhere = other.authorize("/console/account", "me@example.com", PASSWORD).await;
    assert_eq!(elsewhere.status, 200);
    let page = browser.get("/console/account").await;
    let ends: Vec<_> = page
        .forms()
        .into_iter()
        .filter(|f| f.action.ends_with("/end"))
        .collect();
    assert_eq!(ends.len(), 2, "{}", page.body);
    let this = page.body.find("this browser").unwrap();
    let other_form = ends
        .iter()
        .find(|f| page.body.find(&f.action).unwrap() < this || page.body.find(&f.action).unwrap() > this + 400)
        .unwrap();
    let ended = browser.follow(browser.submit(other_form, &[], None).await).await;
    assert!(ended.body.contains("Session ended."), "{}", ended.body);
    assert_eq!(ended.forms().iter().filter(|f| f.action.ends_with("/end")).count(), 1);
    let gone = other.get("/console/account").await;
    assert_eq!(gone.status, 303, "the other browser is signed out");
});

api_test!(
    a_wrong_current_password_is_refused_next_to_the_field_and_a_right_one_signs_out,
    |s| {
        s.user("pw@example.com", PASSWORD).await;
        let (browser, page) = sign_in(&s, "pw@example.com", "/console/account").await;
        let form = form_to(&page, "/console/account/password");
        let refused = browser
            .submit(
                &form,
                &[
                    ("current_password", "wrong password"),
                    ("new_password", "another good password"),
                ],
                None,
            )
            .await;
        assert_eq!(refused.status, 400);
        assert!(
            refused.body.contains("id=\"current_password-error\">is not correct"),
            "{}",
            refused.body
        );
        assert!(!refused.body.contains("wrong password") && !refused.body.contains("another good password"));
        let changed = submit(
            &browser,
            &page,
            "/console/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another good password"),
            ],
        )
        .await;
        assert!(changed.body.contains("Password changed"), "{}", changed.body);
        let after = browser.get("/console/account").await;
        assert_eq!(after.status, 303, "the console session ended with the password change");
    }
);
