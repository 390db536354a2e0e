//! Opaque access tokens: a resource whose `token_format` is `opaque` gets tokens that are not
//! JWTs and show nothing, from client credentials and user grants (code, refresh, device);
//! introspection (RFC 7662) reports them with the same "active" rules as JWTs (project, client,
//! revocation, expiry) on every node, revocation (RFC 7009) works on them, and Gatehouse's own
//! endpoints refuse them.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_testkit::{Browser, ShiftedClock, contains};
use reqwest::Method;
use serde_json::{Value, json};

use super::resource_indicators::{redeem, refresh_for, resource_url};
use super::{App, EMAIL, PASSWORD, REDIRECT, code_for, pkce, post_form, token};
use crate::nodes::{two_nodes, within_a_second};
use crate::resources::{introspect, jwt_parts};
use crate::{TestServer, api_test, backends};

const ORDERS: &str = "https://orders.acme.example";
const BILLING: &str = "https://billing.acme.example";
const PREFIX: &str = "gat1_";
const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A project with the opaque orders resource (`orders.read`, `orders.write`, 900 s) and the JWT
/// billing resource (`billing.read`): (project, key).
async fn opaque_project(s: &TestServer, name: &str) -> (String, String) {
    let (p, key) = s.project(name).await;
    for (identifier, scopes, format) in [
        (ORDERS, &["orders.read", "orders.write"][..], "opaque"),
        (BILLING, &["billing.read"][..], "jwt"),
    ] {
        let body = json!({ "identifier": identifier, "name": "API", "access_token_lifetime_secs": 900,
            "token_format": format,
            "scopes": scopes.iter().map(|s| json!({"name": s, "description": format!("Use {s}")})).collect::<Vec<_>>() });
        let path = format!("/accounts/projects/{p}/resources");
        let (st, r) = s.call_as(&key, Method::POST, &path, Some(body)).await;
        assert_eq!((st, r["token_format"].as_str()), (201, Some(format)), "{r}");
    }
    (p, key)
}

/// A confidential client of `project` with `settings`.
async fn app_of(s: &TestServer, key: &str, project: &str, settings: Value) -> App {
    let (id, secret) = s.client(key, project, settings).await;
    App {
        id,
        secret: secret.unwrap(),
    }
}

/// Asserts that `token` is an opaque token: the prefix, nothing a JWT parser splits, and none of
/// `hidden` readable in it.
fn assert_opaque(token: &str, hidden: &[&str]) {
    assert!(token.starts_with(PREFIX), "{token}");
    assert_eq!(token.split('.').count(), 1, "no JWS or JWE parts: {token}");
    for h in hidden {
        assert!(!token.contains(h), "{h} readable in {token}");
    }
}

