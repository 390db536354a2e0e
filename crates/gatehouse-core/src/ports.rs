//! The ports core needs from the outside: storage (one trait per aggregate) and cross-node
//! notification. Implementations live in `gatehouse-store` and `gatehouse-server`.
//!
//! Every method that reads or changes project data takes the project id and filters by it
//! (SPEC §1). Every method that changes something takes the [`AuditRecord`] to write in the same
//! transaction, so no change goes unrecorded.

use async_trait::async_trait;

use crate::access::MemberFlags;
use crate::broker::{OAuthCredential, PendingRequest, RequestStatus};
use crate::clients::Client;
use crate::error::Result;
use crate::factors::TotpFactor;
use crate::idp::LinkedIdentity;
use crate::ids::{
    ApiKeyId, ClientId, DataKeyId, GrantId, IdentityId, InvitationId, LinkId, NodeId, OAuthRequestId, ParticipantId,
    ProjectId, RegistrationId, ResourceId, RoomSecretId, SecretId, SessionId, UserId,
};
use crate::llm::limits::{LimitCount, LimitsConfig};
use crate::llm::{Provider, ProviderConfig, UsageRow};
use crate::model::*;
use crate::oauth::{DeviceApproval, DeviceGrant, Grant, RefreshState, Session, SigningKeyRecord};
use crate::passkeys::{Ceremony, CeremonyPurpose, PasskeyRecord};
use crate::people::{AccountLink, Invitation, Mail, ProjectSettings};
use crate::resources::ApiResource;
use crate::rooms::{Presence, Room, RoomGrant};
use crate::secret::SecretString;
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
    /// Replaces a project's sign-in settings.
    async fn update_project_settings(
        &self,
        id: ProjectId,
        settings: &ProjectSettings,
        at: Timestamp,
        audit: &AuditRecord,
    ) -> Result<bool>;
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

/// Which audit entries to read: all of them, or one actor's, or one action's or action family's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The acting principal's id (a user's, an API key's, …), exactly.
    pub actor_id: Option<String>,
    /// An action (`client.create`), or a family of actions (`client` matches `client.create`,
    /// `client.secret.rotate`, …).
    pub action: Option<String>,
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
    /// Records that client `id` got a token at `at` (never moving the time backwards).
    /// The id and settings of every client of the project.
    async fn list_client_settings(&self, project: ProjectId)
    -> Result<Vec<(ClientId, crate::clients::ClientSettings)>>;
    async fn record_client_use(&self, id: &ClientId, at: Timestamp) -> Result<()>;
    /// Whether some client lists `origin` in its `allowed_cors_origins` (CORS preflight, SPEC §5.2).
    async fn cors_origin_registered(&self, origin: &str) -> Result<bool>;
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

