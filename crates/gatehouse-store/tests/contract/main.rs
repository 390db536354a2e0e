//! The storage contract: the same assertions against SQLite and PostgreSQL (when
//! `GATEHOUSE_TEST_POSTGRES_URL` is set; unreachable then means failure, not a skip). Most run
//! through core's use cases, so they also pin the behaviour the REST API relies on.
//!
//! This file builds the databases and a bootstrapped application on them; the assertions are in
//! one module per aggregate.

use std::sync::Arc;

use async_trait::async_trait;
use gatehouse_core::access::Principal;
use gatehouse_core::crypto::MasterKey;
use gatehouse_core::ports::{Invalidation, Notifier, Store, Upstream, UpstreamClient, UpstreamError, UpstreamTokens};
use gatehouse_core::rng::SystemRng;
use gatehouse_core::service::{BootstrapOptions, ProviderConfig};
use gatehouse_core::time::{ManualClock, Timestamp};
use gatehouse_core::{Deps, Gatehouse};
use gatehouse_store::Database;
use gatehouse_testkit::db::create_pg_database;
use gatehouse_testkit::{Backend, backends};
use gatehouse_types::ClientInput;

mod accounts;
mod broker;
mod factors;
mod identities;
mod llm;
mod passkeys;
mod people;
mod provider;
mod registry;
mod resources;
mod rooms;

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

    async fn resolve_endpoint(&self, _: &str, _: &str) -> gatehouse_core::Result<()> {
        Ok(())
    }

    async fn token(&self, _: &str, _: UpstreamClient<'_>, _: &[(&str, &str)]) -> Result<UpstreamTokens, UpstreamError> {
        Err(UpstreamError::Transient("no provider in these tests".into()))
    }

    async fn revoke(&self, _: &str, _: UpstreamClient<'_>, _: &str, _: &str) -> Result<(), UpstreamError> {
        Err(UpstreamError::Transient("no provider in these tests".into()))
    }

    async fn get_json(&self, _: &str, _: Option<&str>) -> Result<serde_json::Value, UpstreamError> {
        Err(UpstreamError::Transient("no provider in these tests".into()))
    }

    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
}

/// No mail server: these tests send none.
struct NoMailer;

#[async_trait::async_trait]
impl gatehouse_core::ports::Mailer for NoMailer {
    async fn send(&self, _: &gatehouse_core::people::Mail) -> gatehouse_core::Result<()> {
        Err(gatehouse_core::Error::Unavailable("no mail server in these tests"))
    }
}

/// A fresh, migrated database of every backend: SQLite in a new directory, PostgreSQL named
/// `gh_contract_…` (left for CI to drop: a `Database` keeps its pool open).
async fn databases() -> Vec<Database> {
    let mut dbs = Vec::new();
    for backend in backends() {
        let url = match &backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("gatehouse-contract-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&dir).unwrap();
                format!("sqlite://{}", dir.join("c.db").display())
            }
            Backend::Postgres { admin_url } => create_pg_database(admin_url, "gh_contract_").await,
        };
        dbs.push(Database::connect(&url).await.unwrap());
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
        mailer: Arc::new(NoMailer),
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

fn object(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}
