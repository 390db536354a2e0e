//! `project update` against the real server: renaming, the sign-up policy with its domains and
//! the second-factor requirement, shown by `project get`; bad values and a developer's key are
//! refused.

use serde_json::json;

use super::{assert_fails_with, str_of};

e2e_test!(project_update_changes_the_name_and_how_people_sign_in, |gh| {
    let (_, key) = gh.project_with_key("Acme").await;
    let shown = gh.json("project get").await;
    assert_eq!(
        shown["settings"],
        json!({ "signup": "inherit", "signup_domains": [], "require_second_factor": false })
    );
    let updated = gh
        .json("project update --name 'Acme Inc' --signup domains --signup-domain acme.example --signup-domain acme.test --require-second-factor true")
        .await;
    assert_eq!(str_of(&updated, "name"), "Acme Inc");
    assert_eq!(
        updated["settings"],
        json!({ "signup": "domains", "signup_domains": ["acme.example", "acme.test"], "require_second_factor": true })
    );
    // Another mode drops the domains; the requirement stays as it was.
    let open = gh.json("project update --signup open").await;
    assert_eq!(
        open["settings"],
        json!({ "signup": "open", "signup_domains": [], "require_second_factor": true })
    );
    let table = gh.run("project get").await.expect("project get");
    assert!(table.contains("open") && table.contains("required"), "{table}");

    assert_fails_with(gh.run("project update --signup domains").await, "signup_domains");
    assert_fails_with(
        gh.run("project update --signup-domain not_a_domain").await,
        "signup_domains",
    );
    assert!(gh.run("project update --signup sometimes").await.is_err());
    assert_fails_with(gh.run_as(&key, "project update --signup closed").await, "admin");
    assert_eq!(
        gh.json("project get").await["settings"]["signup"],
        "open",
        "nothing changed"
    );
});
