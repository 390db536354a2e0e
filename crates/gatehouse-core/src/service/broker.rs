//! The room secrets broker (SPEC §7): consent prompts routed to a participant, the code
//! exchange, credentials sealed per row, one refresh at a time across every node, and tokens
//! handed to the identities allowed to use them.
//!
//! Every operation needs the caller's `secrets` grant; those naming a provider also need its
//! allow-list to match (SPEC §6.2). The state lives in storage (pending requests, credentials
//! and their refresh lease), so any node can answer; [`Signals`](crate::broker::Signals) only
//! shortens the wait.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_types::{
    ConsentPrompt, ConsentRequest, DeleteRoomSecret, GetOfflineOAuthToken, OAuthClientConfig, OAuthToken,
    OfflineOAuthToken, ProvideOAuthAuthorization, RejectOAuthAuthorization, RequestOAuthToken, Requester,
    RoomSecretInfo, RoomSecretList,
};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::Gatehouse;
use crate::broker::{
    InFlight, OAuthCredential, PendingRequest, ProviderSettings, RequestFailure, RequestStatus, SealedSecrets, Signals,
    can_request_oauth_token, credential_aad, request_aad, s256_challenge, split_scopes,
};
use crate::cache::Cache;
use crate::clients::uri::{check_redirect_uri, check_web_url, web_url};
use crate::error::{Error, Result};
use crate::ids::{OAuthRequestId, ParticipantId, ProjectId, RegistrationId, RoomSecretId, new_row_id};
use crate::model::AuditRecord;
use crate::participant::{MAX_NAME_CHARS, Verified};
use crate::ports::{Invalidation, Upstream, UpstreamClient, UpstreamError, UpstreamTokens};
use crate::rng::{random_bytes, random_token};
use crate::rooms::{Audience, RoomKey, event_frame};
use crate::secret::ct_eq;
use crate::text::{check_name, check_text};
use crate::time::Timestamp;

/// A token expiring within this many seconds is refreshed before use (SPEC §7.4).
pub const REFRESH_MARGIN_SECS: i64 = 60;
/// Consent prompts a room may have waiting at once (SPEC §9.5).
pub const MAX_PENDING_PER_ROOM: u32 = 100;
/// Consent prompts one requester may have waiting in a room, so one participant cannot take a
/// room's every slot.
pub const MAX_PENDING_PER_REQUESTER: u32 = 10;
/// How long a prompt waits when the request names no timeout, and the most it may name.
const DEFAULT_TIMEOUT_SECS: u64 = 300;
const MAX_TIMEOUT_SECS: u64 = 900;
/// Added to the longest call to a provider: how long a refresh lease lasts past it (then another
/// node may take over from a holder that stopped), and how long a requester waits past its
/// timeout for a code exchange under way.
const UPSTREAM_MARGIN: Duration = Duration::from_secs(10);
/// Waiters re-read storage at least this often, in case a cross-node wake-up was lost.
const POLL: Duration = Duration::from_millis(250);
/// Secrets one list returns at most.
const MAX_LISTED: u32 = 1000;
const MAX_CODE_BYTES: usize = 4096;
const MAX_REQUEST_ID_BYTES: usize = 128;
const MAX_REASON_CHARS: usize = 200;
const REQUEST_HASH_DOMAIN: &str = "oauth_request";

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

/// A provider resolved from inline settings or a registration.
struct Resolved {
    settings: ProviderSettings,
    /// An inline client secret (a registration's is read when needed).
    inline_secret: Option<String>,
    scopes: Vec<String>,
    no_pkce: bool,
    /// A registration's redirect URIs: the request's must be one of them exactly.
    redirect_uris: Option<Vec<String>>,
    /// A registration's `delegated_to`: who new credentials are delegated to by default.
    delegate_to: Option<String>,
}

/// The caller's `secrets` grant, or why it has none.
fn secrets_grant(who: &Verified) -> Result<&Map<String, Value>> {
    who.claims
        .api_scope()
        .and_then(|api| api.get("secrets"))
        .and_then(Value::as_object)
        .ok_or_else(|| Error::Forbidden("the token's api grant does not allow secrets".into()))
}

fn allow_provider(grant: &Map<String, Value>, p: &ProviderSettings) -> Result<()> {
    if can_request_oauth_token(grant, Some((&p.authorization_endpoint, &p.client_id))) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "the token's secrets grant does not allow this provider (authorization endpoint and client id)".into(),
        ))
    }
}

fn token_dto(c: &OAuthCredential, access_token: String) -> OAuthToken {
    OAuthToken {
        access_token,
        expires_at: c.expires_at.map(Timestamp::rfc3339),
        scopes: c.scopes.clone(),
    }
}

fn secret_info(c: &OAuthCredential) -> RoomSecretInfo {
    RoomSecretInfo {
        id: c.id.uuid(),
        kind: "oauth".into(),
        name: c.provider.name.clone(),
        owner: c.owner.clone(),
        delegated_to: Some(c.delegated_to.clone()).filter(|d| !d.is_empty()),
        authorization_endpoint: c.provider.authorization_endpoint.clone(),
        client_id: c.provider.client_id.clone(),
        scopes: c.scopes.clone(),
        expires_at: c.expires_at.map(Timestamp::rfc3339),
        needs_consent: c.needs_consent,
    }
}

