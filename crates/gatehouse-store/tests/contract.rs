//! The storage contract: the same assertions against SQLite and PostgreSQL (when
//! `GATEHOUSE_TEST_POSTGRES_URL` is set; unreachable then means failure, not a skip). Most run
//! through core's use cases, so they also pin the behaviour the REST API relies on.

use std::sync::Arc;

use async_trait::async_trait;
use gatehouse_core::access::{MemberFlags, Principal};
use gatehouse_core::broker::{OAuthCredential, PendingRequest, ProviderSettings, RequestFailure, RequestStatus};
use gatehouse_core::crypto::MasterKey;
use gatehouse_core::ids::{ApiKeyId, NodeId, ParticipantId};
use gatehouse_core::ids::{ClientId, ProjectId, UserId};
use gatehouse_core::ids::{DataKeyId, OAuthRequestId, RoomSecretId};
use gatehouse_core::model::{AuditRecord, Sealed};
use gatehouse_core::ports::{
    Invalidation, Notifier, Page, Store, Upstream, UpstreamClient, UpstreamError, UpstreamTokens,
};
use gatehouse_core::rng::SystemRng;
use gatehouse_core::rooms::{GrantRequest, Presence};
use gatehouse_core::secret::SecretString;
use gatehouse_core::service::accounts::UserRef;
use gatehouse_core::service::{BootstrapOptions, ProviderConfig};
use gatehouse_core::time::{Clock as _, ManualClock, Timestamp};
use gatehouse_core::{Deps, Error, Gatehouse};
use gatehouse_store::Database;
use gatehouse_types::ClientInput;
use sqlx::Connection as _;

struct NoNotifier;

#[async_trait]
impl Notifier for NoNotifier {
    async fn publish(&self, _: &Invalidation) -> gatehouse_core::Result<()> {
        Ok(())
    }

    async fn route(&self, _: &str) -> gatehouse_core::Result<()> {
        Ok(())
    }
}

/// No third-party provider: these tests never reach one.
struct NoUpstream;

#[async_trait]
impl Upstream for NoUpstream {
    fn check_endpoint(&self, _: &str, _: &str) -> gatehouse_core::Result<()> {
        Ok(())
    }

    async fn token(&self, _: &str, _: UpstreamClient<'_>, _: &[(&str, &str)]) -> Result<UpstreamTokens, UpstreamError> {
        Err(UpstreamError::Transient("no provider in these tests".into()))
    }

    async fn revoke(&self, _: &str, _: UpstreamClient<'_>, _: &str, _: &str) -> Result<(), UpstreamError> {
        Err(UpstreamError::Transient("no provider in these tests".into()))
    }

    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
}

async fn databases() -> Vec<Database> {
    let dir = std::env::temp_dir().join(format!("gatehouse-contract-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut dbs = vec![
        Database::connect(&format!("sqlite://{}", dir.join("c.db").display()))
            .await
            .unwrap(),
    ];
    match std::env::var("GATEHOUSE_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => {
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("GATEHOUSE_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {e}"));
            let name = format!("gh_contract_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            dbs.push(Database::connect(&url).await.unwrap());
        }
        _ => eprintln!("note: PostgreSQL contract runs skipped: GATEHOUSE_TEST_POSTGRES_URL is not set"),
    }
    for db in &dbs {
        let all: Vec<i64> = gatehouse_store::MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(db.migrate().await.unwrap(), all);
        assert!(db.migrate().await.unwrap().is_empty(), "migrations are idempotent");
    }
    dbs
}

async fn app(store: Arc<dyn Store>, clock: Arc<ManualClock>) -> Gatehouse {
    let deps = Deps {
        store,
        notifier: Arc::new(NoNotifier),
        clock,
        rng: Arc::new(SystemRng::default()),
        upstream: Arc::new(NoUpstream),
    };
    Gatehouse::open(
        deps,
        MasterKey::from_bytes(&[42; 32]),
        ProviderConfig::new("http://127.0.0.1"),
    )
    .await
    .unwrap()
}

