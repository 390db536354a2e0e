//! `keys rotate` on the storage of a running server: it schedules one key per algorithm.

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
