//! The OAuth client registry over REST: lifecycle, show-once secrets, pagination and filter,
//! official clients, and cross-project isolation.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{api_test, contains};

fn web_client(name: &str) -> Value {
    json!({ "name": name, "redirect_uris": ["https://app.example.com/cb"], "scope": "openid profile" })
}

api_test!(client_lifecycle_create_get_update_rotate_delete, |s| {
    let (p, key) = s.project("Acme").await;
    let base = format!("/accounts/projects/{p}/oauth/clients");
    let res = s
        .req_as(&key, Method::POST, &base)
        .json(&web_client("Web"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.headers()["cache-control"],
        "no-store",
        "a response with a secret is never cached"
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let created: Value = res.json().await.unwrap();
    let c = &created["client"];
    let id = c["client_id"].as_str().unwrap().to_owned();
    let secret = c["client_secret"].as_str().unwrap().to_owned();
    assert!(id.len() >= 22 && secret.len() >= 43);
    assert_eq!(c["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(c["has_client_secret"], true);
    assert_eq!(c["project_id"], p.as_str());

    let (st, got) = s.call_as(&key, Method::GET, &format!("{base}/{id}"), None).await;
    assert_eq!(st, 200);
    assert!(got["client"].get("client_secret").is_none());
    assert_eq!(got["client"]["name"], "Web");

    let (st, upd) = s
        .call_as(
            &key,
            Method::PUT,
            &format!("{base}/{id}"),
            Some(json!({ "name": "Web 2", "offline_access": true })),
        )
        .await;
    assert_eq!(st, 200, "{upd}");
    assert_eq!(upd["client"]["name"], "Web 2");
    assert_eq!(upd["client"]["offline_access"], true);
    assert!(
        upd["client"]["grant_types"]
            .as_array()
            .unwrap()
            .contains(&json!("refresh_token"))
    );
    assert_eq!(upd["client"]["redirect_uris"], json!(["https://app.example.com/cb"]));

    let (st, e) = s
        .call_as(
            &key,
            Method::PUT,
            &format!("{base}/{id}"),
            Some(json!({ "client_id": "other-id" })),
        )
        .await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_request")));

    let (st, rot) = s
        .call_as(&key, Method::POST, &format!("{base}/{id}/secret"), Some(json!({})))
        .await;
    assert_eq!(st, 200, "{rot}");
    let new_secret = rot["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let chosen = "c".repeat(40);
    let (st, rot) = s
        .call_as(
            &key,
            Method::POST,
            &format!("{base}/{id}/secret"),
            Some(json!({ "client_secret": chosen, "grace_seconds": 60 })),
        )
        .await;
    assert_eq!((st, rot["client_secret"].as_str()), (200, Some(chosen.as_str())));
    let (st, _) = s
        .call_as(
            &key,
            Method::POST,
            &format!("{base}/{id}/secret"),
            Some(json!({ "client_secret": "short" })),
        )
        .await;
    assert_eq!(st, 400);

    let (st, _) = s.call_as(&key, Method::DELETE, &format!("{base}/{id}"), None).await;
    assert_eq!(st, 204);
    let (st, _) = s.call_as(&key, Method::GET, &format!("{base}/{id}"), None).await;
    assert_eq!(st, 404);
    let (st, _) = s.call_as(&key, Method::DELETE, &format!("{base}/{id}"), None).await;
    assert_eq!(st, 404, "a replayed delete finds nothing");
});

api_test!(caller_chosen_client_ids_are_unique_across_the_server, |s| {
    let (a, ka) = s.project("A").await;
    let (b, kb) = s.project("B").await;
    let body = json!({ "client_id": "shared.app", "name": "X", "require_client_secret": false, "redirect_uris": ["http://127.0.0.1/cb"] });
    let (st, c) = s
        .call_as(
            &ka,
            Method::POST,
            &format!("/accounts/projects/{a}/oauth/clients"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    assert!(c["client"]["client_secret"].is_null(), "public clients get no secret");
    assert_eq!(c["client"]["token_endpoint_auth_method"], "none");
    let (st, e) = s
        .call_as(
            &kb,
            Method::POST,
            &format!("/accounts/projects/{b}/oauth/clients"),
            Some(body),
        )
        .await;
    assert_eq!((st, e["error"].as_str()), (409, Some("conflict")));
});

api_test!(secrets_are_shown_once_and_never_stored_in_plaintext, |s| {
    let (p, key) = s.project("Secretive").await;
    let base = format!("/accounts/projects/{p}/oauth/clients");
    let (_, created) = s.call_as(&key, Method::POST, &base, Some(web_client("Web"))).await;
    let id = created["client"]["client_id"].as_str().unwrap().to_owned();
    let secret = created["client"]["client_secret"].as_str().unwrap().to_owned();
    let (_, rot) = s
        .call_as(&key, Method::POST, &format!("{base}/{id}/secret"), Some(json!({})))
        .await;
    let rotated = rot["client_secret"].as_str().unwrap().to_owned();
    let api_key_secret = key.splitn(4, '-').nth(3).unwrap().to_owned();

    let mut seen = String::new();
    for path in [
        format!("{base}/{id}"),
        base.clone(),
        format!("/accounts/projects/{p}/audit"),
        format!("/accounts/projects/{p}/api-keys"),
    ] {
        let (st, v) = s.call_as(&key, Method::GET, &path, None).await;
        assert_eq!(st, 200, "{path}: {v}");
        seen.push_str(&v.to_string());
    }
    for fmt in ["csv", "xlsx", "pdf"] {
        let res = s
            .req_as(&key, Method::GET, &format!("{base}/export?format={fmt}"))
            .send()
            .await
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&res.bytes().await.unwrap()));
    }
    for needle in [&secret, &rotated, &key, &api_key_secret] {
        assert!(!seen.contains(needle.as_str()), "a read returned a secret");
    }
    let db = s.database_bytes().await;
    assert!(
        contains(&db, &id),
        "the dump holds the client id, so the search is real"
    );
    for needle in [&secret, &rotated, &key, &api_key_secret, &s.admin_key] {
        assert!(!contains(&db, needle), "plaintext secret found in the database");
    }
});

api_test!(list_filters_paginates_and_counts, |s| {
    let (p, key) = s.project("Many").await;
    let base = format!("/accounts/projects/{p}/oauth/clients");
    for i in 0..12 {
        let name = if i % 3 == 0 {
            format!("Billing {i}")
        } else {
            format!("Portal {i}")
        };
        let (st, _) = s.call_as(&key, Method::POST, &base, Some(web_client(&name))).await;
        assert_eq!(st, 201);
    }
    let (_, all) = s
        .call_as(&key, Method::GET, &format!("{base}?count=5&offset=0"), None)
        .await;
    assert_eq!(
        (all["total"].as_u64(), all["clients"].as_array().unwrap().len()),
        (Some(12), 5)
    );
    let (_, last) = s
        .call_as(&key, Method::GET, &format!("{base}?count=5&offset=10"), None)
        .await;
    assert_eq!(last["clients"].as_array().unwrap().len(), 2);
    let (_, billing) = s
        .call_as(&key, Method::GET, &format!("{base}?filter=bILLing"), None)
        .await;
    assert_eq!(billing["total"], 4);
    assert!(
        billing["clients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"].as_str().unwrap().starts_with("Billing"))
    );
    let one_id = all["clients"][0]["client_id"].as_str().unwrap();
    let (_, by_id) = s
        .call_as(&key, Method::GET, &format!("{base}?filter={}", &one_id[2..12]), None)
        .await;
    assert!(
        by_id["clients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == one_id)
    );
    let (_, none) = s.call_as(&key, Method::GET, &format!("{base}?filter=%25"), None).await;
    assert_eq!(none["total"], 0, "LIKE wildcards in the filter are literal");
    for bad in ["count=0", "count=1001", "offset=-1", "count=abc", "bogus=1"] {
        let (st, _) = s.call_as(&key, Method::GET, &format!("{base}?{bad}"), None).await;
        assert_eq!(st, 400, "{bad}");
    }
});

api_test!(official_clients_exist_and_need_force_to_delete, |s| {
    let sys = s.system_project.clone();
    let (st, list) = s
        .call(Method::GET, &format!("/accounts/projects/{sys}/oauth/clients"), None)
        .await;
    assert_eq!(st, 200);
    let ids: Vec<&str> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    for official in ["gatehouse-cli", "gatehouse-console", "gatehouse-api-docs"] {
        assert!(ids.contains(&official), "{official} missing from {ids:?}");
    }
    let (_, cli) = s
        .call(
            Method::GET,
            &format!("/accounts/projects/{sys}/oauth/clients/gatehouse-cli"),
            None,
        )
        .await;
    assert_eq!(cli["client"]["official"], true);
    assert_eq!(cli["client"]["require_client_secret"], false);
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/accounts/projects/{sys}/oauth/clients/gatehouse-api-docs"),
            None,
        )
        .await;
    assert_eq!(st, 409);
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/accounts/projects/{sys}/oauth/clients/gatehouse-api-docs?force=true"),
            None,
        )
        .await;
    assert_eq!(st, 204);
});

api_test!(another_projects_key_gets_404_everywhere, |s| {
    let (a, ka) = s.project("A").await;
    let (b, kb) = s.project("B").await;
    let (_, c) = s
        .call_as(
            &kb,
            Method::POST,
            &format!("/accounts/projects/{b}/oauth/clients"),
            Some(web_client("B app")),
        )
        .await;
    let cid = c["client"]["client_id"].as_str().unwrap().to_owned();
    let ext = json!({ "name": "G", "oauth": { "authorization_endpoint": "https://idp.example/auth", "token_endpoint": "https://idp.example/token" }, "client_id": "x", "redirect_uris": ["https://app.example/cb"] });
    let (_, r) = s
        .call_as(
            &kb,
            Method::POST,
            &format!("/accounts/projects/{b}/external-oauth"),
            Some(ext.clone()),
        )
        .await;
    let rid = r["id"].as_str().unwrap().to_owned();
    let sec = json!({ "name": "env", "type": "keys", "data_base64": "eyJBIjoiMSJ9" });
    let (_, sc) = s
        .call_as(
            &kb,
            Method::POST,
            &format!("/accounts/projects/{b}/secrets"),
            Some(sec.clone()),
        )
        .await;
    let sid = sc["id"].as_str().unwrap().to_owned();
    let pb = format!("/accounts/projects/{b}");
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, pb.clone(), None),
        (Method::PUT, pb.clone(), Some(json!({ "name": "x" }))),
        (Method::DELETE, pb.clone(), None),
        (Method::GET, format!("{pb}/role"), None),
        (Method::GET, format!("{pb}/users"), None),
        (Method::GET, format!("{pb}/api-keys"), None),
        (Method::POST, format!("{pb}/api-keys"), Some(json!({ "name": "x" }))),
        (Method::GET, format!("{pb}/oauth/clients"), None),
        (Method::POST, format!("{pb}/oauth/clients"), Some(web_client("evil"))),
        (Method::GET, format!("{pb}/oauth/clients/{cid}"), None),
        (
            Method::PUT,
            format!("{pb}/oauth/clients/{cid}"),
            Some(json!({ "name": "x" })),
        ),
        (Method::DELETE, format!("{pb}/oauth/clients/{cid}"), None),
        (
            Method::POST,
            format!("{pb}/oauth/clients/{cid}/secret"),
            Some(json!({})),
        ),
        (Method::GET, format!("{pb}/oauth/clients/export?format=csv"), None),
        (Method::GET, format!("{pb}/external-oauth"), None),
        (Method::POST, format!("{pb}/external-oauth"), Some(ext.clone())),
        (Method::PUT, format!("{pb}/external-oauth/{rid}"), Some(ext)),
        (Method::DELETE, format!("{pb}/external-oauth/{rid}"), None),
        (Method::GET, format!("{pb}/rooms/lobby/external-oauth"), None),
        (Method::GET, format!("{pb}/secrets"), None),
        (Method::POST, format!("{pb}/secrets"), Some(sec.clone())),
        (Method::GET, format!("{pb}/secrets/{sid}"), None),
        (Method::PUT, format!("{pb}/secrets/{sid}"), Some(sec)),
        (Method::DELETE, format!("{pb}/secrets/{sid}"), None),
        (Method::GET, format!("{pb}/audit"), None),
    ];
    for (m, path, body) in cases {
        let (st, e) = s.call_as(&ka, m.clone(), &path, body).await;
        assert_eq!(st, 404, "{m} {path}: {e}");
    }
    // Project A's own client path with B's client id: not visible either.
    let (st, _) = s
        .call_as(
            &ka,
            Method::GET,
            &format!("/accounts/projects/{a}/oauth/clients/{cid}"),
            None,
        )
        .await;
    assert_eq!(st, 404);
    // And nothing of B changed.
    let (st, _) = s
        .call_as(&kb, Method::GET, &format!("{pb}/oauth/clients/{cid}"), None)
        .await;
    assert_eq!(st, 200);
    let (st, _) = s.call_as(&kb, Method::GET, &format!("{pb}/secrets/{sid}"), None).await;
    assert_eq!(st, 200);
});
