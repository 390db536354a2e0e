//! `gatehouse idp …`: upstream identity providers from the shell, the client secret read from a
//! file or standard input and never printed.

use crate::assert_fails_with;

e2e_test!(identity_providers_are_added_shown_updated_and_removed, |gh| {
    let secret_file = gh.file("corp.secret");
    std::fs::write(&secret_file, "cli-idp-secret-93ad\n").unwrap();
    let added = gh
        .json(&format!(
            "idp add corp --client-id gh --issuer https://sso.corp.example --display-name 'Corp SSO' --client-secret-file {secret_file}"
        ))
        .await;
    assert_eq!(
        (
            added["id"].as_str(),
            added["source"].as_str(),
            added["scopes"][0].as_str()
        ),
        (Some("corp"), Some("api"), Some("openid"))
    );
    assert!(!added.to_string().contains("cli-idp-secret"), "{added}");
    let table = gh.run("idp list").await.expect("idp list");
    assert!(table.contains("corp") && table.contains("Corp SSO"), "{table}");
    let updated = gh
        .json("idp update corp --allow-signup true --scope openid --scope email")
        .await;
    assert_eq!(
        (
            updated["allow_signup"].as_bool(),
            updated["scopes"].as_array().map(Vec::len)
        ),
        (Some(true), Some(2))
    );
    let shown = gh.run("idp show corp").await.expect("idp show");
    assert!(shown.contains("/login/with/corp/callback"), "{shown}");
    assert!(!shown.contains("cli-idp-secret"), "{shown}");
    // Usage and validation mistakes are reported, naming what is wrong.
    assert_fails_with(
        gh.run("idp add other --client-id gh --issuer https://sso.corp.example --display-name X")
            .await,
        "--client-secret-file",
    );
    assert_fails_with(
        gh.run(&format!("idp add Bad --client-id gh --issuer https://sso.corp.example --display-name X --client-secret-file {secret_file}")).await,
        "name",
    );
    // A project's key is not a server admin's.
    let (_, key) = gh.project_with_key("Acme").await;
    assert_fails_with(gh.run_as(&key, "idp list").await, "server admins");
    let removed = gh.run("idp remove corp").await.expect("idp remove");
    assert!(removed.contains("Removed identity provider corp"), "{removed}");
    assert_eq!(gh.json("idp list").await["identity_providers"], serde_json::json!([]));
});