/// A bootstrapped application and its server-admin principal.
async fn bootstrapped(store: Arc<dyn Store>) -> (Gatehouse, Principal, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)));
    let gh = app(store, clock.clone()).await;
    let opts = BootstrapOptions {
        admin_email: "r@example.com".into(),
        admin_password: None,
        issuer: "http://127.0.0.1:8080".into(),
    };
    let boot = gh.bootstrap(&opts).await.unwrap().unwrap();
    let admin = gh.authenticate_api_key(boot.api_key.expose_secret()).await.unwrap();
    (gh, admin, clock)
}

fn web(name: &str) -> ClientInput {
    ClientInput {
        name: Some(name.into()),
        redirect_uris: Some(vec!["https://a.example/cb".into()]),
        ..Default::default()
    }
}

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
        let old = secret.unwrap();
        let id = c.id.to_string();
        assert!(gh.verify_client_secret(&id, &old).await.is_ok());
        assert!(gh.verify_client_secret(&id, &SecretString::new("wrong")).await.is_err());
        let new = gh.rotate_client_secret(&admin, p, &id, None, 60).await.unwrap();
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

/// The `kid` that signed a client-credentials token issued now.
async fn signing_kid(gh: &Gatehouse, client: &gatehouse_core::clients::Client) -> String {
    let params = gatehouse_core::service::oauth::TokenParams {
        grant_type: Some("client_credentials".into()),
        ..Default::default()
    };
    let t = gh.token(client, params).await.unwrap();
    gatehouse_core::jose::decode_header(&t.access_token)
        .unwrap()
        .kid
        .unwrap()
}

