//! Two broker nodes on one PostgreSQL database: prompts and answers cross nodes and survive a
//! restart, and a refresh happens once however many nodes and requests need it.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::time::{Clock, SystemClock};
use gatehouse_server::Config;
use gatehouse_testkit::ShiftedClock;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{CALLBACK, ROOM, ask, consented, insecure, offline, provider, request, rest, scene, spawn_rest};
use crate::rooms::{Ws, event, join};
use crate::{Backend, TestServer, backends};

/// Two broker nodes on one fresh PostgreSQL database, on one clock; `None` without PostgreSQL.
async fn two_brokers(clock: Arc<dyn Clock>) -> Option<(TestServer, TestServer)> {
    let Some(pg) = backends().into_iter().find(|b| matches!(b, Backend::Postgres { .. })) else {
        eprintln!("note: two-node broker test skipped: GATEHOUSE_TEST_POSTGRES_URL is not set");
        return None;
    };
    let a = TestServer::spawn_clocked(pg.clone(), insecure, clock.clone()).await;
    let issuer = a.base.clone();
    let tune = move |c: &mut Config| {
        insecure(c);
        c.issuer = Some(issuer);
    };
    let mut b = TestServer::spawn_on_clock(pg, a.dir.clone(), a.database_url.clone(), tune, clock).await;
    b.admin_key = a.admin_key.clone();
    Some((a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_and_its_answer_cross_nodes_and_survive_a_restart() {
    let Some((mut a, b)) = two_brokers(Arc::new(SystemClock)).await else {
        return;
    };
    let p = provider(Arc::new(SystemClock)).await;
    let mut sc = scene(&a).await;
    // The agent asks over its room connection on node B; alice is connected to node A.
    let (mut agent_ws, agent_id) = join(&b, ROOM, &sc.agent).await;
    let ask_on_channel =
        |id: i64| json!({ "id": id, "type": "secrets.request_oauth_token", "body": request(&p, &sc.alice_id) });
    use futures::SinkExt as _;
    agent_ws
        .send(tokio_tungstenite::tungstenite::Message::Text(
            ask_on_channel(7).to_string().into(),
        ))
        .await
        .unwrap();
    let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
    assert_eq!(
        prompt["requested_by"],
        json!({ "participant_id": agent_id, "name": "agent" })
    );
    // Alice answers from another connection of hers, on node B.
    let (code, iss) = p.consent(&prompt).await;
    let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss });
    assert_eq!(rest(&b, &sc.alice, "provide_oauth_authorization", provide).await.0, 200);
    let answer = reply_to(&mut agent_ws, 7).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let first = answer["body"]["access_token"].as_str().unwrap().to_owned();
    assert!(p.active(&first).await);

    // Another request: alice's node stops after the prompt reached her. The request lives in
    // the database; she answers through node B and the agent is answered.
    let by_alice = json!({ "oauth": p.oauth(), "delegated_by": "alice" });
    let id = rest(&b, &sc.agent, "list", json!({})).await.1["secrets"][0]["id"].clone();
    assert_eq!(rest(&b, &sc.agent, "delete", json!({ "id": id })).await.0, 200);
    agent_ws
        .send(tokio_tungstenite::tungstenite::Message::Text(
            ask_on_channel(8).to_string().into(),
        ))
        .await
        .unwrap();
    let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
    a.pause().await;
    let (code, iss) = p.consent(&prompt).await;
    let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss });
    assert_eq!(rest(&b, &sc.alice, "provide_oauth_authorization", provide).await.0, 200);
    let answer = reply_to(&mut agent_ws, 8).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let second = answer["body"]["access_token"].as_str().unwrap();
    assert_eq!(offline(&b, &sc.agent, by_alice).await, second);
    b.stop().await;
    a.stop().await;
    p.s.stop().await;
}

