//! Use cases: the one place each capability is implemented. Handlers call these; these call the
//! ports. Every method takes the calling [`Principal`] and checks its rights first.

pub mod accounts;
mod api_keys;
mod bootstrap;
mod broker;
mod clients;
pub mod factors;
pub mod idp;
mod llm;
mod llm_limits;
pub mod oauth;
mod participants;
pub mod passkeys;
pub mod people;
mod project_secrets;
mod registrations;
mod resources;
mod rooms;

pub use bootstrap::{BootstrapOptions, BootstrapOutcome};
pub use broker::{MAX_PENDING_PER_REQUESTER, MAX_PENDING_PER_ROOM, ProviderToken, REFRESH_MARGIN_SECS};
pub use clients::ExportFile;
pub use llm::{LLM_PROXY_SCOPE, LlmAdmission, LlmRequest, LlmVerdict, UsageGroup, UsageSummary};
pub use oauth::ProviderConfig;
pub use rooms::PRESENCE_TIMEOUT_SECS;

use std::sync::Arc;

use crate::access::{Access, MemberFlags, Principal};
use crate::cache::Cache;
use crate::clients::Client;
use crate::crypto::RowAad;
use crate::error::{Error, Result};
use crate::ids::{ApiKeyId, NodeId, ProjectId, new_row_id};
use crate::jose::Hs256Key;
use crate::keyring::{Keyring, MasterKeys, Rewrapped};
use crate::model::{ApiKeyRecord, AuditRecord, Sealed};
use crate::password::PasswordHasher;
use crate::ports::{AuditFilter, Invalidation, Mailer, Notifier, Page, Store, Upstream};
use crate::rng::Rng;
use crate::rooms::Hub;
use crate::time::Clock;

/// Largest page any list returns (SPEC §4.6).
pub const MAX_PAGE: u32 = 1000;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: u32 = 100;

/// What the use cases run on.
pub struct Deps {
    pub store: Arc<dyn Store>,
    pub notifier: Arc<dyn Notifier>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Rng>,
    /// Third-party OAuth providers, for the room secrets broker and upstream identity providers.
    pub upstream: Arc<dyn Upstream>,
    /// Where sign-up, reset and invitation mail goes.
    pub mailer: Arc<dyn Mailer>,
}

/// The application: every use case is a method.
pub struct Gatehouse {
    store: Arc<dyn Store>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    keys: Keyring,
    passwords: PasswordHasher,
    clients: Cache<String, Client>,
    /// When clients last got a token (written at most once a minute per client).
    usage: crate::clients::usage::Usage,
    api_keys: Cache<ApiKeyId, ApiKeyRecord>,
    /// HS256 keys of API keys, for participant tokens.
    participant_keys: Cache<ApiKeyId, Hs256Key>,
    provider: oauth::Provider,
    /// This process, as other nodes know it.
    node: NodeId,
    hub: Hub,
    broker: broker::Broker,
    /// LLM usage not written yet.
    llm_usage: crate::llm::Tally,
    /// Projects' provider configurations, the key opened (`None`: not configured).
    llm_providers: Cache<(ProjectId, crate::llm::Provider), Option<llm::OpenProvider>>,
    /// Projects' limits (all unlimited when none are set).
    llm_limits: Cache<ProjectId, crate::llm::limits::LlmLimits>,
    /// The counts limits are checked against.
    llm_counts: crate::llm::limits::Counters,
    /// One flush of usage and counts at a time, so none reads totals another has not written.
    llm_flush: tokio::sync::Mutex<()>,
    /// Each project's API resources.
    resources: Cache<ProjectId, Vec<crate::resources::ApiResource>>,
    /// Sign-up, reset and invitation mail, with its rate limits.
    people: people::People,
    /// Upstream identity providers' endpoints and keys.
    upstreams: idp::Upstreams,
}

