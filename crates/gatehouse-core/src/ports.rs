//! The ports core needs from the outside: storage (one trait per aggregate) and cross-node
//! notification. Implementations live in `gatehouse-store` and `gatehouse-server`.
//!
//! Every method that reads or changes project data takes the project id and filters by it
//! (SPEC §1). Every method that changes something takes the [`AuditRecord`] to write in the same
//! transaction, so no change goes unrecorded.

use async_trait::async_trait;

use crate::access::MemberFlags;
use crate::clients::Client;
use crate::error::Result;
use crate::ids::{ApiKeyId, ClientId, DataKeyId, ProjectId, RegistrationId, SecretId, UserId};
use crate::model::*;
use crate::time::Timestamp;

/// Projects.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Inserts a project, making `creator` (if any) a member with the given flags.
    async fn insert_project(
        &self,
        p: &Project,
        creator: Option<(UserId, MemberFlags)>,
        audit: &AuditRecord,
    ) -> Result<()>;
    async fn get_project(&self, id: ProjectId) -> Result<Option<Project>>;
    /// Projects `user` is a member of; every project when `user` is `None` (server admins).
    async fn list_projects(&self, user: Option<UserId>) -> Result<Vec<Project>>;
    async fn rename_project(&self, id: ProjectId, name: &str, at: Timestamp, audit: &AuditRecord) -> Result<bool>;
    /// Deletes the project and every row that belongs to it except its audit log.
    async fn delete_project(&self, id: ProjectId, audit: &AuditRecord) -> Result<bool>;
}

/// Users and project membership.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user; `Conflict` when the email (case-insensitive) is taken.
    async fn insert_user(&self, u: &User, audit: &AuditRecord) -> Result<()>;
    async fn get_user(&self, id: UserId) -> Result<Option<User>>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn get_member(&self, project: ProjectId, user: UserId) -> Result<Option<MemberFlags>>;
    async fn list_members(&self, project: ProjectId) -> Result<Vec<Member>>;
    /// Adds or replaces a membership.
    async fn put_member(&self, project: ProjectId, user: UserId, flags: MemberFlags, audit: &AuditRecord)
    -> Result<()>;
    async fn delete_member(&self, project: ProjectId, user: UserId, audit: &AuditRecord) -> Result<bool>;
}

/// API keys.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn insert_api_key(&self, k: &ApiKeyRecord, audit: &AuditRecord) -> Result<()>;
    /// A key that has not been revoked, in any project (the caller checks the project).
    async fn get_api_key(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>>;
    async fn list_api_keys(&self, project: ProjectId) -> Result<Vec<ApiKeyRecord>>;
    async fn revoke_api_key(&self, project: ProjectId, id: ApiKeyId, audit: &AuditRecord) -> Result<bool>;
    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> Result<()>;
}

/// Per-project data keys.
#[async_trait]
pub trait DataKeyStore: Send + Sync {
    /// The newest data key of a project.
    async fn current_data_key(&self, project: ProjectId) -> Result<Option<DataKeyRecord>>;
    async fn get_data_key(&self, project: ProjectId, id: DataKeyId) -> Result<Option<DataKeyRecord>>;
    async fn insert_data_key(&self, k: &DataKeyRecord) -> Result<()>;
}

/// A page of a filtered list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub count: u32,
}

/// The OAuth client registry.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// `Conflict` when the client id is taken anywhere on the server.
    async fn insert_client(&self, c: &Client, audit: &AuditRecord) -> Result<()>;
    async fn get_client(&self, project: ProjectId, id: &ClientId) -> Result<Option<Client>>;
    /// The client with this id in whichever project holds it (ids are unique server-wide).
    async fn find_client(&self, id: &ClientId) -> Result<Option<Client>>;
    /// Clients whose id or name contains `filter` (case-insensitive), oldest first, and the total.
    async fn list_clients(&self, project: ProjectId, filter: Option<&str>, page: Page) -> Result<(Vec<Client>, u64)>;
    /// Writes `c` if the stored version is still `c.version - 1`; false otherwise.
    async fn update_client(&self, c: &Client, audit: &AuditRecord) -> Result<bool>;
    async fn delete_client(&self, project: ProjectId, id: &ClientId, audit: &AuditRecord) -> Result<bool>;
}

/// External OAuth registrations.
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    async fn insert_registration(&self, r: &Registration, audit: &AuditRecord) -> Result<()>;
    async fn get_registration(&self, project: ProjectId, id: RegistrationId) -> Result<Option<Registration>>;
    /// Project-scoped registrations when `room` is `None`, else that room's.
    async fn list_registrations(&self, project: ProjectId, room: Option<&str>) -> Result<Vec<Registration>>;
    async fn update_registration(&self, r: &Registration, audit: &AuditRecord) -> Result<bool>;
    async fn delete_registration(&self, project: ProjectId, id: RegistrationId, audit: &AuditRecord) -> Result<bool>;
}

/// Project secrets.
#[async_trait]
pub trait ProjectSecretStore: Send + Sync {
    /// `Conflict` when the name is taken in the project.
    async fn insert_project_secret(&self, s: &ProjectSecretRecord, audit: &AuditRecord) -> Result<()>;
    async fn get_project_secret(&self, project: ProjectId, id: SecretId) -> Result<Option<ProjectSecretRecord>>;
    async fn list_project_secrets(&self, project: ProjectId) -> Result<Vec<ProjectSecretRecord>>;
    async fn update_project_secret(&self, s: &ProjectSecretRecord, audit: &AuditRecord) -> Result<bool>;
    async fn delete_project_secret(&self, project: ProjectId, id: SecretId, audit: &AuditRecord) -> Result<bool>;
}

/// The audit log, server settings and first-start bootstrap.
#[async_trait]
pub trait SystemStore: Send + Sync {
    /// Records an event that accompanies no other change (e.g. reading a secret).
    async fn insert_audit(&self, audit: &AuditRecord) -> Result<()>;
    /// Newest first, and the total.
    async fn list_audit(&self, project: ProjectId, page: Page) -> Result<(Vec<AuditRecord>, u64)>;
    async fn get_setting(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores `value` unless `key` is set; returns what is stored afterwards.
    async fn init_setting(&self, key: &str, value: &[u8]) -> Result<Vec<u8>>;
    /// Writes the plan in one transaction unless a system project exists; true when written.
    async fn bootstrap(&self, plan: &BootstrapPlan) -> Result<bool>;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;
}

/// All storage ports, implemented by one backend chosen from the database URL.
pub trait Store:
    ProjectStore
    + UserStore
    + ApiKeyStore
    + DataKeyStore
    + ClientStore
    + RegistrationStore
    + ProjectSecretStore
    + SystemStore
{
}

impl<T> Store for T where
    T: ProjectStore
        + UserStore
        + ApiKeyStore
        + DataKeyStore
        + ClientStore
        + RegistrationStore
        + ProjectSecretStore
        + SystemStore
{
}

/// A change other nodes must hear about to drop cached state (SPEC §2 scale-out).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Invalidation {
    Client {
        client_id: String,
    },
    ApiKey {
        id: uuid::Uuid,
    },
    Project {
        id: uuid::Uuid,
    },
    /// Everything: after a node lost its notification connection and may have missed events.
    All,
}

/// Cross-node event delivery: PostgreSQL `LISTEN/NOTIFY`, or in-process for SQLite.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers `event` to every node, this one included.
    async fn publish(&self, event: &Invalidation) -> Result<()>;
}