/// The response to request `id` on a room connection, skipping events.
async fn reply_to(ws: &mut Ws, id: i64) -> Value {
    loop {
        let f = crate::rooms::next(ws).await;
        if f["id"] == id {
            return f;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_gets_of_an_expired_token_refresh_it_once() {
    let clock = Arc::new(ShiftedClock::default());
    let p = provider(Arc::new(SystemClock)).await;
    // One node on SQLite; two on PostgreSQL, the callers spread over both.
    let single = TestServer::spawn_clocked(Backend::Sqlite, insecure, clock.clone()).await;
    let pair = two_brokers(clock.clone()).await;
    let mut setups = vec![[&single, &single]];
    if let Some((a, b)) = &pair {
        setups.push([a, b]);
    }
    for nodes in setups {
        let mut sc = scene(nodes[0]).await;
        let first = consented(nodes[0], &p, &mut sc).await["access_token"].clone();
        clock.advance_secs(3600 - 30);
        sc.renew(nodes[0]).await;
        let issued = p.tokens_issued().await;
        let by_alice = json!({ "oauth": p.oauth(), "delegated_by": "alice" });
        let gets = (0..50).map(|i| {
            let (s, token, body) = (nodes[i % 2], sc.agent.clone(), by_alice.clone());
            async move { rest(s, &token, "get_offline_oauth_token", body).await }
        });
        let answers = futures::future::join_all(gets).await;
        let tokens: std::collections::BTreeSet<String> = answers
            .iter()
            .map(|(st, v)| {
                assert_eq!(*st, 200, "{v}");
                v["access_token"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(tokens.len(), 1, "every caller got the same token");
        assert_ne!(Some(tokens.first().unwrap().as_str()), first.as_str());
        assert_eq!(
            p.tokens_issued().await,
            issued + 1,
            "exactly one refresh reached the provider"
        );
    }
    if let Some((a, b)) = pair {
        b.stop().await;
        a.stop().await;
    }
    single.stop().await;
    p.s.stop().await;
}

/// A TCP relay to `upstream` that reports each chunk the upstream sends, then holds it back for
/// a moment: time for the test to act between the provider's answer and its delivery.
async fn relay(upstream: String) -> (String, tokio::sync::mpsc::UnboundedReceiver<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, tx) = (upstream.clone(), tx.clone());
            tokio::spawn(async move {
                let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move { tokio::io::copy(&mut cr, &mut sw).await });
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let _ = tx.send(());
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_as_the_provider_rotates_keeps_the_new_refresh_token() {
    let (clock, provider_clock) = (Arc::new(ShiftedClock::default()), Arc::new(ShiftedClock::default()));
    let Some((mut a, b)) = two_brokers(clock.clone()).await else {
        return;
    };
    let p = provider(provider_clock.clone()).await;
    // A provider that rotates refresh tokens and takes any reuse of an old one as theft.
    let (st, v) =
        p.s.call(
            Method::PUT,
            &format!(
                "/accounts/projects/{}/oauth/clients/{}",
                p.s.system_project, p.client_id
            ),
            Some(json!({ "refresh_grace_seconds": 0 })),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (relayed, mut answered) = relay(p.s.base.trim_start_matches("http://").to_owned()).await;
    let mut oauth = p.oauth();
    oauth["token_endpoint"] = json!(format!("{relayed}/oauth/token"));
    let mut sc = scene(&a).await;
    let asked = ask(
        &a,
        &sc.agent,
        json!({ "oauth": oauth, "redirect_uri": CALLBACK, "participant_id": sc.alice_id, "timeout": 60 }),
    );
    let prompt = event(&mut sc.alice_ws, "secrets.request_oauth_token").await;
    let (code, iss) = p.consent(&prompt).await;
    let provide = json!({ "request_id": prompt["request_id"], "code": code, "iss": iss });
    assert_eq!(rest(&a, &sc.alice, "provide_oauth_authorization", provide).await.0, 200);
    assert_eq!(asked.await.unwrap().0, 200);

    // Node A refreshes; it is stopped the moment the provider has answered.
    clock.advance_secs(3600 - 30);
    sc.renew(&a).await;
    while answered.try_recv().is_ok() {}
    let by_alice = json!({ "oauth": oauth, "delegated_by": "alice" });
    let _pending = spawn_rest(&a, &sc.agent, "get_offline_oauth_token", by_alice.clone());
    answered.recv().await.unwrap();
    a.pause().await;
    let issued = p.tokens_issued().await;
    let saved = offline(&b, &sc.agent, by_alice.clone()).await;
    assert!(saved.is_string(), "node A saved what the provider answered");
    assert_eq!(p.tokens_issued().await, issued, "node B did not need to refresh again");

    // The refresh token node A saved is the live one: the next refresh works.
    clock.advance_secs(3600);
    provider_clock.advance_secs(60);
    sc.renew(&b).await;
    let next = offline(&b, &sc.agent, by_alice).await;
    assert!(next.is_string() && next != saved, "{next}");
    assert!(p.active(next.as_str().unwrap()).await);
    b.stop().await;
    a.stop().await;
    p.s.stop().await;
}
