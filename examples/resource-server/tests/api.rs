//! The example against a real Gatehouse (port 0, both backends) on a clock the test moves: the
//! `oauth2` crate gets client credentials tokens with RFC 8707 `resource`, and the example's
//! router, served on a loopback port, accepts them for its resource only, answers each refusal
//! as RFC 6750 §3 says, and follows a signing-key rotation by refetching the JWKS once.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::jose::SigningAlg;
use gatehouse_testkit::{ShiftedClock, TestServer, backends};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, HttpRequest, HttpResponse, Scope, TokenResponse as _, TokenUrl};
use reqwest::Method;
use resource_server::{ResourceServer, Settings};
use serde_json::{Value, json};

const ORDERS: &str = "https://orders.acme.example";
/// The start of every challenge: the realm and the RFC 9728 §5.1 metadata URL of `ORDERS`.
const CHALLENGE: &str = "Bearer realm=\"https://orders.acme.example\", resource_metadata=\"https://orders.acme.example/.well-known/oauth-protected-resource\"";
const BILLING: &str = "https://billing.acme.example";

/// The `oauth2` crate's HTTP calls, through reqwest.
async fn send(request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let res = reqwest::Client::new()
        .execute(reqwest::Request::try_from(request)?)
        .await?;
    let (status, headers) = (res.status(), res.headers().clone());
    let mut out = HttpResponse::new(res.bytes().await?.to_vec());
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

/// A client credentials token for client `(id, secret)`, with `resource` when given.
async fn token(s: &TestServer, (id, secret): (&str, &str), scope: Option<&str>, resource: Option<&str>) -> String {
    let client = BasicClient::new(ClientId::new(id.into()))
        .set_client_secret(ClientSecret::new(secret.into()))
        .set_token_uri(TokenUrl::new(format!("{}/oauth/token", s.base)).unwrap());
    let mut request = client.exchange_client_credentials();
    if let Some(scope) = scope {
        request = request.add_scope(Scope::new(scope.into()));
    }
    if let Some(resource) = resource {
        request = request.add_extra_param("resource", resource);
    }
    let response = request
        .request_async(&send)
        .await
        .unwrap_or_else(|e| panic!("client credentials fail: {e:?}"));
    response.access_token().secret().clone()
}

/// A call of the example: status, `WWW-Authenticate` and JSON body.
async fn call(api: &str, method: Method, path: &str, bearer: Option<&str>) -> (u16, String, Value) {
    let mut r = reqwest::Client::new().request(method, format!("{api}{path}"));
    if let Some(b) = bearer {
        r = r.header("authorization", format!("Bearer {b}"));
    }
    let res = r.send().await.unwrap();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        res.status().as_u16(),
        challenge,
        res.json().await.unwrap_or(Value::Null),
    )
}

