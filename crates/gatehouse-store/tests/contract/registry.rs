//! Client listings: optimistic updates, filters and paging.

use gatehouse_core::Error;
use gatehouse_core::ids::{ClientId, ProjectId};
use gatehouse_core::ports::Page;
use gatehouse_core::time::Clock as _;
use gatehouse_types::ClientInput;

use super::{bootstrapped, databases, web};

#[tokio::test]
async fn stale_updates_lose_and_filters_count_across_pages() {
    for db in databases().await {
        let store = db.store();
        let (gh, admin, clock) = bootstrapped(store.clone()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        for i in 0..7 {
            clock.advance_secs(1);
            gh.create_client(
                &admin,
                p,
                &web(&format!("{} {i}", if i < 3 { "Red_50%" } else { "Blue" })),
            )
            .await
            .unwrap();
        }
        let (page, total) = store
            .list_clients(p, Some("red_50%"), Page { offset: 1, count: 1 })
            .await
            .unwrap();
        assert_eq!((page.len(), total), (1, 3));
        assert_eq!(page[0].settings.name, "Red_50% 1", "oldest first");
        let (past, total) = store
            .list_clients(p, Some("red_50%"), Page { offset: 10, count: 5 })
            .await
            .unwrap();
        assert_eq!((past.len(), total), (0, 3), "a page past the end still knows the total");
        let (_, none) = store
            .list_clients(p, Some("red_5%"), Page { offset: 0, count: 10 })
            .await
            .unwrap();
        assert_eq!(none, 0, "wildcards are literal");
        let (first, _) = store.list_clients(p, None, Page { offset: 0, count: 1 }).await.unwrap();
        let mut stale = first[0].clone();
        stale.version += 1;
        let audit = gatehouse_core::model::AuditRecord {
            id: uuid::Uuid::now_v7(),
            project_id: p,
            at: clock.now(),
            actor_type: "test".into(),
            actor_id: "t".into(),
            action: "client.update".into(),
            target_type: "client".into(),
            target_id: stale.id.to_string(),
            details: serde_json::json!({}),
        };
        assert!(store.update_client(&stale, &audit).await.unwrap());
        assert!(
            !store.update_client(&stale, &audit).await.unwrap(),
            "a second write of the same version loses"
        );
        let other = ProjectId::from_uuid(uuid::Uuid::new_v4());
        let mut orphan = first[0].clone();
        orphan.id = ClientId::parse("orphan-client").unwrap();
        orphan.project_id = other;
        let err = store.insert_client(&orphan, &audit).await.unwrap_err();
        assert!(
            matches!(err, Error::NotFound("project")),
            "rows of a missing project are refused: {err:?}"
        );
        assert!(
            store
                .get_client(other, &ClientId::parse(stale.id.as_str()).unwrap())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store
                .list_clients(other, None, Page { offset: 0, count: 10 })
                .await
                .unwrap()
                .1,
            0
        );
    }
}

#[tokio::test]
async fn the_filter_follows_renames_and_deletes() {
    for db in databases().await {
        let store = db.store();
        let (gh, admin, _) = bootstrapped(store.clone()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let (c, _) = gh.create_client(&admin, p, &web("Original name")).await.unwrap();
        let id = c.id.to_string();
        let page = Page { offset: 0, count: 10 };
        assert_eq!(store.list_clients(p, Some("original"), page).await.unwrap().1, 1);
        gh.update_client(
            &admin,
            p,
            &id,
            &ClientInput {
                name: Some("Renamed *[x]?".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(store.list_clients(p, Some("original"), page).await.unwrap().1, 0);
        assert_eq!(
            store.list_clients(p, Some("named *[x]?"), page).await.unwrap().1,
            1,
            "wildcards are literal"
        );
        assert_eq!(store.list_clients(p, Some("named *[y]?"), page).await.unwrap().1, 0);
        assert_eq!(
            store.list_clients(p, Some(&id[3..9]), page).await.unwrap().1,
            1,
            "ids are searched too"
        );
        assert_eq!(
            store.list_clients(p, Some("re"), page).await.unwrap().1,
            1,
            "filters under three characters work"
        );
        gh.delete_client(&admin, p, &id, false).await.unwrap();
        assert_eq!(store.list_clients(p, Some("renamed"), page).await.unwrap().1, 0);
    }
}

#[tokio::test]
async fn a_clients_last_use_only_moves_forward_and_its_history_is_its_own_newest_first() {
    for db in databases().await {
        let store = db.store();
        let (gh, admin, clock) = bootstrapped(store.clone()).await;
        let p = gh.create_project(&admin, "Used").await.unwrap().id;
        let (a, _) = gh.create_client(&admin, p, &web("A")).await.unwrap();
        let (b, _) = gh.create_client(&admin, p, &web("B")).await.unwrap();
        assert_eq!(a.last_used_at, None);
        let later = clock.now().plus_secs(60);
        store.record_client_use(&a.id, later).await.unwrap();
        store.record_client_use(&a.id, clock.now()).await.unwrap();
        let stored = store.get_client(p, &a.id).await.unwrap().unwrap();
        assert_eq!(stored.last_used_at, Some(later), "an older use does not move it back");
        assert_eq!(store.get_client(p, &b.id).await.unwrap().unwrap().last_used_at, None);

        for name in ["A1", "A2"] {
            clock.advance_secs(1);
            let input = ClientInput {
                name: Some(name.into()),
                ..Default::default()
            };
            gh.update_client(&admin, p, a.id.as_str(), &input).await.unwrap();
        }
        let page = Page { offset: 0, count: 2 };
        let (history, total) = store.list_audit_of(p, "client", a.id.as_str(), page).await.unwrap();
        assert_eq!(total, 3, "create and two updates");
        let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
        assert_eq!(actions, ["client.update", "client.update"]);
        assert_eq!(
            history[0].details["changes"]["name"],
            serde_json::json!({ "before": "A1", "after": "A2" })
        );
        let other = ProjectId::from_uuid(uuid::Uuid::now_v7());
        let (none, total) = store.list_audit_of(other, "client", a.id.as_str(), page).await.unwrap();
        assert_eq!((none.len(), total), (0, 0), "scoped by project");
    }
}
