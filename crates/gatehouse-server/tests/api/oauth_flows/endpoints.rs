//! The token endpoint's error answers (RFC 6749 §5.2) and what discovery and the JWKS publish.

use serde_json::{Value, json};

use super::{FormBody as _, app, post_form, token};
use crate::api_test;

api_test!(malformed_token_requests_get_rfc_6749_errors, |s| {
    let a = app(&s, json!({})).await;
    let (st, e) = token(&s, &a, &[]).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("invalid_request")));
    let (st, e) = token(&s, &a, &[("grant_type", "password")]).await;
    assert_eq!((st, e["error"].as_str()), (400, Some("unsupported_grant_type")));
    let (st, e) = token(
        &s,
        &a,
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(
        (st, e["error"].as_str()),
        (400, Some("invalid_request")),
        "parameters appear once"
    );
    let (st, e) = post_form(&s, "/oauth/token", None, &[("grant_type", "client_credentials")]).await;
    assert_eq!((st, e["error"].as_str()), (401, Some("invalid_client")));
    // Two authentication methods at once are refused, and JSON is not a token request.
    let token_post = |secret: &str| {
        s.http
            .post(format!("{}/oauth/token", s.base))
            .basic_auth(&a.id, Some(secret.to_owned()))
    };
    let both = token_post(&a.secret).form_pairs(&[("grant_type", "client_credentials"), ("client_secret", &a.secret)]);
    assert_eq!(both.send().await.unwrap().status(), 400);
    let json = token_post(&a.secret).json(&json!({ "grant_type": "client_credentials" }));
    assert_eq!(json.send().await.unwrap().status(), 400);
    // A wrong Basic secret gets a Basic challenge.
    let res = token_post("wrong")
        .form_pairs(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    // An oversized body is refused before anything else.
    let big = "x".repeat(200 * 1024);
    let (st, _) = token(&s, &a, &[("grant_type", "client_credentials"), ("scope", &big)]).await;
    assert_eq!(st, 413);
});

api_test!(discovery_and_jwks_describe_what_the_server_does, |s| {
    let meta: Value = s.get_json("/.well-known/openid-configuration").await;
    let same: Value = s.get_json("/.well-known/oauth-authorization-server").await;
    assert_eq!(meta, same);
    assert_eq!(meta["issuer"], s.base.as_str());
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["request_uri_parameter_supported"], false);
    for key in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "device_authorization_endpoint",
        "end_session_endpoint",
    ] {
        let url = meta[key].as_str().unwrap();
        assert!(url.starts_with(&s.base), "{key}");
        let res = s.http.get(url).send().await.unwrap();
        assert_ne!(res.status(), 404, "{key} is served");
    }
    let res = s.http.get(format!("{}/oauth/jwks", s.base)).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("max-age=300"));
    let jwks: Value = res.json().await.unwrap();
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    for alg in ["ES256", "RS256", "EdDSA"] {
        assert!(algs.contains(&alg), "{alg} published");
    }
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"].is_string() && k.get("d").is_none()),
        "public keys only"
    );
    let again = s
        .http
        .get(format!("{}/oauth/jwks", s.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
});