/// API resources (SPEC §5.7).
#[async_trait]
pub trait ResourceStore: Send + Sync {
    /// `Conflict` when the identifier or a scope name is taken in the project.
    async fn insert_resource(&self, r: &ApiResource, audit: &AuditRecord) -> Result<()>;
    /// Every resource of the project, oldest first.
    async fn list_resources(&self, project: ProjectId) -> Result<Vec<ApiResource>>;
    /// Replaces the resource whose stored version is `r.version - 1`; `Conflict` as for insert.
    async fn update_resource(&self, r: &ApiResource, audit: &AuditRecord) -> Result<bool>;
    async fn delete_resource(&self, project: ProjectId, id: ResourceId, audit: &AuditRecord) -> Result<bool>;
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

/// The LLM proxy gate's provider configuration, usage and limits (SPEC §8).
#[async_trait]
pub trait LlmStore: Send + Sync {
    /// Writes `c` if the stored version is still `c.version - 1` (no row for version 1); false
    /// otherwise.
    async fn put_llm_provider(&self, c: &ProviderConfig, audit: &AuditRecord) -> Result<bool>;
    async fn get_llm_provider(&self, project: ProjectId, provider: Provider) -> Result<Option<ProviderConfig>>;
    async fn delete_llm_provider(&self, project: ProjectId, provider: Provider, audit: &AuditRecord) -> Result<bool>;
    /// Adds each row's counts to the stored row of its minute, caller, provider and model.
    async fn add_llm_usage(&self, rows: &[UsageRow]) -> Result<()>;
    /// A project's rows of minutes `from..to`, oldest first, at most `limit`.
    async fn list_llm_usage(&self, project: ProjectId, from: i64, to: i64, limit: u32) -> Result<Vec<UsageRow>>;
    /// Writes `l` if the stored version is still `l.version - 1` (no row for version 1); false
    /// otherwise.
    async fn put_llm_limits(&self, l: &LimitsConfig, audit: &AuditRecord) -> Result<bool>;
    async fn get_llm_limits(&self, project: ProjectId) -> Result<Option<LimitsConfig>>;
    /// Adds each row's count to the stored count of its subject and window.
    async fn add_llm_limit_counts(&self, rows: &[LimitCount]) -> Result<()>;
    /// Every project's request counts of windows from `requests_since` and token counts of
    /// windows from `tokens_since` (seconds since the epoch); older windows are deleted.
    async fn current_llm_limit_counts(&self, requests_since: i64, tokens_since: i64) -> Result<Vec<LimitCount>>;
}

/// The audit log, server settings and first-start bootstrap.
#[async_trait]
pub trait SystemStore: Send + Sync {
    /// Records an event that accompanies no other change (e.g. reading a secret).
    async fn insert_audit(&self, audit: &AuditRecord) -> Result<()>;
    /// The entries `filter` selects, newest first, and how many it selects.
    async fn list_audit(&self, project: ProjectId, filter: &AuditFilter, page: Page)
    -> Result<(Vec<AuditRecord>, u64)>;
    /// One target's entries (e.g. a client's history), newest first, and the total.
    async fn list_audit_of(
        &self,
        project: ProjectId,
        target_type: &str,
        target_id: &str,
        page: Page,
    ) -> Result<(Vec<AuditRecord>, u64)>;
    async fn get_setting(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores `value` unless `key` is set; returns what is stored afterwards.
    async fn init_setting(&self, key: &str, value: &[u8]) -> Result<Vec<u8>>;
    /// Writes the plan in one transaction unless a system project exists; true when written.
    async fn bootstrap(&self, plan: &BootstrapPlan) -> Result<bool>;
    /// Everything the master key wraps directly: the named settings, the signing keys' private
    /// keys and every project's data keys.
    async fn list_master_wrapped(&self, settings: &[&str]) -> Result<Vec<MasterWrapped>>;
    /// Replaces one wrapped value by its re-wrapping under the master key `master_key_id`;
    /// false when it changed meanwhile.
    async fn rewrap(&self, item: &MasterWrapped, new: &[u8], master_key_id: &str) -> Result<bool>;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;
}

/// The authorization server's signing keys (SPEC §5.3).
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>>;
    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<()>;
    /// Schedules a *next* key to start signing; false when another node scheduled it first.
    async fn schedule_signing_key(&self, kid: &str, activate_at: Timestamp) -> Result<bool>;
    async fn delete_signing_key(&self, kid: &str) -> Result<()>;
}

/// Browser sessions, remembered consent and password changes (SPEC §5.4).
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, s: &Session) -> Result<()>;
    /// A session with its user, in one read.
    async fn get_session(&self, id: SessionId) -> Result<Option<(Session, User)>>;
    /// The user's unexpired sessions, newest first.
    async fn list_sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<Session>>;
    /// Deletes a session of `user` and revokes the grants issued in it: to the clients in
    /// `revoke` only, or all of them when `revoke` is `None`. False when there was no such session.
    async fn end_session(
        &self,
        user: UserId,
        id: SessionId,
        revoke: Option<&[ClientId]>,
        at: Timestamp,
    ) -> Result<bool>;
    /// The scopes `user` has consented to for `client`.
    async fn get_consent(&self, user: UserId, client: &ClientId) -> Result<Option<String>>;
    async fn put_consent(&self, user: UserId, client: &ClientId, scope: &str, at: Timestamp) -> Result<()>;
    /// Replaces the password hash and, in the same transaction, ends every session and revokes
    /// every grant of the user.
    async fn change_password(&self, user: UserId, hash: &str, at: Timestamp, audit: &AuditRecord) -> Result<()>;
}

