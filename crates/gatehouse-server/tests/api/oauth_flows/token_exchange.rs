//! OAuth 2.0 Token Exchange (RFC 8693): a client allowed the grant trades a person's access
//! token for a token for one resource its policy names, with an `act` claim; every refusal, and
//! revocation of the person's grant reaching the exchanged token; opaque tokens on either side.

use std::sync::Arc;

use gatehouse_testkit::{Browser, ShiftedClock};
use reqwest::Method;
use serde_json::{Value, json};

use super::{App, EMAIL, PASSWORD, REDIRECT, app, code_for, pkce, post_form, token, tokens};
use crate::resources::{create, introspect, jwt_parts, orders, project_with_resources};
use crate::{TestServer, api_test, backends};

const ORDERS: &str = "https://orders.acme.example";
const BILLING: &str = "https://billing.acme.example";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A project with the orders and billing resources, the person's app (code flow, every scope of
/// both resources but `billing.write`), and an agent backend allowed to exchange tokens for
/// billing.
struct Setup {
    project: String,
    key: String,
    app: App,
    agent: App,
}

async fn setup(s: &TestServer) -> Setup {
    s.user(EMAIL, PASSWORD).await;
    let (project, key) = project_with_resources(s, "Acme").await;
    let (id, secret) = s
        .client(
            &key,
            &project,
            json!({
                "name": "Orders app",
                "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code", "refresh_token"],
                "scope": "openid offline_access orders.read orders.write billing.read",
            }),
        )
        .await;
    let app = App {
        id,
        secret: secret.unwrap(),
    };
    let (id, secret) = s
        .client(
            &key,
            &project,
            json!({
                "name": "Billing agent",
                "grant_types": [GRANT],
                "response_types": [],
                "token_exchange_resources": [BILLING],
            }),
        )
        .await;
    let agent = App {
        id,
        secret: secret.unwrap(),
    };
    Setup {
        project,
        key,
        app,
        agent,
    }
}

