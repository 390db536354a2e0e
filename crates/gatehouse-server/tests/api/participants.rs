//! Participant tokens over REST (SPEC §6.3–6.4): minting with developer rights, validation, and
//! every kind of bad token refused with 401.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{TestServer, api_test};

async fn mint(s: &TestServer, key: &str, project: &str, body: Value) -> (u16, Value) {
    s.call_as(
        key,
        Method::POST,
        &format!("/accounts/projects/{project}/participant-tokens"),
        Some(body),
    )
    .await
}

/// `POST /api/participant-token/validate` with no credential.
async fn validate(s: &TestServer, token: &str) -> (u16, Value) {
    let res = s
        .http
        .post(format!("{}/api/participant-token/validate", s.base))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// The id and secret inside an `ma-…` value.
fn key_parts(value: &str) -> (String, String) {
    let parsed = gatehouse_core::api_key::ApiKeyValue::parse(value).unwrap();
    (parsed.id.to_string(), parsed.secret.expose_secret().to_owned())
}

/// An HS256 token over `claims`, signed with `secret`.
fn signed(secret: &str, claims: &Value) -> String {
    gatehouse_core::jose::sign_hs256(secret.as_bytes(), &json!({ "typ": "JWT" }), claims).unwrap()
}

api_test!(participant_tokens_are_minted_and_validated, |s| {
    let (p, key) = s.project("Rooms").await;
    let (kid, _) = key_parts(&key);
    let api = json!({ "livekit": {}, "secrets": { "request_oauth_token": [] } });
    let (st, t) = mint(
        &s,
        &key,
        &p,
        json!({ "name": "alice", "room_name": "room-1", "api": api }),
    )
    .await;
    assert_eq!(st, 200, "{t}");
    let token = t["token"].as_str().unwrap();
    let (st, claims) = validate(&s, token).await;
    assert_eq!(st, 200, "{claims}");
    assert_eq!(claims["name"], "alice");
    assert_eq!(
        claims["grants"],
        json!([
            { "name": "room", "scope": "room-1" },
            { "name": "role", "scope": "user" },
            { "name": "api", "scope": api },
        ]),
        "an absent ApiScope member stays absent, {{}} stays {{}}, an empty allow-list stays"
    );
    assert_eq!(
        (claims["sub"].as_str(), claims["kid"].as_str()),
        (Some(p.as_str()), Some(kid.as_str()))
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = claims["exp"].as_i64().unwrap();
    assert!(
        (now + 3590..=now + 3610).contains(&exp),
        "one hour by default: {exp} vs {now}"
    );
    // The grants form, with a lifetime; unknown grant kinds and claims pass through validation.
    let grants = json!([
        { "name": "room", "scope": "r" },
        { "name": "role", "scope": "agent" },
        { "name": "agent", "scope": "assistant" },
    ]);
    let (st, t) = mint(
        &s,
        &key,
        &p,
        json!({ "name": "bot", "grants": grants, "ttl_seconds": 60 }),
    )
    .await;
    assert_eq!(st, 200, "{t}");
    let (st, claims) = validate(&s, t["token"].as_str().unwrap()).await;
    assert_eq!((st, &claims["grants"]), (200, &grants));
    assert!(claims["exp"].as_i64().unwrap() <= now + 70);
    // A backend signing locally with its key, as any MeshAgent SDK does, extra claims included.
    let (_, secret) = key_parts(&key);
    let local = json!({ "name": "carol", "grants": [{ "name": "room", "scope": "r", "note": 1 }], "sub": p, "kid": kid,
        "version": "0.44.13", "exp": null, "session": { "tier": "gold" } });
    let (st, claims) = validate(&s, &signed(&secret, &local)).await;
    assert_eq!((st, &claims), (200, &local), "validate returns the claims exactly");
});

api_test!(bad_participant_token_requests_are_refused_and_change_nothing, |s| {
    let (p, key) = s.project("Rooms").await;
    let (q, other_key) = s.project("Other").await;
    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "a", "role": "admin" }), "role"),
        (
            json!({ "name": "a", "grants": [{ "name": "role", "scope": "root" }] }),
            "role",
        ),
        (json!({ "name": "a", "room_name": "r", "grants": [] }), "grants"),
        (json!({ "name": "a", "api": "everything" }), "api"),
        (json!({ "name": "a", "api": 7 }), "api"),
        (
            json!({ "name": "a", "grants": [{ "name": "api", "scope": {} }, { "name": "api", "scope": {} }] }),
            "grants",
        ),
        (json!({ "name": "a", "ttl_seconds": 0 }), "ttl_seconds"),
        (json!({ "name": "a", "ttl_seconds": 2_592_001 }), "ttl_seconds"),
        (json!({ "name": "x".repeat(257) }), "name"),
        (
            json!({ "name": "a", "grants": [{ "name": "room", "scope": "r".repeat(257) }] }),
            "room_name",
        ),
        (
            json!({ "name": "a", "grants": [{ "name": "role", "scope": "user" }, { "name": "role", "scope": "agent" }] }),
            "grants",
        ),
        (
            json!({ "name": "a", "grants": vec![json!({ "name": "site", "scope": "s" }); 33] }),
            "grants",
        ),
        (json!({ "name": "a", "api": { "x": "y".repeat(15_000) } }), "grants"),
    ] {
        let (st, e) = mint(&s, &key, &p, body.clone()).await;
        assert_eq!((st, e["error"].as_str()), (400, Some("invalid_request")), "{body}: {e}");
        assert!(e["message"].as_str().unwrap().contains(field), "{body}: {e}");
    }
    for body in [json!({}), json!({ "name": "a", "colour": "red" }), json!([1])] {
        assert_eq!(mint(&s, &key, &p, body.clone()).await.0, 400, "{body}");
    }
    let huge = json!({ "name": "a", "api": { "x": "y".repeat(70 * 1024) } });
    assert_eq!(mint(&s, &key, &p, huge).await.0, 413);
    // Another project's key, and no credential at all.
    assert_eq!(mint(&s, &other_key, &p, json!({ "name": "a" })).await.0, 404);
    let res = s
        .http
        .post(format!("{}/accounts/projects/{q}/participant-tokens", s.base))
        .json(&json!({ "name": "a" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Validation: a malformed body is 400, a missing or unknown token 401.
    let res = s
        .http
        .post(format!("{}/api/participant-token/validate", s.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    for bad in ["", "garbage", "a.b.c", &"x".repeat(20_000)] {
        assert_eq!(validate(&s, bad).await.0, 401, "{bad:.40}");
    }
});

api_test!(tampered_participant_tokens_are_all_refused, |s| {
    let (p, key) = s.project("Rooms").await;
    let (q, other_key) = s.project("Other").await;
    let (kid, secret) = key_parts(&key);
    let (other_kid, other_secret) = key_parts(&other_key);
    let (st, t) = mint(&s, &key, &p, json!({ "name": "alice", "room_name": "room-1" })).await;
    assert_eq!(st, 200);
    let good = t["token"].as_str().unwrap().to_owned();
    assert_eq!(validate(&s, &good).await.0, 200);
    let [header, payload, sig]: [&str; 3] = good.split('.').collect::<Vec<_>>().try_into().unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let with = |change: Value| {
        let mut c = claims.clone();
        c.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        c
    };
    let mut flipped = sig.to_owned();
    flipped.replace_range(0..1, if sig.starts_with('A') { "B" } else { "A" });
    let cases = [
        ("bad signature", format!("{header}.{payload}.{flipped}")),
        (
            "changed payload",
            format!("{header}.{}.{sig}", b64(&with(json!({ "name": "mallory" })))),
        ),
        (
            "alg none",
            format!("{}.{payload}.", b64(&json!({ "alg": "none", "typ": "JWT" }))),
        ),
        (
            "HS512 header",
            format!("{}.{payload}.{sig}", b64(&json!({ "alg": "HS512", "typ": "JWT" }))),
        ),
        (
            "RS256 header over an HS256 MAC",
            format!("{}.{payload}.{sig}", b64(&json!({ "alg": "RS256", "typ": "JWT" }))),
        ),
        ("expired", signed(&secret, &with(json!({ "exp": 1_000_000_000 })))),
        (
            "unknown kid",
            signed(&secret, &with(json!({ "kid": uuid::Uuid::new_v4().to_string() }))),
        ),
        (
            "no kid",
            signed(&secret, &{
                let mut c = claims.clone();
                c.as_object_mut().unwrap().remove("kid");
                c
            }),
        ),
        ("sub of another project", signed(&secret, &with(json!({ "sub": q })))),
        ("another key's kid", signed(&secret, &with(json!({ "kid": other_kid })))),
        (
            "another project's key and sub",
            signed(&other_secret, &with(json!({ "kid": kid, "sub": q }))),
        ),
        ("empty name", signed(&secret, &with(json!({ "name": "" })))),
    ];
    // The same verification at the room entry points: the channel (before any upgrade) and its
    // participants list.
    let room_entry = async |token: &str| {
        let ws = s
            .http
            .get(format!("{}/rooms/room-1", s.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let list = s
            .http
            .get(format!("{}/rooms/room-1/participants", s.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (ws.status().as_u16(), list.status().as_u16())
    };
    assert_eq!(
        room_entry(&good).await,
        (400, 200),
        "a good token: only the upgrade is missing"
    );
    for (what, token) in &cases {
        let (st, e) = validate(&s, token).await;
        assert_eq!((st, e["error"].as_str()), (401, Some("unauthorized")), "{what}: {e}");
        assert_eq!(room_entry(token).await, (401, 401), "{what} at the room entry points");
    }
    // Revoking the key refuses its tokens at once; nothing else changed for the good one until then.
    let (st, _) = s
        .call(Method::DELETE, &format!("/accounts/projects/{p}/api-keys/{kid}"), None)
        .await;
    assert_eq!(st, 204);
    assert_eq!(validate(&s, &good).await.0, 401);
    assert_eq!(
        room_entry(&good).await,
        (401, 401),
        "a revoked key at the room entry points"
    );
});

/// A user access token for the REST API with `scope`, from a code flow in `b`.
pub async fn api_token(
    s: &TestServer,
    a: &crate::oauth_flows::App,
    b: &gatehouse_testkit::Browser,
    scope: &str,
) -> String {
    use crate::oauth_flows::{authorize_url, code_for, exchange, pkce};
    let (verifier, challenge) = pkce();
    let url = authorize_url(s, a, &challenge, &[]).replace("openid+email+offline_access", &scope.replace(' ', "+"));
    let (st, t) = exchange(s, a, &code_for(b, &url).await, &verifier).await;
    assert_eq!(st, 200, "{t}");
    t["access_token"].as_str().unwrap().to_owned()
}

api_test!(minting_needs_developer_rights_in_the_project, |s| {
    use crate::oauth_flows::{EMAIL, PASSWORD, app};
    let uid = s.user(EMAIL, PASSWORD).await;
    let (p, key) = s.project("Rooms").await;
    let (kid, _) = key_parts(&key);
    let (st, m) = s
        .call(
            Method::POST,
            &format!("/accounts/projects/{p}/users"),
            Some(json!({ "email": EMAIL })),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    let a = app(&s, json!({ "scope": "openid gatehouse_api gatehouse_api.read_only" })).await;
    let b = gatehouse_testkit::Browser::new(&s.base);
    let member = api_token(&s, &a, &b, "openid gatehouse_api").await;
    let body = json!({ "name": "alice", "room_name": "r" });
    let (st, e) = mint(&s, &member, &p, body.clone()).await;
    assert_eq!(
        (st, e["error"].as_str()),
        (403, Some("forbidden")),
        "a plain member: {e}"
    );
    let path = format!("/accounts/projects/{p}/users/{uid}");
    assert_eq!(
        s.call(Method::PUT, &path, Some(json!({ "is_developer": true })))
            .await
            .0,
        200
    );
    let (st, t) = mint(&s, &member, &p, body.clone()).await;
    assert_eq!(st, 200, "a developer: {t}");
    let (st, claims) = validate(&s, t["token"].as_str().unwrap()).await;
    assert_eq!(
        (st, claims["kid"].as_str()),
        (200, Some(kid.as_str())),
        "signed with the project's key"
    );
    let read_only = api_token(&s, &a, &b, "openid gatehouse_api.read_only").await;
    assert_eq!(mint(&s, &read_only, &p, body).await.0, 403, "a read-only token");
    // A developer hands out only what they may use: llm needs can_use_llm_proxy, admin needs admin.
    for api in [json!({ "llm": {} }), json!({ "admin": {} })] {
        let body = json!({ "name": "alice", "room_name": "r", "api": api });
        let (st, e) = mint(&s, &member, &p, body.clone()).await;
        assert_eq!((st, e["error"].as_str()), (403, Some("forbidden")), "{api}: {e}");
        assert_eq!(
            mint(&s, &key, &p, body).await.0,
            200,
            "an API key signs anything it could sign itself"
        );
    }
    // Presets expand before the rights are checked: agent_default carries llm.
    let preset = json!({ "name": "alice", "room_name": "r", "api": "agent_default" });
    assert_eq!(mint(&s, &member, &p, preset.clone()).await.0, 403);
    let (st, t) = mint(&s, &key, &p, preset).await;
    assert_eq!(st, 200, "{t}");
    let (_, claims) = validate(&s, t["token"].as_str().unwrap()).await;
    assert!(claims["grants"][2]["scope"]["llm"].is_object(), "{claims}");
    let rights = json!({ "is_developer": true, "can_use_llm_proxy": true });
    assert_eq!(s.call(Method::PUT, &path, Some(rights)).await.0, 200);
    let body = json!({ "name": "alice", "room_name": "r", "api": { "llm": {} } });
    assert_eq!(mint(&s, &member, &p, body).await.0, 200);
});