/// Users' second factors (SPEC §5.4): a TOTP secret, sealed, with its recovery codes as keyed
/// hashes.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// The user's TOTP factor (confirmed or being set up), with how many recovery codes are unused.
    async fn get_totp(&self, user: UserId) -> Result<Option<TotpFactor>>;
    /// Stores a TOTP secret being set up, replacing one not confirmed yet; false when the user
    /// has a confirmed factor.
    async fn put_pending_totp(&self, factor: &TotpFactor) -> Result<bool>;
    /// Confirms the factor being set up, with `step` (its first code's) as the last used, and
    /// replaces the user's recovery codes by `recovery` (keyed hashes), with `audit`; false when
    /// nothing was being set up.
    async fn confirm_totp(
        &self,
        user: UserId,
        step: i64,
        at: Timestamp,
        recovery: &[Vec<u8>],
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Records `step` as the last used if it is later than the last used one (compare and set);
    /// false for a replay.
    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool>;
    /// Marks the unused recovery code of `user` with this hash used; false when there is none.
    async fn use_recovery_code(&self, user: UserId, hash: &[u8], at: Timestamp) -> Result<bool>;
    /// Removes the TOTP factor and the recovery codes, with `audit`; false when there was none.
    async fn remove_totp(&self, user: UserId, audit: &AuditRecord) -> Result<bool>;
}

/// Users' passkeys (SPEC §5.4) and the WebAuthn ceremonies under way, which any node may finish.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, user: UserId) -> Result<Vec<PasskeyRecord>>;
    /// The passkey with this credential id, whoever it belongs to.
    async fn find_passkey(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>>;
    /// Adds a passkey with `audit`. `Conflict` when its credential id is registered already.
    async fn insert_passkey(&self, p: &PasskeyRecord, audit: &AuditRecord) -> Result<()>;
    /// Records a sign-in with the user's passkey `id`: when, and its credential as updated (the
    /// signature counter); false when it is gone.
    async fn passkey_used(&self, user: UserId, id: uuid::Uuid, passkey: &str, at: Timestamp) -> Result<bool>;
    /// Removes the user's passkey `id` with `audit`; false when the user has none of that id.
    async fn delete_passkey(&self, user: UserId, id: uuid::Uuid, audit: &AuditRecord) -> Result<bool>;
    async fn insert_ceremony(&self, c: &Ceremony) -> Result<()>;
    /// Takes (deletes and returns) the ceremony `id` of `purpose` if it has not expired at `now`:
    /// of two requests answering one challenge, one gets it.
    async fn take_ceremony(&self, id: &str, purpose: CeremonyPurpose, now: Timestamp) -> Result<Option<Ceremony>>;
}

