//! Mailed links and invitations: a link is finished once, never after it expired; an
//! invitation is renewed per address, found by address in any case, and becomes a membership
//! once.

use gatehouse_core::access::MemberFlags;
use gatehouse_core::ids::{InvitationId, LinkId, ProjectId, UserId};
use gatehouse_core::model::{AuditRecord, User};
use gatehouse_core::people::{AccountLink, Invitation, LinkPurpose};
use gatehouse_core::time::Timestamp;

use crate::databases;

const NOW: i64 = 1_700_000_000_000;

fn audit(project: ProjectId, action: &str) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::now_v7(),
        project_id: project,
        at: Timestamp::from_millis(NOW),
        actor_type: "test".into(),
        actor_id: "t".into(),
        action: action.into(),
        target_type: "link".into(),
        target_id: String::new(),
        details: serde_json::json!({}),
    }
}

fn link(purpose: LinkPurpose, email: &str, user: Option<UserId>, expires_in_ms: i64) -> AccountLink {
    AccountLink {
        id: LinkId::from_uuid(uuid::Uuid::now_v7()),
        purpose,
        email: email.into(),
        secret_hash: vec![7; 32].into(),
        user_id: user,
        name: "Ann".into(),
        password_hash: "$argon2id$v=19$placeholder".to_owned().into(),
        next: "/oauth/authorize?client_id=x".into(),
        created_at: Timestamp::from_millis(NOW),
        expires_at: Timestamp::from_millis(NOW + expires_in_ms),
        used_at: None,
    }
}

fn user(email: &str) -> User {
    User {
        id: UserId::from_uuid(uuid::Uuid::now_v7()),
        email: email.into(),
        name: "Ann".into(),
        password_hash: "$argon2id$v=19$placeholder".to_owned().into(),
        email_verified_at: None,
        created_at: Timestamp::from_millis(NOW),
        updated_at: Timestamp::from_millis(NOW),
    }
}

