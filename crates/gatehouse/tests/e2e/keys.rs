//! `keys rotate` on the storage of a running server: it schedules one key per algorithm.

use std::sync::Arc;

use gatehouse_core::time::SystemClock;
use gatehouse_testkit::server::test_config;
use serde_json::json;

use super::{Gatehouse, parse, str_of};

impl Gatehouse {
    /// The storage flags of this server, as `migrate` and `keys rotate` take them.
    fn storage_flags(&self) -> String {
        format!(
            "--data-dir '{}' --database-url '{}'",
            self.dir.display(),
            self.database_url
        )
    }
}

e2e_test!(keys_rotate_schedules_a_new_key_for_every_algorithm, |gh| {
    let rotated = gh.run(&format!("-o json keys rotate {}", gh.storage_flags())).await;
    let rotated = parse(&rotated.expect("keys rotate"));
    let keys = rotated.as_array().expect("a list");
    let mut algs: Vec<&str> = keys.iter().map(|k| str_of(k, "alg")).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"], "{rotated}");
    for key in keys {
        assert!(!str_of(key, "kid").is_empty(), "{key}");
        assert!(str_of(key, "activate_at").ends_with('Z'), "{key}");
    }

    let table = gh
        .run(&format!("keys rotate {}", gh.storage_flags()))
        .await
        .expect("again");
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ALG ") && lines[0].contains("SIGNS FROM"),
        "{table}"
    );
    assert_eq!(lines.len(), 4, "{table}");
    for key in keys {
        assert!(
            !table.contains(str_of(key, "kid")),
            "a second rotation schedules other keys: {table}"
        );
    }
});

/// `{"TOKEN":"s3cret"}` in base64.
const SECRET_DATA: &str = "eyJUT0tFTiI6InMzY3JldCJ9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_master_rewraps_everything_online() {
    for backend in gatehouse_testkit::backends() {
        let mut gh = Gatehouse::start(&backend).await;
        let (_, key) = gh.project_with_key("Vault").await;
        let secret = gh
            .json_as(
                &key,
                r#"secret create --name app-env --type keys --data '{"TOKEN":"s3cret"}'"#,
            )
            .await;
        let secret_id = str_of(&secret, "id").to_owned();
        let spec = gh.file("spec.yaml");
        std::fs::write(
            &spec,
            "version: v1\nkind: ParticipantToken\nidentity: bot\nroom: lobby\n",
        )
        .expect("spec");
        let token = gh.run_as(&key, &format!("token -i {spec}")).await.expect("token");
        let token = token.trim();

        // A new key, and the rotation while the server runs: it keeps its unwrapped keys in
        // memory, so it keeps serving.
        let new_key = gh.file("new.key");
        std::fs::write(&new_key, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY\n").expect("new key");
        let old_key = gh.file("master.key");
        let flags = format!(
            "{} --master-key-file '{new_key}' --previous-master-key-file '{old_key}'",
            gh.storage_flags()
        );
        let done = parse(
            &gh.run(&format!("-o json keys rotate-master {flags}"))
                .await
                .expect("rotate-master"),
        );
        assert!(done["rewrapped"].as_u64().expect("a count") >= 5, "{done}");
        assert_eq!(done["already_current"], 0, "{done}");
        let again = parse(
            &gh.run(&format!("-o json keys rotate-master {flags}"))
                .await
                .expect("again"),
        );
        assert_eq!(
            (&again["rewrapped"], &again["already_current"]),
            (&json!(0), &done["rewrapped"]),
            "a second run finds everything re-wrapped"
        );
        let shown = gh.json_as(&key, &format!("secret get {secret_id}")).await;
        assert_eq!(shown["data_base64"], SECRET_DATA, "{shown}");

        // Restarted with the new key alone, everything opens: the keyed-hash key, the data keys
        // (the API key's secret, the project secret) and the signing keys. The old key alone is
        // refused.
        let old_only = gatehouse_server::Config {
            listen: gh.base.trim_start_matches("http://").to_owned(),
            master_key_file: Some(old_key.clone().into()),
            ..test_config(&gh.dir, &gh.database_url)
        };
        gh.pause().await;
        let refused = gatehouse_server::start(&old_only)
            .await
            .err()
            .expect("the old key is refused");
        assert!(format!("{refused:#}").contains("does not match"), "{refused:#}");
        let new_master = Some(new_key.clone().into());
        gh.resume_tuned(|c| c.master_key_file = new_master, Arc::new(SystemClock))
            .await;
        let verified = gh
            .gatehouse()
            .validate_participant_token(token)
            .await
            .expect("the API key opens");
        assert_eq!(verified.claims.name, "bot");
        assert!(gh.gatehouse().jwks()["keys"].as_array().is_some_and(|k| k.len() >= 3));
        let shown = gh.json_as(&key, &format!("secret get {secret_id}")).await;
        assert_eq!(shown["data_base64"], SECRET_DATA, "{shown}");
        assert!(
            gh.run(&format!(
                "keys rotate-master {} --master-key-file '{new_key}'",
                gh.storage_flags()
            ))
            .await
            .is_err(),
            "the previous key is required"
        );
        gh.stop().await;
    }
}