/// The person signs in to the app and redeems the code for an orders token: the token response.
async fn person_token(s: &TestServer, app: &App) -> Value {
    let (verifier, challenge) = pkce();
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.extend_pairs([
        ("response_type", "code"),
        ("client_id", app.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid offline_access orders.read orders.write billing.read"),
        ("state", "xyz"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let url = format!("{}/oauth/authorize?{}", s.base, q.finish());
    let code = code_for(&Browser::new(&s.base), &url).await;
    let (st, t) = token(
        s,
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("resource", ORDERS),
        ],
    )
    .await;
    assert_eq!(st, 200, "{t}");
    t
}

/// A token exchange by `client` of `subject` with the `extra` parameters.
async fn exchange(s: &TestServer, client: &App, subject: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", GRANT),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN),
    ];
    form.extend_from_slice(extra);
    token(s, client, &form).await
}

/// A participant token of `project` for the participant `name`.
async fn participant(s: &TestServer, key: &str, project: &str, name: &str) -> String {
    let (st, minted) = s
        .call_as(
            key,
            Method::POST,
            &format!("/accounts/projects/{project}/participant-tokens"),
            Some(json!({ "name": name, "room_name": "desk" })),
        )
        .await;
    assert_eq!(st, 200, "{minted}");
    minted["token"].as_str().unwrap().to_owned()
}

fn error(r: &(u16, Value)) -> (u16, Option<&str>) {
    (r.0, r.1["error"].as_str())
}

api_test!(
    an_exchange_issues_a_narrower_token_for_the_policys_resource_that_names_the_actors,
    |s| {
        let x = setup(&s).await;
        let person = person_token(&s, &x.app).await;
        let subject = person["access_token"].as_str().unwrap();
        let (_, subject_claims) = jwt_parts(subject);

        let (st, t) = exchange(&s, &x.agent, subject, &[("resource", BILLING)]).await;
        assert_eq!(st, 200, "{t}");
        // RFC 8693 §2.2.1: the issued token type, a bearer token, no refresh token.
        assert_eq!(t["issued_token_type"], ACCESS_TOKEN);
        assert_eq!(t["token_type"], "Bearer");
        assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none(), "{t}");
        assert_eq!(t["scope"], "billing.read", "the grant's scopes of the target only");
        let (header, c) = jwt_parts(t["access_token"].as_str().unwrap());
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(c["aud"], BILLING);
        assert_eq!(c["scope"], "billing.read");
        assert_eq!(c["sub"], subject_claims["sub"], "the person");
        assert_eq!(c["client_id"], x.agent.id, "the acting client");
        assert_eq!(c["act"], json!({ "sub": x.agent.id }));
        assert_eq!(c["iss"], s.base);
        assert_eq!(c["auth_time"], subject_claims["auth_time"]);
        assert!(c["exp"].as_i64() <= subject_claims["exp"].as_i64(), "{c}");
        assert!(t["expires_in"].as_u64().unwrap() <= person["expires_in"].as_u64().unwrap());
        assert_eq!(
            c["jti"].as_str().unwrap().split('.').next(),
            subject_claims["jti"].as_str().unwrap().split('.').next(),
            "the subject's grant"
        );

        // With a participant token as the actor token: the participant is nested in the client.
        let actor = participant(&s, &x.key, &x.project, "agent-7").await;
        let (st, t) = exchange(
            &s,
            &x.agent,
            subject,
            &[
                ("audience", BILLING),
                ("scope", "billing.read"),
                ("actor_token", &actor),
                ("actor_token_type", JWT),
                ("requested_token_type", ACCESS_TOKEN),
            ],
        )
        .await;
        assert_eq!(st, 200, "{t}");
        let exchanged = t["access_token"].as_str().unwrap();
        let act = json!({ "sub": x.agent.id, "act": { "sub": "agent-7" } });
        assert_eq!(jwt_parts(exchanged).1["act"], act);
        let seen = introspect(&s, &x.key, exchanged).await;
        assert_eq!(seen["active"], true, "{seen}");
        assert_eq!(
            (&seen["act"], &seen["aud"], &seen["sub"]),
            (&act, &json!(BILLING), &subject_claims["sub"])
        );

        // Discovery says the grant is served.
        let meta = s.get_json("/.well-known/openid-configuration").await;
        assert!(
            meta["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(GRANT)),
            "{meta}"
        );
    }
);

api_test!(revoking_the_persons_grant_makes_exchanged_tokens_inactive, |s| {
    let x = setup(&s).await;
    let person = person_token(&s, &x.app).await;
    let subject = person["access_token"].as_str().unwrap();
    let (st, t) = exchange(&s, &x.agent, subject, &[("resource", BILLING)]).await;
    assert_eq!(st, 200, "{t}");
    let exchanged = t["access_token"].as_str().unwrap();
    assert_eq!(introspect(&s, &x.key, exchanged).await["active"], true);
    // The app revokes its refresh token: the whole grant goes, the exchanged token with it.
    let rt = person["refresh_token"].as_str().unwrap();
    let (st, _) = post_form(&s, "/oauth/revoke", Some(&x.app), &[("token", rt)]).await;
    assert_eq!(st, 200);
    assert_eq!(introspect(&s, &x.key, exchanged).await, json!({ "active": false }));
    let r = exchange(&s, &x.agent, subject, &[("resource", BILLING)]).await;
    assert_eq!(error(&r), (400, Some("invalid_request")), "{:?}", r.1);
});

api_test!(a_revoked_subject_token_is_refused, |s| {
    let x = setup(&s).await;
    let person = person_token(&s, &x.app).await;
    let subject = person["access_token"].as_str().unwrap();
    let (st, _) = post_form(&s, "/oauth/revoke", Some(&x.app), &[("token", subject)]).await;
    assert_eq!(st, 200);
    let r = exchange(&s, &x.agent, subject, &[("resource", BILLING)]).await;
    assert_eq!(error(&r), (400, Some("invalid_request")), "{:?}", r.1);
    assert_eq!(
        r.1["error_description"],
        "the subject_token is invalid, expired or revoked"
    );
});

api_test!(every_bad_exchange_is_refused_with_the_rfcs_error, |s| {
    let x = setup(&s).await;
    let person = person_token(&s, &x.app).await;
    let subject = person["access_token"].as_str().unwrap();
    let billing = ("resource", BILLING);
    let actor = participant(&s, &x.key, &x.project, "agent-7").await;
    let (other, other_key) = s.project("Other").await;
    let foreign_actor = participant(&s, &other_key, &other, "agent-9").await;
    for (extra, expected) in [
        // Scopes the subject token's grant lacks, or that are not the target's.
        (vec![billing, ("scope", "billing.write")], "invalid_scope"),
        (vec![billing, ("scope", "billing.read orders.read")], "invalid_scope"),
        // Resources outside the client's policy, unknown, malformed or more than one.
        (vec![("resource", ORDERS)], "invalid_target"),
        (vec![("audience", ORDERS)], "invalid_target"),
        (vec![("resource", "https://unknown.acme.example")], "invalid_target"),
        (vec![("resource", "https://billing.acme.example#x")], "invalid_target"),
        (vec![billing, ("audience", ORDERS)], "invalid_target"),
        (vec![], "invalid_target"),
        // §2.1: actor_token_type comes with actor_token, and only a participant token is one.
        (vec![billing, ("actor_token", actor.as_str())], "invalid_request"),
        (vec![billing, ("actor_token_type", JWT)], "invalid_request"),
        (
            vec![
                billing,
                ("actor_token", actor.as_str()),
                ("actor_token_type", ACCESS_TOKEN),
            ],
            "invalid_request",
        ),
        (
            vec![
                billing,
                ("actor_token", foreign_actor.as_str()),
                ("actor_token_type", JWT),
            ],
            "invalid_request",
        ),
        (
            vec![billing, ("actor_token", "not.a.token"), ("actor_token_type", JWT)],
            "invalid_request",
        ),
        // Only access tokens are exchanged and issued.
        (
            vec![
                billing,
                ("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"),
            ],
            "invalid_request",
        ),
    ] {
        let r = exchange(&s, &x.agent, subject, &extra).await;
        assert_eq!(error(&r), (400, Some(expected)), "{extra:?}: {:?}", r.1);
    }
    // The subject token and its type are required; only an access token is accepted.
    let missing = [("grant_type", GRANT), ("subject_token", subject), billing];
    let r = token(&s, &x.agent, &missing).await;
    assert_eq!(error(&r), (400, Some("invalid_request")), "{:?}", r.1);
    assert!(
        r.1["error_description"]
            .as_str()
            .unwrap()
            .contains("subject_token_type")
    );
    let wrong = [
        ("grant_type", GRANT),
        ("subject_token", subject),
        ("subject_token_type", JWT),
        billing,
    ];
    let r = token(&s, &x.agent, &wrong).await;
    assert_eq!(error(&r), (400, Some("invalid_request")), "{:?}", r.1);
    let r = token(
        &s,
        &x.agent,
        &[("grant_type", GRANT), ("subject_token_type", ACCESS_TOKEN), billing],
    )
    .await;
    assert_eq!(error(&r), (400, Some("invalid_request")), "{:?}", r.1);
    // Not an access token of this server, a refresh token, or an exchanged token.
    let rt = person["refresh_token"].as_str().unwrap();
    let (_, exchanged) = exchange(&s, &x.agent, subject, &[billing]).await;
    for bad in [
        "eyJhbGciOiJub25lIn0.e30.",
        rt,
        exchanged["access_token"].as_str().unwrap(),
    ] {
        let r = exchange(&s, &x.agent, bad, &[billing]).await;
        assert_eq!(error(&r), (400, Some("invalid_request")), "{:?}", r.1);
    }
    // A client without the grant may not exchange.
    let r = exchange(&s, &x.app, subject, &[billing]).await;
    assert_eq!(error(&r), (400, Some("unauthorized_client")), "{:?}", r.1);
    // Nothing was spent by the refusals.
    let (st, t) = exchange(&s, &x.agent, subject, &[billing]).await;
    assert_eq!(st, 200, "{t}");
});

api_test!(a_person_token_of_another_project_or_a_client_token_is_refused, |s| {
    let x = setup(&s).await;
    // The person's token from a client of the system project: same words as an unknown token.
    let system_app = app(&s, json!({})).await;
    let foreign = tokens(&s, &system_app, &Browser::new(&s.base)).await;
    let r = exchange(
        &s,
        &x.agent,
        foreign["access_token"].as_str().unwrap(),
        &[("resource", BILLING)],
    )
    .await;
    assert_eq!(error(&r), (400, Some("invalid_request")), "{:?}", r.1);
    assert_eq!(
        r.1["error_description"],
        "the subject_token is invalid, expired or revoked"
    );
    // A client credentials token of the project names no person.
    let (id, secret) = s
        .client(
            &x.key,
            &x.project,
            json!({ "name": "svc", "grant_types": ["client_credentials"], "response_types": [], "scope": "billing.read" }),
        )
        .await;
    let svc = App {
        id,
        secret: secret.unwrap(),
    };
    let (st, cc) = token(&s, &svc, &[("grant_type", "client_credentials"), ("resource", BILLING)]).await;
    assert_eq!(st, 200, "{cc}");
    let r = exchange(
        &s,
        &x.agent,
        cc["access_token"].as_str().unwrap(),
        &[("resource", BILLING)],
    )
    .await;
    assert_eq!(error(&r), (400, Some("invalid_request")), "{:?}", r.1);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchanged_token_never_outlives_its_subject_and_an_expired_subject_is_refused() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let s = TestServer::spawn_clocked(backend, |_| {}, clock.clone()).await;
        let x = setup(&s).await;
        let person = person_token(&s, &x.app).await;
        let subject = person["access_token"].as_str().unwrap();
        let (_, subject_claims) = jwt_parts(subject);
        // Both resources' tokens live 900 s: 300 s of the subject's life are left.
        clock.advance_secs(600);
        let (st, t) = exchange(&s, &x.agent, subject, &[("resource", BILLING)]).await;
        assert_eq!(st, 200, "{t}");
        let c = jwt_parts(t["access_token"].as_str().unwrap()).1;
        assert_eq!(
            c["exp"], subject_claims["exp"],
            "the subject's remaining life bounds it"
        );
        assert!(t["expires_in"].as_u64().unwrap() <= 300, "{t}");
        clock.advance_secs(301);
        let r = exchange(&s, &x.agent, subject, &[("resource", BILLING)]).await;
        assert_eq!(error(&r), (400, Some("invalid_request")), "{:?}", r.1);
        s.stop().await;
    }
}

api_test!(the_exchange_policy_names_only_the_projects_own_resources, |s| {
    let x = setup(&s).await;
    let (q, other_key) = s.project("Other").await;
    let (st, _) = create(&s, &other_key, &q, orders("https://other.example", &["other.read"])).await;
    assert_eq!(st, 201);
    let clients = format!("/accounts/projects/{}/oauth/clients", x.project);
    let base = json!({ "name": "x", "grant_types": [GRANT], "response_types": [] });
    for (field, value, named) in [
        (
            "token_exchange_resources",
            json!(["https://other.example"]),
            "\"https://other.example\"",
        ),
        ("token_exchange_resources", json!(["not a uri"]), "\"not a uri\""),
        ("token_exchange_resources", json!([BILLING, BILLING]), "listed twice"),
        ("require_client_secret", json!(false), "confidential"),
    ] {
        let mut body = base.clone();
        body[field] = value.clone();
        let (st, r) = s.call_as(&x.key, Method::POST, &clients, Some(body)).await;
        assert_eq!(st, 400, "{field}={value}: {r}");
        let message = r["message"].as_str().unwrap();
        assert!(message.contains(named), "{named} in {r}");
    }
    // An update is checked the same way, and the policy is part of the client as read.
    let agent = format!("{clients}/{}", x.agent.id);
    let other = json!({ "token_exchange_resources": ["https://other.example"] });
    let (st, r) = s.call_as(&x.key, Method::PUT, &agent, Some(other)).await;
    assert_eq!(st, 400, "{r}");
    let both = json!({ "token_exchange_resources": [BILLING, ORDERS] });
    let (st, r) = s.call_as(&x.key, Method::PUT, &agent, Some(both)).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["client"]["token_exchange_resources"], json!([BILLING, ORDERS]));
    assert!(r["client"]["grant_types"].as_array().unwrap().contains(&json!(GRANT)));
});

api_test!(opaque_tokens_are_exchanged_and_issued_as_their_resource_says, |s| {
    let x = setup(&s).await;
    // Both resources now issue opaque tokens: the person's subject token is one, and so is the
    // exchanged token, which only introspection reads.
    let path = format!("/accounts/projects/{}/resources", x.project);
    let (st, list) = s.call_as(&x.key, Method::GET, &path, None).await;
    assert_eq!(st, 200, "{list}");
    for r in list["resources"].as_array().unwrap() {
        let one = format!("{path}/{}", r["id"].as_str().unwrap());
        let scopes: Vec<&str> = r["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        let mut body = orders(r["identifier"].as_str().unwrap(), &scopes);
        body["token_format"] = json!("opaque");
        let (st, u) = s.call_as(&x.key, Method::PUT, &one, Some(body)).await;
        assert_eq!((st, u["token_format"].as_str()), (200, Some("opaque")), "{u}");
    }
    let person = person_token(&s, &x.app).await;
    let subject = person["access_token"].as_str().unwrap();
    assert!(!subject.contains('.'), "an opaque subject token: {subject}");
    let (st, t) = exchange(&s, &x.agent, subject, &[("resource", BILLING)]).await;
    assert_eq!(st, 200, "{t}");
    let exchanged = t["access_token"].as_str().unwrap();
    assert!(!exchanged.contains('.'), "an opaque exchanged token: {exchanged}");
    let seen = introspect(&s, &x.key, exchanged).await;
    assert_eq!(
        (&seen["active"], &seen["aud"], &seen["act"]),
        (&json!(true), &json!(BILLING), &json!({ "sub": x.agent.id })),
        "{seen}"
    );
    // A tampered opaque subject token is refused like any unknown token.
    let mut tampered = subject.to_owned();
    tampered.pop();
    tampered.push(if subject.ends_with('A') { 'B' } else { 'A' });
    let r = exchange(&s, &x.agent, &tampered, &[("resource", BILLING)]).await;
    assert_eq!(error(&r), (400, Some("invalid_request")), "{:?}", r.1);
});
