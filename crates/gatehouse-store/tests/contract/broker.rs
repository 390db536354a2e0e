//! The room secrets broker's storage: credentials by generation under one refresh lease, and
//! consent requests answered once.

use gatehouse_core::Error;
use gatehouse_core::broker::{OAuthCredential, PendingRequest, ProviderSettings, RequestFailure, RequestStatus};
use gatehouse_core::ids::{DataKeyId, NodeId, OAuthRequestId, ParticipantId, ProjectId, RoomSecretId};
use gatehouse_core::model::{AuditRecord, Sealed};
use gatehouse_core::time::Timestamp;

use super::{bootstrapped, databases};

fn test_audit(project: ProjectId, action: &str) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::now_v7(),
        project_id: project,
        at: Timestamp::from_millis(1_700_000_000_000),
        actor_type: "test".into(),
        actor_id: "t".into(),
        action: action.into(),
        target_type: "room_secret".into(),
        target_id: String::new(),
        details: serde_json::json!({}),
    }
}

fn provider_settings() -> ProviderSettings {
    ProviderSettings {
        authorization_endpoint: "https://idp.example/authorize".into(),
        token_endpoint: "https://idp.example/token".into(),
        revocation_endpoint: None,
        issuer: Some("https://idp.example".into()),
        client_id: "c1".into(),
        registration_id: None,
        name: "idp.example".into(),
    }
}