/// Status and `WWW-Authenticate` of `GET path` with `token` as the bearer.
async fn bearer_status(s: &TestServer, path: &str, token: &str) -> (u16, String) {
    let res = s.req_as(token, Method::GET, path).send().await.unwrap();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (res.status().as_u16(), challenge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_tokens_of_an_opaque_resource_are_known_only_by_introspection() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let s = TestServer::spawn_clocked(backend, |_| {}, clock.clone()).await;
        let (p, key) = opaque_project(&s, "Acme").await;
        let svc = app_of(
            &s,
            &key,
            &p,
            json!({ "name": "svc", "grant_types": ["client_credentials"],
            "response_types": [], "scope": "orders.read billing.read gatehouse_api" }),
        )
        .await;
        let cc = |resource: &'static str| {
            let (s, svc) = (&s, &svc);
            async move { token(s, svc, &[("grant_type", "client_credentials"), ("resource", resource)]).await }
        };
        let (st, t) = cc(ORDERS).await;
        assert_eq!(st, 200, "{t}");
        assert_eq!(
            (t["token_type"].as_str(), t["scope"].as_str(), t["expires_in"].as_u64()),
            (Some("Bearer"), Some("orders.read"), Some(900))
        );
        let at = t["access_token"].as_str().unwrap().to_owned();
        assert_opaque(&at, &["orders", "acme", &svc.id, &p]);
        // Introspection by the project's key and by the client itself reports every claim.
        let seen = introspect(&s, &key, &at).await;
        assert_eq!(
            (seen["active"].as_bool(), seen["aud"].as_str(), seen["scope"].as_str()),
            (Some(true), Some(ORDERS), Some("orders.read")),
            "{seen}"
        );
        assert_eq!(
            (seen["client_id"].as_str(), seen["sub"].as_str(), seen["iss"].as_str()),
            (Some(svc.id.as_str()), Some(svc.id.as_str()), Some(s.base.as_str()))
        );
        assert_eq!(seen["exp"].as_i64().unwrap() - seen["iat"].as_i64().unwrap(), 900);
        assert_eq!(seen["project_id"], p);
        let (st, by_client) = post_form(&s, "/oauth/introspect", Some(&svc), &[("token", &at)]).await;
        assert_eq!((st, by_client["aud"].as_str()), (200, Some(ORDERS)), "{by_client}");
        // The other resource of the same client keeps its JWTs.
        let (_, jwt) = cc(BILLING).await;
        let (header, claims) = jwt_parts(jwt["access_token"].as_str().unwrap());
        assert_eq!(
            (header["typ"].as_str(), claims["aud"].as_str()),
            (Some("at+jwt"), Some(BILLING))
        );
        // Tampered with, cut, or without its prefix: inactive.
        let mut chars: Vec<char> = at.chars().collect();
        let mid = chars.len() / 2;
        chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        for bad in [tampered.as_str(), &at[..at.len() - 2], &at[PREFIX.len()..]] {
            assert_eq!(introspect(&s, &key, bad).await, json!({"active": false}), "{bad}");
        }
        // Another project's key and another project's client see nothing.
        let (q, other_key) = s.project("Other").await;
        assert_eq!(introspect(&s, &other_key, &at).await, json!({"active": false}));
        let stranger = app_of(
            &s,
            &other_key,
            &q,
            json!({ "name": "stranger",
            "grant_types": ["client_credentials"], "response_types": [] }),
        )
        .await;
        let (st, seen) = post_form(&s, "/oauth/introspect", Some(&stranger), &[("token", &at)]).await;
        assert_eq!((st, seen), (200, json!({"active": false})));
        // Gatehouse's own endpoints do not take it: it is for the project's resource.
        let (st, challenge) = bearer_status(&s, "/oauth/userinfo", &at).await;
        assert_eq!(st, 401);
        assert!(challenge.contains("invalid_token"), "{challenge}");
        let (st, _) = bearer_status(&s, &format!("/accounts/projects/{p}/resources"), &at).await;
        assert_eq!(st, 401, "the REST API");
        // Revoked by its client: inactive, and the other token stays active.
        let (_, t2) = cc(ORDERS).await;
        let revoked = t2["access_token"].as_str().unwrap();
        // Another client's revocation request does nothing (RFC 7009 §2.1).
        let (st, _) = post_form(&s, "/oauth/revoke", Some(&stranger), &[("token", revoked)]).await;
        assert_eq!(st, 200);
        assert_eq!(introspect(&s, &key, revoked).await["active"], true);
        let (st, _) = post_form(&s, "/oauth/revoke", Some(&svc), &[("token", revoked)]).await;
        assert_eq!(st, 200);
        assert_eq!(introspect(&s, &key, revoked).await, json!({"active": false}));
        assert_eq!(introspect(&s, &key, &at).await["active"], true);
        // Nothing of either token is in the database.
        let db = s.database_bytes().await;
        assert!(!contains(&db, &at[PREFIX.len()..PREFIX.len() + 40]));
        assert!(!contains(&db, &revoked[PREFIX.len()..PREFIX.len() + 40]));
        // Expired: inactive.
        clock.advance_secs(901);
        assert_eq!(introspect(&s, &key, &at).await, json!({"active": false}));
        s.stop().await;
    }
}

