//! RFC 8707 resource indicators on the user grants (authorization code, refresh, device): the
//! resources an authorization names are kept with its grant, each token is for one of them
//! (`aud`, RFC 9068 `at+jwt`) with that resource's scopes, and every refusal is `invalid_target`.

use gatehouse_testkit::Browser;
use serde_json::{Value, json};

use super::{App, EMAIL, PASSWORD, REDIRECT, claims, code_for, error_of, pkce, post_form, token};
use crate::resources::{introspect, jwt_parts, project_with_resources};
use crate::{TestServer, api_test};

const ORDERS: &str = "https://orders.acme.example";
const BILLING: &str = "https://billing.acme.example";
const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A project with the orders and billing resources, a user, and a confidential client of it
/// allowed both resources' read scopes, `orders.write` and `extra` settings: (client, project,
/// project key).
async fn resource_app(s: &TestServer, extra: Value) -> (App, String, String) {
    s.user(EMAIL, PASSWORD).await;
    let (p, key) = project_with_resources(s, "Acme").await;
    let mut settings = json!({
        "name": "Orders app",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", DEVICE],
        "scope": "openid offline_access orders.read orders.write billing.read",
    });
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let (id, secret) = s.client(&key, &p, settings).await;
    (
        App {
            id,
            secret: secret.unwrap(),
        },
        p,
        key,
    )
}