/// Grants (token families, with their refresh tokens), device authorizations and revoked access
/// tokens: the provider's hot tables.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Writes the grant of a redeemed authorization code if its sign-in session still exists
    /// (false when it has ended). `Conflict` when the grant exists: the code was redeemed before.
    async fn insert_grant(&self, g: &Grant) -> Result<bool>;
    /// A grant with its user, in one read.
    async fn get_grant(&self, id: GrantId) -> Result<Option<(Grant, User)>>;
    /// Revokes a grant and so every token issued from it; false when already revoked or unknown.
    async fn revoke_grant(&self, id: GrantId, at: Timestamp) -> Result<bool>;
    /// The clients with grants issued in a session.
    async fn session_grant_clients(&self, session: SessionId) -> Result<Vec<ClientId>>;
    /// Rotates a grant's refresh token, one atomic compare-and-set: if the grant is not revoked
    /// and its refresh token is still `generation` and unexpired at `at`, stores `next` and keeps
    /// the grant until `next` expires. False when someone else rotated it first.
    async fn rotate_refresh(&self, id: GrantId, generation: i64, next: &RefreshState, at: Timestamp) -> Result<bool>;
    async fn insert_device_grant(&self, d: &DeviceGrant) -> Result<()>;
    async fn get_device_grant(&self, device_code_hash: &[u8]) -> Result<Option<DeviceGrant>>;
    async fn find_device_grant(&self, user_code: &str) -> Result<Option<DeviceGrant>>;
    async fn record_device_poll(&self, device_code_hash: &[u8], at: Timestamp, interval_secs: i64) -> Result<()>;
    /// Approves (`Some`) or denies (`None`) a pending, unexpired request; false otherwise.
    async fn decide_device_grant(
        &self,
        user_code: &str,
        approval: Option<&DeviceApproval>,
        at: Timestamp,
    ) -> Result<bool>;
    /// Spends an approved request, writing its grant in the same transaction; false when it was
    /// not approved (or already spent).
    async fn redeem_device_grant(&self, device_code_hash: &[u8], g: &Grant) -> Result<bool>;
    /// Revokes one access token until it would have expired anyway.
    async fn revoke_jti(&self, jti: &str, expires_at: Timestamp) -> Result<()>;
    /// Whether an access token is still good: its `jti` is not revoked and its grant, if it has
    /// one, exists and is not revoked.
    async fn token_active(&self, jti: &str, grant: Option<GrantId>) -> Result<bool>;
    /// Deletes what has expired from the hot tables; the number of rows deleted.
    async fn purge_expired(&self, now: Timestamp) -> Result<u64>;
}

