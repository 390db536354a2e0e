//! Linked identities: one account per (provider, subject), created with its account in one
//! transaction or added to an existing one, listed per account and removed only by their account;
//! linking through the account's own (upstream-verified) address marks it verified; and the
//! identity providers managed over REST, removed with their links.

use gatehouse_core::Error;
use gatehouse_core::idp::settings::{StoredProvider, StoredSettings};
use gatehouse_core::idp::{IdpKind, LinkedIdentity};
use gatehouse_core::ids::{DataKeyId, IdentityId, ProjectId, UserId};
use gatehouse_core::model::{AuditRecord, Sealed, User};
use gatehouse_core::secret::Redacted;
use gatehouse_core::time::Timestamp;

use super::databases;

const AT: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn audit(action: &str) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::now_v7(),
        project_id: ProjectId::SYSTEM,
        at: AT,
        actor_type: "test".into(),
        actor_id: "t".into(),
        action: action.into(),
        target_type: "user".into(),
        target_id: String::new(),
        details: serde_json::json!({}),
    }
}

fn user(email: &str) -> User {
    User {
        id: UserId::from_uuid(uuid::Uuid::now_v7()),
        email: email.into(),
        name: email.into(),
        password_hash: Redacted::new(String::new()),
        email_verified_at: None,
        created_at: AT,
        updated_at: AT,
    }
}

fn identity(user: &User, provider: &str, subject: &str) -> LinkedIdentity {
    LinkedIdentity {
        id: IdentityId::from_uuid(uuid::Uuid::now_v7()),
        user_id: user.id,
        provider: provider.into(),
        subject: subject.into(),
        email: user.email.clone(),
        created_at: AT,
    }
}

#[tokio::test]
async fn identities_link_one_account_each_and_are_removed_only_by_it() {
    for db in databases().await {
        let store = db.store();
        let ann = user("ann@example.com");
        let first = identity(&ann, "corp", "sub-1");
        store.link_identity(&first, Some(&ann), &audit("create")).await.unwrap();
        assert_eq!(
            store.get_user(ann.id).await.unwrap(),
            Some(User {
                email_verified_at: Some(AT),
                ..ann.clone()
            }),
            "created with its identity, through its verified address"
        );
        let (found, owner) = store.find_identity("corp", "sub-1").await.unwrap().unwrap();
        assert_eq!((found, owner.id), (first.clone(), ann.id));
        assert!(store.find_identity("corp", "sub-2").await.unwrap().is_none());
        assert!(store.find_identity("other", "sub-1").await.unwrap().is_none());

        // The same upstream identity cannot name a second account, and a refused link creates
        // no account either.
        let bob = user("bob@example.com");
        let taken = store
            .link_identity(&identity(&bob, "corp", "sub-1"), Some(&bob), &audit("create"))
            .await;
        assert!(matches!(taken, Err(Error::Conflict(_))), "{taken:?}");
        assert!(store.get_user(bob.id).await.unwrap().is_none(), "rolled back");

        let second = identity(&ann, "github", "42");
        store.link_identity(&second, None, &audit("link")).await.unwrap();
        assert_eq!(
            store.list_identities(ann.id).await.unwrap(),
            [first.clone(), second.clone()]
        );

        store
            .link_identity(&identity(&bob, "corp", "sub-9"), Some(&bob), &audit("create"))
            .await
            .unwrap();
        assert!(
            !store.delete_identity(bob.id, first.id, &audit("unlink")).await.unwrap(),
            "not bob's"
        );
        assert!(store.delete_identity(ann.id, first.id, &audit("unlink")).await.unwrap());
        assert!(!store.delete_identity(ann.id, first.id, &audit("unlink")).await.unwrap());
        assert_eq!(store.list_identities(ann.id).await.unwrap(), [second]);
    }
}

#[tokio::test]
async fn linking_an_existing_account_through_its_address_marks_the_address_verified() {
    for db in databases().await {
        let store = db.store();
        let cat = user("cat@example.com");
        let dan = user("dan@example.com");
        for u in [&cat, &dan] {
            store.insert_user(u, &audit("user.create")).await.unwrap();
        }
        store
            .link_identity(&identity(&cat, "corp", "c"), None, &audit("link"))
            .await
            .unwrap();
        assert_eq!(
            store.get_user(cat.id).await.unwrap().unwrap().email_verified_at,
            Some(AT)
        );
        // An identity whose address is not the account's says nothing about the account's.
        let other = LinkedIdentity {
            email: "dan@elsewhere.example".into(),
            ..identity(&dan, "corp", "d")
        };
        store.link_identity(&other, None, &audit("link")).await.unwrap();
        assert_eq!(store.get_user(dan.id).await.unwrap().unwrap().email_verified_at, None);
    }
}

fn provider(name: &str, kind: IdpKind, version: i64) -> StoredProvider {
    StoredProvider {
        settings: StoredSettings {
            name: name.into(),
            preset: "oidc".into(),
            display_name: format!("{name} SSO"),
            kind,
            client_id: "client".into(),
            scopes: vec!["openid".into(), "email".into()],
            allow_signup: version % 2 == 0,
        },
        client_secret: Sealed {
            data_key_id: DataKeyId::from_uuid(uuid::Uuid::now_v7()),
            ciphertext: Redacted::new(vec![version as u8; 40]),
        },
        created_at: AT,
        updated_at: Timestamp::from_millis(AT.millis() + version),
        version,
    }
}

#[tokio::test]
async fn stored_providers_are_unique_by_name_versioned_and_removed_with_their_links() {
    for db in databases().await {
        let store = db.store();
        let oidc = IdpKind::Oidc {
            issuer: "https://sso.example".into(),
        };
        let github = IdpKind::GitHub {
            web_url: "https://github.example".into(),
            api_url: "https://github.example/api/v3".into(),
        };
        let corp = provider("corp", oidc.clone(), 1);
        let gh = provider("gh", github, 1);
        store.insert_identity_provider(&corp, &audit("create")).await.unwrap();
        store.insert_identity_provider(&gh, &audit("create")).await.unwrap();
        let again = store.insert_identity_provider(&corp, &audit("create")).await;
        assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
        assert_eq!(
            store.list_identity_providers().await.unwrap(),
            [corp.clone(), gh.clone()]
        );

        // An update names the version it read: a stale one changes nothing.
        let v2 = provider("corp", oidc.clone(), 2);
        assert!(store.update_identity_provider(&v2, &audit("update")).await.unwrap());
        assert!(!store.update_identity_provider(&v2, &audit("update")).await.unwrap());
        assert_eq!(store.list_identity_providers().await.unwrap()[0], v2);

        // Removing a provider removes the identities linked through it, and only those.
        let ann = user("ann@example.com");
        store
            .link_identity(&identity(&ann, "corp", "sub-1"), Some(&ann), &audit("create"))
            .await
            .unwrap();
        let kept = identity(&ann, "gh", "42");
        store.link_identity(&kept, None, &audit("link")).await.unwrap();
        assert!(store.delete_identity_provider("corp", &audit("delete")).await.unwrap());
        assert!(!store.delete_identity_provider("corp", &audit("delete")).await.unwrap());
        assert!(store.find_identity("corp", "sub-1").await.unwrap().is_none());
        assert_eq!(store.list_identities(ann.id).await.unwrap(), [kept]);
        assert_eq!(store.list_identity_providers().await.unwrap(), [gh]);
    }
}