/// What the requester is told when its request ended without a token.
fn failure_error(f: &RequestFailure) -> Error {
    match f {
        RequestFailure::Rejected { error } => Error::Rejected(format!("the participant rejected the request: {error}")),
        RequestFailure::Upstream { error, description } => Error::Upstream(format!(
            "the provider refused the authorization code: {error}{}",
            if description.is_empty() {
                String::new()
            } else {
                format!(": {description}")
            }
        )),
        RequestFailure::WrongIssuer => Error::Upstream(
            "the authorization response named another issuer (RFC 9207); the request was abandoned".into(),
        ),
        RequestFailure::Timeout => Error::Timeout("the participant did not answer in time".into()),
    }
}

fn upstream_failure(e: UpstreamError) -> RequestFailure {
    match e {
        UpstreamError::Rejected { error, description } => RequestFailure::Upstream {
            error,
            description: description.unwrap_or_default(),
        },
        UpstreamError::Transient(why) => RequestFailure::Upstream {
            error: "temporarily_unavailable".into(),
            description: why,
        },
    }
}

impl Gatehouse {
    /// `secrets.list`: the credentials the caller owns or that are delegated to it, in this room.
    pub async fn list_room_secrets(&self, who: &Verified, room: &str) -> Result<RoomSecretList> {
        secrets_grant(who)?;
        let rows = self
            .store
            .list_credentials(who.project_id, room, &who.claims.name, MAX_LISTED)
            .await?;
        Ok(RoomSecretList {
            secrets: rows.iter().map(secret_info).collect(),
        })
    }

    /// `secrets.delete`: forgets a credential the caller owns or may use, and revokes it at the
    /// provider when it has a revocation endpoint (best effort: the credential is gone either way).
    pub async fn delete_room_secret(&self, who: &Verified, room: &str, req: DeleteRoomSecret) -> Result<()> {
        secrets_grant(who)?;
        if let Some(d) = &req.delegated_to {
            check_name("delegated_to", d, MAX_NAME_CHARS)?;
        }
        let me = &who.claims.name;
        let c = self
            .store
            .get_credential(who.project_id, RoomSecretId::from_uuid(req.id))
            .await?
            .filter(|c| c.room_name == room && c.usable_by(me))
            .filter(|c| req.delegated_to.as_ref().is_none_or(|d| *d == c.delegated_to))
            .ok_or(Error::NotFound("secret"))?;
        let audit = self.participant_audit(
            who,
            "room_secret.delete",
            c.id,
            json!({ "room": room, "owner": c.owner }),
        );
        if !self.store.delete_credential(who.project_id, c.id, &audit).await? {
            return Err(Error::NotFound("secret"));
        }
        self.invalidate(Invalidation::Broker { id: c.id.uuid() }).await;
        if let Some(endpoint) = &c.provider.revocation_endpoint
            && let Err(e) = self.revoke_upstream(&c, endpoint).await
        {
            tracing::warn!(error = %e, secret = %c.id, "revoking a deleted credential at its provider failed");
        }
        Ok(())
    }

    async fn revoke_upstream(&self, c: &OAuthCredential, endpoint: &str) -> Result<()> {
        let secrets = self.open_credential(c).await?;
        let client_secret = self.client_secret(c.project_id, &c.provider, &secrets).await?;
        let (token, hint) = match (&secrets.refresh_token, &secrets.access_token) {
            (Some(t), _) => (t, "refresh_token"),
            (None, Some(t)) => (t, "access_token"),
            (None, None) => return Ok(()),
        };
        let client = UpstreamClient {
            client_id: &c.provider.client_id,
            client_secret: client_secret.as_deref(),
        };
        self.broker
            .upstream
            .revoke(endpoint, client, token, hint)
            .await
            .map_err(|e| Error::Upstream(e.to_string()))
    }

    /// `secrets.get_offline_oauth_token`: the access token of a stored credential owned by
    /// `delegated_by` (default: the caller) that the caller may use, refreshed when it is about to
    /// expire; `null` when there is none or it needs a new consent. Never prompts.
    pub async fn get_offline_oauth_token(
        self: &Arc<Self>,
        who: &Verified,
        room: &str,
        req: GetOfflineOAuthToken,
    ) -> Result<OfflineOAuthToken> {
        let grant = secrets_grant(who)?;
        let p = self
            .resolve_provider(who.project_id, room, req.oauth, req.registration_id, false)
            .await?;
        allow_provider(grant, &p.settings)?;
        for (field, name) in [("delegated_by", &req.delegated_by), ("delegated_to", &req.delegated_to)] {
            if let Some(name) = name {
                check_name(field, name, MAX_NAME_CHARS)?;
            }
        }
        let me = who.claims.name.as_str();
        let owner = req.delegated_by.as_deref().unwrap_or(me);
        let found = self
            .credentials_of(who.project_id, room, owner, &p.settings)
            .await?
            .iter()
            .filter(|c| c.usable_by(me) && !c.needs_consent && c.covers(&p.scopes))
            .filter(|c| req.delegated_to.as_ref().is_none_or(|d| *d == c.delegated_to))
            .max_by_key(|c| c.updated_at)
            .cloned();
        let token = match found {
            Some(c) => {
                let token = self.usable_token(c.clone()).await?;
                if token.is_some() {
                    self.record_access(me, &c).await;
                }
                token
            }
            None => None,
        };
        Ok(OfflineOAuthToken {
            access_token: token.map(|t| t.access_token),
        })
    }