fn kids(jwks: &serde_json::Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn signing_keys_go_from_next_to_current_to_retired_to_removed() {
    for db in databases().await {
        let (gh, admin, clock) = bootstrapped(db.store()).await;
        let p = gh.create_project(&admin, "Keys").await.unwrap().id;
        let input = ClientInput {
            name: Some("svc".into()),
            grant_types: Some(vec!["client_credentials".into()]),
            response_types: Some(vec![]),
            ..Default::default()
        };
        let (c, _) = gh.create_client(&admin, p, &input).await.unwrap();
        // Private keys are stored sealed by the master key, never as a parsable key.
        let stored = db.store().list_signing_keys().await.unwrap();
        assert_eq!(
            stored.len(),
            6,
            "a current and a next key for each of ES256, RS256, EdDSA"
        );
        for r in &stored {
            let alg = gatehouse_core::jose::SigningAlg::parse(&r.alg).unwrap();
            assert!(gatehouse_core::jose::SigningKey::from_pkcs8(r.kid.clone(), alg, &r.private_key).is_err());
        }
        let old = signing_kid(&gh, &c).await;
        let before = kids(&gh.jwks());
        assert!(before.contains(&old));
        // Rotation schedules the published next key one JWKS cache period out (300 s by default).
        let scheduled = gh
            .rotate_signing_keys(&[gatehouse_core::jose::SigningAlg::Es256])
            .await
            .unwrap();
        let (_, next, at) = &scheduled[0];
        assert!(before.contains(next), "the key that will sign was already published");
        assert_eq!(at.millis(), clock.now().millis() + 300_000);
        assert_eq!(signing_kid(&gh, &c).await, old, "the current key signs until then");
        assert_eq!(kids(&gh.jwks()).len(), 7, "a new next key is published");
        clock.advance_secs(301);
        assert_eq!(&signing_kid(&gh, &c).await, next, "the next key is current");
        assert!(kids(&gh.jwks()).contains(&old), "the retired key stays published");
        // Once every token the old key signed has expired, maintenance removes it.
        clock.advance_secs(gatehouse_core::oauth::keys::RETIRED_PUBLISH_SECS);
        gh.provider_maintenance().await.unwrap();
        assert!(!kids(&gh.jwks()).contains(&old));
        assert!(
            db.store()
                .list_signing_keys()
                .await
                .unwrap()
                .iter()
                .all(|k| k.kid != old)
        );
        // The scheduled rotation: after the period (30 days), maintenance rotates by itself.
        clock.advance_secs(30 * 86_400);
        gh.provider_maintenance().await.unwrap();
        clock.advance_secs(301);
        assert_ne!(&signing_kid(&gh, &c).await, next, "rotated on schedule");
    }
}

#[tokio::test]
async fn a_code_grant_needs_its_session_and_a_refresh_rotation_is_one_compare_and_set() {
    use gatehouse_core::ids::{GrantId, SessionId};
    use gatehouse_core::oauth::{Grant, RefreshState, Session};
    for db in databases().await {
        let store = db.store();
        bootstrapped(store.clone()).await;
        let user = store.find_user_by_email("r@example.com").await.unwrap().unwrap();
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let session = Session {
            id: SessionId::from_uuid(uuid::Uuid::new_v4()),
            user_id: user.id,
            secret_hash: vec![5; 32],
            created_at: t0,
            auth_time: t0,
            expires_at: t0.plus_secs(86_400),
            user_agent: "test".into(),
            ip: "127.0.0.1".into(),
        };
        let grant = Grant {
            id: GrantId::from_uuid(uuid::Uuid::new_v4()),
            project_id: ProjectId::SYSTEM,
            client_id: ClientId::parse("gatehouse-cli").unwrap(),
            user_id: user.id,
            session_id: Some(session.id),
            scope: "openid offline_access".into(),
            auth_time: t0,
            created_at: t0,
            expires_at: t0.plus_secs(3600),
            revoked_at: None,
            refresh: Some(RefreshState {
                generation: 0,
                expires_at: t0.plus_secs(3600),
                rotated_at: None,
                successor: None,
            }),
        };
        // No session (never created, or ended): nothing is written.
        assert!(!store.insert_grant(&grant).await.unwrap());
        assert!(store.get_grant(grant.id).await.unwrap().is_none());
        store.insert_session(&session).await.unwrap();
        assert!(store.insert_grant(&grant).await.unwrap());
        let (g, u) = store.get_grant(grant.id).await.unwrap().unwrap();
        assert_eq!((&g, u.id), (&grant, user.id));
        // A second redemption of the same code collides.
        assert!(matches!(store.insert_grant(&grant).await, Err(Error::Conflict(_))));

        let sealed = Sealed {
            data_key_id: DataKeyId::from_uuid(uuid::Uuid::new_v4()),
            ciphertext: vec![9; 40],
        };
        let at = t0.plus_secs(10);
        let next = RefreshState {
            generation: 1,
            expires_at: t0.plus_secs(7200),
            rotated_at: Some(at),
            successor: Some(sealed.clone()),
        };
        assert!(store.rotate_refresh(grant.id, 0, &next, at).await.unwrap());
        // The grant now lasts a day past its new token, so the next rotations leave it alone.
        let (g, _) = store.get_grant(grant.id).await.unwrap().unwrap();
        assert_eq!(g.refresh.as_ref(), Some(&next));
        assert_eq!(g.expires_at, next.expires_at.plus_secs(86_400));
        // Losing the compare-and-set writes nothing.
        let other = RefreshState {
            generation: 1,
            expires_at: t0.plus_secs(9000),
            rotated_at: Some(at),
            successor: None,
        };
        assert!(!store.rotate_refresh(grant.id, 0, &other, at).await.unwrap());
        let third = RefreshState {
            generation: 2,
            ..other.clone()
        };
        assert!(store.rotate_refresh(grant.id, 1, &third, at).await.unwrap());
        let (g, _) = store.get_grant(grant.id).await.unwrap().unwrap();
        assert_eq!(
            (g.refresh.as_ref(), g.expires_at),
            (Some(&third), next.expires_at.plus_secs(86_400))
        );
        // An expired token does not rotate, nor does one whose grant was revoked.
        let fourth = RefreshState {
            generation: 3,
            ..other.clone()
        };
        assert!(
            !store
                .rotate_refresh(grant.id, 2, &fourth, third.expires_at)
                .await
                .unwrap()
        );
        assert!(store.revoke_grant(grant.id, at).await.unwrap());
        assert!(!store.rotate_refresh(grant.id, 2, &fourth, at).await.unwrap());
        assert_eq!(store.get_grant(grant.id).await.unwrap().unwrap().0.refresh, Some(third));

        // Ending the session stops its codes: their grants can no longer be written.
        assert!(store.end_session(user.id, session.id, None, at).await.unwrap());
        let late = Grant {
            id: GrantId::from_uuid(uuid::Uuid::new_v4()),
            ..grant.clone()
        };
        assert!(!store.insert_grant(&late).await.unwrap());
    }
}

fn object(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

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
                ciphertext: vec![1, 2, 3],
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
                ciphertext: vec![4, 5],
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
            request_hash: vec![hash; 32],
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
                ciphertext: vec![9],
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
