//! Consent: a token request that no stored credential serves becomes a prompt to the target
//! participant on the room channel (SPEC §7.2, §7.3). The participant answers with the code from
//! the provider's redirect, which is exchanged here, or rejects; the requester waits for either,
//! on whichever node it asked.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_types::{ConsentPrompt, ConsentRequest, ProvideOAuthAuthorization, RequestOAuthToken, Requester};
use tokio::time::Instant;

use super::providers::allow_provider;
use super::{Gatehouse, POLL, ProviderToken, from_json, secrets_grant, to_json};
use crate::broker::{
    OAuthCredential, PendingRequest, RequestFailure, RequestStatus, SealedSecrets, request_aad, s256_challenge,
};
use crate::clients::uri::check_redirect_uri;
use crate::error::{Error, Result};
use crate::ids::{OAuthRequestId, ParticipantId, ProjectId, new_row_id};
use crate::participant::{MAX_NAME_CHARS, Verified};
use crate::ports::{Invalidation, UpstreamClient, UpstreamError};
use crate::rng::{random_bytes, random_token};
use crate::rooms::{Audience, RoomKey, event_frame};
use crate::secret::{SecretString, ct_eq};
use crate::text::{check_name, check_text};

/// Consent prompts a room may have waiting at once (SPEC §9.5).
pub const MAX_PENDING_PER_ROOM: u32 = 100;
/// Consent prompts one requester may have waiting in a room, so one participant cannot take a
/// room's every slot.
pub const MAX_PENDING_PER_REQUESTER: u32 = 10;
/// How long a prompt waits when the request names no timeout, and the most it may name.
const DEFAULT_TIMEOUT_SECS: u64 = 300;
const MAX_TIMEOUT_SECS: u64 = 900;

const MAX_CODE_BYTES: usize = 4096;
const MAX_REQUEST_ID_BYTES: usize = 128;
const MAX_REASON_CHARS: usize = 200;
const REQUEST_HASH_DOMAIN: &str = "oauth_request";

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

/// Why an exchange at the provider failed. A call the outbound policy refused (the token
/// endpoint's host resolves only to refused addresses now) is the answering participant's 400.
fn upstream_failure(e: UpstreamError) -> Exchange {
    let (error, description) = match e {
        UpstreamError::Rejected { error, description } => (error, description.unwrap_or_default()),
        UpstreamError::Transient(why) => ("temporarily_unavailable".into(), why),
        UpstreamError::Refused(why) => return Exchange::Failed(Error::invalid("oauth.token_endpoint", why)),
    };
    Exchange::Refused(RequestFailure::Upstream { error, description })
}

impl Gatehouse {
    /// `secrets.request_oauth_token` (SPEC §7.2): a stored credential of the target participant
    /// the caller may use, or else a consent prompt to that participant and the token its answer
    /// yields. `from` is the caller's connection when it asks over the room channel.
    pub async fn request_oauth_token(
        self: &Arc<Self>,
        who: &Verified,
        room: &str,
        from: Option<ParticipantId>,
        req: RequestOAuthToken,
    ) -> Result<ProviderToken> {
        let project = who.project_id;
        let grant = secrets_grant(who)?;
        let mut p = self
            .resolve_provider(project, room, req.oauth, req.registration_id)
            .await?;
        allow_provider(grant, &p.settings)?;
        // A host that resolves only to refused addresses is refused now, not after someone
        // consented: the exchange would be refused.
        self.broker
            .upstream
            .resolve_endpoint("oauth.token_endpoint", &p.settings.token_endpoint)
            .await?;
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
        let verifier = (!p.no_pkce).then(|| random_token(self.rng.as_ref()));
        let challenge = verifier.as_ref().map(|v| s256_challenge(v.expose_secret()));
        let state = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            random_bytes::<16>(self.rng.as_ref()),
        );
        let id = OAuthRequestId::from_uuid(new_row_id());
        let secrets = SealedSecrets {
            code_verifier: verifier,
            client_secret: p.inline_secret.take(),
            ..SealedSecrets::default()
        };
        let aad = request_aad(project, room, &target.name, id);
        let pending = PendingRequest {
            id,
            request_hash: self
                .keys
                .hasher()
                .hash(REQUEST_HASH_DOMAIN, &project.to_string(), request_id.expose_secret())
                .into(),
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
            request_id: request_id.into(),
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
    ) -> Result<ProviderToken> {
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
                    return Ok(ProviderToken::of(&c, access));
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
        let r = self.answerable(who, room, req.request_id.expose_secret()).await?;
        check_text("code", req.code.expose_secret(), MAX_CODE_BYTES, true)?;
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

    async fn exchange(&self, r: PendingRequest, code: SecretString) -> Result<()> {
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

    async fn exchange_code(&self, r: &PendingRequest, code: &SecretString) -> Result<OAuthCredential, Exchange> {
        let sealed: SealedSecrets = from_json(&self.open_sealed(r.project_id, &r.aad(), &r.sealed).await?)?;
        let client_secret = self.client_secret(r.project_id, &r.provider, &sealed).await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", r.redirect_uri.as_str()),
        ];
        if let Some(v) = &sealed.code_verifier {
            form.push(("code_verifier", v.expose_secret()));
        }
        let client = UpstreamClient {
            client_id: &r.provider.client_id,
            client_secret: client_secret.as_ref().map(SecretString::expose_secret),
        };
        let tokens = self
            .broker
            .upstream
            .token(&r.provider.token_endpoint, client, &form)
            .await
            .map_err(upstream_failure)?;
        Ok(self.store_credential(r, tokens, sealed.client_secret).await?)
    }

    /// `secrets.reject_oauth_authorization`: the requester gets the participant's reason, `error`.
    pub async fn reject_oauth_authorization(
        &self,
        who: &Verified,
        room: &str,
        request_id: &str,
        error: String,
    ) -> Result<()> {
        let r = self.answerable(who, room, request_id).await?;
        check_name("error", &error, MAX_REASON_CHARS)?;
        let failed = RequestStatus::Failed(RequestFailure::Rejected { error });
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

    /// Forgets requests whose requesters have been answered: expired a minute before the
    /// longest wait for an exchange under way.
    pub(crate) async fn purge_oauth_requests(&self) -> Result<u64> {
        let margin = 60 + self.exchange_grace().as_secs() as i64;
        self.store
            .purge_oauth_requests(self.clock.now().plus_secs(-margin))
            .await
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
