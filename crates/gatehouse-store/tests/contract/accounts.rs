//! Bootstrap, the master key, client secrets and project members.

use std::sync::Arc;

use gatehouse_core::access::{MemberFlags, Principal};
use gatehouse_core::crypto::MasterKey;
use gatehouse_core::ids::{ProjectId, UserId};
use gatehouse_core::people::ProjectSettings;
use gatehouse_core::ports::Page;
use gatehouse_core::rng::SystemRng;
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::accounts::UserRef;
use gatehouse_core::service::{BootstrapOptions, ProviderConfig};
use gatehouse_core::time::{ManualClock, Timestamp};
use gatehouse_core::{Deps, Error, Gatehouse};
use gatehouse_types::ClientInput;

use super::{NoMailer, NoNotifier, NoUpstream, app, bootstrapped, databases, web};

#[tokio::test]
async fn bootstrap_runs_once_and_gives_a_server_admin_key() {
    for db in databases().await {
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)));
        let gh = app(db.store(), clock).await;
        let opts = BootstrapOptions {
            admin_email: "root@example.com".into(),
            admin_password: None,
            issuer: "http://127.0.0.1:8080".into(),
        };
        let first = gh.bootstrap(&opts).await.unwrap().expect("first start bootstraps");
        assert!(gh.bootstrap(&opts).await.unwrap().is_none());
        let who = gh.authenticate_api_key(first.api_key.expose_secret()).await.unwrap();
        assert!(who.is_server_admin());
        let members = gh.list_members(&who, ProjectId::SYSTEM).await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].flags, MemberFlags::ALL);
    }
}

#[tokio::test]
async fn the_master_key_must_match_the_database() {
    for db in databases().await {
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(0)));
        drop(app(db.store(), clock.clone()).await);
        let deps = Deps {
            store: db.store(),
            notifier: Arc::new(NoNotifier),
            clock,
            rng: Arc::new(SystemRng::default()),
            upstream: Arc::new(NoUpstream),
            mailer: Arc::new(NoMailer),
        };
        let other = Gatehouse::open(
            deps,
            MasterKey::from_bytes(&[7; 32]),
            ProviderConfig::new("http://127.0.0.1"),
        )
        .await;
        assert!(other.is_err(), "a different master key is refused");
    }
}

#[tokio::test]
async fn client_secrets_verify_with_grace_and_stop_on_disable() {
    for db in databases().await {
        let (gh, admin, clock) = bootstrapped(db.store()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let (c, secret) = gh.create_client(&admin, p, &web("App")).await.unwrap();
        let old = SecretString::from(secret.unwrap());
        let id = c.id.to_string();
        assert!(gh.verify_client_secret(&id, &old).await.is_ok());
        assert!(gh.verify_client_secret(&id, &SecretString::new("wrong")).await.is_err());
        let new = SecretString::from(gh.rotate_client_secret(&admin, p, &id, None, 60).await.unwrap());
        assert!(gh.verify_client_secret(&id, &new).await.is_ok());
        assert!(
            gh.verify_client_secret(&id, &old).await.is_ok(),
            "the old secret lives through the grace period"
        );
        clock.advance_secs(61);
        assert!(gh.verify_client_secret(&id, &old).await.is_err(), "and not after it");
        gh.update_client(
            &admin,
            p,
            &id,
            &ClientInput {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(
            gh.verify_client_secret(&id, &new).await.is_err(),
            "disabled clients never authenticate"
        );
        gh.delete_client(&admin, p, &id, false).await.unwrap();
        assert!(gh.verify_client_secret(&id, &new).await.is_err());
    }
}

#[tokio::test]
async fn members_without_developer_rights_read_but_cannot_change() {
    for db in databases().await {
        let (gh, admin, _) = bootstrapped(db.store()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let (c, _) = gh.create_client(&admin, p, &web("App")).await.unwrap();
        let user = gh
            .create_user(
                &admin,
                "m@example.com",
                "M",
                &SecretString::new("correct horse battery"),
            )
            .await
            .unwrap();
        gh.add_member(&admin, p, UserRef::Id(user.id), MemberFlags::default())
            .await
            .unwrap();
        let member = Principal::User {
            id: user.id,
            read_only: false,
            server_admin: false,
        };
        let id = c.id.to_string();
        assert!(gh.get_client(&member, p, &id).await.is_ok());
        assert_eq!(
            gh.list_clients(&member, p, None, Page { offset: 0, count: 10 })
                .await
                .unwrap()
                .1,
            1
        );
        for denied in [
            gh.update_client(
                &member,
                p,
                &id,
                &ClientInput {
                    name: Some("x".into()),
                    ..Default::default()
                },
            )
            .await
            .err(),
            gh.create_client(&member, p, &web("Mine")).await.err(),
            gh.delete_client(&member, p, &id, false).await.err(),
            gh.rotate_client_secret(&member, p, &id, None, 0).await.err(),
        ] {
            assert!(matches!(denied, Some(Error::Forbidden(_))), "{denied:?}");
        }
        let stranger = Principal::User {
            id: UserId::from_uuid(uuid::Uuid::new_v4()),
            read_only: false,
            server_admin: false,
        };
        assert!(matches!(
            gh.get_client(&stranger, p, &id).await,
            Err(Error::NotFound(_))
        ));
        let read_only_admin = Principal::User {
            id: user.id,
            read_only: true,
            server_admin: false,
        };
        gh.update_member(&admin, p, user.id, |_| MemberFlags::ALL)
            .await
            .unwrap();
        assert!(matches!(
            gh.delete_client(&read_only_admin, p, &id, false).await,
            Err(Error::Forbidden(_))
        ));
        assert_eq!(
            gh.get_client(&member, p, &id).await.unwrap().settings.name,
            "App",
            "nothing changed"
        );
    }
}

#[tokio::test]
async fn project_sign_in_settings_are_stored_and_listed_with_the_project() {
    for db in databases().await {
        let (gh, admin, _) = bootstrapped(db.store()).await;
        let p = gh.create_project(&admin, "P").await.unwrap();
        assert_eq!(p.settings, ProjectSettings::default());
        let settings =
            ProjectSettings::parse("domains", &["corp.example".into(), "team.example".into()], true).unwrap();
        let updated = gh.update_project_settings(&admin, p.id, &settings).await.unwrap();
        assert_eq!(updated.settings, settings);
        assert!(updated.updated_at >= p.updated_at);
        let listed = gh.list_projects(&admin).await.unwrap();
        let found = listed.iter().find(|q| q.id == p.id).unwrap();
        assert_eq!(found.settings, settings, "listed with its settings");
        let back = ProjectSettings::parse("inherit", &[], false).unwrap();
        let reset = gh.update_project_settings(&admin, p.id, &back).await.unwrap();
        assert_eq!(reset.settings, ProjectSettings::default());
        let missing = ProjectId::from_uuid(uuid::Uuid::new_v4());
        assert!(matches!(
            gh.update_project_settings(&admin, missing, &settings).await,
            Err(Error::NotFound(_))
        ));
    }
}
