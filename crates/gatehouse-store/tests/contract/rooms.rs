//! Rooms, room grants and participants (with their nodes).

use gatehouse_core::Error;
use gatehouse_core::access::MemberFlags;
use gatehouse_core::ids::{ApiKeyId, NodeId, ParticipantId, ProjectId};
use gatehouse_core::ports::Page;
use gatehouse_core::rooms::{GrantRequest, Presence};
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::accounts::UserRef;
use gatehouse_core::time::Timestamp;

use super::{bootstrapped, databases, object};

#[tokio::test]
async fn rooms_and_grants_are_per_project_and_grants_replace_in_place() {
    for db in databases().await {
        let (gh, admin, clock) = bootstrapped(db.store()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let q = gh.create_project(&admin, "Q").await.unwrap().id;
        let metadata = object(serde_json::json!({"topic": "hello", "n": [1, 2]}));
        let (lobby, created) = gh.create_room(&admin, p, "lobby", metadata, false).await.unwrap();
        assert!(created);
        assert!(matches!(
            gh.create_room(&admin, p, "lobby", Default::default(), false).await,
            Err(Error::Conflict(_))
        ));
        let (again, created) = gh
            .create_room(&admin, p, "lobby", Default::default(), true)
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(again, lobby, "if_not_exists returns the stored room, metadata included");
        gh.create_room(&admin, q, "lobby", Default::default(), false)
            .await
            .unwrap();
        let page = Page { offset: 0, count: 10 };
        assert_eq!(gh.list_rooms(&admin, p, page).await.unwrap().1, 1);

        let user = gh
            .create_user(
                &admin,
                "g@example.com",
                "G",
                &SecretString::new("correct horse battery"),
            )
            .await
            .unwrap();
        let grant = |perms: serde_json::Value| GrantRequest {
            room_name: "lobby".into(),
            user_id: Some(user.id),
            email: None,
            permissions: perms,
        };
        let refused = gh.put_room_grant(&admin, p, grant(serde_json::json!({}))).await;
        assert!(matches!(refused, Err(Error::Invalid { .. })), "{refused:?}");
        gh.add_member(&admin, p, UserRef::Id(user.id), MemberFlags::default())
            .await
            .unwrap();
        let perms = serde_json::json!({"secrets": {}, "future_surface": {"x": 1}});
        let first = gh.put_room_grant(&admin, p, grant(perms.clone())).await.unwrap();
        assert_eq!(first.permissions, object(perms), "unknown members are kept");
        assert_eq!(first.email, "g@example.com");
        clock.advance_secs(5);
        let by_email = GrantRequest {
            user_id: None,
            email: Some("G@example.com".into()),
            ..grant(serde_json::json!({"llm": {}}))
        };
        let replaced = gh.put_room_grant(&admin, p, by_email).await.unwrap();
        assert_eq!(replaced.created_at, first.created_at);
        assert!(replaced.updated_at > first.updated_at);
        assert!(replaced.permissions.contains_key("llm") && !replaced.permissions.contains_key("secrets"));
        let missing_room = GrantRequest {
            room_name: "nowhere".into(),
            ..grant(serde_json::json!({}))
        };
        assert!(matches!(
            gh.put_room_grant(&admin, p, missing_room).await,
            Err(Error::NotFound("room"))
        ));
        let (grants, total) = gh.list_room_grants(&admin, p, Some("lobby"), page).await.unwrap();
        assert_eq!((grants.len(), total), (1, 1));
        assert_eq!(gh.list_room_grants(&admin, q, None, page).await.unwrap().1, 0);
        assert!(matches!(
            gh.delete_room_grant(&admin, q, "lobby", user.id).await,
            Err(Error::NotFound("room grant"))
        ));

        gh.delete_room(&admin, p, "lobby").await.unwrap();
        assert_eq!(
            gh.list_room_grants(&admin, p, None, page).await.unwrap().1,
            0,
            "grants go with their room"
        );
        assert!(matches!(
            gh.delete_room(&admin, p, "lobby").await,
            Err(Error::NotFound("room"))
        ));
        assert_eq!(
            gh.list_rooms(&admin, q, page).await.unwrap().1,
            1,
            "the other project keeps its room"
        );
    }
}

#[tokio::test]
async fn participants_go_with_their_node_and_to_exactly_one_purger() {
    for db in databases().await {
        let store = db.store();
        let project = ProjectId::from_uuid(uuid::Uuid::new_v4());
        let (n1, n2) = (
            NodeId::from_uuid(uuid::Uuid::new_v4()),
            NodeId::from_uuid(uuid::Uuid::new_v4()),
        );
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let participant = |node: NodeId, room: &str, ms: i64| Presence {
            id: ParticipantId::from_uuid(uuid::Uuid::now_v7()),
            project_id: project,
            room_name: room.into(),
            name: "alice".into(),
            role: "agent".into(),
            api_key_id: ApiKeyId::from_uuid(uuid::Uuid::new_v4()),
            node_id: node,
            connected_at: Timestamp::from_millis(t0.millis() + ms),
        };
        assert!(!store.heartbeat(n1, t0).await.unwrap(), "a node's first heartbeat");
        assert!(store.heartbeat(n1, t0).await.unwrap());
        assert!(!store.heartbeat(n2, t0).await.unwrap());
        let (a, b, elsewhere) = (
            participant(n1, "r", 0),
            participant(n2, "r", 1),
            participant(n1, "s", 2),
        );
        for p in [&a, &b, &elsewhere, &a] {
            store.insert_presence(p).await.unwrap();
        }
        assert_eq!(
            store.list_presence(project, "r", t0).await.unwrap(),
            vec![a.clone(), b.clone()],
            "oldest first, each once"
        );
        let later = t0.plus_secs(40);
        assert!(store.heartbeat(n1, later).await.unwrap());
        assert_eq!(
            store.list_presence(project, "r", later.plus_secs(-30)).await.unwrap(),
            vec![a.clone()],
            "a silent node's participants are not listed"
        );
        assert_eq!(
            store.purge_presence(later.plus_secs(-30)).await.unwrap(),
            vec![b.clone()]
        );
        assert!(
            store.purge_presence(later.plus_secs(-30)).await.unwrap().is_empty(),
            "purged once"
        );
        assert!(
            !store.heartbeat(n2, later).await.unwrap(),
            "the purged node starts again"
        );
        assert!(store.delete_presence(a.id).await.unwrap());
        assert!(!store.delete_presence(a.id).await.unwrap());
        assert!(
            !store.delete_presence(b.id).await.unwrap(),
            "the purger announced it already"
        );
    }
}