impl Gatehouse {
    /// Opens the application over migrated storage; fails if `master` is not this database's key.
    /// Signing keys are created when missing and loaded.
    pub async fn open(deps: Deps, master: impl Into<MasterKeys>, provider: ProviderConfig) -> Result<Self> {
        let keys = Keyring::load(master.into(), deps.store.as_ref(), deps.rng.as_ref()).await?;
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let gh = Self {
            store: deps.store,
            notifier: deps.notifier,
            clock: deps.clock,
            rng: deps.rng,
            keys,
            passwords: PasswordHasher::new(workers),
            clients: Cache::default(),
            usage: Default::default(),
            api_keys: Cache::default(),
            participant_keys: Cache::default(),
            provider: oauth::Provider::new(provider),
            node: NodeId::from_uuid(uuid::Uuid::new_v4()),
            hub: Hub::default(),
            upstreams: idp::Upstreams::new(deps.upstream.clone()),
            broker: broker::Broker::new(deps.upstream),
            llm_usage: crate::llm::Tally::default(),
            llm_providers: Cache::default(),
            llm_limits: Cache::default(),
            llm_counts: crate::llm::limits::Counters::default(),
            llm_flush: tokio::sync::Mutex::new(()),
            resources: Cache::default(),
            people: people::People::new(deps.mailer),
        };
        gh.ensure_signing_keys().await?;
        gh.reload_identity_providers().await?;
        Ok(gh)
    }

    /// Re-wraps what the previous master key wraps under the current one, online
    /// (`gatehouse keys rotate-master`); `progress` hears (done, total).
    pub async fn rotate_master_key(&self, progress: impl FnMut(u64, u64)) -> Result<Rewrapped> {
        self.keys
            .rotate_master(self.store.as_ref(), self.rng.as_ref(), progress)
            .await
    }

    /// Checks that storage answers (`/readyz`).
    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await
    }

    /// Drops cached state named by a change on this or another node.
    pub async fn apply_invalidation(&self, event: &Invalidation) {
        match event {
            Invalidation::Client { client_id } => {
                self.clients.invalidate(|k, _| k != client_id);
                self.provider.cors.invalidate(|_, _| false);
            }
            Invalidation::ApiKey { id } => {
                self.api_keys.invalidate(|k, _| k.uuid() != *id);
                self.close_revoked_participants().await;
            }
            Invalidation::Project { id } => {
                let project = ProjectId::from_uuid(*id);
                self.clients.invalidate(|_, c| c.project_id != project);
                self.api_keys.invalidate(|_, k| k.project_id != project);
                self.keys.forget_project(project);
                self.broker.forget_lookups();
                self.provider.cors.invalidate(|_, _| false);
                self.llm_providers.invalidate(|(p, _), _| *p != project);
                self.llm_limits.invalidate(|p, _| *p != project);
                self.resources.invalidate(|p, _| *p != project);
                // A deleted project's keys are gone with it.
                self.close_revoked_participants().await;
            }
            Invalidation::All => {
                self.provider.active.invalidate(|_, _| false);
                self.clients.invalidate(|_, _| false);
                self.api_keys.invalidate(|_, _| false);
                self.participant_keys.invalidate(|_, _| false);
                self.provider.cors.invalidate(|_, _| false);
                self.llm_providers.invalidate(|_, _| false);
                self.llm_limits.invalidate(|_, _| false);
                self.resources.invalidate(|_, _| false);
                self.broker.forget_lookups();
                self.reload_keys_logged().await;
                self.reload_identity_providers_logged().await;
                self.close_revoked_participants().await;
            }
            Invalidation::Revocations => self.provider.active.invalidate(|_, _| false),
            Invalidation::Broker { id } => {
                self.broker.forget_lookups();
                self.broker.signals.signal(*id);
            }
            Invalidation::Llm { project } => {
                let project = ProjectId::from_uuid(*project);
                self.llm_providers.invalidate(|(p, _), _| *p != project);
                self.llm_limits.invalidate(|p, _| *p != project);
            }
            Invalidation::Resources { project } => {
                let project = ProjectId::from_uuid(*project);
                self.resources.invalidate(|p, _| *p != project);
            }
            Invalidation::IdentityProviders => self.reload_identity_providers_logged().await,
            Invalidation::SigningKeys => {
                self.provider.verified.invalidate(|_, _| false);
                self.reload_keys_logged().await;
            }
        }
    }

    async fn reload_keys_logged(&self) {
        if let Err(e) = self.reload_signing_keys().await {
            // The periodic maintenance reloads again; signing continues with the keys in memory.
            tracing::error!(error = %e, "reloading signing keys failed");
        }
    }

    /// Applies `event` here at once, then tells the other nodes.
    async fn invalidate(&self, event: Invalidation) {
        self.apply_invalidation(&event).await;
        if let Err(e) = self.notifier.publish(&event).await {
            // Other nodes fall back to their cache expiry; the change itself is committed.
            tracing::error!(error = %e, "publishing a cache invalidation failed");
        }
    }

    /// The caller's rights in `project`; `NotFound` when the project is not visible to them.
    pub async fn access(&self, who: &Principal, project: ProjectId) -> Result<Access> {
        let not_found = || Error::NotFound("project");
        match who {
            Principal::ApiKey { server_admin: true, .. } | Principal::User { server_admin: true, .. } => {
                self.store.get_project(project).await?.ok_or_else(not_found)?;
                let mut a = Access::admin(project);
                a.read_only = matches!(who, Principal::User { read_only: true, .. });
                Ok(a)
            }
            Principal::ApiKey { project_id, .. } if *project_id == project => Ok(Access {
                project_id: project,
                flags: MemberFlags {
                    is_developer: true,
                    can_create_rooms: true,
                    ..MemberFlags::default()
                },
                read_only: false,
            }),
            Principal::ApiKey { .. } => Err(not_found()),
            Principal::User { id, read_only, .. } => {
                let flags = self.store.get_member(project, *id).await?.ok_or_else(not_found)?;
                Ok(Access {
                    project_id: project,
                    flags,
                    read_only: *read_only,
                })
            }
        }
    }

    /// Seals `plaintext` with the project's current data key.
    pub(crate) async fn seal(&self, project: ProjectId, aad: &RowAad, plaintext: &[u8]) -> Result<Sealed> {
        self.keys
            .seal(
                self.store.as_ref(),
                self.rng.as_ref(),
                self.clock.as_ref(),
                project,
                aad,
                plaintext,
            )
            .await
    }

    /// Opens a value sealed for `project` under `aad`.
    pub(crate) async fn open_sealed(&self, project: ProjectId, aad: &RowAad, sealed: &Sealed) -> Result<Vec<u8>> {
        self.keys.open_sealed(self.store.as_ref(), project, aad, sealed).await
    }

    /// An audit record of `who` doing `action` to `target` in `project`.
    fn audit(
        &self,
        who: &Principal,
        project: ProjectId,
        action: &str,
        target: (&str, String),
        details: serde_json::Value,
    ) -> AuditRecord {
        let (actor_type, actor_id) = who.actor();
        AuditRecord {
            id: new_row_id(),
            project_id: project,
            at: self.clock.now(),
            actor_type: actor_type.into(),
            actor_id,
            action: action.into(),
            target_type: target.0.into(),
            target_id: target.1,
            details,
        }
    }

    /// The audit log of a project, newest first, optionally of one actor or one action family
    /// (admins and developers).
    pub async fn list_audit(
        &self,
        who: &Principal,
        project: ProjectId,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<(Vec<AuditRecord>, u64)> {
        check_audit_filter(filter)?;
        self.access(who, project).await?.require_developer_read()?;
        self.store.list_audit(project, filter, page).await
    }
}

