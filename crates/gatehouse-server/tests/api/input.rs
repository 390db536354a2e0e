//! Bad input gets a clear 4xx and stores nothing: malformed and unknown-field JSON, oversized
//! bodies, overlong strings and lists, invalid UTF-8, wrong content types, unknown ids.

use reqwest::Method;
use serde_json::json;

use crate::api_test;

api_test!(
    malformed_oversized_and_mistyped_bodies_are_refused_and_store_nothing,
    |s| {
        let (p, key) = s.project("Input").await;
        let base = format!("/accounts/projects/{p}/oauth/clients");
        let url = format!("{}{base}", s.base);
        let send = |body: Vec<u8>, ctype: &'static str| {
            s.http
                .post(&url)
                .bearer_auth(&key)
                .header("content-type", ctype)
                .body(body)
                .send()
        };
        let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (b"{\"name\": ".to_vec(), "application/json", 400, "invalid_request"),
        (b"[1,2]".to_vec(), "application/json", 400, "invalid_request"),
        (br#"{"name":"x","redirect_uris":["https://a.example/cb"],"nmae":"typo"}"#.to_vec(), "application/json", 400, "invalid_request"),
        (b"{\"name\":\"\xff\xfe\"}".to_vec(), "application/json", 400, "invalid_request"),
        (br#"{"name":"x"}"#.to_vec(), "text/plain", 415, "unsupported_media_type"),
        (format!(r#"{{"name":"{}"}}"#, "x".repeat(70 * 1024)).into_bytes(), "application/json", 413, "payload_too_large"),
        (json!({ "name": "x".repeat(201), "redirect_uris": ["https://a.example/cb"] }).to_string().into_bytes(), "application/json", 400, "invalid_request"),
        (json!({ "name": "x", "redirect_uris": (0..101).map(|i| format!("https://a.example/{i}")).collect::<Vec<_>>() }).to_string().into_bytes(), "application/json", 400, "invalid_request"),
        (json!({ "name": "x", "redirect_uris": [format!("https://a.example/{}", "p".repeat(2100))] }).to_string().into_bytes(), "application/json", 400, "invalid_request"),
        (json!({ "name": "x", "redirect_uris": ["https://a.example/cb"], "access_token_ttl": -5 }).to_string().into_bytes(), "application/json", 400, "invalid_request"),
        (json!({ "name": "x", "redirect_uris": ["https://a.example/cb"], "allowed_cors_origins": ["https://a.example/"] }).to_string().into_bytes(), "application/json", 400, "invalid_request"),
    ];
        for (body, ctype, status, code) in cases {
            let res = send(body, ctype).await.unwrap();
            assert_eq!(res.status().as_u16(), status);
            let e: serde_json::Value = res.json().await.unwrap();
            assert_eq!(e["error"], code, "{e}");
            assert!(!e["message"].as_str().unwrap().is_empty());
        }
        let res = s.http.post(&url).bearer_auth(&key).body("{}").send().await.unwrap();
        assert_eq!(res.status(), 415, "a body without a content type is refused");
        let (_, list) = s.call_as(&key, Method::GET, &base, None).await;
        assert_eq!(list["total"], 0, "nothing was stored");
        let actions = s.audit_actions(&key, &p).await;
        assert!(actions.iter().all(|a| a != "client.create"));
    }
);

api_test!(validation_errors_name_the_field, |s| {
    let (p, key) = s.project("Fields").await;
    let base = format!("/accounts/projects/{p}/oauth/clients");
    let (st, e) = s.call_as(&key, Method::POST, &base, Some(json!({ "name": "x" }))).await;
    assert_eq!(st, 400);
    assert!(e["message"].as_str().unwrap().starts_with("redirect_uris:"), "{e}");
    let (st, e) = s
        .call_as(
            &key,
            Method::POST,
            &base,
            Some(json!({ "name": "x", "redirect_uris": ["https://a.example/cb"], "scope": "openid llm_proxy" })),
        )
        .await;
    assert_eq!(st, 403, "llm_proxy needs can_use_llm_proxy: {e}");
    let (st, _) = s
        .call(
            Method::POST,
            &base,
            Some(json!({ "name": "x", "redirect_uris": ["https://a.example/cb"], "scope": "openid llm_proxy" })),
        )
        .await;
    assert_eq!(st, 201, "admins may");
});

api_test!(unknown_ids_and_routes_are_404_json, |s| {
    let (p, key) = s.project("Ids").await;
    for path in [
        format!("/accounts/projects/{}", uuid::Uuid::new_v4()),
        "/accounts/projects/not-a-uuid".to_string(),
        format!("/accounts/projects/{p}/oauth/clients/nope-nope"),
        format!("/accounts/projects/{p}/oauth/clients/bad%20id"),
        format!("/accounts/projects/{p}/secrets/{}", uuid::Uuid::new_v4()),
        format!("/accounts/projects/{p}/external-oauth/{}", uuid::Uuid::new_v4()),
        "/no/such/route".to_string(),
    ] {
        let method = if path.contains("external-oauth") {
            Method::DELETE
        } else {
            Method::GET
        };
        let (st, e) = s.call_as(&key, method, &path, None).await;
        assert_eq!((st, e["error"].as_str()), (404, Some("not_found")), "{path}");
    }
    let (st, e) = s
        .call_as(
            &key,
            Method::PATCH,
            &format!("/accounts/projects/{p}/oauth/clients"),
            None,
        )
        .await;
    assert_eq!((st, e["error"].as_str()), (405, Some("method_not_allowed")));
    let (st, e) = s
        .call_as(
            &key,
            Method::GET,
            &format!("/accounts/projects/{p}/oauth/clients/export?format=docx"),
            None,
        )
        .await;
    assert_eq!(st, 400, "{e}");
});
