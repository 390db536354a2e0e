//! A consent given once serves the agent: the token from the provider, its refresh when it
//! expires, and registrations that hold the provider's settings by id.

use std::sync::Arc;

use gatehouse_core::time::SystemClock;
use gatehouse_testkit::ShiftedClock;
use gatehouse_testkit::upstream::SCOPES;
use reqwest::Method;
use serde_json::{Value, json};

use super::{CALLBACK, ROOM, ask, consented, insecure, offline, participant, provider, request, rest, scene};
use crate::rooms::{call, event};
use crate::{TestServer, backends, contains};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_gets_a_token_the_participant_consented_to() {
    let p = provider(Arc::new(SystemClock)).await;
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, insecure).await;
        let mut sc = scene(&s).await;
        let asked = ask(&s, &sc.agent, request(&p, &sc.alice_id));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        assert_eq!(
            prompt["requested_by"],
            json!({ "participant_id": null, "name": "agent" })
        );
        assert_eq!(prompt["request"]["client_id"], p.client_id.as_str());
        assert_eq!(prompt["request"]["scopes"], json!(SCOPES));
        assert_eq!(prompt["request"]["redirect_uri"], CALLBACK);
        assert!(prompt["request_id"].as_str().unwrap().len() >= 22, "at least 128 bits");
        assert!(prompt["expires_at"].is_string() && prompt["state"].is_string());
        let (code, iss) = p.consent(&prompt).await;
        let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss, "state": prompt["state"] });
        let answer = call(
            &mut sc.alice_ws,
            1,
            "secrets.provide_oauth_authorization",
            provide.clone(),
        )
        .await;
        assert_eq!(answer["ok"], true, "{answer}");
        let (st, token) = asked.await.unwrap();
        assert_eq!(st, 200, "{token}");
        let access = token["access_token"].as_str().unwrap().to_owned();
        assert!(p.active(&access).await, "the provider knows the token");
        assert!(token["expires_at"].is_string());
        assert!(
            token.get("refresh_token").is_none(),
            "refresh tokens are never returned"
        );

        // The answer was taken once.
        let replay = call(&mut sc.alice_ws, 2, "secrets.provide_oauth_authorization", provide).await;
        assert_eq!(replay["error"]["code"], "not_found", "{replay}");

        // Stored: owned by alice, delegated to the agent.
        let by_alice = json!({ "oauth": p.oauth(), "delegated_by": "alice" });
        assert_eq!(offline(&s, &sc.agent, by_alice.clone()).await, access.as_str());
        assert_eq!(
            offline(&s, &sc.alice, json!({ "oauth": p.oauth() })).await,
            access.as_str()
        );
        assert_eq!(
            offline(&s, &sc.agent, json!({ "oauth": p.oauth() })).await,
            Value::Null,
            "the agent owns none"
        );
        let mallory = participant(&s, &sc.key, &sc.project, "mallory", json!({})).await;
        assert_eq!(
            offline(&s, &mallory, by_alice.clone()).await,
            Value::Null,
            "not delegated to mallory"
        );

        // Asking again needs no prompt.
        let (st, again) = rest(&s, &sc.agent, "request_oauth_token", request(&p, &sc.alice_id)).await;
        assert_eq!(
            (st, again["access_token"].as_str()),
            (200, Some(access.as_str())),
            "{again}"
        );
        // Naming the agent as the delegate does not hand the agent's credential to someone else:
        // alice is asked again.
        let snoop = participant(&s, &sc.key, &sc.project, "snoop", json!({})).await;
        let mut as_agent = request(&p, &sc.alice_id);
        as_agent["delegate_to"] = json!("agent");
        let asked = ask(&s, &snoop, as_agent);
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        assert_eq!(prompt["requested_by"]["name"], "snoop");
        let no = json!({ "request_id": prompt["request_id"], "error": "not you" });
        assert_eq!(rest(&s, &sc.alice, "reject_oauth_authorization", no).await.0, 200);
        assert_eq!(asked.await.unwrap().0, 403);

        let (_, list) = rest(&s, &sc.agent, "list", json!({})).await;
        let secrets = list["secrets"].as_array().unwrap();
        assert_eq!(secrets.len(), 1, "{list}");
        assert_eq!(
            (&secrets[0]["type"], &secrets[0]["owner"], &secrets[0]["delegated_to"]),
            (&json!("oauth"), &json!("alice"), &json!("agent"))
        );
        assert!(!list.to_string().contains(&access), "lists show no token");
        let (_, own) = s
            .call_as(&sc.alice, Method::GET, &format!("/rooms/{ROOM}/secrets"), None)
            .await;
        assert_eq!(own["secrets"].as_array().unwrap().len(), 1, "{own}");
        let (_, none) = rest(&s, &mallory, "list", json!({})).await;
        assert_eq!(none, json!({ "secrets": [] }));

        let db = s.database_bytes().await;
        for secret in [
            access.as_str(),
            p.secret.as_str(),
            code.as_str(),
            prompt["request_id"].as_str().unwrap(),
        ] {
            assert!(!contains(&db, secret), "a secret is stored in plaintext");
        }

        let id = secrets[0]["id"].clone();
        let (st, _) = rest(&s, &mallory, "delete", json!({ "id": id })).await;
        assert_eq!(st, 404, "only the owner and the delegate may delete");
        let (st, v) = rest(&s, &sc.agent, "delete", json!({ "id": id })).await;
        assert_eq!((st, v), (200, json!({})));
        assert!(!p.active(&access).await, "deleting revoked the token at the provider");
        assert_eq!(offline(&s, &sc.agent, by_alice).await, Value::Null);
        s.stop().await;
    }
    p.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_tokens_are_refreshed_and_dead_ones_need_consent_again() {
    for backend in backends() {
        let (broker_clock, provider_clock) = (Arc::new(ShiftedClock::default()), Arc::new(ShiftedClock::default()));
        let p = provider(provider_clock.clone()).await;
        let s = TestServer::spawn_clocked(backend, insecure, broker_clock.clone()).await;
        let mut sc = scene(&s).await;
        let first = consented(&s, &p, &mut sc).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let by_alice = json!({ "oauth": p.oauth(), "delegated_by": "alice" });
        let issued = p.tokens_issued().await;

        // Within a minute of expiry: refreshed once, then served as stored. (Tokens are minted
        // again after each jump of the clock: they expire with it.)
        broker_clock.advance_secs(3600 - 30);
        sc.renew(&s).await;
        let second = offline(&s, &sc.agent, by_alice.clone())
            .await
            .as_str()
            .unwrap()
            .to_owned();
        assert_ne!(second, first);
        assert!(p.active(&second).await);
        assert_eq!(offline(&s, &sc.agent, by_alice.clone()).await, second.as_str());
        assert_eq!(p.tokens_issued().await, issued + 1, "one refresh reached the provider");

        // The provider unreachable: a transient failure keeps the credential.
        broker_clock.advance_secs(3600);
        sc.renew(&s).await;
        let mut p = p;
        p.s.pause().await;
        let (st, v) = rest(&s, &sc.agent, "get_offline_oauth_token", by_alice.clone()).await;
        assert_eq!((st, v["error"].as_str()), (502, Some("upstream_error")), "{v}");
        let (_, list) = rest(&s, &sc.agent, "list", json!({})).await;
        assert_eq!(list["secrets"][0]["needs_consent"], false, "{list}");

        // The provider back, its refresh token expired: `invalid_grant` means a new consent.
        p.s.resume(provider_clock.clone()).await;
        provider_clock.advance_secs(7200 + 60);
        assert_eq!(offline(&s, &sc.agent, by_alice.clone()).await, Value::Null);
        let (_, list) = rest(&s, &sc.agent, "list", json!({})).await;
        assert_eq!(list["secrets"][0]["needs_consent"], true, "{list}");
        let asked = ask(&s, &sc.agent, request(&p, &sc.alice_id));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let reject = json!({ "request_id": prompt["request_id"], "error": "later" });
        assert_eq!(rest(&s, &sc.alice, "reject_oauth_authorization", reject).await.0, 200);
        assert_eq!(asked.await.unwrap().0, 403);
        s.stop().await;
        p.s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_are_used_by_id_with_their_redirect_uris_issuer_and_secret() {
    let p = provider(Arc::new(SystemClock)).await;
    for backend in backends() {
        let s = TestServer::spawn_fresh(backend, insecure).await;
        let mut sc = scene(&s).await;
        let o = p.oauth();
        let registration = |room: Option<&str>| {
            let (st_path, body) = (
                match room {
                    Some(r) => format!("/accounts/projects/{}/rooms/{r}/external-oauth", sc.project),
                    None => format!("/accounts/projects/{}/external-oauth", sc.project),
                },
                json!({
                    "name": "Provider",
                    "oauth": {
                        "authorization_endpoint": o["authorization_endpoint"],
                        "token_endpoint": o["token_endpoint"],
                        "revocation_endpoint": o["revocation_endpoint"],
                        "issuer": o["issuer"],
                        "scopes": SCOPES,
                    },
                    "client_id": p.client_id,
                    "client_secret": p.secret,
                    "redirect_uris": [CALLBACK],
                    "delegated_to": "scheduler",
                }),
            );
            let (s, key) = (&s, sc.key.clone());
            async move {
                let (st, v) = s.call_as(&key, Method::POST, &st_path, Some(body)).await;
                assert_eq!(st, 201, "{v}");
                v["id"].as_str().unwrap().to_owned()
            }
        };
        let project_wide = registration(None).await;
        let elsewhere = registration(Some("another-room")).await;
        let by_id = |id: &str, redirect: &str| json!({ "registration_id": id, "redirect_uri": redirect, "participant_id": sc.alice_id, "timeout": 60 });
        let (st, v) = rest(
            &s,
            &sc.agent,
            "request_oauth_token",
            by_id(&project_wide, "http://127.0.0.1:9/consent/callback/"),
        )
        .await;
        assert_eq!(st, 400, "redirect URIs match exactly: {v}");
        let (st, v) = rest(&s, &sc.agent, "request_oauth_token", by_id(&elsewhere, CALLBACK)).await;
        assert_eq!(st, 404, "another room's registration is not seen here: {v}");
        let (st, v) = rest(
            &s,
            &sc.agent,
            "request_oauth_token",
            by_id(&uuid::Uuid::new_v4().to_string(), CALLBACK),
        )
        .await;
        assert_eq!(st, 404, "{v}");

        // The registration's issuer is checked, its secret used, its delegate the default.
        let asked = ask(&s, &sc.agent, by_id(&project_wide, CALLBACK));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let (code, _) = p.consent(&prompt).await;
        let wrong = json!({ "request_id": prompt["request_id"], "code": code, "iss": "https://other.example" });
        assert_eq!(rest(&s, &sc.alice, "provide_oauth_authorization", wrong).await.0, 400);
        assert_eq!(asked.await.unwrap().0, 502);
        let asked = ask(&s, &sc.agent, by_id(&project_wide, CALLBACK));
        let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
        let (code, iss) = p.consent(&prompt).await;
        let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss });
        assert_eq!(rest(&s, &sc.alice, "provide_oauth_authorization", provide).await.0, 200);
        let (st, token) = asked.await.unwrap();
        assert_eq!(st, 200, "{token}");
        assert!(p.active(token["access_token"].as_str().unwrap()).await);
        let scheduler = participant(&s, &sc.key, &sc.project, "scheduler", json!({})).await;
        let by_reg = json!({ "registration_id": project_wide, "delegated_by": "alice" });
        assert_eq!(
            offline(&s, &scheduler, by_reg.clone()).await,
            token["access_token"],
            "delegated to the registration's delegate"
        );
        assert_eq!(
            offline(&s, &sc.agent, by_reg).await,
            Value::Null,
            "not to the requester"
        );
        s.stop().await;
    }
    p.s.stop().await;
}
