//! Passkeys' storage: credential ids are unique across users, each user sees and removes only
//! their own, and a ceremony is taken once, by its purpose, before it expires.

use gatehouse_core::ids::ProjectId;
use gatehouse_core::model::AuditRecord;
use gatehouse_core::passkeys::{Ceremony, CeremonyPurpose, PasskeyRecord};
use gatehouse_core::secret::SecretString;
use gatehouse_core::time::Timestamp;

use super::{bootstrapped, databases};

fn audit(action: &str) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::now_v7(),
        project_id: ProjectId::SYSTEM,
        at: Timestamp::from_millis(1_700_000_000_000),
        actor_type: "test".into(),
        actor_id: "t".into(),
        action: action.into(),
        target_type: "user".into(),
        target_id: String::new(),
        details: serde_json::json!({}),
    }
}

#[tokio::test]
async fn passkeys_belong_to_one_user_and_credential_ids_are_unique() {
    for db in databases().await {
        let store = db.store();
        let (gh, admin, _) = bootstrapped(store.clone()).await;
        let owner = store.find_user_by_email("r@example.com").await.unwrap().unwrap();
        let other = gh
            .create_user(
                &admin,
                "o@example.com",
                "O",
                &SecretString::new("correct horse battery"),
            )
            .await
            .unwrap();
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let key = PasskeyRecord {
            id: uuid::Uuid::now_v7(),
            user_id: owner.id,
            credential_id: vec![1, 2, 3],
            name: "Laptop".into(),
            passkey: "{\"cred\":1}".into(),
            created_at: t0,
            last_used_at: None,
        };
        store.insert_passkey(&key, &audit("user.passkey_add")).await.unwrap();
        let twin = PasskeyRecord {
            id: uuid::Uuid::now_v7(),
            user_id: other.id,
            ..key.clone()
        };
        assert!(matches!(
            store.insert_passkey(&twin, &audit("user.passkey_add")).await,
            Err(gatehouse_core::Error::Conflict(_))
        ));
        assert_eq!(store.list_passkeys(owner.id).await.unwrap(), std::slice::from_ref(&key));
        assert!(store.list_passkeys(other.id).await.unwrap().is_empty());
        assert_eq!(store.find_passkey(&[1, 2, 3]).await.unwrap(), Some(key.clone()));
        assert_eq!(store.find_passkey(&[9]).await.unwrap(), None);

        let later = Timestamp::from_millis(1_700_000_100_000);
        assert!(
            !store.passkey_used(other.id, key.id, "{}", later).await.unwrap(),
            "not theirs"
        );
        assert!(
            store
                .passkey_used(owner.id, key.id, "{\"cred\":2}", later)
                .await
                .unwrap()
        );
        let used = store.find_passkey(&[1, 2, 3]).await.unwrap().unwrap();
        assert_eq!(
            (used.passkey.as_str(), used.last_used_at),
            ("{\"cred\":2}", Some(later))
        );

        assert!(
            !store
                .delete_passkey(other.id, key.id, &audit("user.passkey_remove"))
                .await
                .unwrap(),
            "someone else's passkey is not removed"
        );
        assert!(
            store
                .delete_passkey(owner.id, key.id, &audit("user.passkey_remove"))
                .await
                .unwrap()
        );
        assert!(store.list_passkeys(owner.id).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_ceremony_is_taken_once_by_its_purpose_before_it_expires() {
    for db in databases().await {
        let store = db.store();
        bootstrapped(store.clone()).await;
        let user = store.find_user_by_email("r@example.com").await.unwrap().unwrap();
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let ceremony = |id: &str| Ceremony {
            id: id.into(),
            purpose: CeremonyPurpose::Register,
            user_id: Some(user.id),
            state: "{\"rs\":1}".into(),
            expires_at: t0.plus_secs(300),
        };
        store.insert_ceremony(&ceremony("a")).await.unwrap();
        assert_eq!(
            store.take_ceremony("a", CeremonyPurpose::SignIn, t0).await.unwrap(),
            None,
            "another purpose"
        );
        assert_eq!(
            store.take_ceremony("a", CeremonyPurpose::Register, t0).await.unwrap(),
            Some(ceremony("a"))
        );
        assert_eq!(
            store.take_ceremony("a", CeremonyPurpose::Register, t0).await.unwrap(),
            None,
            "taken once"
        );
        store.insert_ceremony(&ceremony("b")).await.unwrap();
        assert_eq!(
            store
                .take_ceremony("b", CeremonyPurpose::Register, t0.plus_secs(300))
                .await
                .unwrap(),
            None,
            "expired"
        );
        let anonymous = Ceremony {
            user_id: None,
            purpose: CeremonyPurpose::SignIn,
            ..ceremony("c")
        };
        store.insert_ceremony(&anonymous).await.unwrap();
        assert!(store.purge_expired(t0.plus_secs(301)).await.unwrap() >= 1);
        assert_eq!(
            store.take_ceremony("c", CeremonyPurpose::SignIn, t0).await.unwrap(),
            None,
            "purged"
        );
    }
}
