//! `user invite` against the real server: an address without an account is invited (the
//! invitation is pending until accepted), a server admin adds an existing account at once, and
//! a malformed address is refused by name.

use super::{assert_fails_with, str_of};

e2e_test!(user_invite_sends_an_invitation_or_adds_an_existing_account, |gh| {
    gh.project_with_key("Team").await;
    let invited = gh
        .json("user invite new.person@example.com --developer --llm-proxy")
        .await;
    assert_eq!(str_of(&invited, "status"), "pending", "{invited}");
    assert_eq!(str_of(&invited, "email"), "new.person@example.com");
    assert_eq!(
        (invited["is_developer"].as_bool(), invited["is_admin"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(invited["can_use_llm_proxy"], true);
    let said = gh.run("user invite other@example.com").await.expect("user invite");
    assert!(said.contains("becomes a member on accepting the invitation"), "{said}");

    gh.user("known@example.com", "correct horse battery staple").await;
    let member = gh.json("user invite known@example.com --admin").await;
    assert!(
        member["user_id"].is_string(),
        "a server admin adds an existing account: {member}"
    );
    assert_eq!(member["is_admin"], true);
    assert_fails_with(gh.run("user invite not-an-address").await, "email");
});