    /// `secrets.request_oauth_token` (SPEC §7.2): a stored credential of the target participant
    /// the caller may use, or else a consent prompt to that participant and the token its answer
    /// yields. `from` is the caller's connection when it asks over the room channel.
    pub async fn request_oauth_token(
        self: &Arc<Self>,
        who: &Verified,
        room: &str,
        from: Option<ParticipantId>,
        req: RequestOAuthToken,
    ) -> Result<OAuthToken> {
        let project = who.project_id;
        let grant = secrets_grant(who)?;
        let p = self
            .resolve_provider(project, room, req.oauth, req.registration_id, true)
            .await?;
        allow_provider(grant, &p.settings)?;
        match &p.redirect_uris {
            Some(allowed) if !allowed.contains(&req.redirect_uri) => {
                return Err(Error::invalid(
                    "redirect_uri",
                    "must be one of the registration's redirect URIs, exactly",
                ));
            }
            Some(_) => {}
            None => check_redirect_uri("redirect_uri", &req.redirect_uri, true)?,
        }
        let timeout = match req.timeout {
            None => DEFAULT_TIMEOUT_SECS,
            Some(t) if (1..=MAX_TIMEOUT_SECS).contains(&t) => t,
            Some(_) => {
                return Err(Error::invalid(
                    "timeout",
                    format!("must be 1-{MAX_TIMEOUT_SECS} seconds"),
                ));
            }
        };
        let me = who.claims.name.clone();
        let delegate_to = req.delegate_to.or(p.delegate_to.clone()).unwrap_or_else(|| me.clone());
        check_name("delegate_to", &delegate_to, MAX_NAME_CHARS)?;
        let key = RoomKey::new(project, room);
        let target = self
            .room_participants(&key)
            .await?
            .into_iter()
            .find(|x| x.id.uuid() == req.participant_id)
            .ok_or_else(|| Error::invalid("participant_id", "is not connected to this room"))?;

        // A credential the target owns and the requester may use needs no prompt.
        let stored = self
            .credentials_of(project, room, &target.name, &p.settings)
            .await?
            .iter()
            .filter(|c| c.usable_by(&me) && !c.needs_consent && c.covers(&p.scopes))
            .max_by_key(|c| c.updated_at)
            .cloned();
        if let Some(c) = stored
            && let Some(token) = self.usable_token(c.clone()).await?
        {
            self.record_access(&me, &c).await;
            return Ok(token);
        }

        let now = self.clock.now();
        let request_id = random_token(self.rng.as_ref());
        let verifier = (!p.no_pkce).then(|| random_token(self.rng.as_ref()).expose_secret().to_owned());
        let challenge = verifier.as_deref().map(s256_challenge);
        let state = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            random_bytes::<16>(self.rng.as_ref()),
        );
        let id = OAuthRequestId::from_uuid(new_row_id());
        let secrets = SealedSecrets {
            code_verifier: verifier,
            client_secret: p.inline_secret.clone(),
            ..SealedSecrets::default()
        };
        let aad = request_aad(project, room, &target.name, id);
        let pending = PendingRequest {
            id,
            request_hash: self.keys.hasher().hash(
                REQUEST_HASH_DOMAIN,
                &project.to_string(),
                request_id.expose_secret(),
            ),
            project_id: project,
            room_name: room.to_owned(),
            requester: me.clone(),
            requester_participant: from,
            target: target.id,
            target_name: target.name.clone(),
            delegate_to,
            provider: p.settings.clone(),
            redirect_uri: req.redirect_uri.clone(),
            scopes: p.scopes.clone(),
            sealed: self.seal(project, &aad, &to_json(&secrets)?).await?,
            state: state.clone(),
            status: RequestStatus::Pending,
            expires_at: now.plus_secs(timeout as i64),
            created_at: now,
        };
        if !self
            .store
            .insert_oauth_request(&pending, MAX_PENDING_PER_ROOM, MAX_PENDING_PER_REQUESTER, now)
            .await?
        {
            return Err(Error::Conflict(format!(
                "too many consent prompts are waiting (at most {MAX_PENDING_PER_ROOM} per room and {MAX_PENDING_PER_REQUESTER} per requester); try again later"
            )));
        }
        let answered = self.broker.signals.subscribe(pending.id.uuid());
        let prompt = ConsentPrompt {
            request_id: request_id.expose_secret().to_owned(),
            requested_by: Requester {
                participant_id: from.map(ParticipantId::uuid),
                name: me,
            },
            request: ConsentRequest {
                client_id: p.settings.client_id.clone(),
                authorization_endpoint: p.settings.authorization_endpoint.clone(),
                scopes: p.scopes.clone(),
                redirect_uri: req.redirect_uri,
            },
            challenge,
            state,
            expires_at: pending.expires_at.rfc3339(),
        };
        let sent = match event_frame("secrets.request_oauth_token", &prompt) {
            Ok(frame) => {
                self.send_to_room(&key, Audience::Participant { id: target.id.uuid() }, frame)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            self.store.delete_oauth_request(project, pending.id).await?;
            return Err(e);
        }
        self.await_answer(project, pending.id, answered, Duration::from_secs(timeout))
            .await
    }