#[tokio::test]
async fn a_sign_up_link_creates_its_account_once_and_never_after_expiry() {
    for db in databases().await {
        let store = db.store();
        let at = Timestamp::from_millis(NOW + 1);
        let l = link(LinkPurpose::SignUp, "Ann@Example.com", None, 60_000);
        store.insert_link(&l).await.unwrap();
        let read = store.get_link(l.id).await.unwrap().unwrap();
        assert_eq!(read, l);
        let ann = user("Ann@Example.com");
        let sys = ProjectId::SYSTEM;
        assert!(
            store
                .finish_sign_up(l.id, &ann, at, &audit(sys, "user.sign_up"))
                .await
                .unwrap()
        );
        assert!(store.get_link(l.id).await.unwrap().unwrap().used_at.is_some());
        let twin = user("ann@example.com");
        assert!(
            !store
                .finish_sign_up(l.id, &twin, at, &audit(sys, "user.sign_up"))
                .await
                .unwrap(),
            "a link works once"
        );
        assert_eq!(
            store.find_user_by_email("ANN@example.com").await.unwrap().unwrap().id,
            ann.id
        );

        let expired = link(LinkPurpose::SignUp, "bob@example.com", None, 1);
        store.insert_link(&expired).await.unwrap();
        let late = Timestamp::from_millis(NOW + 2);
        assert!(
            !store
                .finish_sign_up(expired.id, &user("bob@example.com"), late, &audit(sys, "x"))
                .await
                .unwrap()
        );
        assert!(store.find_user_by_email("bob@example.com").await.unwrap().is_none());

        let taken = link(LinkPurpose::SignUp, "ann@example.com", None, 60_000);
        store.insert_link(&taken).await.unwrap();
        let conflict = store
            .finish_sign_up(taken.id, &user("ann@example.com"), at, &audit(sys, "x"))
            .await;
        assert!(
            matches!(conflict, Err(gatehouse_core::Error::Conflict(_))),
            "{conflict:?}"
        );
        assert!(
            store.get_link(taken.id).await.unwrap().unwrap().used_at.is_none(),
            "rolled back"
        );

        assert_eq!(
            store.purge_links(Timestamp::from_millis(NOW + 60_001)).await.unwrap(),
            3
        );
        assert!(store.get_link(l.id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_and_proves_the_address() {
    for db in databases().await {
        let store = db.store();
        let ann = user("ann@example.com");
        store
            .insert_user(&ann, &audit(ProjectId::SYSTEM, "user.create"))
            .await
            .unwrap();
        let l = link(LinkPurpose::Reset, "ann@example.com", Some(ann.id), 60_000);
        store.insert_link(&l).await.unwrap();
        let at = Timestamp::from_millis(NOW + 5);
        let a = audit(ProjectId::SYSTEM, "user.password_reset");
        assert_eq!(store.get_user(ann.id).await.unwrap().unwrap().email_verified_at, None);
        assert!(store.finish_reset(l.id, ann.id, "$argon2id$new", at, &a).await.unwrap());
        let after = store.get_user(ann.id).await.unwrap().unwrap();
        assert_eq!(after.password_hash.expose(), "$argon2id$new");
        assert_eq!(after.email_verified_at, Some(at), "the mailed link proved the address");
        assert!(
            !store
                .finish_reset(l.id, ann.id, "$argon2id$again", at, &a)
                .await
                .unwrap()
        );
        assert_eq!(
            store.get_user(ann.id).await.unwrap().unwrap().password_hash.expose(),
            "$argon2id$new"
        );

        // A link mailed to another address than the account's proves nothing of the account's.
        let bob = user("bob@example.com");
        store
            .insert_user(&bob, &audit(ProjectId::SYSTEM, "user.create"))
            .await
            .unwrap();
        let elsewhere = link(LinkPurpose::Reset, "old@example.com", Some(bob.id), 60_000);
        store.insert_link(&elsewhere).await.unwrap();
        let a = audit(ProjectId::SYSTEM, "user.password_reset");
        assert!(
            store
                .finish_reset(elsewhere.id, bob.id, "$argon2id$bob", at, &a)
                .await
                .unwrap()
        );
        assert_eq!(store.get_user(bob.id).await.unwrap().unwrap().email_verified_at, None);
    }
}

#[tokio::test]
async fn an_invitation_is_renewed_per_address_and_becomes_a_membership_once() {
    for db in databases().await {
        let (gh, admin, _) = crate::bootstrapped(db.store()).await;
        let store = db.store();
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let invite = |email: &str, flags: MemberFlags, expires: i64| Invitation {
            id: InvitationId::from_uuid(uuid::Uuid::now_v7()),
            project_id: p,
            email: email.into(),
            secret_hash: vec![9; 32].into(),
            flags,
            created_at: Timestamp::from_millis(NOW),
            expires_at: Timestamp::from_millis(NOW + expires),
        };
        let first = invite("Ann@Example.com", MemberFlags::default(), 60_000);
        store
            .put_invitation(&first, &audit(p, "invitation.create"))
            .await
            .unwrap();
        let dev = MemberFlags {
            is_developer: true,
            ..MemberFlags::default()
        };
        let renewed = invite("ann@example.com", dev, 60_000);
        store
            .put_invitation(&renewed, &audit(p, "invitation.create"))
            .await
            .unwrap();
        let now = Timestamp::from_millis(NOW + 1);
        assert_eq!(
            store.list_project_invitations(p, now).await.unwrap(),
            vec![renewed.clone()]
        );
        assert!(
            store.get_invitation(first.id).await.unwrap().is_none(),
            "renewed under the new id"
        );
        assert_eq!(
            store.list_invitations_for("ANN@example.com", now).await.unwrap().len(),
            1
        );
        let later = Timestamp::from_millis(NOW + 60_000);
        assert!(
            store
                .list_invitations_for("ann@example.com", later)
                .await
                .unwrap()
                .is_empty()
        );

        let ann = user("ann@example.com");
        store
            .insert_user(&ann, &audit(ProjectId::SYSTEM, "user.create"))
            .await
            .unwrap();
        assert!(
            store.get_member(p, ann.id).await.unwrap().is_none(),
            "no membership before accepting"
        );
        assert!(
            store
                .close_invitation(&renewed, Some(ann.id), &audit(p, "member.join"))
                .await
                .unwrap()
        );
        assert_eq!(store.get_member(p, ann.id).await.unwrap(), Some(dev));
        assert!(
            !store
                .close_invitation(&renewed, Some(ann.id), &audit(p, "member.join"))
                .await
                .unwrap()
        );

        let other_project = gh.create_project(&admin, "Q").await.unwrap().id;
        let bob = invite("bob@example.com", MemberFlags::ALL, 60_000);
        store.put_invitation(&bob, &audit(p, "x")).await.unwrap();
        let wrong = Invitation {
            project_id: other_project,
            ..bob.clone()
        };
        assert!(
            !store.close_invitation(&wrong, None, &audit(p, "x")).await.unwrap(),
            "scoped by project"
        );
        assert!(store.get_invitation(bob.id).await.unwrap().is_some());
    }
}