/// The challenge of a refusal with `error` and its description.
fn refused(error: &str, description: &str) -> String {
    format!("{CHALLENGE}, error=\"{error}\", error_description=\"{description}\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_accepts_gatehouse_tokens_for_its_resource_and_follows_key_rotation() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let s = TestServer::spawn_clocked(backend, |_| {}, clock.clone()).await;
        let (project, key) = s.project("Acme").await;
        // Orders tokens are signed with EdDSA, billing's with RS256, Gatehouse's own with ES256.
        for (identifier, alg, scopes) in [
            (ORDERS, "EdDSA", ["orders.read", "orders.write"]),
            (BILLING, "RS256", ["billing.read", "billing.write"]),
        ] {
            let body = json!({ "identifier": identifier, "name": "API", "signing_alg": alg,
                "scopes": scopes.map(|s| json!({ "name": s, "description": s })) });
            let path = format!("/accounts/projects/{project}/resources");
            let (st, r) = s.call_as(&key, Method::POST, &path, Some(body)).await;
            assert_eq!(st, 201, "{r}");
        }
        let client = |scope: &'static str| {
            let (s, key, project) = (&s, &key, &project);
            async move {
                let settings = json!({ "name": scope, "grant_types": ["client_credentials"],
                    "response_types": [], "scope": scope });
                let (id, secret) = s.client(key, project, settings).await;
                (id, secret.unwrap())
            }
        };
        let (reader_id, reader_secret) = client("orders.read billing.read gatehouse_api").await;
        let reader = (reader_id.as_str(), reader_secret.as_str());
        let (writer_id, writer_secret) = client("orders.read orders.write").await;
        let writer = (writer_id.as_str(), writer_secret.as_str());

        let rs = ResourceServer::discover(Settings {
            issuer: s.base.clone(),
            resource: ORDERS.into(),
        })
        .await
        .expect("the example discovers Gatehouse");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}", listener.local_addr().unwrap());
        let router = rs.clone().router();
        let served = tokio::spawn(async move { axum::serve(listener, router).await });

        // A token for this resource reads; the read scope does not write, the write scope does.
        let read = token(&s, reader, None, Some(ORDERS)).await;
        let (st, _, body) = call(&api, Method::GET, "/orders", Some(&read)).await;
        assert_eq!(
            (st, body["client_id"].as_str()),
            (200, Some(reader_id.as_str())),
            "{body}"
        );
        let (st, challenge, body) = call(&api, Method::POST, "/orders", Some(&read)).await;
        assert_eq!(st, 403, "{body}");
        assert_eq!(
            challenge,
            format!(
                "{CHALLENGE}, error=\"insufficient_scope\", error_description=\"the token lacks the scope this request needs\", scope=\"orders.write\""
            )
        );
        let write = token(&s, writer, Some("orders.write"), Some(ORDERS)).await;
        let (st, _, body) = call(&api, Method::POST, "/orders", Some(&write)).await;
        assert_eq!(st, 201, "{body}");
        // A token for another resource, and Gatehouse's own: their signatures verify (RS256,
        // ES256), their audience does not fit.
        let billing = token(&s, reader, None, Some(BILLING)).await;
        let own = token(&s, reader, None, None).await;
        for other in [&billing, &own] {
            let (st, challenge, _) = call(&api, Method::GET, "/orders", Some(other)).await;
            assert_eq!(
                (st, challenge),
                (401, refused("invalid_token", "the token is for another resource"))
            );
        }
        // No token: no error code (RFC 6750 §3.1); a malformed header: invalid_request.
        let (st, challenge, _) = call(&api, Method::GET, "/orders", None).await;
        assert_eq!((st, challenge.as_str()), (401, CHALLENGE));
        let (st, challenge, _) = call(&api, Method::GET, "/orders", Some("not a token")).await;
        assert_eq!(
            (st, challenge),
            (400, refused("invalid_request", "the Bearer credential is malformed"))
        );
        // A forged signature, and something that is not a JWT.
        let (head, sig) = read.rsplit_once('.').unwrap();
        let flipped = if sig.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{head}.{flipped}{}", &sig[1..]);
        let (st, challenge, _) = call(&api, Method::GET, "/orders", Some(&forged)).await;
        assert_eq!(
            (st, challenge),
            (401, refused("invalid_token", "the token's signature does not verify"))
        );
        let (st, challenge, _) = call(&api, Method::GET, "/orders", Some("gat1_abc")).await;
        assert_eq!(
            (st, challenge),
            (401, refused("invalid_token", "the token is not a JWT"))
        );

        // RFC 9728: the example's document points to Gatehouse, as Gatehouse's own does.
        let (st, _, doc) = call(&api, Method::GET, "/.well-known/oauth-protected-resource", None).await;
        assert_eq!(st, 200);
        assert_eq!(
            (doc["resource"].as_str(), &doc["authorization_servers"]),
            (Some(ORDERS), &json!([s.base]))
        );
        let (_, list) = s
            .call_as(
                &key,
                Method::GET,
                &format!("/accounts/projects/{project}/resources"),
                None,
            )
            .await;
        let id = list["resources"][0]["id"].as_str().unwrap();
        let theirs = s
            .get_json(&format!("/.well-known/oauth-protected-resource/{project}/{id}"))
            .await;
        assert_eq!(
            (&theirs["resource"], &theirs["authorization_servers"]),
            (&doc["resource"], &doc["authorization_servers"])
        );

        // Two rotations: the key that signs next was created after the example fetched the
        // JWKS, so the example refetches it once.
        assert_eq!(rs.jwks().fetches(), 1);
        for _ in 0..2 {
            s.gatehouse().rotate_signing_keys(&SigningAlg::ALL).await.unwrap();
        }
        clock.advance_secs(400);
        let rotated = token(&s, reader, None, Some(ORDERS)).await;
        let kid = |t: &str| {
            let header = URL_SAFE_NO_PAD.decode(t.split('.').next().unwrap()).unwrap();
            serde_json::from_slice::<Value>(&header).unwrap()["kid"].clone()
        };
        assert_ne!(kid(&rotated), kid(&read), "a new key signs");
        let (st, _, body) = call(&api, Method::GET, "/orders", Some(&rotated)).await;
        assert_eq!(st, 200, "{body}");
        assert_eq!(rs.jwks().fetches(), 2, "one refetch");
        // The retired key still verifies while Gatehouse publishes it.
        let (st, _, _) = call(&api, Method::GET, "/orders", Some(&read)).await;
        assert_eq!(st, 200);
        // Another unknown kid right after: refused without fetching again.
        let (_, rest) = rotated.split_once('.').unwrap();
        let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": "made-up" }).to_string());
        let (st, challenge, _) = call(&api, Method::GET, "/orders", Some(&format!("{header}.{rest}"))).await;
        assert_eq!(
            (st, challenge),
            (401, refused("invalid_token", "the token's signing key is unknown"))
        );
        assert_eq!(rs.jwks().fetches(), 2, "no refetch within the interval");

        served.abort();
        s.stop().await;
    }
}