/// Rooms, room grants and the participants connected on every node (SPEC §6).
#[async_trait]
pub trait RoomStore: Send + Sync {
    /// `Conflict` when the project has a room of that name.
    async fn insert_room(&self, r: &Room, audit: &AuditRecord) -> Result<()>;
    async fn get_room(&self, project: ProjectId, name: &str) -> Result<Option<Room>>;
    /// Oldest first, and the total.
    async fn list_rooms(&self, project: ProjectId, page: Page) -> Result<(Vec<Room>, u64)>;
    /// Deletes a room, its grants, and its secrets and waiting consent requests.
    async fn delete_room(&self, project: ProjectId, name: &str, audit: &AuditRecord) -> Result<bool>;
    /// Creates or replaces a grant; `NotFound("room")` when the room does not exist.
    async fn put_room_grant(&self, g: &RoomGrant, audit: &AuditRecord) -> Result<()>;
    async fn get_room_grant(&self, project: ProjectId, room: &str, user: UserId) -> Result<Option<RoomGrant>>;
    /// The grants of one room, or of every room; oldest first, and the total.
    async fn list_room_grants(
        &self,
        project: ProjectId,
        room: Option<&str>,
        page: Page,
    ) -> Result<(Vec<RoomGrant>, u64)>;
    async fn delete_room_grant(
        &self,
        project: ProjectId,
        room: &str,
        user: UserId,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Records a participant that connected to this node (again: a second insert changes nothing).
    async fn insert_presence(&self, p: &Presence) -> Result<()>;
    /// Forgets a participant that left; false when it was already gone.
    async fn delete_presence(&self, id: ParticipantId) -> Result<bool>;
    /// The participants of a room whose node was alive at `alive_since`, oldest first.
    async fn list_presence(&self, project: ProjectId, room: &str, alive_since: Timestamp) -> Result<Vec<Presence>>;
    /// Records that `node` is alive at `at`; false when it had no record (its first heartbeat, or
    /// it was taken for dead and its participants removed).
    async fn heartbeat(&self, node: NodeId, at: Timestamp) -> Result<bool>;
    /// Deletes and returns the participants of nodes not heard of since `before`, and those nodes
    /// (each participant goes to exactly one caller).
    async fn purge_presence(&self, before: Timestamp) -> Result<Vec<Presence>>;
}

/// Credentials kept for room participants, and consent requests waiting for an answer (SPEC §7).
#[async_trait]
pub trait BrokerStore: Send + Sync {
    /// `Conflict` when the room already has a credential of that owner, delegate and provider.
    async fn insert_credential(&self, c: &OAuthCredential, audit: &AuditRecord) -> Result<()>;
    /// Replaces a credential whose generation is still `expected` (its new generation is in `c`),
    /// releasing any refresh lease; false when it changed or is gone.
    async fn replace_credential(&self, c: &OAuthCredential, expected: i64, audit: Option<&AuditRecord>)
    -> Result<bool>;
    async fn get_credential(&self, project: ProjectId, id: RoomSecretId) -> Result<Option<OAuthCredential>>;
    /// One owner's credentials for one provider (authorization endpoint and client id) in a room.
    async fn find_credentials(
        &self,
        project: ProjectId,
        room: &str,
        owner: &str,
        authorization_endpoint: &str,
        client_id: &str,
    ) -> Result<Vec<OAuthCredential>>;
    /// The credentials `identity` owns or that are delegated to it, oldest first, at most `limit`.
    async fn list_credentials(
        &self,
        project: ProjectId,
        room: &str,
        identity: &str,
        limit: u32,
    ) -> Result<Vec<OAuthCredential>>;
    async fn delete_credential(&self, project: ProjectId, id: RoomSecretId, audit: &AuditRecord) -> Result<bool>;
    /// Takes the refresh lease of a credential still at `generation` until `until`, unless
    /// another holder's lease runs past `now`: the one refresh across every node (SPEC §7.4).
    async fn lease_credential(
        &self,
        project: ProjectId,
        id: RoomSecretId,
        generation: i64,
        holder: NodeId,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool>;
    /// Gives a lease back unchanged (the refresh failed transiently).
    async fn release_credential(
        &self,
        project: ProjectId,
        id: RoomSecretId,
        generation: i64,
        holder: NodeId,
    ) -> Result<()>;
    /// Stores a request unless, at `now`, its room already has `per_room` requests pending or its
    /// requester `per_requester` in that room.
    async fn insert_oauth_request(
        &self,
        r: &PendingRequest,
        per_room: u32,
        per_requester: u32,
        now: Timestamp,
    ) -> Result<bool>;
    /// A request of `project` by the keyed hash of its `request_id`.
    async fn find_oauth_request(&self, project: ProjectId, request_hash: &[u8]) -> Result<Option<PendingRequest>>;
    async fn get_oauth_request(&self, project: ProjectId, id: OAuthRequestId) -> Result<Option<PendingRequest>>;
    /// Moves a request from the state named by `from` to `to`; false when it was not in `from`
    /// (each answer is taken once).
    async fn set_oauth_request_status(
        &self,
        project: ProjectId,
        id: OAuthRequestId,
        from: &RequestStatus,
        to: &RequestStatus,
    ) -> Result<bool>;
    async fn delete_oauth_request(&self, project: ProjectId, id: OAuthRequestId) -> Result<()>;
    /// Deletes requests that expired before `before`; how many.
    async fn purge_oauth_requests(&self, before: Timestamp) -> Result<u64>;
}

/// Links mailed to people and project invitations (SPEC §5.4). Finishing a link consumes it in
/// the same transaction as its effect, so a link works once even when used twice at once.
#[async_trait]
pub trait PeopleStore: Send + Sync {
    async fn insert_link(&self, l: &AccountLink) -> Result<()>;
    async fn get_link(&self, id: LinkId) -> Result<Option<AccountLink>>;
    /// Consumes an unused, unexpired sign-up link and creates its user; false when the link was
    /// used or expired meanwhile. `Conflict` when the address has an account by now.
    async fn finish_sign_up(&self, link: LinkId, user: &User, at: Timestamp, audit: &AuditRecord) -> Result<bool>;
    /// Consumes an unused, unexpired reset link and sets the password hash, ending every session
    /// and revoking every grant of the user (as [`SessionStore::change_password`]); false when the
    /// link was used or expired meanwhile.
    async fn finish_reset(
        &self,
        link: LinkId,
        user: UserId,
        hash: &str,
        at: Timestamp,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Deletes links that expired before `before`; how many.
    async fn purge_links(&self, before: Timestamp) -> Result<u64>;
    /// Creates an invitation, or renews the pending one of the same project and address.
    async fn put_invitation(&self, i: &Invitation, audit: &AuditRecord) -> Result<()>;
    async fn get_invitation(&self, id: InvitationId) -> Result<Option<Invitation>>;
    /// A project's pending invitations (unexpired at `now`), oldest first.
    async fn list_project_invitations(&self, project: ProjectId, now: Timestamp) -> Result<Vec<Invitation>>;
    /// The invitations waiting for `email` (unexpired at `now`), oldest first.
    async fn list_invitations_for(&self, email: &str, now: Timestamp) -> Result<Vec<Invitation>>;
    /// Deletes the invitation and, when `member` is given, makes that user a member with the
    /// invitation's flags, in one transaction; false when the invitation is gone.
    async fn close_invitation(&self, i: &Invitation, member: Option<UserId>, audit: &AuditRecord) -> Result<bool>;
}

/// Sends mail (SMTP, or files in the data directory). Implementations never log message bodies:
/// they carry link secrets.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<()>;
}

/// Accounts' identities at upstream identity providers ([`crate::idp`]).
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// The identity `subject` of `provider`, with its account.
    async fn find_identity(&self, provider: &str, subject: &str) -> Result<Option<(LinkedIdentity, User)>>;
    /// Links `identity` to its account, creating `new_user` first when given, with `audit`, in
    /// one transaction. `Conflict` when the identity is linked already or the email is taken.
    async fn link_identity(
        &self,
        identity: &LinkedIdentity,
        new_user: Option<&User>,
        audit: &AuditRecord,
    ) -> Result<()>;
    /// The account's identities, oldest first.
    async fn list_identities(&self, user: UserId) -> Result<Vec<LinkedIdentity>>;
    /// Removes one of the account's identities with `audit`; whether it was there.
    async fn delete_identity(&self, user: UserId, id: IdentityId, audit: &AuditRecord) -> Result<bool>;
    /// The identity providers managed over REST, by name.
    async fn list_identity_providers(&self) -> Result<Vec<crate::idp::settings::StoredProvider>>;
    /// Stores a new provider with `audit`. `Conflict` when its name is taken.
    async fn insert_identity_provider(
        &self,
        p: &crate::idp::settings::StoredProvider,
        audit: &AuditRecord,
    ) -> Result<()>;
    /// Replaces the provider whose version is `p.version - 1` with `audit`; whether it was.
    async fn update_identity_provider(
        &self,
        p: &crate::idp::settings::StoredProvider,
        audit: &AuditRecord,
    ) -> Result<bool>;
    /// Removes provider `name` and the identities linked through it, with `audit`, in one
    /// transaction; whether it was there.
    async fn delete_identity_provider(&self, name: &str, audit: &AuditRecord) -> Result<bool>;
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
    + ResourceStore
    + LlmStore
    + SystemStore
    + SigningKeyStore
    + SessionStore
    + FactorStore
    + PasskeyStore
    + GrantStore
    + RoomStore
    + BrokerStore
    + PeopleStore
    + IdentityStore
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
        + ResourceStore
        + ResourceStore
        + LlmStore
        + SystemStore
        + SigningKeyStore
        + SessionStore
        + FactorStore
        + PasskeyStore
        + GrantStore
        + RoomStore
        + BrokerStore
        + PeopleStore
        + IdentityStore
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
    /// A project's LLM provider configuration or limits changed.
    Llm {
        project: uuid::Uuid,
    },
    /// A project's API resources changed.
    Resources {
        project: uuid::Uuid,
    },
    /// Signing keys were added, scheduled or removed.
    SigningKeys,
    /// An access token, grant or session was revoked: cached "not revoked" answers are dropped.
    Revocations,
    /// A consent request was answered or a credential changed: whoever waits on `id` re-reads it.
    Broker {
        id: uuid::Uuid,
    },
    /// An identity provider managed over REST was added, changed or removed.
    IdentityProviders,
    /// Everything: after a node lost its notification connection and may have missed events.
    All,
}

/// Cross-node event delivery: PostgreSQL `LISTEN/NOTIFY`, or in-process for SQLite.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers `event` to every node, this one included.
    async fn publish(&self, event: &Invalidation) -> Result<()>;
    /// Delivers a room event to the other nodes (the sending node has delivered it locally):
    /// `notice` is a [`crate::rooms::RoomNotice`] as JSON, serialised once by the sender, which checked its size.
    async fn route(&self, notice: &str) -> Result<()>;
}

