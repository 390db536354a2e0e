//! Bootstrap, health, metrics, OpenAPI, projects, members, users, API keys and the audit log.

use gatehouse_testkit::db::drop_pg_database;
use gatehouse_testkit::server::{DATABASE_PREFIX, fresh_storage, test_config};
use reqwest::Method;
use serde_json::json;

use crate::{TestServer, api_test};

api_test!(health_readiness_metrics_and_openapi_answer, |s| {
    assert_eq!(
        s.http.get(format!("{}/healthz", s.base)).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        s.http.get(format!("{}/readyz", s.base)).send().await.unwrap().status(),
        200
    );
    let (st, _) = s.call(Method::GET, "/accounts/projects", None).await;
    assert_eq!(st, 200);
    let metrics = s.get_text("/metrics").await;
    assert!(
        metrics.contains("gatehouse_http_requests_total{method=\"GET\",route=\"/accounts/projects\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("gatehouse_http_request_duration_seconds_bucket{method=\"GET\",route=\"/accounts/projects\",status=\"200\",le=\"+Inf\"} 1"));
    let doc: serde_json::Value = s.get_json("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/accounts/projects/{project_id}/oauth/clients",
        "/accounts/projects/{project_id}/oauth/clients/{client_id}/secret",
        "/accounts/projects/{project_id}/audit",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"].get("ClientInput").is_some());
});

api_test!(bootstrap_key_is_a_server_admin_and_bootstrap_runs_once, |s| {
    assert!(s.admin_key.starts_with("ma-"));
    let (st, role) = s
        .call(
            Method::GET,
            &format!("/accounts/projects/{}/role", s.system_project),
            None,
        )
        .await;
    assert_eq!((st, role["role"].as_str()), (200, Some("admin")));
    let (st, u) = s
        .call(
            Method::POST,
            "/accounts/users",
            Some(json!({ "email": "Dev@Example.com", "name": "Dev", "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(st, 201, "{u}");
    assert!(u.get("password").is_none() && u.get("password_hash").is_none());
    let (st, _) = s
        .call(
            Method::POST,
            "/accounts/users",
            Some(json!({ "email": "dev@example.com", "name": "Dup", "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(st, 409, "emails are unique case-insensitively");
    // A restart on the same database creates nothing again.
    let again = TestServer::spawn_on(s.backend.clone(), s.dir.clone(), s.database_url.clone(), None).await;
    assert!(
        again.admin_key.is_empty(),
        "a second start must not mint another bootstrap key"
    );
    let (st, _) = again
        .call_as(&s.admin_key, Method::GET, "/accounts/projects", None)
        .await;
    assert_eq!(st, 200);
    again.stop().await;
});

api_test!(project_keys_are_developers_of_their_project_only, |s| {
    let (p, key) = s.project("Dev").await;
    let (st, role) = s
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}/role"), None)
        .await;
    assert_eq!((st, role["role"].as_str()), (200, Some("developer")));
    let (st, e) = s
        .call_as(&key, Method::POST, "/accounts/projects", Some(json!({ "name": "x" })))
        .await;
    assert_eq!((st, e["error"].as_str()), (403, Some("forbidden")));
    let (st, _) = s
        .call_as(
            &key,
            Method::POST,
            &format!("/accounts/projects/{p}/api-keys"),
            Some(json!({ "name": "x" })),
        )
        .await;
    assert_eq!(st, 403, "API key management is for admins");
    let (st, _) = s
        .call_as(
            &key,
            Method::POST,
            "/accounts/users",
            Some(json!({ "email": "a@b.co", "name": "A", "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _) = s.call_as(&key, Method::GET, "/accounts/profiles/me", None).await;
    assert_eq!(st, 403);
    let (_, list) = s.call_as(&key, Method::GET, "/accounts/projects", None).await;
    assert_eq!(list["projects"].as_array().unwrap().len(), 1);
});

api_test!(revoked_api_keys_stop_at_once, |s| {
    let (p, key) = s.project("Revoke").await;
    let (_, keys) = s
        .call(Method::GET, &format!("/accounts/projects/{p}/api-keys"), None)
        .await;
    let keys = keys["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].get("value").is_none());
    let id = keys[0]["id"].as_str().unwrap();
    let (st, _) = s
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}"), None)
        .await;
    assert_eq!(st, 200);
    let (st, _) = s
        .call(Method::DELETE, &format!("/accounts/projects/{p}/api-keys/{id}"), None)
        .await;
    assert_eq!(st, 204);
    let (st, e) = s
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}"), None)
        .await;
    assert_eq!((st, e["error"].as_str()), (401, Some("unauthorized")));
    let (st, _) = s
        .call(Method::DELETE, &format!("/accounts/projects/{p}/api-keys/{id}"), None)
        .await;
    assert_eq!(st, 404, "a replayed revoke finds nothing");
    let (_, log) = s
        .call(Method::GET, &format!("/accounts/projects/{p}/audit"), None)
        .await;
    let revokes = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "api_key.revoke")
        .count();
    assert_eq!(revokes, 1, "a revoke that changed nothing is not audited");
});

api_test!(bad_credentials_get_401, |s| {
    let (p, key) = s.project("Creds").await;
    let tampered = format!("{}x", &key[..key.len() - 1]);
    for bad in [
        "",
        "nonsense",
        "ma-abc",
        tampered.as_str(),
        "ma-AAAAAAAAAAAAAAAAAAAAAA-AAAAAAAAAAAAAAAAAAAAAA-secret",
    ] {
        let (st, e) = s
            .call_as(bad, Method::GET, &format!("/accounts/projects/{p}"), None)
            .await;
        assert_eq!((st, e["error"].as_str()), (401, Some("unauthorized")), "{bad:?}");
    }
    let res = s
        .http
        .get(format!("{}/accounts/projects", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("www-authenticate").is_some());
});

api_test!(members_are_added_updated_and_removed_by_admins, |s| {
    let (p, key) = s.project("Team").await;
    let (_, u) = s
        .call(
            Method::POST,
            "/accounts/users",
            Some(json!({ "email": "m@example.com", "name": "M", "password": "correct horse battery" })),
        )
        .await;
    let uid = u["id"].as_str().unwrap().to_owned();
    let (st, _) = s
        .call_as(
            &key,
            Method::POST,
            &format!("/accounts/projects/{p}/users"),
            Some(json!({ "user_id": uid })),
        )
        .await;
    assert_eq!(st, 403, "developers do not manage members");
    let (st, m) = s
        .call(
            Method::POST,
            &format!("/accounts/projects/{p}/users"),
            Some(json!({ "email": "M@EXAMPLE.com", "is_developer": true })),
        )
        .await;
    assert_eq!((st, m["is_developer"].as_bool()), (201, Some(true)), "{m}");
    let (st, m) = s
        .call(
            Method::PUT,
            &format!("/accounts/projects/{p}/users/{uid}"),
            Some(json!({ "can_use_llm_proxy": true })),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        (m["is_developer"].as_bool(), m["can_use_llm_proxy"].as_bool()),
        (Some(true), Some(true))
    );
    let (_, list) = s
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}/users"), None)
        .await;
    assert_eq!(list["users"].as_array().unwrap().len(), 1);
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/accounts/projects/{p}/users"),
            Some(json!({ "email": "nobody@example.com" })),
        )
        .await;
    assert_eq!(st, 202, "an address without an account is invited");
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/accounts/projects/{p}/users"),
            Some(json!({ "email": "m@example.com", "user_id": uid })),
        )
        .await;
    assert_eq!(st, 400);
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/accounts/projects/{p}/users"),
            Some(json!({ "user_id": uid })),
        )
        .await;
    assert_eq!(
        st, 409,
        "adding an existing member is a conflict, not a silent overwrite"
    );
    let (st, _) = s
        .call(
            Method::PUT,
            &format!("/accounts/projects/{p}/users/{uid}"),
            Some(json!({ "is_admin": true })),
        )
        .await;
    assert_eq!(st, 200);
    let (st, e) = s
        .call(
            Method::PUT,
            &format!("/accounts/projects/{p}/users/{uid}"),
            Some(json!({ "is_admin": false })),
        )
        .await;
    assert_eq!(
        (st, e["error"].as_str()),
        (409, Some("conflict")),
        "the last admin stays: {e}"
    );
    let (st, _) = s
        .call(Method::DELETE, &format!("/accounts/projects/{p}/users/{uid}"), None)
        .await;
    assert_eq!(st, 409, "the last admin cannot be removed");
    let (_, u2) = s
        .call(
            Method::POST,
            "/accounts/users",
            Some(json!({ "email": "n@example.com", "name": "N", "password": "correct horse battery" })),
        )
        .await;
    s.call(
        Method::POST,
        &format!("/accounts/projects/{p}/users"),
        Some(json!({ "user_id": u2["id"], "is_admin": true })),
    )
    .await;
    let (st, _) = s
        .call(Method::DELETE, &format!("/accounts/projects/{p}/users/{uid}"), None)
        .await;
    assert_eq!(st, 204, "with another admin, the first may go");
    let (st, _) = s
        .call(Method::DELETE, &format!("/accounts/projects/{p}/users/{uid}"), None)
        .await;
    assert_eq!(st, 404);
});

api_test!(every_change_is_audited_without_secret_values, |s| {
    let (p, key) = s.project("Audited").await;
    let base = format!("/accounts/projects/{p}/oauth/clients");
    let (_, c) = s
        .call_as(
            &key,
            Method::POST,
            &base,
            Some(json!({ "name": "A", "redirect_uris": ["https://a.example/cb"] })),
        )
        .await;
    let id = c["client"]["client_id"].as_str().unwrap().to_owned();
    s.call_as(&key, Method::PUT, &format!("{base}/{id}"), Some(json!({ "name": "B" })))
        .await;
    let (_, rot) = s
        .call_as(&key, Method::POST, &format!("{base}/{id}/secret"), Some(json!({})))
        .await;
    s.call_as(&key, Method::DELETE, &format!("{base}/{id}"), None).await;
    s.call(
        Method::PUT,
        &format!("/accounts/projects/{p}"),
        Some(json!({ "name": "Renamed" })),
    )
    .await;
    let (st, log) = s
        .call_as(
            &key,
            Method::GET,
            &format!("/accounts/projects/{p}/audit?count=50"),
            None,
        )
        .await;
    assert_eq!(st, 200);
    let actions: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "project.update",
            "client.delete",
            "client.secret.rotate",
            "client.update",
            "client.create",
            "api_key.create",
            "project.create"
        ]
    );
    assert_eq!(log["total"], 7);
    let update = &log["events"][3];
    assert_eq!(update["details"]["fields"], json!(["name"]));
    assert_eq!(update["actor_type"], "api_key");
    assert!(!log.to_string().contains(rot["client_secret"].as_str().unwrap()));
    let (_, page) = s
        .call_as(
            &key,
            Method::GET,
            &format!("/accounts/projects/{p}/audit?count=2&offset=1"),
            None,
        )
        .await;
    assert_eq!(page["events"][0]["action"], "client.delete");
});

api_test!(projects_are_renamed_and_deleted_with_everything_in_them, |s| {
    let (p, key) = s.project("Doomed").await;
    s.call_as(
        &key,
        Method::POST,
        &format!("/accounts/projects/{p}/oauth/clients"),
        Some(json!({ "client_id": "doomed-app", "name": "A", "redirect_uris": ["https://a.example/cb"] })),
    )
    .await;
    let (st, _) = s
        .call_as(&key, Method::DELETE, &format!("/accounts/projects/{p}"), None)
        .await;
    assert_eq!(st, 403, "deleting a project is for admins");
    let (st, _) = s.call(Method::DELETE, &format!("/accounts/projects/{p}"), None).await;
    assert_eq!(st, 204);
    let (st, _) = s.call(Method::GET, &format!("/accounts/projects/{p}"), None).await;
    assert_eq!(st, 404);
    let (st, _) = s
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}"), None)
        .await;
    assert_eq!(st, 401, "the project's keys died with it");
    let (q, qk) = s.project("Reuse").await;
    let (st, _) = s
        .call_as(
            &qk,
            Method::POST,
            &format!("/accounts/projects/{q}/oauth/clients"),
            Some(json!({ "client_id": "doomed-app", "name": "A", "redirect_uris": ["https://a.example/cb"] })),
        )
        .await;
    assert_eq!(st, 201, "the deleted project's client id is free again");
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/accounts/projects/{}", s.system_project),
            None,
        )
        .await;
    assert_eq!(st, 409);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_file_is_reserved_before_anything_is_created() {
    for backend in crate::backends() {
        let (dir, database_url) = fresh_storage(&backend, DATABASE_PREFIX).await;
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bootstrap.json");
        std::fs::write(&file, "stale").unwrap();
        let mut config = gatehouse_server::Config {
            bootstrap_file: Some(file.clone()),
            ..test_config(&dir, &database_url)
        };
        let err = gatehouse_server::start(&config)
            .await
            .err()
            .expect("an existing bootstrap file is refused");
        assert!(format!("{err:#}").contains("bootstrap.json"), "{err:#}");
        std::fs::remove_file(&file).unwrap();
        let server = gatehouse_server::start(&config)
            .await
            .expect("nothing was committed by the failed start");
        let b = server.bootstrap.as_ref().expect("the first start happens now");
        let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(written["api_key"], b.api_key.expose_secret());
        assert_eq!(written["project_id"], b.project_id.to_string());
        assert!(written["admin_password"].as_str().unwrap().len() >= 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        server.shutdown().await;
        config.bootstrap_file = Some(dir.join("second.json"));
        let again = gatehouse_server::start(&config).await.unwrap();
        assert!(
            again.bootstrap.is_none() && !dir.join("second.json").exists(),
            "later starts write nothing"
        );
        again.shutdown().await;
        if let crate::Backend::Postgres { admin_url } = &backend {
            drop_pg_database(admin_url, &database_url, DATABASE_PREFIX).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_killed_before_or_after_its_commit_keeps_the_credentials() {
    for backend in crate::backends() {
        let (dir, database_url) = fresh_storage(&backend, DATABASE_PREFIX).await;
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bootstrap.json");
        let pending = |name: &str| dir.join(format!("bootstrap.json.pending-{name}"));
        let pending_files = || {
            std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("bootstrap.json.pending-"))
                .collect::<Vec<_>>()
        };
        let config = gatehouse_server::Config {
            bootstrap_file: Some(file.clone()),
            ..test_config(&dir, &database_url)
        };
        // A start killed before its commit left credentials that were never committed.
        let uncommitted = r#"{"api_key": "ma-never-committed"}"#;
        std::fs::write(pending("killed"), uncommitted).unwrap();
        let server = gatehouse_server::start(&config)
            .await
            .expect("a pending file of an uncommitted start does not stop the next");
        let key = server
            .bootstrap
            .as_ref()
            .expect("the first start happens now")
            .api_key
            .clone();
        assert!(file.exists());
        assert!(pending_files().is_empty(), "{:?}", pending_files());
        // The first start removes the pending files of the starts that were killed before it.
        // Next: one of those, and the committed credentials pending (below), side by side.
        std::fs::write(pending("killed"), uncommitted).unwrap();
        server.shutdown().await;
        // A start killed between the commit and the rename left the committed credentials pending.
        std::fs::rename(&file, pending("committed")).unwrap();
        let again = gatehouse_server::start(&config).await.unwrap();
        assert!(again.bootstrap.is_none(), "nothing is generated twice");
        let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(written["api_key"], key.expose_secret());
        assert!(pending_files().is_empty(), "{:?}", pending_files());
        let who = again
            .gatehouse()
            .authenticate_api_key(key.expose_secret())
            .await
            .unwrap();
        assert!(who.is_server_admin());
        again.shutdown().await;
        if let crate::Backend::Postgres { admin_url } = &backend {
            drop_pg_database(admin_url, &database_url, DATABASE_PREFIX).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_starts_sharing_a_bootstrap_file_leave_the_committed_credentials() {
    for backend in crate::backends() {
        let (dir, database_url) = fresh_storage(&backend, DATABASE_PREFIX).await;
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bootstrap.json");
        let config = gatehouse_server::Config {
            bootstrap_file: Some(file.clone()),
            master_key: Some("00".repeat(32)),
            ..test_config(&dir, &database_url)
        };
        // Migrated first: the race under test is the bootstrap's, not the migrations'.
        let db = gatehouse_store::Database::connect(&database_url).await.unwrap();
        db.migrate().await.unwrap();
        db.close().await;
        let (a, b) = tokio::join!(gatehouse_server::start(&config), gatehouse_server::start(&config));
        let (a, b) = (a.expect("node A starts"), b.expect("node B starts"));
        let committed = match (&a.bootstrap, &b.bootstrap) {
            (Some(won), None) | (None, Some(won)) => won.api_key.clone(),
            _ => panic!("exactly one start bootstraps"),
        };
        let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(written["api_key"], committed.expose_secret());
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains(".pending-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        a.shutdown().await;
        b.shutdown().await;
        if let crate::Backend::Postgres { admin_url } = &backend {
            drop_pg_database(admin_url, &database_url, DATABASE_PREFIX).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_clients_follow_the_configured_issuer() {
    for backend in crate::backends() {
        let first = TestServer::spawn(backend).await;
        let sys = first.system_project.clone();
        let path = format!("/accounts/projects/{sys}/oauth/clients/gatehouse-console");
        let (_, before) = first.call(Method::GET, &path, None).await;
        assert_eq!(
            before["client"]["redirect_uris"],
            json!([format!("{}/console/callback", first.base)])
        );
        let config = gatehouse_server::Config {
            issuer: Some("https://auth.example.com/".into()),
            ..test_config(&first.dir, &first.database_url)
        };
        let published = gatehouse_server::start(&config).await.unwrap();
        let (_, after) = first.call_as(&first.admin_key, Method::GET, &path, None).await;
        assert_eq!(
            after["client"]["redirect_uris"],
            json!(["https://auth.example.com/console/callback"])
        );
        assert_eq!(
            after["client"]["post_logout_redirect_uris"],
            json!(["https://auth.example.com/console/signed-out"]),
            "the console's sign-out return follows the issuer too"
        );
        published.shutdown().await;
        first.stop().await;
    }
}
