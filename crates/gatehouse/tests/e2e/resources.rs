//! `gatehouse resource …`: the project's API resources from the shell.

use crate::assert_fails_with;

e2e_test!(resources_are_created_listed_updated_and_deleted, |gh| {
    let (_, key) = gh.project_with_key("Acme").await;
    let created = gh
        .json_as(&key, "resource create --identifier https://api.acme.example --name 'Orders API' --scope 'orders.read=Read your orders' --scope orders.write --lifetime 900")
        .await;
    assert_eq!(created["scopes"][0]["description"], "Read your orders");
    assert_eq!(created["access_token_lifetime_secs"], 900);
    let id = created["id"].as_str().unwrap().to_owned();
    let table = gh.run_as(&key, "resource list").await.expect("resource list");
    assert!(
        table.contains("https://api.acme.example") && table.contains("orders.read orders.write"),
        "{table}"
    );
    assert_eq!(created["token_format"], "jwt");
    let updated = gh
        .json_as(
            &key,
            &format!("resource update {id} --name 'Orders v2' --token-format opaque"),
        )
        .await;
    assert_eq!(
        (
            updated["name"].as_str(),
            updated["scopes"].as_array().map(Vec::len),
            updated["token_format"].as_str()
        ),
        (Some("Orders v2"), Some(2), Some("opaque"))
    );
    assert_fails_with(
        gh.run_as(&key, &format!("resource update {id} --token-format paseto"))
            .await,
        "jwt or opaque",
    );
    let shown = gh
        .run_as(&key, &format!("resource show {id}"))
        .await
        .expect("resource show");
    assert!(shown.contains("orders.read (Read your orders)"), "{shown}");
    assert_fails_with(
        gh.run_as(&key, "resource create --identifier not-a-uri --name X").await,
        "identifier",
    );
    let (code, message) = gh
        .run_as(&key, "resource create --name X")
        .await
        .expect_err("usage error");
    assert_eq!((code, message.contains("--identifier")), (2, true), "{message}");
    // A client holding one of its scopes: deleting needs --force.
    let client = gh
        .run_as(
            &key,
            "client create --name svc --grant-type client_credentials --scope orders.read",
        )
        .await;
    assert!(client.is_ok(), "{client:?}");
    assert_fails_with(gh.run_as(&key, &format!("resource delete {id}")).await, "force");
    let deleted = gh
        .run_as(&key, &format!("resource delete {id} --force"))
        .await
        .expect("delete");
    assert!(deleted.contains("Deleted resource"), "{deleted}");
    assert_eq!(
        gh.json_as(&key, "resource list").await["resources"],
        serde_json::json!([])
    );
});