/// An authorization URL for `app` with PKCE, `scope` and the `resource`s.
pub(super) fn resource_url(s: &TestServer, app: &App, challenge: &str, scope: &str, resources: &[&str]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.extend_pairs([
        ("response_type", "code"),
        ("client_id", app.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "xyz"),
        ("nonce", "n-0S6"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    q.extend_pairs(resources.iter().map(|r| ("resource", *r)));
    format!("{}/oauth/authorize?{}", s.base, q.finish())
}

/// Redeems `code` with its verifier and the `resource`s.
pub(super) async fn redeem(s: &TestServer, app: &App, code: &str, verifier: &str, resources: &[&str]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    form.extend(resources.iter().map(|r| ("resource", *r)));
    token(s, app, &form).await
}

/// Refreshes with `rt`, an optional `scope` and the `resource`s.
pub(super) async fn refresh_for(
    s: &TestServer,
    app: &App,
    rt: &str,
    scope: Option<&str>,
    resources: &[&str],
) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    form.extend(scope.map(|s| ("scope", s)));
    form.extend(resources.iter().map(|r| ("resource", *r)));
    token(s, app, &form).await
}

/// Checks that `t` is a token response whose access token is an RFC 9068 token for `aud` with
/// `scope`, and returns the access token's claims.
fn assert_for(s: &TestServer, t: &Value, aud: &str, scope: &str) -> Value {
    let (header, c) = jwt_parts(t["access_token"].as_str().unwrap_or_else(|| panic!("no token: {t}")));
    assert_eq!(header["typ"], "at+jwt", "RFC 9068 §2.1");
    assert_eq!(
        (c["aud"].as_str(), c["scope"].as_str()),
        (Some(aud), Some(scope)),
        "{c}"
    );
    assert_eq!(t["scope"], scope, "the response says what the access token holds");
    assert_eq!(c["iss"], s.base);
    assert!(
        c["auth_time"].is_i64() && c["sub"].is_string() && c["jti"].is_string(),
        "{c}"
    );
    c
}

api_test!(a_code_grant_issues_tokens_for_each_resource_it_named, |s| {
    let (a, _, key) = resource_app(&s, json!({})).await;
    let b = Browser::new(&s.base);
    let (verifier, challenge) = pkce();
    let scope = "openid offline_access orders.read orders.write billing.read";
    let url = resource_url(&s, &a, &challenge, scope, &[ORDERS]);
    // The consent page lists the resource's scopes with the descriptions the resource gives.
    let consent = b.follow(b.get(&url).await).await;
    let consent = b
        .follow(
            b.submit(&consent.form(), &[("email", EMAIL), ("password", PASSWORD)], None)
                .await,
        )
        .await;
    assert!(consent.body.contains("Use orders.write"), "{}", consent.body);
    let listed = "<strong>billing.read</strong>";
    assert!(!consent.body.contains(listed), "not a scope of the named resource");
    let code = code_for(&b, &url).await;
    let (st, t) = redeem(&s, &a, &code, &verifier, &[ORDERS]).await;
    assert_eq!(st, 200, "{t}");
    let c = assert_for(&s, &t, ORDERS, "orders.read orders.write");
    assert_eq!(c["client_id"], a.id);
    // The ID token is the user's as ever: for the client, from the grant's scopes.
    assert_eq!(claims(t["id_token"].as_str().unwrap())["aud"], a.id);
    let seen = introspect(&s, &key, t["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (seen["active"].as_bool(), seen["aud"].as_str()),
        (Some(true), Some(ORDERS))
    );
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    // A refresh is for any resource the grant named, and may narrow its scopes.
    let (st, t) = refresh_for(&s, &a, &rt, Some("orders.read"), &[ORDERS]).await;
    assert_eq!(st, 200, "{t}");
    assert_for(&s, &t, ORDERS, "orders.read");
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    // A resource the grant did not name is refused, and the refresh token is not spent.
    let (st, e) = refresh_for(&s, &a, &rt, None, &[BILLING]).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_target")), "{e}");
    // Without a resource (and no default), the token is Gatehouse's own, with built-in scopes.
    let (st, t) = refresh_for(&s, &a, &rt, None, &[]).await;
    assert_eq!(st, 200, "{t}");
    assert_for(&s, &t, &s.base, "openid offline_access");
});

api_test!(
    a_grant_that_named_no_resource_covers_its_scopes_resources_and_the_default,
    |s| {
        let (a, _, _) = resource_app(&s, json!({ "default_resource": BILLING })).await;
        let b = Browser::new(&s.base);
        let (verifier, challenge) = pkce();
        let url = resource_url(
            &s,
            &a,
            &challenge,
            "openid offline_access orders.read billing.read",
            &[],
        );
        let code = code_for(&b, &url).await;
        // No resource: the client's default.
        let (st, t) = redeem(&s, &a, &code, &verifier, &[]).await;
        assert_eq!(st, 200, "{t}");
        assert_for(&s, &t, BILLING, "billing.read");
        // The resource of a granted scope.
        let (st, t) = refresh_for(&s, &a, t["refresh_token"].as_str().unwrap(), None, &[ORDERS]).await;
        assert_eq!(st, 200, "{t}");
        assert_for(&s, &t, ORDERS, "orders.read");
    }
);

/// Registers a resource `identifier` with one scope `scope` in `project`.
async fn add_resource(s: &TestServer, key: &str, project: &str, identifier: &str, scope: &str) {
    let body = json!({ "identifier": identifier, "name": "Other API",
        "scopes": [{ "name": scope, "description": "Other things" }] });
    let path = format!("/accounts/projects/{project}/resources");
    let (st, r) = s.call_as(key, reqwest::Method::POST, &path, Some(body)).await;
    assert_eq!(st, 201, "{r}");
}

api_test!(resources_a_client_may_not_have_are_invalid_target_at_authorize, |s| {
    let (a, p, key) = resource_app(&s, json!({})).await;
    // A resource of the project whose scopes the client holds none of.
    add_resource(&s, &key, &p, "https://audit.acme.example", "audit.read").await;
    // A resource of another project.
    let (other, other_key) = s.project("Other").await;
    add_resource(&s, &other_key, &other, "https://other.example", "other.read").await;
    let b = Browser::new(&s.base);
    let (_, challenge) = pkce();
    for resource in [
        "https://unknown.acme.example",
        "https://other.example",
        "https://audit.acme.example",
        "https://orders.acme.example#frag",
        "/orders",
        "orders",
    ] {
        let url = resource_url(&s, &a, &challenge, "openid orders.read", &[ORDERS, resource]);
        let e = error_of(&b.get(&url).await);
        assert_eq!(
            e.get("error").map(String::as_str),
            Some("invalid_target"),
            "{resource}: {e:?}"
        );
        assert_eq!(e.get("state").map(String::as_str), Some("xyz"), "{resource}");
    }
    let eleven: Vec<&str> = std::iter::repeat_n(ORDERS, 11).collect();
    let e = error_of(&b.get(&resource_url(&s, &a, &challenge, "openid", &eleven)).await);
    assert_eq!(e.get("error").map(String::as_str), Some("invalid_target"), "{e:?}");
});

api_test!(a_code_redeemed_for_a_resource_it_did_not_name_is_invalid_target, |s| {
    let (a, _, _) = resource_app(&s, json!({})).await;
    let b = Browser::new(&s.base);
    let (verifier, challenge) = pkce();
    let url = resource_url(&s, &a, &challenge, "openid orders.read billing.read", &[ORDERS]);
    let code = code_for(&b, &url).await;
    for resources in [
        &[BILLING][..],
        &["https://orders.acme.example#x"][..],
        &["orders"][..],
        &[ORDERS, BILLING][..],
    ] {
        let (st, e) = redeem(&s, &a, &code, &verifier, resources).await;
        assert_eq!(
            (st, e["error"].as_str()),
            (400, Some("invalid_target")),
            "{resources:?}: {e}"
        );
    }
    // The refusals did not spend the code.
    let (st, t) = redeem(&s, &a, &code, &verifier, &[ORDERS]).await;
    assert_eq!(st, 200, "{t}");
    assert_for(&s, &t, ORDERS, "orders.read");
    let (st, e) = redeem(&s, &a, &code, &verifier, &[ORDERS]).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_grant")), "a replay");
});

api_test!(the_device_grant_issues_tokens_for_the_resource_it_named, |s| {
    let (a, _, _) = resource_app(&s, json!({})).await;
    let authorize = |resource: &'static str| {
        let (s, a) = (&s, &a);
        async move {
            let form = [("scope", "openid orders.read billing.read"), ("resource", resource)];
            post_form(s, "/oauth/device_authorization", Some(a), &form).await
        }
    };
    for bad in [
        "https://unknown.acme.example",
        "https://orders.acme.example#x",
        "/orders",
    ] {
        let (st, e) = authorize(bad).await;
        assert_eq!((st, e["error"].as_str()), (400, Some("invalid_target")), "{bad}: {e}");
    }
    let (st, d) = authorize(ORDERS).await;
    assert_eq!(st, 200, "{d}");
    let b = Browser::new(&s.base);
    let page = b
        .follow(b.get(d["verification_uri_complete"].as_str().unwrap()).await)
        .await;
    let page = b
        .follow(
            b.submit(&page.form(), &[("email", EMAIL), ("password", PASSWORD)], None)
                .await,
        )
        .await;
    let confirm = b.submit(&page.form(), &[], None).await;
    assert!(confirm.body.contains("Use orders.read"), "{}", confirm.body);
    assert!(
        !confirm.body.contains("billing.read"),
        "not a scope of the named resource"
    );
    b.submit(&confirm.form(), &[], Some(("decision", "allow"))).await;
    let dc = d["device_code"].as_str().unwrap();
    let poll = |resource| [("grant_type", DEVICE), ("device_code", dc), ("resource", resource)];
    let (st, e) = token(&s, &a, &poll(BILLING)).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_target")), "{e}");
    let (st, t) = token(&s, &a, &poll(ORDERS)).await;
    assert_eq!(st, 200, "the refusal did not spend the device code: {t}");
    assert_for(&s, &t, ORDERS, "orders.read");
});
