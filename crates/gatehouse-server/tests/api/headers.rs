//! Response headers every client depends on: `Vary: Origin` on every answer of the CORS
//! endpoints, CORS on their errors, HSTS with an https issuer, and 415 for bodies in a charset
//! other than UTF-8.

use reqwest::{Method, Response};
use serde_json::json;

use crate::oauth_flows::{FormBody as _, app};
use crate::{TestServer, api_test, backends};

const ORIGIN: &str = "https://app.example";

fn varies_on_origin(res: &Response) -> bool {
    res.headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"))
}

fn allow_origin(res: &Response) -> Option<&str> {
    res.headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
}

api_test!(cors_endpoints_vary_on_origin_with_and_without_one, |s| {
    app(&s, json!({ "allowed_cors_origins": [ORIGIN] })).await;
    for path in [
        "/oauth/jwks",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/oauth/userinfo",
    ] {
        for origin in [None, Some(ORIGIN), Some("https://evil.example")] {
            let mut req = s.http.get(format!("{}{path}", s.base));
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let res = req.send().await.unwrap();
            assert!(varies_on_origin(&res), "{path} {origin:?}: {:?}", res.headers());
        }
    }
    for path in ["/oauth/token", "/oauth/revoke"] {
        for origin in [None, Some(ORIGIN), Some("https://evil.example")] {
            let mut req = s.http.post(format!("{}{path}", s.base));
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let res = req
                .form_pairs(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            assert!(varies_on_origin(&res), "{path} {origin:?}: {:?}", res.headers());
        }
    }
});

api_test!(oauth_errors_carry_cors_for_an_allowed_origin, |s| {
    let a = app(&s, json!({ "allowed_cors_origins": [ORIGIN] })).await;
    let post = |path: &'static str, origin: &'static str, ctype: &'static str, body: &'static str, secret: &str| {
        s.http
            .post(format!("{}{path}", s.base))
            .basic_auth(&a.id, Some(secret))
            .header("origin", origin)
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    let (good, bad) = (a.secret.as_str(), "wrong");
    let cases = [
        // Failed authentication, a malformed body: before the client is known.
        ("/oauth/token", form, "grant_type=client_credentials", bad, 401),
        ("/oauth/token", "text/plain", "grant_type=client_credentials", good, 400),
        ("/oauth/token", form, "grant_type=a&grant_type=b", good, 400),
        // An error once the client is known.
        ("/oauth/token", form, "grant_type=password", good, 400),
        ("/oauth/revoke", form, "token=x", bad, 401),
        ("/oauth/revoke", form, "", good, 400),
        ("/oauth/revoke", "text/plain", "token=x", good, 400),
    ];
    for (path, ctype, body, secret, status) in cases {
        let res = post(path, ORIGIN, ctype, body, secret).await.unwrap();
        assert_eq!(res.status(), status, "{path} {body}");
        assert_eq!(allow_origin(&res), Some(ORIGIN), "{path} {body}");
        assert!(varies_on_origin(&res));
        let e: serde_json::Value = res.json().await.unwrap();
        assert!(e["error"].is_string(), "{e}");
        let res = post(path, "https://evil.example", ctype, body, secret).await.unwrap();
        assert_eq!(allow_origin(&res), None, "{path} {body}");
    }
    let res = s
        .http
        .get(format!("{}/oauth/userinfo", s.base))
        .header("origin", ORIGIN)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(allow_origin(&res), Some(ORIGIN));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_sent_with_an_https_issuer_only() {
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend.clone(), |c| c.issuer = Some("https://id.example".into())).await;
        for path in ["/.well-known/openid-configuration", "/no/such/route", "/oauth/jwks"] {
            let res = s.http.get(format!("{}{path}", s.base)).send().await.unwrap();
            assert_eq!(
                res.headers()
                    .get("strict-transport-security")
                    .map(|v| v.to_str().unwrap()),
                Some("max-age=63072000; includeSubDomains"),
                "{path}"
            );
        }
        s.stop().await;
        let s = TestServer::spawn(backend).await;
        let res = s.http.get(format!("{}/oauth/jwks", s.base)).send().await.unwrap();
        assert!(res.headers().get("strict-transport-security").is_none());
        s.stop().await;
    }
}

api_test!(bodies_in_another_charset_than_utf8_are_refused_with_415, |s| {
    let (p, key) = s.project("Charset").await;
    let url = format!("{}/accounts/projects/{p}/oauth/clients", s.base);
    let body = json!({ "name": "x", "redirect_uris": ["https://a.example/cb"] }).to_string();
    let create = |ctype: &'static str| {
        s.http
            .post(&url)
            .bearer_auth(&key)
            .header("content-type", ctype)
            .body(body.clone())
            .send()
    };
    for ctype in [
        "application/json; charset=utf-16",
        "application/json;charset=\"ISO-8859-1\"",
    ] {
        let res = create(ctype).await.unwrap();
        assert_eq!(res.status(), 415, "{ctype}");
        let e: serde_json::Value = res.json().await.unwrap();
        assert_eq!(e["error"], "unsupported_media_type", "{e}");
    }
    let clients = format!("/accounts/projects/{p}/oauth/clients");
    let (_, list) = s.call_as(&key, Method::GET, &clients, None).await;
    assert_eq!(list["total"], 0, "nothing was stored");
    for ctype in ["application/json; charset=utf-8", "application/json; charset=\"UTF-8\""] {
        assert_eq!(create(ctype).await.unwrap().status(), 201, "{ctype}");
    }
    let a = app(&s, json!({})).await;
    let token = |ctype: &'static str| {
        s.http
            .post(format!("{}/oauth/token", s.base))
            .basic_auth(&a.id, Some(&a.secret))
            .header("content-type", ctype)
            .body("grant_type=client_credentials")
            .send()
    };
    let res = token("application/x-www-form-urlencoded; charset=iso-8859-1")
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let e: serde_json::Value = res.json().await.unwrap();
    assert_eq!(e["error"], "invalid_request", "{e}");
    for ctype in [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded",
    ] {
        assert_eq!(token(ctype).await.unwrap().status(), 200, "{ctype}");
    }
});
