//! The room secrets broker (SPEC §7): consent prompts routed to a participant, the code
//! exchange, credentials sealed per row, one refresh at a time across every node, and tokens
//! handed to the identities allowed to use them.
//!
//! A token request runs like this:
//! 1. [`providers`] resolves the provider the request names (inline settings, or an external
//!    OAuth registration of the project or of the room), checks its endpoints against the
//!    outbound policy ([`crate::outbound`]) and the provider against the caller's allow-list
//!    (SPEC §6.2).
//! 2. [`credentials`] looks for a stored credential the caller may use; one about to expire is
//!    refreshed under a lease that one node holds at a time (SPEC §7.4). Offline gets stop here.
//! 3. Otherwise [`consent`] records a pending request, prompts the target participant on the room
//!    channel and waits for its answer; the answer's code is exchanged at the provider and the
//!    credential stored before the requester gets its token.
//!
//! [`secrets`] lists and deletes stored credentials. Every operation needs the caller's
//! `secrets` grant. The state lives in storage (pending requests, credentials and their refresh
//! lease), so any node can answer; [`Signals`] only shortens the wait.

mod consent;
mod credentials;
mod providers;
mod secrets;

pub use consent::{MAX_PENDING_PER_REQUESTER, MAX_PENDING_PER_ROOM};
pub use credentials::REFRESH_MARGIN_SECS;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::Gatehouse;
use crate::broker::{InFlight, OAuthCredential, SealedSecrets, Signals};
use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, RoomSecretId, new_row_id};
use crate::model::AuditRecord;
use crate::participant::Verified;
use crate::ports::Upstream;
use crate::secret::SecretString;
use crate::time::Timestamp;

/// Added to the longest call to a provider: how long a refresh lease lasts past it (then another
/// node may take over from a holder that stopped), and how long a requester waits past its
/// timeout for a code exchange under way.
const UPSTREAM_MARGIN: Duration = Duration::from_secs(10);
/// Waiters re-read storage at least this often, in case a cross-node wake-up was lost.
const POLL: Duration = Duration::from_millis(250);

/// How long a node trusts a credential lookup it read without hearing of a change: a change on
/// another node whose notification was lost is seen within this time.
const LOOKUP_TTL_MS: i64 = 1_000;
/// Credential lookups a node keeps at most (past it, expired ones are swept first).
const MAX_LOOKUPS: usize = 10_000;

/// The broker's parts that live outside storage.
pub(crate) struct Broker {
    pub(crate) upstream: Arc<dyn Upstream>,
    pub(crate) signals: Signals,
    pub(crate) in_flight: InFlight,
    /// Credentials by (project, room, owner, provider), as read from storage (still sealed).
    /// Every change of a credential, on any node, drops them all.
    pub(crate) lookups: Cache<String, Vec<OAuthCredential>>,
    /// (credential, identity) pairs whose access was audited in the last minute.
    accesses: Cache<String, ()>,
}

impl Broker {
    pub(crate) fn new(upstream: Arc<dyn Upstream>) -> Self {
        Self {
            upstream,
            signals: Signals::default(),
            in_flight: InFlight::default(),
            lookups: Cache::with_limits(LOOKUP_TTL_MS, MAX_LOOKUPS),
            accesses: Cache::with_limits(60_000, MAX_LOOKUPS),
        }
    }

    /// Forgets every cached lookup.
    pub(crate) fn forget_lookups(&self) {
        self.lookups.invalidate(|_, _| false);
    }
}

/// A provider's access token as the broker hands it to a participant: the only secret of a
/// credential that ever leaves the server.
#[derive(Debug)]
pub struct ProviderToken {
    pub access_token: SecretString,
    pub expires_at: Option<Timestamp>,
    /// The scopes the provider granted.
    pub scopes: Vec<String>,
}

impl ProviderToken {
    /// `access_token`, opened from `c`, with the credential's expiry and scopes.
    fn of(c: &OAuthCredential, access_token: SecretString) -> Self {
        Self {
            access_token,
            expires_at: c.expires_at,
            scopes: c.scopes.clone(),
        }
    }
}

/// The caller's `secrets` grant, or why it has none.
fn secrets_grant(who: &Verified) -> Result<&Map<String, Value>> {
    who.claims
        .api_scope()
        .and_then(|api| api.get("secrets"))
        .and_then(Value::as_object)
        .ok_or_else(|| Error::Forbidden("the token's api grant does not allow secrets".into()))
}

impl Gatehouse {
    /// How long a requester waits past its timeout for a code exchange under way.
    fn exchange_grace(&self) -> Duration {
        self.broker.upstream.timeout() + UPSTREAM_MARGIN
    }

    /// An audit record of the broker acting on `secret`.
    fn audit_record(&self, project: ProjectId, action: &str, secret: RoomSecretId, details: Value) -> AuditRecord {
        AuditRecord {
            id: new_row_id(),
            project_id: project,
            at: self.clock.now(),
            actor_type: "system".into(),
            actor_id: String::new(),
            action: action.into(),
            target_type: "room_secret".into(),
            target_id: secret.to_string(),
            details,
        }
    }

    /// An audit record of the participant `who` acting on `secret`.
    fn participant_audit(&self, who: &Verified, action: &str, secret: RoomSecretId, details: Value) -> AuditRecord {
        AuditRecord {
            actor_type: "participant".into(),
            actor_id: who.claims.name.clone(),
            ..self.audit_record(who.project_id, action, secret, details)
        }
    }

    /// Waits up to `limit` for code exchanges and refreshes under way; whether all finished.
    pub async fn broker_settled(&self, limit: Duration) -> bool {
        self.broker.in_flight.settled(limit).await
    }
}

fn to_json(s: &SealedSecrets) -> Result<Vec<u8>> {
    serde_json::to_vec(s).map_err(Error::unexpected)
}

fn from_json(bytes: &[u8]) -> Result<SealedSecrets> {
    serde_json::from_slice(bytes).map_err(Error::unexpected)
}
