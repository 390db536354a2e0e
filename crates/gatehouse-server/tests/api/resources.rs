//! API resources (SPEC §5.7): registration, validation naming the field, uniqueness per project,
//! tenancy, audit, and deletion of a resource clients use.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, api_test};

/// A resource body: `identifier` with `scopes`, each described as "Use <scope>".
pub fn orders(identifier: &str, scopes: &[&str]) -> Value {
    json!({
        "identifier": identifier,
        "name": "Orders API",
        "scopes": scopes.iter().map(|s| json!({"name": s, "description": format!("Use {s}")})).collect::<Vec<_>>(),
        "access_token_lifetime_secs": 900,
        "signing_alg": "ES256",
        "token_format": "jwt",
    })
}

async fn call(
    s: &TestServer,
    key: &str,
    project: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    s.call_as(
        key,
        method,
        &format!("/accounts/projects/{project}/resources{path}"),
        body,
    )
    .await
}

api_test!(resources_are_created_read_replaced_and_deleted_with_audit, |s| {
    let (p, key) = s.project("Acme").await;
    let (st, r) = create(
        &s,
        &key,
        &p,
        orders("https://api.acme.example", &["orders.read", "orders.write"]),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["identifier"], "https://api.acme.example");
    assert_eq!(r["scopes"][1]["name"], "orders.write");
    assert_eq!(
        (r["access_token_lifetime_secs"].as_u64(), r["token_format"].as_str()),
        (Some(900), Some("jwt"))
    );
    let id = r["id"].as_str().unwrap().to_owned();
    let (st, got) = call(&s, &key, &p, Method::GET, &format!("/{id}"), None).await;
    assert_eq!((st, &got), (200, &r));
    let mut changed = orders("https://api.acme.example/v2", &["orders.read"]);
    changed["signing_alg"] = json!("EdDSA");
    let (st, u) = call(&s, &key, &p, Method::PUT, &format!("/{id}"), Some(changed)).await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(
        (
            u["identifier"].as_str(),
            u["token_format"].as_str(),
            u["signing_alg"].as_str()
        ),
        (Some("https://api.acme.example/v2"), Some("jwt"), Some("EdDSA"))
    );
    let (_, list) = call(&s, &key, &p, Method::GET, "", None).await;
    assert_eq!(list["resources"].as_array().unwrap().len(), 1);
    assert_eq!(list["resources"][0]["scopes"].as_array().unwrap().len(), 1);
    let (st, _) = call(&s, &key, &p, Method::DELETE, &format!("/{id}"), None).await;
    assert_eq!(st, 204);
    let (st, _) = call(&s, &key, &p, Method::DELETE, &format!("/{id}"), None).await;
    assert_eq!(st, 404);
    let actions = s.audit_actions(&key, &p).await;
    for a in ["resource.create", "resource.update", "resource.delete"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
});

api_test!(resource_input_is_refused_naming_the_field, |s| {
    let (p, key) = s.project("Acme").await;
    let cases: Vec<(Value, &str)> = vec![
        (orders("api.acme.example", &[]), "identifier"),
        (orders("https://api.acme.example/#frag", &[]), "identifier"),
        (orders("https://api.acme.example", &["orders read"]), "scopes"),
        (orders("https://api.acme.example", &["caf\u{e9}"]), "scopes"),
        (orders("https://api.acme.example", &["openid"]), "scopes"),
        (orders("https://api.acme.example", &["a", "a"]), "scopes"),
        (
            {
                let mut b = orders("https://api.acme.example", &[]);
                b["name"] = json!(" ");
                b
            },
            "name",
        ),
        (
            {
                let mut b = orders("https://api.acme.example", &[]);
                b["access_token_lifetime_secs"] = json!(10);
                b
            },
            "access_token_lifetime_secs",
        ),
        (
            {
                let mut b = orders("https://api.acme.example", &[]);
                b["signing_alg"] = json!("HS256");
                b
            },
            "signing_alg",
        ),
        (
            {
                let mut b = orders("https://api.acme.example", &[]);
                b["token_format"] = json!("paseto");
                b
            },
            "token_format",
        ),
        (
            {
                let mut b = orders("https://api.acme.example", &[]);
                b["audience"] = json!("x");
                b
            },
            "audience",
        ),
        (json!({"name": "x"}), "identifier"),
        (
            {
                let mut b = orders("https://api.acme.example", &[]);
                b["identifier"] = json!(format!("https://a.example/{}", "x".repeat(3000)));
                b
            },
            "identifier",
        ),
    ];
    for (body, field) in cases {
        let (st, r) = create(&s, &key, &p, body.clone()).await;
        assert_eq!(st, 400, "{body} -> {r}");
        assert!(r["message"].as_str().unwrap().contains(field), "{field} named in {r}");
    }
    let (_, list) = call(&s, &key, &p, Method::GET, "", None).await;
    assert_eq!(list["resources"], json!([]));
});

api_test!(identifiers_and_scope_names_are_unique_per_project_only, |s| {
    let (p, key) = s.project("Acme").await;
    let (q, other_key) = s.project("Other").await;
    let (st, _) = create(&s, &key, &p, orders("https://api.acme.example", &["orders.read"])).await;
    assert_eq!(st, 201);
    let (st, r) = create(&s, &key, &p, orders("https://api.acme.example", &["x"])).await;
    assert_eq!(st, 400, "{r}");
    assert!(r["message"].as_str().unwrap().starts_with("identifier"), "{r}");
    let (st, r) = create(&s, &key, &p, orders("https://billing.acme.example", &["orders.read"])).await;
    assert_eq!(st, 400, "{r}");
    assert!(r["message"].as_str().unwrap().contains("\"orders.read\""), "{r}");
    // Another project may use the same identifier and scope names.
    let (st, r2) = create(&s, &other_key, &q, orders("https://api.acme.example", &["orders.read"])).await;
    assert_eq!(st, 201, "{r2}");
    // And neither project sees, changes or deletes the other's resource.
    let other_id = r2["id"].as_str().unwrap();
    for m in [Method::GET, Method::DELETE] {
        let (st, _) = call(&s, &key, &p, m, &format!("/{other_id}"), None).await;
        assert_eq!(st, 404);
    }
    let (st, _) = call(&s, &key, &q, Method::GET, "", None).await;
    assert_eq!(st, 404, "a key of another project");
    let (st, _) = call(
        &s,
        &key,
        &p,
        Method::PUT,
        &format!("/{other_id}"),
        Some(orders("https://x.example", &[])),
    )
    .await;
    assert_eq!(st, 404);
});

/// `POST …/resources` with `body`.
pub async fn create(s: &TestServer, key: &str, project: &str, body: Value) -> (u16, Value) {
    call(s, key, project, Method::POST, "", Some(body)).await
}

/// A token request of client `id` with its secret; the status and the JSON answer.
pub async fn token(s: &TestServer, id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let res = s
        .http
        .post(format!("{}/oauth/token", s.base))
        .basic_auth(id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// RFC 7662 introspection of `token` with the project's API key.
pub async fn introspect(s: &TestServer, key: &str, token: &str) -> Value {
    let res = s
        .http
        .post(format!("{}/oauth/introspect", s.base))
        .bearer_auth(key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("token", token)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The header and claims of a JWT, unverified.
pub fn jwt_parts(jwt: &str) -> (Value, Value) {
    use base64::Engine;
    let part = |p: &str| -> Value {
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
    };
    let mut it = jwt.split('.');
    (part(it.next().unwrap()), part(it.next().unwrap()))
}

/// A project named `name` with two resources, `https://orders.acme.example` (`orders.read`,
/// `orders.write`) and `https://billing.acme.example` (`billing.read`, `billing.write`), each
/// scope described as "Use <scope>": (project, key).
pub async fn project_with_resources(s: &TestServer, name: &str) -> (String, String) {
    let (p, key) = s.project(name).await;
    for (id, scopes) in [
        ("https://orders.acme.example", ["orders.read", "orders.write"]),
        ("https://billing.acme.example", ["billing.read", "billing.write"]),
    ] {
        let (st, r) = create(s, &key, &p, orders(id, &scopes)).await;
        assert_eq!(st, 201, "{r}");
    }
    (p, key)
}

/// A [`project_with_resources`] and a confidential client_credentials client holding `scope`:
/// (project, key, client id, secret).
pub async fn with_resources(
    s: &TestServer,
    scope: &str,
    default_resource: Option<&str>,
) -> (String, String, String, String) {
    let (p, key) = project_with_resources(s, "Acme").await;
    let mut body =
        json!({ "name": "svc", "grant_types": ["client_credentials"], "response_types": [], "scope": scope });
    if let Some(d) = default_resource {
        body["default_resource"] = json!(d);
    }
    let (id, secret) = s.client(&key, &p, body).await;
    (p, key, id, secret.unwrap())
}

api_test!(client_credentials_tokens_are_bound_to_the_resource_named, |s| {
    let (p, key, id, secret) = with_resources(&s, "gatehouse_api orders.read billing.read", None).await;
    let (_, other_project_key) = s.project("Other").await;
    let cc = [("grant_type", "client_credentials")];
    let (st, t) = token(&s, &id, &secret, &[cc[0], ("resource", "https://orders.acme.example")]).await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(
        (t["scope"].as_str(), t["expires_in"].as_u64()),
        (Some("orders.read"), Some(900))
    );
    let (header, claims) = jwt_parts(t["access_token"].as_str().unwrap());
    assert_eq!(
        (header["typ"].as_str(), header["alg"].as_str()),
        (Some("at+jwt"), Some("ES256"))
    );
    assert_eq!(claims["aud"], "https://orders.acme.example");
    assert_eq!(
        (claims["sub"].as_str(), claims["client_id"].as_str()),
        (Some(id.as_str()), Some(id.as_str()))
    );
    for c in ["iss", "exp", "iat", "jti", "scope"] {
        assert!(claims.get(c).is_some(), "{c} in {claims}");
    }
    assert!(claims.get("auth_time").is_none(), "no user signed in");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    let intro = introspect(&s, &key, t["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (intro["active"].as_bool(), intro["aud"].as_str()),
        (Some(true), Some("https://orders.acme.example"))
    );
    let intro = introspect(&s, &other_project_key, t["access_token"].as_str().unwrap()).await;
    assert_eq!(intro["active"], false, "another project's key");
    // Scopes of another resource, asked for with this one, are dropped; only those is invalid_scope.
    let (_, t) = token(
        &s,
        &id,
        &secret,
        &[
            cc[0],
            ("resource", "https://orders.acme.example"),
            ("scope", "orders.read billing.read"),
        ],
    )
    .await;
    assert_eq!(t["scope"], "orders.read");
    let (st, e) = token(
        &s,
        &id,
        &secret,
        &[
            cc[0],
            ("resource", "https://orders.acme.example"),
            ("scope", "billing.read"),
        ],
    )
    .await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_scope")));
    // Without a resource: Gatehouse's own audience and built-in scopes only.
    let (_, t) = token(&s, &id, &secret, &cc).await;
    assert_eq!(t["scope"], "gatehouse_api");
    let claims = jwt_parts(t["access_token"].as_str().unwrap()).1;
    assert_eq!(claims["aud"], claims["iss"]);
    // invalid_target: unknown, two at once, one whose scopes the client does not hold.
    let (other, other_secret) = s.client(&key, &p, json!({ "name": "orders-only", "grant_types": ["client_credentials"], "response_types": [], "scope": "orders.write" })).await;
    let (st, e) = token(
        &s,
        &other,
        &other_secret.unwrap(),
        &[cc[0], ("resource", "https://billing.acme.example")],
    )
    .await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_target")));
    for resource in [
        &["https://nowhere.example"][..],
        &["https://orders.acme.example", "https://billing.acme.example"][..],
    ] {
        let mut form = cc.to_vec();
        form.extend(resource.iter().map(|r| ("resource", *r)));
        let (st, e) = token(&s, &id, &secret, &form).await;
        assert_eq!((st, e["error"].as_str()), (400, Some("invalid_target")), "{resource:?}");
    }
});

api_test!(a_default_resource_serves_requests_that_name_none, |s| {
    let (_, _, id, secret) =
        with_resources(&s, "billing.read gatehouse_api", Some("https://billing.acme.example")).await;
    let (st, t) = token(&s, &id, &secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["scope"], "billing.read");
    assert_eq!(
        jwt_parts(t["access_token"].as_str().unwrap()).1["aud"],
        "https://billing.acme.example"
    );
    let (st, e) = token(
        &s,
        &id,
        &secret,
        &[
            ("grant_type", "client_credentials"),
            ("resource", "https://orders.acme.example"),
        ],
    )
    .await;
    assert_eq!(
        (st, e["error"].as_str()),
        (400, Some("invalid_target")),
        "no orders scope held"
    );
});

api_test!(clients_hold_only_their_own_projects_resource_scopes, |s| {
    let (p, key, id, _) = with_resources(&s, "orders.read", None).await;
    let (q, other_key) = s.project("Other").await;
    let (st, _) = create(&s, &other_key, &q, orders("https://other.example", &["other.read"])).await;
    assert_eq!(st, 201);
    let clients = format!("/accounts/projects/{p}/oauth/clients");
    let base = json!({ "name": "x", "grant_types": ["client_credentials"], "response_types": [] });
    for (field, value, named) in [
        ("scope", "orders.read other.read", "\"other.read\""),
        ("scope", "made.up", "\"made.up\""),
        ("default_resource", "https://other.example", "default_resource"),
        ("default_resource", "not a uri", "default_resource"),
    ] {
        let mut body = base.clone();
        body[field] = json!(value);
        let (st, r) = s.call_as(&key, Method::POST, &clients, Some(body)).await;
        assert_eq!(st, 400, "{field}={value}: {r}");
        assert!(r["message"].as_str().unwrap().contains(named), "{named} in {r}");
        assert!(r["message"].as_str().unwrap().starts_with(field), "{r}");
    }
    let (st, r) = s
        .call_as(
            &key,
            Method::PUT,
            &format!("{clients}/{id}"),
            Some(json!({ "scope": "other.read" })),
        )
        .await;
    assert_eq!(st, 400, "{r}");
    // A resource a client uses is deleted only with force; its scopes then leave the tokens.
    let (_, list) = call(&s, &key, &p, Method::GET, "", None).await;
    let orders_id = list["resources"][0]["id"].as_str().unwrap().to_owned();
    let (st, r) = call(&s, &key, &p, Method::DELETE, &format!("/{orders_id}"), None).await;
    assert_eq!(st, 409, "{r}");
    assert!(r["message"].as_str().unwrap().contains(&id), "{r}");
    let (st, _) = call(&s, &key, &p, Method::DELETE, &format!("/{orders_id}?force=true"), None).await;
    assert_eq!(st, 204);
    let billing_id = list["resources"][1]["id"].as_str().unwrap();
    let (st, _) = call(&s, &key, &p, Method::DELETE, &format!("/{billing_id}"), None).await;
    assert_eq!(st, 204, "a resource no client uses needs no force");
});

api_test!(each_resource_has_protected_resource_metadata, |s| {
    let (p, key, _, _) = with_resources(&s, "orders.read", None).await;
    let (_, list) = call(&s, &key, &p, Method::GET, "", None).await;
    let orders = list["resources"][0].clone();
    let id = orders["id"].as_str().unwrap();
    let path = format!("/.well-known/oauth-protected-resource/{p}/{id}");
    let res = s.http.get(format!("{}{path}", s.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let doc: Value = res.json().await.unwrap();
    let issuer = s.get_json("/.well-known/oauth-authorization-server").await["issuer"].clone();
    assert_eq!(
        doc,
        json!({
            "resource": "https://orders.acme.example",
            "resource_name": "Orders API",
            "authorization_servers": [issuer],
            "scopes_supported": ["orders.read", "orders.write"],
            "bearer_methods_supported": ["header"],
        })
    );
    // A change shows at once; another project's id, an unknown id or a malformed one are 404.
    let mut body = orders.clone();
    for f in ["id", "project_id", "created_at", "updated_at"] {
        body.as_object_mut().unwrap().remove(f);
    }
    body["scopes"] = json!([{ "name": "orders.admin", "description": "" }]);
    let (st, r) = call(&s, &key, &p, Method::PUT, &format!("/{id}"), Some(body)).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(s.get_json(&path).await["scopes_supported"], json!(["orders.admin"]));
    let (q, _) = s.project("Other").await;
    for other in [
        format!("/.well-known/oauth-protected-resource/{q}/{id}"),
        format!("/.well-known/oauth-protected-resource/{p}/{}", uuid::Uuid::nil()),
        format!("/.well-known/oauth-protected-resource/{p}/x"),
    ] {
        let res = s.http.get(format!("{}{other}", s.base)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{other}");
    }
});