    /// Waits for the answer to a pending request (any node may record it), then consumes it.
    async fn await_answer(
        &self,
        project: ProjectId,
        id: OAuthRequestId,
        mut answered: tokio::sync::watch::Receiver<u64>,
        timeout: Duration,
    ) -> Result<OAuthToken> {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(r) = self.store.get_oauth_request(project, id).await? else {
                return Err(Error::Timeout("the consent request expired".into()));
            };
            let now = Instant::now();
            match &r.status {
                RequestStatus::Done(secret) => {
                    self.store.delete_oauth_request(project, id).await?;
                    let c = self
                        .store
                        .get_credential(project, *secret)
                        .await?
                        .ok_or(Error::NotFound("secret"))?;
                    let access = self
                        .open_credential(&c)
                        .await?
                        .access_token
                        .ok_or(Error::NotFound("secret"))?;
                    self.record_access(&r.requester, &c).await;
                    return Ok(token_dto(&c, access));
                }
                RequestStatus::Failed(f) => {
                    self.store.delete_oauth_request(project, id).await?;
                    return Err(failure_error(f));
                }
                RequestStatus::Pending if now >= deadline => {
                    let timed_out = RequestStatus::Failed(RequestFailure::Timeout);
                    if self
                        .store
                        .set_oauth_request_status(project, id, &RequestStatus::Pending, &timed_out)
                        .await?
                    {
                        self.store.delete_oauth_request(project, id).await?;
                        return Err(failure_error(&RequestFailure::Timeout));
                    }
                    // Answered just now: read the answer.
                    continue;
                }
                RequestStatus::Exchanging if now >= deadline + self.exchange_grace() => {
                    self.store.delete_oauth_request(project, id).await?;
                    return Err(Error::Timeout(
                        "the provider did not answer the code exchange in time".into(),
                    ));
                }
                RequestStatus::Pending | RequestStatus::Exchanging => {}
            }
            let _ = tokio::time::timeout(POLL, answered.changed()).await;
        }
    }

    /// A pending request the caller may answer: it names this room, is still waiting, and the
    /// caller is the identity asked. Answers from anyone else are refused and change nothing.
    async fn answerable(&self, who: &Verified, room: &str, request_id: &str) -> Result<PendingRequest> {
        secrets_grant(who)?;
        if request_id.is_empty() || request_id.len() > MAX_REQUEST_ID_BYTES {
            return Err(Error::NotFound("request"));
        }
        let hash = self
            .keys
            .hasher()
            .hash(REQUEST_HASH_DOMAIN, &who.project_id.to_string(), request_id);
        let now = self.clock.now();
        let r = self
            .store
            .find_oauth_request(who.project_id, &hash)
            .await?
            .filter(|r| r.room_name == room && r.status == RequestStatus::Pending && r.expires_at > now)
            .ok_or(Error::NotFound("request"))?;
        if r.target_name != who.claims.name {
            return Err(Error::Forbidden(
                "only the participant asked for consent may answer this request".into(),
            ));
        }
        Ok(r)
    }

    /// `secrets.provide_oauth_authorization`: the code from the provider's redirect. It is
    /// exchanged here and the credential stored before this returns; the requester is answered.
    pub async fn provide_oauth_authorization(
        self: &Arc<Self>,
        who: &Verified,
        room: &str,
        req: ProvideOAuthAuthorization,
    ) -> Result<()> {
        let r = self.answerable(who, room, &req.request_id).await?;
        check_text("code", &req.code, MAX_CODE_BYTES, true)?;
        if let Some(state) = &req.state
            && !ct_eq(state.as_bytes(), r.state.as_bytes())
        {
            return Err(Error::invalid("state", "does not match the prompt's state"));
        }
        if let (Some(iss), Some(expected)) = (&req.iss, &r.provider.issuer)
            && iss != expected
        {
            // A mix-up (RFC 9207 §2.4): the code may come from another provider. Abandon the request.
            let failed = RequestStatus::Failed(RequestFailure::WrongIssuer);
            if self
                .store
                .set_oauth_request_status(r.project_id, r.id, &RequestStatus::Pending, &failed)
                .await?
            {
                self.invalidate(Invalidation::Broker { id: r.id.uuid() }).await;
            }
            return Err(Error::invalid(
                "iss",
                "does not match the provider's issuer (RFC 9207); the request was abandoned",
            ));
        }
        if !self
            .store
            .set_oauth_request_status(r.project_id, r.id, &RequestStatus::Pending, &RequestStatus::Exchanging)
            .await?
        {
            return Err(Error::NotFound("request"));
        }
        // The exchange runs to its end even if this caller goes away: the provider's answer is
        // the only copy of the tokens.
        let gh = Arc::clone(self);
        let busy = self.broker.in_flight.enter();
        tokio::spawn(async move {
            let _busy = busy;
            gh.exchange(r, req.code).await
        })
        .await
        .map_err(Error::unexpected)?
    }

    async fn exchange(&self, r: PendingRequest, code: String) -> Result<()> {
        let outcome = self.exchange_code(&r, &code).await;
        let status = match &outcome {
            Ok(c) => RequestStatus::Done(c.id),
            Err(Exchange::Refused(f)) => RequestStatus::Failed(f.clone()),
            Err(Exchange::Failed(e)) => RequestStatus::Failed(RequestFailure::Upstream {
                error: "server_error".into(),
                description: e.to_string(),
            }),
        };
        self.store
            .set_oauth_request_status(r.project_id, r.id, &RequestStatus::Exchanging, &status)
            .await?;
        self.invalidate(Invalidation::Broker { id: r.id.uuid() }).await;
        match outcome {
            Ok(_) => Ok(()),
            Err(Exchange::Refused(f)) => Err(failure_error(&f)),
            Err(Exchange::Failed(e)) => Err(e),
        }
    }

    async fn exchange_code(&self, r: &PendingRequest, code: &str) -> Result<OAuthCredential, Exchange> {
        let sealed: SealedSecrets = from_json(&self.open_sealed(r.project_id, &r.aad(), &r.sealed).await?)?;
        let client_secret = self.client_secret(r.project_id, &r.provider, &sealed).await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", r.redirect_uri.as_str()),
        ];
        if let Some(v) = &sealed.code_verifier {
            form.push(("code_verifier", v));
        }
        let client = UpstreamClient {
            client_id: &r.provider.client_id,
            client_secret: client_secret.as_deref(),
        };
        let tokens = self
            .broker
            .upstream
            .token(&r.provider.token_endpoint, client, &form)
            .await
            .map_err(|e| Exchange::Refused(upstream_failure(e)))?;
        Ok(self.store_credential(r, tokens, sealed.client_secret).await?)
    }

    /// Stores the tokens of a consent: owned by the identity that consented, delegated to the
    /// request's delegate, replacing that pair's earlier credential for the same provider.
    async fn store_credential(
        &self,
        r: &PendingRequest,
        tokens: UpstreamTokens,
        inline_secret: Option<String>,
    ) -> Result<OAuthCredential> {
        let now = self.clock.now();
        let secrets = SealedSecrets {
            access_token: Some(tokens.access_token),
            refresh_token: tokens.refresh_token,
            client_secret: inline_secret,
            code_verifier: None,
        };
        let plaintext = to_json(&secrets)?;
        for _ in 0..3 {
            let existing = self
                .store
                .find_credentials(
                    r.project_id,
                    &r.room_name,
                    &r.target_name,
                    &r.provider.authorization_endpoint,
                    &r.provider.client_id,
                )
                .await?
                .into_iter()
                .find(|c| c.delegated_to == r.delegate_to);
            let id = existing
                .as_ref()
                .map_or_else(|| RoomSecretId::from_uuid(new_row_id()), |c| c.id);
            let generation = existing.as_ref().map_or(1, |c| c.generation + 1);
            let aad = credential_aad(r.project_id, &r.room_name, &r.target_name, id, generation);
            let c = OAuthCredential {
                id,
                project_id: r.project_id,
                room_name: r.room_name.clone(),
                owner: r.target_name.clone(),
                delegated_to: r.delegate_to.clone(),
                provider: r.provider.clone(),
                scopes: tokens.scope.as_deref().map_or_else(|| r.scopes.clone(), split_scopes),
                sealed: self.seal(r.project_id, &aad, &plaintext).await?,
                expires_at: tokens.expires_in.map(|s| now.plus_secs(s)),
                needs_consent: false,
                generation,
                created_at: existing.as_ref().map_or(now, |c| c.created_at),
                updated_at: now,
            };
            let audit = AuditRecord {
                actor_type: "participant".into(),
                actor_id: r.target_name.clone(),
                ..self.audit_record(
                    r.project_id,
                    "room_secret.store",
                    c.id,
                    json!({ "room": r.room_name, "delegated_to": r.delegate_to, "provider": r.provider.authorization_endpoint }),
                )
            };
            let stored = match &existing {
                Some(old) => self.store.replace_credential(&c, old.generation, Some(&audit)).await?,
                None => match self.store.insert_credential(&c, &audit).await {
                    Ok(()) => true,
                    Err(Error::Conflict(_)) => false,
                    Err(e) => return Err(e),
                },
            };
            if stored {
                self.invalidate(Invalidation::Broker { id: c.id.uuid() }).await;
                return Ok(c);
            }
        }
        Err(Error::Conflict("the credential changed concurrently; try again".into()))
    }

    /// `secrets.reject_oauth_authorization`: the requester gets the participant's reason.
    pub async fn reject_oauth_authorization(
        &self,
        who: &Verified,
        room: &str,
        req: RejectOAuthAuthorization,
    ) -> Result<()> {
        let r = self.answerable(who, room, &req.request_id).await?;
        check_name("error", &req.error, MAX_REASON_CHARS)?;
        let failed = RequestStatus::Failed(RequestFailure::Rejected { error: req.error });
        if !self
            .store
            .set_oauth_request_status(r.project_id, r.id, &RequestStatus::Pending, &failed)
            .await?
        {
            return Err(Error::NotFound("request"));
        }
        self.invalidate(Invalidation::Broker { id: r.id.uuid() }).await;
        Ok(())
    }

    /// The credential's access token, refreshed first when it expires within the margin; `None`
    /// when it needs a new consent.
    async fn usable_token(self: &Arc<Self>, c: OAuthCredential) -> Result<Option<OAuthToken>> {
        if c.needs_consent {
            return Ok(None);
        }
        if !c.expiring(self.clock.now(), REFRESH_MARGIN_SECS) {
            let access = self.open_credential(&c).await?.access_token;
            return Ok(access.map(|a| token_dto(&c, a)));
        }
        self.refreshed(c).await
    }

    /// How long a requester waits past its timeout for a code exchange under way.
    fn exchange_grace(&self) -> Duration {
        self.broker.upstream.timeout() + UPSTREAM_MARGIN
    }

    /// Single flight (SPEC §7.4): the caller that takes the credential's lease refreshes it;
    /// every other caller, on any node, waits for the new generation and reads it, or shares
    /// the failure when the holder gives the lease back without one.
    async fn refreshed(self: &Arc<Self>, mut c: OAuthCredential) -> Result<Option<OAuthToken>> {
        let mut changed = self.broker.signals.subscribe(c.id.uuid());
        let lease = self.exchange_grace();
        let deadline = Instant::now() + lease + UPSTREAM_MARGIN;
        let seen = c.generation;
        let mut waited = false;
        loop {
            let now = self.clock.now();
            if c.needs_consent {
                return Ok(None);
            }
            // Fresh, or refreshed by another caller meanwhile: that result is this caller's too.
            if c.generation != seen || !c.expiring(now, REFRESH_MARGIN_SECS) {
                let access = self.open_credential(&c).await?.access_token;
                return Ok(access.map(|a| token_dto(&c, a)));
            }
            let until = Timestamp::from_millis(now.millis() + lease.as_millis() as i64);
            if self
                .store
                .lease_credential(c.project_id, c.id, c.generation, self.node, until, now)
                .await?
            {
                if waited {
                    // The holder gave the lease back (or stopped) without a new generation: its
                    // refresh failed. One attempt per expiry reaches the provider, not one per
                    // waiter; the next call tries again.
                    self.store
                        .release_credential(c.project_id, c.id, c.generation, self.node)
                        .await?;
                    return Err(Error::Upstream(
                        "the credential could not be refreshed just now; try again".into(),
                    ));
                }
                // Runs to its end even if every caller goes away: a rotated refresh token exists
                // only in the provider's answer until it is saved.
                let gh = Arc::clone(self);
                let busy = self.broker.in_flight.enter();
                return tokio::spawn(async move {
                    let _busy = busy;
                    gh.refresh_leased(c).await
                })
                .await
                .map_err(Error::unexpected)?;
            }
            waited = true;
            if Instant::now() >= deadline {
                return Err(Error::Upstream(
                    "another node's refresh of this credential did not finish in time".into(),
                ));
            }
            let _ = tokio::time::timeout(POLL, changed.changed()).await;
            c = match self.store.get_credential(c.project_id, c.id).await? {
                Some(c) => c,
                None => return Ok(None),
            };
        }
    }

    /// Refreshes a credential whose lease this node holds, and saves the result (with a
    /// generation check) before anyone is given the new access token.
    async fn refresh_leased(&self, c: OAuthCredential) -> Result<Option<OAuthToken>> {
        let outcome = self.try_refresh(&c).await;
        if !matches!(outcome, Ok(Refreshed::Saved(_) | Refreshed::NeedsConsent)) {
            // Nothing changed: give the lease back so the next caller may try at once.
            if let Err(e) = self
                .store
                .release_credential(c.project_id, c.id, c.generation, self.node)
                .await
            {
                tracing::warn!(error = %e, secret = %c.id, "releasing a refresh lease failed; it expires by itself");
            }
        }
        self.invalidate(Invalidation::Broker { id: c.id.uuid() }).await;
        match outcome? {
            Refreshed::Saved(t) => Ok(Some(t)),
            Refreshed::Current(t) => Ok(t),
            Refreshed::NeedsConsent => Ok(None),
        }
    }

    async fn try_refresh(&self, c: &OAuthCredential) -> Result<Refreshed> {
        let secrets = self.open_credential(c).await?;
        let now = self.clock.now();
        let Some(refresh_token) = secrets.refresh_token.clone() else {
            // Nothing to refresh with: usable until it expires, then a new consent is needed.
            if c.expires_at.is_some_and(|at| at > now) {
                return Ok(Refreshed::Current(secrets.access_token.map(|a| token_dto(c, a))));
            }
            self.mark_needs_consent(c).await?;
            return Ok(Refreshed::NeedsConsent);
        };
        let client_secret = self.client_secret(c.project_id, &c.provider, &secrets).await?;
        let client = UpstreamClient {
            client_id: &c.provider.client_id,
            client_secret: client_secret.as_deref(),
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
        ];
        match self
            .broker
            .upstream
            .token(&c.provider.token_endpoint, client, &form)
            .await
        {
            Ok(tokens) => {
                let access = tokens.access_token.clone();
                let mut next = OAuthCredential {
                    scopes: tokens.scope.as_deref().map_or_else(|| c.scopes.clone(), split_scopes),
                    expires_at: tokens.expires_in.map(|s| now.plus_secs(s)),
                    generation: c.generation + 1,
                    updated_at: now,
                    ..c.clone()
                };
                let renewed = SealedSecrets {
                    access_token: Some(tokens.access_token),
                    // A provider that does not rotate keeps the refresh token valid (RFC 6749 §6).
                    refresh_token: tokens.refresh_token.or(Some(refresh_token)),
                    client_secret: secrets.client_secret,
                    code_verifier: None,
                };
                next.sealed = self.seal(c.project_id, &next.aad(), &to_json(&renewed)?).await?;
                if !self.store.replace_credential(&next, c.generation, None).await? {
                    return Err(Error::Conflict(
                        "the credential changed during its refresh; try again".into(),
                    ));
                }
                Ok(Refreshed::Saved(token_dto(&next, access)))
            }
            Err(UpstreamError::Rejected { error, .. }) if error == "invalid_grant" => {
                self.mark_needs_consent(c).await?;
                Ok(Refreshed::NeedsConsent)
            }
            Err(e) => Err(Error::Upstream(e.to_string())),
        }
    }

    /// Records that the provider refused the credential: offline gets return null and the next
    /// request prompts again. Its tokens are dropped: they are dead.
    async fn mark_needs_consent(&self, c: &OAuthCredential) -> Result<()> {
        let mut next = OAuthCredential {
            needs_consent: true,
            generation: c.generation + 1,
            updated_at: self.clock.now(),
            ..c.clone()
        };
        next.sealed = self
            .seal(c.project_id, &next.aad(), &to_json(&SealedSecrets::default())?)
            .await?;
        let audit = self.audit_record(
            c.project_id,
            "room_secret.needs_consent",
            c.id,
            json!({ "room": c.room_name }),
        );
        self.store.replace_credential(&next, c.generation, Some(&audit)).await?;
        Ok(())
    }

    /// Audits that `identity` was handed a token of `c` (SPEC §9.7): once a minute per
    /// credential and identity on each node, so that reads at any rate stay cheap. A failure to
    /// record is logged; the read has happened.
    async fn record_access(&self, identity: &str, c: &OAuthCredential) {
        let key = format!("{}\u{1f}{identity}", c.id);
        let now = self.clock.now();
        if self.broker.accesses.get(&key, now).is_some() {
            return;
        }
        self.broker
            .accesses
            .insert(self.broker.accesses.ticket(), key, Arc::new(()), now);
        let audit = AuditRecord {
            actor_type: "participant".into(),
            actor_id: identity.to_owned(),
            ..self.audit_record(
                c.project_id,
                "room_secret.access",
                c.id,
                json!({ "room": c.room_name, "owner": c.owner, "delegated_to": c.delegated_to }),
            )
        };
        if let Err(e) = self.store.insert_audit(&audit).await {
            tracing::warn!(error = %e, secret = %c.id, "recording a secret access failed");
        }
    }

    /// One owner's credentials for a provider in a room, from the lookup cache or storage.
    async fn credentials_of(
        &self,
        project: ProjectId,
        room: &str,
        owner: &str,
        p: &ProviderSettings,
    ) -> Result<Arc<Vec<OAuthCredential>>> {
        let key = format!(
            "{project}\u{1f}{room}\u{1f}{owner}\u{1f}{}\u{1f}{}",
            p.authorization_endpoint, p.client_id
        );
        let now = self.clock.now();
        if let Some(hit) = self.broker.lookups.get(&key, now) {
            return Ok(hit);
        }
        let ticket = self.broker.lookups.ticket();
        let found = Arc::new(
            self.store
                .find_credentials(project, room, owner, &p.authorization_endpoint, &p.client_id)
                .await?,
        );
        self.broker.lookups.insert(ticket, key, found.clone(), now);
        Ok(found)
    }

    async fn open_credential(&self, c: &OAuthCredential) -> Result<SealedSecrets> {
        from_json(&self.open_sealed(c.project_id, &c.aad(), &c.sealed).await?)
    }

    /// The client secret to authenticate with: the registration's, or the one given inline.
    async fn client_secret(
        &self,
        project: ProjectId,
        p: &ProviderSettings,
        secrets: &SealedSecrets,
    ) -> Result<Option<String>> {
        match p.registration() {
            Some(id) => Ok(self.registration_for_broker(project, None, id).await?.1),
            None => Ok(secrets.client_secret.clone()),
        }
    }

    /// The provider a request names: inline settings or a registration of the project or of
    /// this room. With `outbound`, its endpoints are checked against the outbound policy (an
    /// offline get calls only the endpoints stored with the credential).
    async fn resolve_provider(
        &self,
        project: ProjectId,
        room: &str,
        oauth: Option<OAuthClientConfig>,
        registration_id: Option<uuid::Uuid>,
        outbound: bool,
    ) -> Result<Resolved> {
        let resolved = match (oauth, registration_id) {
            (Some(o), None) => inline_provider(o)?,
            (None, Some(id)) => {
                let (r, _) = self
                    .registration_for_broker(project, Some(room), RegistrationId::from_uuid(id))
                    .await?;
                let e = r.endpoints;
                Resolved {
                    settings: ProviderSettings {
                        authorization_endpoint: e.authorization_endpoint,
                        token_endpoint: e.token_endpoint,
                        revocation_endpoint: e.revocation_endpoint,
                        issuer: e.issuer,
                        client_id: r.client_id,
                        registration_id: Some(id),
                        name: r.name,
                    },
                    inline_secret: None,
                    scopes: e.scopes.unwrap_or_default(),
                    no_pkce: e.no_pkce,
                    redirect_uris: Some(r.redirect_uris),
                    delegate_to: r.delegated_to,
                }
            }
            _ => {
                return Err(Error::invalid("oauth", "give exactly one of oauth and registration_id"));
            }
        };
        if outbound {
            let s = &resolved.settings;
            self.broker
                .upstream
                .check_endpoint("oauth.token_endpoint", &s.token_endpoint)?;
            if let Some(u) = &s.revocation_endpoint {
                self.broker.upstream.check_endpoint("oauth.revocation_endpoint", u)?;
            }
        }
        Ok(resolved)
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

    fn participant_audit(&self, who: &Verified, action: &str, secret: RoomSecretId, details: Value) -> AuditRecord {
        AuditRecord {
            actor_type: "participant".into(),
            actor_id: who.claims.name.clone(),
            ..self.audit_record(who.project_id, action, secret, details)
        }
    }

    /// Forgets requests whose requesters have been answered: expired a minute before the
    /// longest wait for an exchange under way.
    pub(crate) async fn purge_oauth_requests(&self) -> Result<u64> {
        let margin = 60 + self.exchange_grace().as_secs() as i64;
        self.store
            .purge_oauth_requests(self.clock.now().plus_secs(-margin))
            .await
    }

    /// Waits up to `limit` for code exchanges and refreshes under way; whether all finished.
    pub async fn broker_settled(&self, limit: Duration) -> bool {
        self.broker.in_flight.settled(limit).await
    }
}

