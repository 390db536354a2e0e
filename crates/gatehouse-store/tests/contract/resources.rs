//! API resources: identifiers and scope names unique per project in the database itself, stale
//! updates lose, and a deleted resource frees its scope names.

use gatehouse_core::Error;
use gatehouse_core::ids::ResourceId;
use gatehouse_core::resources::ApiResource;
use gatehouse_core::time::Clock as _;
use gatehouse_types::{ResourceInput, ResourceScope};

use super::{bootstrapped, databases};

fn input(identifier: &str, scopes: &[&str]) -> ResourceInput {
    ResourceInput {
        identifier: identifier.into(),
        name: "API".into(),
        scopes: scopes
            .iter()
            .map(|s| ResourceScope {
                name: (*s).into(),
                description: String::new(),
            })
            .collect(),
        access_token_lifetime_secs: None,
        signing_alg: None,
        token_format: None,
    }
}

#[tokio::test]
async fn the_database_keeps_identifiers_and_scope_names_unique_per_project() {
    for db in databases().await {
        let store = db.store();
        let (gh, admin, clock) = bootstrapped(store.clone()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let q = gh.create_project(&admin, "Q").await.unwrap().id;
        let audit = |project| gatehouse_core::model::AuditRecord {
            id: uuid::Uuid::now_v7(),
            project_id: project,
            at: clock.now(),
            actor_type: "test".into(),
            actor_id: "t".into(),
            action: "resource.create".into(),
            target_type: "resource".into(),
            target_id: String::new(),
            details: serde_json::json!({}),
        };
        let resource = |project, identifier: &str, scopes: &[&str]| {
            let mut r = ApiResource::new(ResourceId::from_uuid(uuid::Uuid::now_v7()), project, clock.now());
            r.apply(&input(identifier, scopes)).unwrap();
            r
        };
        let a = resource(p, "https://a.example", &["a.read", "shared"]);
        store.insert_resource(&a, &audit(p)).await.unwrap();
        for clash in [
            resource(p, "https://a.example", &["x"]),
            resource(p, "https://b.example", &["shared"]),
        ] {
            let e = store.insert_resource(&clash, &audit(p)).await.unwrap_err();
            assert!(matches!(e, Error::Conflict(_)), "{e:?}");
        }
        store
            .insert_resource(&resource(q, "https://a.example", &["shared"]), &audit(q))
            .await
            .expect("another project may reuse both");
        assert_eq!(
            store.list_resources(p).await.unwrap(),
            vec![a.clone()],
            "a refused insert leaves nothing"
        );
        let mut next = a.clone();
        next.version += 1;
        next.apply(&input("https://a.example", &["a.write"])).unwrap();
        assert!(store.update_resource(&next, &audit(p)).await.unwrap());
        assert!(
            !store.update_resource(&next, &audit(p)).await.unwrap(),
            "a stale version loses"
        );
        let b = resource(p, "https://b.example", &["a.read", "shared"]);
        store
            .insert_resource(&b, &audit(p))
            .await
            .expect("the replaced scope names are free");
        assert!(store.delete_resource(p, next.id, &audit(p)).await.unwrap());
        assert!(
            !store.delete_resource(q, b.id, &audit(q)).await.unwrap(),
            "scoped by project"
        );
        store
            .insert_resource(&resource(p, "https://c.example", &["a.write"]), &audit(p))
            .await
            .expect("a deleted resource frees its scope names");
    }
}