api_test!(user_grants_give_opaque_tokens_for_an_opaque_resource, |s| {
    s.user(EMAIL, PASSWORD).await;
    let (p, key) = opaque_project(&s, "Acme").await;
    let a = app_of(
        &s,
        &key,
        &p,
        json!({ "name": "app", "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", DEVICE],
        "scope": "openid offline_access orders.read billing.read" }),
    )
    .await;
    let (verifier, challenge) = pkce();
    let scope = "openid offline_access orders.read billing.read";
    let url = resource_url(&s, &a, &challenge, scope, &[ORDERS, BILLING]);
    let code = code_for(&Browser::new(&s.base), &url).await;
    let (st, t) = redeem(&s, &a, &code, &verifier, &[ORDERS]).await;
    assert_eq!((st, t["scope"].as_str()), (200, Some("orders.read")), "{t}");
    let at = t["access_token"].as_str().unwrap().to_owned();
    assert_opaque(&at, &["orders", &a.id, EMAIL]);
    // The ID token is the user's as ever, with the hash of the value handed out (OIDC Core §3.1.3.6).
    let id_token = jwt_parts(t["id_token"].as_str().unwrap()).1;
    assert_eq!(id_token["aud"], a.id);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, at.as_bytes());
    assert_eq!(id_token["at_hash"], URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]));
    let seen = introspect(&s, &key, &at).await;
    assert_eq!(
        (
            seen["active"].as_bool(),
            seen["aud"].as_str(),
            seen["username"].as_str()
        ),
        (Some(true), Some(ORDERS), Some(EMAIL)),
        "{seen}"
    );
    assert_eq!(seen["sub"], id_token["sub"]);
    // A refresh for the JWT resource gives a JWT, and for the opaque one a new opaque token.
    let (st, t) = refresh_for(&s, &a, t["refresh_token"].as_str().unwrap(), None, &[BILLING]).await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(jwt_parts(t["access_token"].as_str().unwrap()).1["aud"], BILLING);
    let (st, t) = refresh_for(&s, &a, t["refresh_token"].as_str().unwrap(), None, &[ORDERS]).await;
    assert_eq!(st, 200, "{t}");
    let refreshed = t["access_token"].as_str().unwrap().to_owned();
    assert_opaque(&refreshed, &["orders"]);
    assert_ne!(refreshed, at);
    assert_eq!(introspect(&s, &key, &refreshed).await["aud"], ORDERS);
    // The refresh response kept for the grace window is sealed: the token is not in the database.
    let db = s.database_bytes().await;
    assert!(!contains(&db, &refreshed[PREFIX.len()..PREFIX.len() + 40]));
    // Revoking the refresh token revokes its grant, and with it every access token of the grant.
    let rt = t["refresh_token"].as_str().unwrap();
    let (st, _) = post_form(&s, "/oauth/revoke", Some(&a), &[("token", rt)]).await;
    assert_eq!(st, 200);
    for t in [&at, &refreshed] {
        assert_eq!(introspect(&s, &key, t).await, json!({"active": false}));
    }
    // The device grant, for the opaque resource.
    let form = [("scope", "openid orders.read"), ("resource", ORDERS)];
    let (st, d) = post_form(&s, "/oauth/device_authorization", Some(&a), &form).await;
    assert_eq!(st, 200, "{d}");
    let b = Browser::new(&s.base);
    let page = b
        .follow(b.get(d["verification_uri_complete"].as_str().unwrap()).await)
        .await;
    let credentials = [("email", EMAIL), ("password", PASSWORD)];
    let page = b.follow(b.submit(&page.form(), &credentials, None).await).await;
    let confirm = b.submit(&page.form(), &[], None).await;
    b.submit(&confirm.form(), &[], Some(("decision", "allow"))).await;
    let dc = d["device_code"].as_str().unwrap();
    let poll = [("grant_type", DEVICE), ("device_code", dc), ("resource", ORDERS)];
    let (st, t) = token(&s, &a, &poll).await;
    assert_eq!(st, 200, "{t}");
    let device = t["access_token"].as_str().unwrap();
    assert_opaque(device, &["orders"]);
    let seen = introspect(&s, &key, device).await;
    assert_eq!(
        (seen["active"].as_bool(), seen["aud"].as_str()),
        (Some(true), Some(ORDERS)),
        "{seen}"
    );
});

api_test!(the_token_format_is_jwt_or_opaque, |s| {
    let (p, key) = s.project("Acme").await;
    let body = json!({ "identifier": ORDERS, "name": "API", "token_format": "paseto" });
    let path = format!("/accounts/projects/{p}/resources");
    let (st, r) = s.call_as(&key, Method::POST, &path, Some(body)).await;
    assert_eq!(st, 400, "{r}");
    let message = r["message"].as_str().unwrap();
    assert!(
        message.starts_with("token_format") && message.contains("jwt or opaque"),
        "{r}"
    );
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opaque_token_of_one_node_is_read_and_revoked_on_the_other() {
    let Some((a, b)) = two_nodes().await else { return };
    let (p, key) = opaque_project(&a, "Acme").await;
    let svc = app_of(
        &a,
        &key,
        &p,
        json!({ "name": "svc", "grant_types": ["client_credentials"],
        "response_types": [], "scope": "orders.read" }),
    )
    .await;
    let (st, t) = token(&a, &svc, &[("grant_type", "client_credentials"), ("resource", ORDERS)]).await;
    assert_eq!(st, 200, "{t}");
    let at = t["access_token"].as_str().unwrap();
    // Every node derives the same sealing key.
    assert_eq!(introspect(&b, &key, at).await["aud"], ORDERS);
    let (st, _) = post_form(&a, "/oauth/revoke", Some(&svc), &[("token", at)]).await;
    assert_eq!(st, 200);
    within_a_second("the revoked token going inactive on node B", async || {
        introspect(&b, &key, at).await["active"] == false
    })
    .await;
    b.stop().await;
    a.stop().await;
}