/// A client's credentials at a third-party token endpoint.
#[derive(Clone, Copy)]
pub struct UpstreamClient<'a> {
    pub client_id: &'a str,
    pub client_secret: Option<&'a str>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, PartialEq, Eq)]
pub struct UpstreamTokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in: Option<i64>,
    /// Granted scopes, when they differ from the requested ones.
    pub scope: Option<String>,
    /// The OpenID Connect ID token, when the provider sent one (OIDC Core §3.1.3.3).
    pub id_token: Option<SecretString>,
}

/// Why a third-party call gave no tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The provider answered with an OAuth error (RFC 6749 §5.2), e.g. `invalid_grant`.
    #[error("the provider answered {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Rejected { error: String, description: Option<String> },
    /// No usable answer: unreachable, timed out, a 5xx, too large or malformed. Worth retrying.
    #[error("the provider could not be used: {0}")]
    Transient(String),
    /// The outbound policy refused the call ([`crate::outbound`]): the endpoint names, or its
    /// host resolves only to, addresses calls may not reach. Not worth retrying.
    #[error("{0}")]
    Refused(String),
}

/// Outbound calls to third-party OAuth providers (SPEC §7, §9.6). The implementation enforces
/// the transport policy (https only unless insecure upstreams are allowed, no redirects, bounded
/// size and time) and the outbound address policy ([`crate::outbound`]) on every call;
/// `check_endpoint` and `resolve_endpoint` let input be refused before anything starts.
#[async_trait]
pub trait Upstream: Send + Sync {
    /// `Invalid` naming `field` when requests to `url` are refused by its text: its scheme, or an
    /// IP literal or `localhost` the policy does not let through.
    fn check_endpoint(&self, field: &str, url: &str) -> Result<()>;
    /// [`Upstream::check_endpoint`], then `Invalid` naming `field` when the host resolves only to
    /// addresses the policy refuses. A name that does not resolve now passes.
    async fn resolve_endpoint(&self, field: &str, url: &str) -> Result<()>;
    /// The longest one call may take.
    fn timeout(&self) -> std::time::Duration;
    /// POSTs `form` to a token endpoint, authenticating as `client`.
    async fn token(
        &self,
        endpoint: &str,
        client: UpstreamClient<'_>,
        form: &[(&str, &str)],
    ) -> Result<UpstreamTokens, UpstreamError>;
    /// GETs a JSON document (discovery, a JWKS, a user API), with `bearer` as the access token
    /// when given; an answer other than 2xx JSON is an error.
    async fn get_json(&self, url: &str, bearer: Option<&str>) -> Result<serde_json::Value, UpstreamError>;
    /// Revokes `token` (RFC 7009) with `token_type_hint` = `hint`.
    async fn revoke(
        &self,
        endpoint: &str,
        client: UpstreamClient<'_>,
        token: &str,
        hint: &str,
    ) -> Result<(), UpstreamError>;
}
