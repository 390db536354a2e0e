//! Two nodes on one PostgreSQL: a revocation or a deleted client on one node takes effect on the
//! other through `LISTEN/NOTIFY`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use gatehouse_core::secret::SecretString;

use crate::{Backend, TestServer, backends};

/// Two nodes on one fresh PostgreSQL database, or `None` without PostgreSQL.
pub async fn two_nodes() -> Option<(TestServer, TestServer)> {
    let Some(pg) = backends().into_iter().find(|b| matches!(b, Backend::Postgres { .. })) else {
        eprintln!("note: two-node test skipped: GATEHOUSE_TEST_POSTGRES_URL is not set");
        return None;
    };
    let a = TestServer::spawn(pg.clone()).await;
    let mut b = TestServer::spawn_on(pg, a.dir.clone(), a.database_url.clone(), Some(&a.base)).await;
    b.admin_key = a.admin_key.clone();
    Some((a, b))
}

/// Polls `check` until it holds, failing after one second.
pub async fn within_a_second(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{what} did not happen within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_changed_on_one_node_stops_verifying_on_the_other_within_a_second() {
    let Some((a, b)) = two_nodes().await else { return };
    let (p, key) = a.project("Clients").await;
    let base = format!("/accounts/projects/{p}/oauth/clients");
    let body = json!({ "name": "svc", "grant_types": ["client_credentials"], "response_types": [] });
    let (st, c) = a.call_as(&key, Method::POST, &base, Some(body)).await;
    assert_eq!(st, 201, "{c}");
    let id = c["client"]["client_id"].as_str().unwrap().to_owned();
    let old = SecretString::new(c["client"]["client_secret"].as_str().unwrap());
    // Node B caches the client by verifying it.
    assert!(b.gatehouse().verify_client_secret(&id, &old).await.is_ok());
    let (_, rot) = a
        .call_as(&key, Method::POST, &format!("{base}/{id}/secret"), Some(json!({})))
        .await;
    let new = SecretString::new(rot["client_secret"].as_str().unwrap());
    within_a_second("the old secret failing on node B", async || {
        b.gatehouse().verify_client_secret(&id, &old).await.is_err()
    })
    .await;
    assert!(b.gatehouse().verify_client_secret(&id, &new).await.is_ok());
    a.call_as(
        &key,
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "enabled": false })),
    )
    .await;
    within_a_second("the disabled client failing on node B", async || {
        b.gatehouse().verify_client_secret(&id, &new).await.is_err()
    })
    .await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_one_node_is_refused_by_the_other_within_a_second() {
    let Some((a, b)) = two_nodes().await else { return };
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_changed_on_one_node_narrows_tokens_on_the_other_within_a_second() {
    let Some((a, b)) = two_nodes().await else { return };
    let (p, key, id, secret) = crate::resources::with_resources(&a, "orders.read orders.write", None).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("resource", "https://orders.acme.example"),
    ];
    // Node B caches the project's resources by issuing a token.
    let (st, t) = crate::resources::token(&b, &id, &secret, &form).await;
    assert_eq!(
        (st, t["scope"].as_str()),
        (200, Some("orders.read orders.write")),
        "{t}"
    );
    let path = format!("/accounts/projects/{p}/resources");
    let (_, list) = a.call_as(&key, Method::GET, &path, None).await;
    let orders = &list["resources"][0];
    let mut body =
        json!({ "identifier": orders["identifier"], "name": orders["name"], "scopes": [orders["scopes"][0]] });
    let (st, r) = a
        .call_as(
            &key,
            Method::PUT,
            &format!("{path}/{}", orders["id"].as_str().unwrap()),
            Some(body.clone()),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    within_a_second("the removed scope leaving node B's tokens", async || {
        crate::resources::token(&b, &id, &secret, &form).await.1["scope"] == "orders.read"
    })
    .await;
    body["identifier"] = json!("https://orders-v2.acme.example");
    a.call_as(
        &key,
        Method::PUT,
        &format!("{path}/{}", orders["id"].as_str().unwrap()),
        Some(body),
    )
    .await;
    within_a_second("the old identifier becoming invalid_target on node B", async || {
        crate::resources::token(&b, &id, &secret, &form).await.1["error"] == "invalid_target"
    })
    .await;
    b.stop().await;
    a.stop().await;
}
