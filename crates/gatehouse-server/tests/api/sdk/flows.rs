//! An agent and a person, both the SDK's `RoomClient`: a consent asked, given, reused, read
//! offline, listed, deleted and refused, with the SDK's error codes; operations Gatehouse does
//! not serve answered at once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Puppet, ask, participant, provider, sdk_oauth, start};
use crate::{TestServer, backends};

const PERMISSION_DENIED: i64 = 1001;
const NOT_FOUND: i64 = 1003;

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdk_agent_gets_a_token_an_sdk_person_consented_to() {
    let p = provider().await;
    for backend in backends() {
        let Some((sdk, s, project, key)) = start(backend, "SDK").await else {
            return;
        };
        let secrets = json!({ "secrets": {} });
        let agent = participant(&s, &key, &project, "agent", secrets.clone()).await;
        let alice = participant(&s, &key, &project, "alice", secrets.clone()).await;
        let mallory = participant(&s, &key, &project, "mallory", secrets).await;
        let eve = participant(&s, &key, &project, "eve", json!({ "messaging": {} })).await;
        let alice_id = sdk.join(&s, "alice", &alice).await;
        let agent_id = sdk.join(&s, "agent", &agent).await;
        let joined = sdk.event("participant_added", Some("alice")).await;
        assert_eq!(
            (joined["id"].as_str(), joined["name"].as_str()),
            (Some(agent_id.as_str()), Some("agent"))
        );
        let seen = sdk.ok(json!({ "cmd": "participants", "as": "agent" })).await;
        assert_eq!(seen, json!([{ "id": alice_id, "name": "alice", "role": "agent" }]));

        // The agent asks; the person's handler gets the SDK's OAuthTokenRequest and answers.
        let (prompt, token) = sdk.consented(&p, "agent", "alice", &alice_id).await;
        assert_eq!(
            prompt["authorization_endpoint"],
            format!("{}/oauth/authorize", p.s.base)
        );
        assert_eq!(prompt["scopes"], p.oauth()["scopes"]);
        assert_eq!(
            prompt["challenge"].as_str().map(str::len),
            Some(43),
            "an S256 challenge"
        );
        assert!(p.active(&token).await, "the provider issued the token");

        // Asked again: the stored credential serves, no prompt.
        let again = sdk.secrets("agent", "request_oauth_token", ask(&p, &alice_id)).await;
        assert_eq!(again["result"], token.as_str(), "{again}");
        assert!(!sdk.heard("oauth_request", "alice", Duration::from_millis(300)).await);
        let by_alice = json!({ "oauth": sdk_oauth(&p), "delegated_by": "alice" });
        let offline = sdk.secrets("agent", "get_offline_oauth_token", by_alice.clone()).await;
        assert_eq!(offline["result"], token.as_str(), "{offline}");

        // Owner and delegate see the secret, a stranger does not.
        let mallory_id = sdk.join(&s, "mallory", &mallory).await;
        assert!(!mallory_id.is_empty());
        let listed = |who: &'static str| {
            let sdk = Arc::clone(&sdk);
            async move {
                sdk.ok(json!({ "cmd": "secrets", "as": who, "method": "list_secrets", "args": {} }))
                    .await
            }
        };
        let owned = listed("alice").await;
        assert_eq!(owned[0]["type"], "oauth", "{owned}");
        assert_eq!(ids(&listed("agent").await), ids(&owned));
        assert_eq!(listed("mallory").await, json!([]));
        let stolen = sdk
            .secrets("mallory", "get_offline_oauth_token", by_alice.clone())
            .await;
        assert_eq!(stolen["result"], Value::Null, "{stolen}");

        // Deleted by its owner: gone for the delegate too.
        let id = owned[0]["id"].clone();
        let unknown = sdk.secrets("mallory", "delete_secret", json!({ "id": id })).await;
        assert_eq!(
            (unknown["ok"].as_bool(), unknown["code"].as_i64()),
            (Some(false), Some(NOT_FOUND)),
            "{unknown}"
        );
        sdk.ok(json!({ "cmd": "secrets", "as": "alice", "method": "delete_secret", "args": { "id": id } }))
            .await;
        assert_eq!(listed("agent").await, json!([]));
        assert_eq!(
            sdk.secrets("agent", "get_offline_oauth_token", by_alice).await["result"],
            Value::Null
        );

        // Asked once more, the person refuses: the agent's RoomException says so.
        let asking = sdk.spawn_secrets("agent", "request_oauth_token", ask(&p, &alice_id));
        let prompt = sdk.event("oauth_request", Some("alice")).await["request"].clone();
        let reject = json!({ "request_id": prompt["request_id"], "error": "user_cancelled" });
        sdk.ok(json!({ "cmd": "secrets", "as": "alice", "method": "reject_oauth_authorization", "args": reject }))
            .await;
        let refused = asking.await.unwrap();
        assert_eq!(refused["ok"], false, "{refused}");
        assert_eq!(refused["code"], PERMISSION_DENIED, "{refused}");
        assert!(
            refused["error"].as_str().unwrap().contains("user_cancelled"),
            "{refused}"
        );

        // No secrets grant: the SDK's permission error.
        sdk.join(&s, "eve", &eve).await;
        let denied = sdk.secrets("eve", "list_secrets", json!({})).await;
        assert_eq!(
            (denied["ok"].as_bool(), denied["code"].as_i64()),
            (Some(false), Some(PERMISSION_DENIED)),
            "{denied}"
        );
        for who in ["agent", "alice", "mallory", "eve"] {
            sdk.ok(json!({ "cmd": "close", "as": who })).await;
        }
        s.stop().await;
    }
    p.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_gatehouse_does_not_serve_are_answered_at_once_as_not_supported() {
    let Some(sdk) = Puppet::start().await else { return };
    let s = TestServer::spawn(crate::Backend::Sqlite).await;
    let (project, key) = s.project("SDK").await;
    let agent = participant(&s, &key, &project, "agent", json!({ "secrets": {}, "storage": {} })).await;
    sdk.join(&s, "agent", &agent).await;
    let storage =
        json!({ "cmd": "invoke", "as": "agent", "toolkit": "storage", "tool": "list", "input": { "path": "" } });
    let secrets = json!({ "cmd": "secrets", "as": "agent", "method": "exists", "args": { "secret_id": "s1" } });
    let toolkits = json!({ "cmd": "list_toolkits", "as": "agent" });
    for unsupported in [storage, secrets, toolkits] {
        let started = std::time::Instant::now();
        let answer = sdk.cmd(unsupported.clone()).await;
        assert_eq!(answer["ok"], false, "{unsupported} -> {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("not supported by Gatehouse"),
            "{answer}"
        );
        assert_eq!(answer["code"], NOT_FOUND, "{answer}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    // The connection is still up and served.
    assert_eq!(
        sdk.ok(json!({ "cmd": "secrets", "as": "agent", "method": "list_secrets", "args": {} }))
            .await,
        json!([])
    );
    s.stop().await;
}
