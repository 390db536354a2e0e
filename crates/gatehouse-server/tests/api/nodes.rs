//! Two nodes on one PostgreSQL: a revocation or a deleted client on one node takes effect on the
//! other through `LISTEN/NOTIFY`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::{Backend, TestServer, backends};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_one_node_is_refused_by_the_other_within_a_second() {
    let Some(pg) = backends().into_iter().find(|b| matches!(b, Backend::Postgres { .. })) else {
        eprintln!("note: two-node test skipped: GATEHOUSE_TEST_POSTGRES_URL is not set");
        return;
    };
    let a = TestServer::spawn(pg.clone()).await;
    let mut b = TestServer::spawn_on(pg, a.dir.clone(), a.database_url.clone()).await;
    b.admin_key = a.admin_key.clone();
    let (p, key) = a.project("Shared").await;
    // Node B caches the key by using it.
    let (st, _) = b
        .call_as(&key, Method::GET, &format!("/accounts/projects/{p}"), None)
        .await;
    assert_eq!(st, 200);
    let (_, keys) = a
        .call(Method::GET, &format!("/accounts/projects/{p}/api-keys"), None)
        .await;
    let id = keys["keys"][0]["id"].as_str().unwrap().to_owned();
    let (st, _) = a
        .call(Method::DELETE, &format!("/accounts/projects/{p}/api-keys/{id}"), None)
        .await;
    assert_eq!(st, 204);
    let start = Instant::now();
    loop {
        let (st, _) = b
            .call_as(&key, Method::GET, &format!("/accounts/projects/{p}"), None)
            .await;
        if st == 401 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "node B still accepts the revoked key"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (st, _) = b
        .call(
            Method::POST,
            &format!("/accounts/projects/{p}/oauth/clients"),
            Some(json!({ "name": "x", "redirect_uris": ["https://a.example/cb"] })),
        )
        .await;
    assert_eq!(st, 201, "node B serves writes on the shared database");
    b.stop().await;
    a.stop().await;
}