#[tokio::test]
async fn credentials_change_by_generation_and_refresh_under_one_lease() {
    for db in databases().await {
        let store = db.store();
        let (gh, admin, _) = bootstrapped(store.clone()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let other = gh.create_project(&admin, "Q").await.unwrap().id;
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let c = OAuthCredential {
            id: RoomSecretId::from_uuid(uuid::Uuid::now_v7()),
            project_id: p,
            room_name: "r".into(),
            owner: "alice".into(),
            delegated_to: "agent".into(),
            provider: provider_settings(),
            scopes: vec!["a".into(), "b".into()],
            sealed: Sealed {
                data_key_id: DataKeyId::from_uuid(uuid::Uuid::new_v4()),
                ciphertext: vec![1, 2, 3].into(),
            },
            expires_at: Some(t0.plus_secs(3600)),
            needs_consent: false,
            generation: 1,
            created_at: t0,
            updated_at: t0,
        };
        store
            .insert_credential(&c, &test_audit(p, "room_secret.store"))
            .await
            .unwrap();
        let twin = OAuthCredential {
            id: RoomSecretId::from_uuid(uuid::Uuid::now_v7()),
            ..c.clone()
        };
        assert!(
            matches!(
                store.insert_credential(&twin, &test_audit(p, "x")).await,
                Err(Error::Conflict(_))
            ),
            "one credential per owner, delegate and provider"
        );
        let got = store.get_credential(p, c.id).await.unwrap().unwrap();
        assert_eq!(
            (
                got.scopes.clone(),
                got.provider.clone(),
                got.sealed.ciphertext.clone(),
                got.expires_at
            ),
            (
                c.scopes.clone(),
                c.provider.clone(),
                c.sealed.ciphertext.clone(),
                c.expires_at
            )
        );
        assert!(
            store.get_credential(other, c.id).await.unwrap().is_none(),
            "scoped by project"
        );
        let find = |owner: &'static str| {
            let store = store.clone();
            async move {
                store
                    .find_credentials(p, "r", owner, "https://idp.example/authorize", "c1")
                    .await
                    .unwrap()
                    .len()
            }
        };
        assert_eq!((find("alice").await, find("agent").await), (1, 0));
        assert_eq!(
            store.list_credentials(p, "r", "agent", 10).await.unwrap().len(),
            1,
            "the delegate sees it"
        );
        assert_eq!(store.list_credentials(p, "r", "bob", 10).await.unwrap().len(), 0);
        assert_eq!(
            store.list_credentials(p, "s", "alice", 10).await.unwrap().len(),
            0,
            "scoped by room"
        );

        // One lease at a time, for the current generation only.
        let (n1, n2) = (
            NodeId::from_uuid(uuid::Uuid::new_v4()),
            NodeId::from_uuid(uuid::Uuid::new_v4()),
        );
        assert!(
            !store
                .lease_credential(p, c.id, 2, n1, t0.plus_secs(30), t0)
                .await
                .unwrap(),
            "stale generation"
        );
        assert!(
            store
                .lease_credential(p, c.id, 1, n1, t0.plus_secs(30), t0)
                .await
                .unwrap()
        );
        assert!(
            !store
                .lease_credential(p, c.id, 1, n2, t0.plus_secs(30), t0)
                .await
                .unwrap(),
            "held"
        );
        assert!(
            store
                .lease_credential(p, c.id, 1, n2, t0.plus_secs(60), t0.plus_secs(31))
                .await
                .unwrap(),
            "an expired lease may be taken over"
        );
        store.release_credential(p, c.id, 1, n1).await.unwrap();
        assert!(
            !store
                .lease_credential(p, c.id, 1, n1, t0.plus_secs(90), t0.plus_secs(32))
                .await
                .unwrap(),
            "only the holder releases"
        );
        store.release_credential(p, c.id, 1, n2).await.unwrap();
        assert!(
            store
                .lease_credential(p, c.id, 1, n1, t0.plus_secs(90), t0.plus_secs(32))
                .await
                .unwrap()
        );

        let next = OAuthCredential {
            generation: 2,
            sealed: Sealed {
                data_key_id: c.sealed.data_key_id,
                ciphertext: vec![4, 5].into(),
            },
            ..c.clone()
        };
        assert!(store.replace_credential(&next, 1, None).await.unwrap());
        assert!(
            !store.replace_credential(&next, 1, None).await.unwrap(),
            "the generation moved on"
        );
        assert!(
            store
                .lease_credential(p, c.id, 2, n2, t0.plus_secs(90), t0.plus_secs(33))
                .await
                .unwrap(),
            "replacing released the lease"
        );
        assert!(
            !store
                .delete_credential(other, c.id, &test_audit(other, "x"))
                .await
                .unwrap()
        );
        assert!(
            store
                .delete_credential(p, c.id, &test_audit(p, "room_secret.delete"))
                .await
                .unwrap()
        );
        assert!(store.get_credential(p, c.id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn consent_requests_are_answered_once_and_bounded_per_room() {
    for db in databases().await {
        let store = db.store();
        let (gh, admin, _) = bootstrapped(store.clone()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let request = |hash: u8, ttl: i64| PendingRequest {
            id: OAuthRequestId::from_uuid(uuid::Uuid::now_v7()),
            request_hash: vec![hash; 32].into(),
            project_id: p,
            room_name: "r".into(),
            requester: "agent".into(),
            requester_participant: None,
            target: ParticipantId::from_uuid(uuid::Uuid::new_v4()),
            target_name: "alice".into(),
            delegate_to: "agent".into(),
            provider: provider_settings(),
            redirect_uri: "https://app.example/cb".into(),
            scopes: vec!["a".into()],
            sealed: Sealed {
                data_key_id: DataKeyId::from_uuid(uuid::Uuid::new_v4()),
                ciphertext: vec![9].into(),
            },
            state: "s".into(),
            status: RequestStatus::Pending,
            expires_at: t0.plus_secs(ttl),
            created_at: t0,
        };
        let (a, b, c) = (request(1, 300), request(2, 300), request(3, 900));
        assert!(store.insert_oauth_request(&a, 2, 5, t0).await.unwrap());
        assert!(store.insert_oauth_request(&b, 2, 5, t0).await.unwrap());
        assert!(
            !store.insert_oauth_request(&c, 2, 5, t0).await.unwrap(),
            "two pending at most"
        );
        assert!(
            store.insert_oauth_request(&c, 2, 5, t0.plus_secs(301)).await.unwrap(),
            "expired requests do not count"
        );
        let later = t0.plus_secs(301);
        assert!(
            !store
                .insert_oauth_request(&request(4, 900), 10, 1, later)
                .await
                .unwrap(),
            "one pending per requester at most"
        );
        let other = PendingRequest {
            requester: "other".into(),
            ..request(5, 900)
        };
        assert!(
            store.insert_oauth_request(&other, 10, 1, later).await.unwrap(),
            "another requester's own count"
        );
        let found = store.find_oauth_request(p, &[1; 32]).await.unwrap().unwrap();
        assert_eq!(
            (found.id, found.status.clone(), found.scopes.clone()),
            (a.id, RequestStatus::Pending, a.scopes.clone())
        );
        let q = gh.create_project(&admin, "Q").await.unwrap().id;
        assert!(
            store.find_oauth_request(q, &[1; 32]).await.unwrap().is_none(),
            "scoped by project"
        );

        let pending = RequestStatus::Pending;
        assert!(
            store
                .set_oauth_request_status(p, a.id, &pending, &RequestStatus::Exchanging)
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_oauth_request_status(p, a.id, &pending, &RequestStatus::Exchanging)
                .await
                .unwrap(),
            "an answer is taken once"
        );
        let secret = RoomSecretId::from_uuid(uuid::Uuid::now_v7());
        assert!(
            store
                .set_oauth_request_status(p, a.id, &RequestStatus::Exchanging, &RequestStatus::Done(secret))
                .await
                .unwrap()
        );
        assert_eq!(
            store.get_oauth_request(p, a.id).await.unwrap().unwrap().status,
            RequestStatus::Done(secret)
        );
        let rejected = RequestStatus::Failed(RequestFailure::Rejected {
            error: "user_cancelled".into(),
        });
        assert!(
            store
                .set_oauth_request_status(p, b.id, &pending, &rejected)
                .await
                .unwrap()
        );
        assert_eq!(
            store.get_oauth_request(p, b.id).await.unwrap().unwrap().status,
            rejected
        );

        assert_eq!(store.purge_oauth_requests(t0.plus_secs(301)).await.unwrap(), 2);
        assert!(store.get_oauth_request(p, c.id).await.unwrap().is_some());
        assert!(
            store.get_oauth_request(q, c.id).await.unwrap().is_none(),
            "scoped by project"
        );
        store.delete_oauth_request(p, c.id).await.unwrap();
        assert!(store.get_oauth_request(p, c.id).await.unwrap().is_none());
    }
}
