//! External OAuth registrations and project secrets: CRUD, write-only secrets, encryption at rest.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, api_test, contains};

/// One project's REST resources, called with its key.
struct At<'a> {
    s: &'a TestServer,
    project: &'a str,
    key: &'a str,
}

impl At<'_> {
    /// A call to `path` below `/accounts/projects/{project}`.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let path = format!("/accounts/projects/{}{path}", self.project);
        self.s.call_as(self.key, method, &path, body).await
    }
}

api_test!(external_registrations_keep_their_client_secret_write_only, |s| {
    let (p, key) = s.project("Ext").await;
    let at = At {
        s: &s,
        project: &p,
        key: &key,
    };
    let ext_secret = "ext-secret-7f3a9c2e1b5d4f6a8c0e2b4d6f8a0c2e";
    let body = |name: &str, secret: Option<&str>| {
        let mut b = json!({
            "name": name,
            "oauth": { "authorization_endpoint": "https://accounts.example.com/o/auth", "token_endpoint": "https://oauth2.example.com/token", "issuer": "https://accounts.example.com", "scopes": ["email"] },
            "client_id": "google-client", "redirect_uris": ["https://app.example.com/oauth/callback"]
        });
        if let Some(sec) = secret {
            b["client_secret"] = json!(sec);
        }
        b
    };
    let (st, r) = at
        .call(Method::POST, "/external-oauth", Some(body("Google", Some(ext_secret))))
        .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["has_client_secret"], true);
    assert!(r.get("client_secret").is_none());
    let id = r["id"].as_str().unwrap().to_owned();
    let (st, r) = at
        .call(
            Method::PUT,
            &format!("/external-oauth/{id}"),
            Some(body("Google 2", None)),
        )
        .await;
    assert_eq!(
        (st, r["has_client_secret"].as_bool(), r["name"].as_str()),
        (200, Some(true), Some("Google 2")),
        "absent keeps the secret"
    );
    let (st, room) = at
        .call(Method::POST, "/rooms/lobby/external-oauth", Some(body("Room GH", None)))
        .await;
    assert_eq!(
        (st, room["room_name"].as_str(), room["has_client_secret"].as_bool()),
        (201, Some("lobby"), Some(false))
    );
    let (_, proj_list) = at.call(Method::GET, "/external-oauth", None).await;
    assert_eq!(proj_list["registrations"].as_array().unwrap().len(), 1);
    let (_, room_list) = at.call(Method::GET, "/rooms/lobby/external-oauth", None).await;
    assert_eq!(room_list["registrations"].as_array().unwrap().len(), 1);
    let room_id = room["id"].as_str().unwrap();
    let (st, _) = at
        .call(Method::DELETE, &format!("/external-oauth/{room_id}"), None)
        .await;
    assert_eq!(st, 404, "a room registration is not reachable through the project path");
    let (st, _) = at
        .call(Method::POST, "/rooms/Bad_Room/external-oauth", Some(body("x", None)))
        .await;
    assert_eq!(st, 400);
    let mut insecure = body("x", None);
    insecure["oauth"]["token_endpoint"] = json!("http://oauth2.example.com/token");
    let (st, e) = at.call(Method::POST, "/external-oauth", Some(insecure)).await;
    assert_eq!(st, 400, "{e}");
    assert!(!s.database_bytes().await.is_empty());
    assert!(
        !contains(&s.database_bytes().await, ext_secret),
        "the external client secret is encrypted at rest"
    );
    let (st, _) = at.call(Method::DELETE, &format!("/external-oauth/{id}"), None).await;
    assert_eq!(st, 204);
});

api_test!(project_secrets_are_encrypted_listed_without_data_and_read_back, |s| {
    let (p, key) = s.project("Vault").await;
    let at = At {
        s: &s,
        project: &p,
        key: &key,
    };
    let value = "sk-live-4d9c1e7b2a6f8e0d3c5b7a9f1e3d5c7b";
    let data = STANDARD.encode(json!({ "OPENAI_API_KEY": value }).to_string());
    let (st, info) = at
        .call(
            Method::POST,
            "/secrets",
            Some(json!({ "name": "env", "type": "keys", "data_base64": data })),
        )
        .await;
    assert_eq!(st, 201, "{info}");
    assert!(info.get("data_base64").is_none());
    let id = info["id"].as_str().unwrap().to_owned();
    let (st, _) = at
        .call(
            Method::POST,
            "/secrets",
            Some(json!({ "name": "env", "type": "keys", "data_base64": data })),
        )
        .await;
    assert_eq!(st, 409, "names are unique in a project");
    let (_, list) = at.call(Method::GET, "/secrets", None).await;
    assert!(!list.to_string().contains(&data));
    let (st, one) = at.call(Method::GET, &format!("/secrets/{id}"), None).await;
    assert_eq!(st, 200);
    assert_eq!(one["data_base64"], data);
    let docker = STANDARD
        .encode(json!({ "server": "ghcr.io", "username": "bot", "password": "pw-9d8c7b6a5f4e3d2c1b0a" }).to_string());
    let (st, upd) = at
        .call(
            Method::PUT,
            &format!("/secrets/{id}"),
            Some(json!({ "name": "registry", "type": "docker", "data_base64": docker })),
        )
        .await;
    assert_eq!((st, upd["type"].as_str()), (200, Some("docker")));
    let (st, _) = at
        .call(
            Method::POST,
            "/secrets",
            Some(json!({ "name": "bad", "type": "keys", "data_base64": "%%%" })),
        )
        .await;
    assert_eq!(st, 400);
    let db = s.database_bytes().await;
    assert!(
        contains(&db, "registry"),
        "the dump holds the secret's name, so the search is real"
    );
    for needle in [value, "pw-9d8c7b6a5f4e3d2c1b0a", data.as_str(), docker.as_str()] {
        assert!(!contains(&db, needle), "plaintext secret data found in the database");
    }
    let actions = s.audit_actions(&key, &p).await;
    assert!(
        actions.iter().any(|a| a == "project_secret.read"),
        "reading a secret is audited"
    );
    let (st, _) = at.call(Method::DELETE, &format!("/secrets/{id}"), None).await;
    assert_eq!(st, 204);
});
