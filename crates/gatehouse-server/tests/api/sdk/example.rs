//! `examples/meshagent-agent` runs as its README says, against a real server: it asks the person
//! once, and the second run finds the stored token without asking.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use super::{CALLBACK, Puppet, participant, provider, python};
use crate::TestServer;
use crate::broker::insecure;

const AGENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/meshagent-agent/agent.py");

/// Runs the example to its end; its exit status and output.
fn run_example(python: &std::path::Path, env: &[(&str, String)]) -> std::process::Output {
    Command::new(python)
        .arg(AGENT)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("the example runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_agent_gets_the_persons_token_and_later_finds_it_stored() {
    let (Some(sdk), Some(py)) = (Puppet::start().await, python()) else {
        return;
    };
    let p = provider().await;
    let s = TestServer::spawn_fresh(crate::Backend::Sqlite, insecure).await;
    let (project, key) = s.project("Example").await;
    let agent = participant(&s, &key, &project, "agent", json!({ "secrets": {}, "messaging": {} })).await;
    let alice = participant(&s, &key, &project, "alice", json!({ "secrets": {} })).await;
    sdk.join(&s, "alice", &alice).await;
    let oauth = p.oauth();
    let env = vec![
        ("GATEHOUSE_URL", s.base.clone()),
        ("ROOM", super::ROOM.to_owned()),
        ("PARTICIPANT_TOKEN", agent),
        ("PERSON", "alice".to_owned()),
        ("PROVIDER_CLIENT_ID", p.client_id.clone()),
        ("PROVIDER_CLIENT_SECRET", p.secret.clone()),
        (
            "PROVIDER_AUTHORIZATION_ENDPOINT",
            oauth["authorization_endpoint"].as_str().unwrap().to_owned(),
        ),
        (
            "PROVIDER_TOKEN_ENDPOINT",
            oauth["token_endpoint"].as_str().unwrap().to_owned(),
        ),
        ("PROVIDER_SCOPES", "openid email offline_access".to_owned()),
        ("REDIRECT_URI", CALLBACK.to_owned()),
    ];
    let first = {
        let (py, env) = (py.clone(), env.clone());
        tokio::task::spawn_blocking(move || run_example(&py, &env))
    };
    sdk.answer_prompt(&p, "alice").await;
    let out = first.await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("asking alice to consent") && stdout.contains("got alice's access token"),
        "{stdout}"
    );
    assert!(stdout.contains("stored: oauth"), "{stdout}");

    let again = tokio::task::spawn_blocking(move || run_example(&py, &env))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success() && stdout.contains("got alice's access token"),
        "{stdout}"
    );
    assert!(!stdout.contains("asking"), "the stored token serves: {stdout}");
    assert!(!sdk.heard("oauth_request", "alice", Duration::from_millis(200)).await);
    s.stop().await;
    p.s.stop().await;
}