/// Why an exchange gave no credential: the provider's refusal (told to the requester as such),
/// or a failure here.
enum Exchange {
    Refused(RequestFailure),
    Failed(Error),
}

impl From<Error> for Exchange {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

enum Refreshed {
    /// Refreshed and saved.
    Saved(OAuthToken),
    /// Not refreshable but still valid (no refresh token).
    Current(Option<OAuthToken>),
    NeedsConsent,
}

fn inline_provider(o: OAuthClientConfig) -> Result<Resolved> {
    let authorization_endpoint = o.authorization_endpoint.trim().to_owned();
    let client_id = o.client_id.trim().to_owned();
    check_text("oauth.client_id", &client_id, 512, true)?;
    let name = web_url("oauth.authorization_endpoint", &authorization_endpoint)?
        .host_str()
        .unwrap_or_default()
        .to_owned();
    check_web_url("oauth.token_endpoint", &o.token_endpoint)?;
    if let Some(u) = &o.revocation_endpoint {
        check_web_url("oauth.revocation_endpoint", u)?;
    }
    if let Some(u) = &o.issuer {
        check_web_url("oauth.issuer", u)?;
    }
    if let Some(s) = &o.client_secret {
        check_text("oauth.client_secret", s, 512, true)?;
    }
    let scopes = o.scopes.unwrap_or_default();
    super::registrations::check_scopes("oauth.scopes", &scopes)?;
    Ok(Resolved {
        settings: ProviderSettings {
            authorization_endpoint,
            token_endpoint: o.token_endpoint,
            revocation_endpoint: o.revocation_endpoint,
            issuer: o.issuer,
            client_id,
            registration_id: None,
            name,
        },
        inline_secret: o.client_secret,
        scopes,
        no_pkce: o.no_pkce.unwrap_or(false),
        redirect_uris: None,
        delegate_to: None,
    })
}

fn to_json(s: &SealedSecrets) -> Result<Vec<u8>> {
    serde_json::to_vec(s).map_err(Error::unexpected)
}

fn from_json(bytes: &[u8]) -> Result<SealedSecrets> {
    serde_json::from_slice(bytes).map_err(Error::unexpected)
}
