//! One room across two nodes on one PostgreSQL: shared participants and events, and what happens
//! to a node's participants when it stops or dies.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{call, closed_with, event, join, names, token};
use crate::nodes::{two_nodes, within_a_second};

/// Two nodes on one PostgreSQL: participants on either see each other, their events cross, and
/// a key revoked on one node ends its participants on the other within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_on_two_nodes_share_one_room() {
    let Some((a, b)) = two_nodes().await else { return };
    let (p, key) = a.project("Rooms").await;
    let talk = json!({ "messaging": {} });
    let (mut on_a, a_id) = join(&a, "lobby", &token(&a, &key, &p, "alice", "lobby", talk.clone()).await).await;
    let (mut on_b, b_id) = join(&b, "lobby", &token(&a, &key, &p, "bob", "lobby", talk).await).await;
    assert_eq!(
        event(&mut on_a, "participant_joined").await["participant_id"],
        b_id.as_str()
    );
    for ws in [&mut on_a, &mut on_b] {
        assert_eq!(
            names(&call(ws, 1, "participants.list", json!({})).await["body"]),
            ["alice", "bob"]
        );
    }
    let res = a
        .http
        .get(format!("{}/rooms/lobby/participants", b.base))
        .bearer_auth(token(&a, &key, &p, "observer", "lobby", json!({})).await)
        .send()
        .await
        .unwrap();
    assert_eq!(
        names(&res.json().await.unwrap()),
        ["alice", "bob"],
        "over REST on either node"
    );
    // A message to one participant and an answer back, across nodes.
    call(
        &mut on_a,
        2,
        "messaging.send",
        json!({ "participant_id": b_id, "message": "ping" }),
    )
    .await;
    assert_eq!(event(&mut on_b, "messaging.message").await["message"], "ping");
    call(
        &mut on_b,
        2,
        "messaging.send",
        json!({ "participant_id": a_id, "message": "pong" }),
    )
    .await;
    assert_eq!(event(&mut on_a, "messaging.message").await["message"], "pong");
    // Leaving on B is heard on A.
    on_b.close(None).await.unwrap();
    assert_eq!(
        event(&mut on_a, "participant_left").await["participant_id"],
        b_id.as_str()
    );
    // Revoking the key on node B ends the participant on node A within a second.
    let (mut again_b, _) = join(&b, "lobby", &token(&a, &key, &p, "carol", "lobby", json!({})).await).await;
    assert_eq!(event(&mut on_a, "participant_joined").await["name"], "carol");
    let kid = gatehouse_core::api_key::ApiKeyValue::parse(&key)
        .unwrap()
        .id
        .to_string();
    let started = std::time::Instant::now();
    let path = format!("/accounts/projects/{p}/api-keys/{kid}");
    assert_eq!(b.call(Method::DELETE, &path, None).await.0, 204);
    let (code, _) = closed_with(&mut on_a).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(closed_with(&mut again_b).await.0, CloseCode::Policy);
    within_a_second("node A to forget its participant", async || {
        a.gatehouse().room_connections() == 0
    })
    .await;
    b.stop().await;
    a.stop().await;
}

/// A node that stops closes its sockets with a reason and its participants leave at once; one
/// that dies without a word loses its participants to the other nodes' upkeep, announced as
/// `participant_left`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_of_a_stopped_or_dead_node_leave_the_room() {
    let Some((a, b)) = two_nodes().await else { return };
    let (p, key) = a.project("Rooms").await;
    let (mut on_a, _) = join(&a, "lobby", &token(&a, &key, &p, "alice", "lobby", json!({})).await).await;
    let (mut on_b, _) = join(&b, "lobby", &token(&a, &key, &p, "bob", "lobby", json!({})).await).await;
    event(&mut on_a, "participant_joined").await;
    b.stop().await;
    let (code, why) = closed_with(&mut on_b).await;
    assert_eq!(code, CloseCode::Away, "{why}");
    assert_eq!(event(&mut on_a, "participant_left").await["name"], "bob");
    // A participant of a node that died 40 s ago, as its rows would be left behind.
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&a.database_url)
        .await
        .unwrap();
    let (dead, stale) = (uuid::Uuid::new_v4(), now_millis() - 40_000);
    sqlx::query("INSERT INTO room_nodes (node_id, last_seen) VALUES ($1, $2)")
        .bind(dead)
        .bind(stale)
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO room_participants (id, project_id, room_name, name, role, api_key_id, node_id, connected_at) VALUES ($1, $2, 'lobby', 'ghost', 'user', $3, $4, $5)")
        .bind(uuid::Uuid::now_v7())
        .bind(uuid::Uuid::parse_str(&p).unwrap())
        .bind(uuid::Uuid::new_v4())
        .bind(dead)
        .bind(stale)
        .execute(&mut db)
        .await
        .unwrap();
    let list = call(&mut on_a, 1, "participants.list", json!({})).await;
    assert_eq!(
        names(&list["body"]),
        ["alice"],
        "a dead node's participants are not listed"
    );
    // The upkeep (every 5 s) removes the row and announces it.
    let left = tokio::time::timeout(Duration::from_secs(8), event(&mut on_a, "participant_left"))
        .await
        .expect("the ghost leaves within one upkeep period");
    assert_eq!(left["name"], "ghost");
    a.stop().await;
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