/// A page from the optional wire parameters, bounded by [`MAX_PAGE`].
pub fn page(count: Option<u32>, offset: Option<u64>) -> Result<Page> {
    page_sized_by("count", count, offset)
}

/// A page whose size parameter is called `field` (`limit` in the room lists, SPEC §6.3).
pub fn page_sized_by(field: &str, count: Option<u32>, offset: Option<u64>) -> Result<Page> {
    let count = count.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&count) {
        return Err(Error::invalid(field, format!("must be between 1 and {MAX_PAGE}")));
    }
    let offset = offset.unwrap_or(0);
    if offset > i64::MAX as u64 {
        return Err(Error::invalid("offset", "is too large"));
    }
    Ok(Page { offset, count })
}

/// An action filter is dotted lowercase words (`client`, `client.secret.rotate`); an actor id is
/// an id, at most 200 characters without control characters.
fn check_audit_filter(filter: &AuditFilter) -> Result<()> {
    if let Some(action) = &filter.action {
        let word = |w: &str| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if action.len() > 64 || !action.split('.').all(word) {
            return Err(Error::invalid(
                "action",
                "must be an action such as client.create, or its first words such as client",
            ));
        }
    }
    if let Some(actor) = &filter.actor_id
        && (actor.is_empty() || actor.len() > 200 || actor.chars().any(char::is_control))
    {
        return Err(Error::invalid("actor", "must be an id of at most 200 characters"));
    }
    Ok(())
}
