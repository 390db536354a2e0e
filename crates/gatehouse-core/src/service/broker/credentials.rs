//! Stored credentials: the lookup of a participant's credentials for a provider, the offline
//! tokens agents read without prompting, the storage of a consent's tokens, and the refresh of
//! a token about to expire, done by the one caller that holds the credential's lease while every
//! other caller, on any node, waits for its result (SPEC §7.4).

use std::sync::Arc;

use gatehouse_types::GetOfflineOAuthToken;
use serde_json::json;
use tokio::time::Instant;

use super::providers::allow_provider;
use super::{Gatehouse, POLL, ProviderToken, UPSTREAM_MARGIN, from_json, secrets_grant, to_json};
use crate::broker::{OAuthCredential, PendingRequest, ProviderSettings, SealedSecrets, credential_aad, split_scopes};
use crate::error::{Error, Result};
use crate::ids::{ProjectId, RoomSecretId, new_row_id};
use crate::model::AuditRecord;
use crate::participant::{MAX_NAME_CHARS, Verified};
use crate::ports::{Invalidation, UpstreamClient, UpstreamError, UpstreamTokens};
use crate::secret::SecretString;
use crate::text::check_name;
use crate::time::Timestamp;

/// A token expiring within this many seconds is refreshed before use (SPEC §7.4).
pub const REFRESH_MARGIN_SECS: i64 = 60;

impl Gatehouse {
    /// `secrets.get_offline_oauth_token`: the access token of a stored credential owned by
    /// `delegated_by` (default: the caller) that the caller may use, refreshed when it is about to
    /// expire; `None` when there is none or it needs a new consent. Never prompts.
    pub async fn get_offline_oauth_token(
        self: &Arc<Self>,
        who: &Verified,
        room: &str,
        req: GetOfflineOAuthToken,
    ) -> Result<Option<ProviderToken>> {
        let grant = secrets_grant(who)?;
        let p = self
            .resolve_provider(who.project_id, room, req.oauth, req.registration_id)
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
        let Some(c) = found else {
            return Ok(None);
        };
        let token = self.usable_token(c.clone()).await?;
        if token.is_some() {
            self.record_access(me, &c).await;
        }
        Ok(token)
    }

    /// Stores the tokens of a consent: owned by the identity that consented, delegated to the
    /// request's delegate, replacing that pair's earlier credential for the same provider.
    pub(super) async fn store_credential(
        &self,
        r: &PendingRequest,
        tokens: UpstreamTokens,
        inline_secret: Option<SecretString>,
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

    /// The credential's access token, refreshed first when it expires within the margin; `None`
    /// when it needs a new consent.
    pub(super) async fn usable_token(self: &Arc<Self>, c: OAuthCredential) -> Result<Option<ProviderToken>> {
        if c.needs_consent {
            return Ok(None);
        }
        if !c.expiring(self.clock.now(), REFRESH_MARGIN_SECS) {
            let access = self.open_credential(&c).await?.access_token;
            return Ok(access.map(|a| ProviderToken::of(&c, a)));
        }
        self.refreshed(c).await
    }

    /// Single flight (SPEC §7.4): the caller that takes the credential's lease refreshes it;
    /// every other caller, on any node, waits for the new generation and reads it, or shares
    /// the failure when the holder gives the lease back without one.
    async fn refreshed(self: &Arc<Self>, mut c: OAuthCredential) -> Result<Option<ProviderToken>> {
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
                return Ok(access.map(|a| ProviderToken::of(&c, a)));
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
    async fn refresh_leased(&self, c: OAuthCredential) -> Result<Option<ProviderToken>> {
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
        let mut secrets = self.open_credential(c).await?;
        let now = self.clock.now();
        let Some(refresh_token) = secrets.refresh_token.take() else {
            // Nothing to refresh with: usable until it expires, then a new consent is needed.
            if c.expires_at.is_some_and(|at| at > now) {
                return Ok(Refreshed::Current(
                    secrets.access_token.map(|a| ProviderToken::of(c, a)),
                ));
            }
            self.mark_needs_consent(c).await?;
            return Ok(Refreshed::NeedsConsent);
        };
        let client_secret = self.client_secret(c.project_id, &c.provider, &secrets).await?;
        let client = UpstreamClient {
            client_id: &c.provider.client_id,
            client_secret: client_secret.as_ref().map(SecretString::expose_secret),
        };
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
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
                Ok(Refreshed::Saved(ProviderToken::of(&next, access)))
            }
            Err(UpstreamError::Rejected { error, .. }) if error == "invalid_grant" => {
                self.mark_needs_consent(c).await?;
                Ok(Refreshed::NeedsConsent)
            }
            Err(UpstreamError::Refused(why)) => Err(Error::invalid("oauth.token_endpoint", why)),
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
    pub(super) async fn record_access(&self, identity: &str, c: &OAuthCredential) {
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
    pub(super) async fn credentials_of(
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

    pub(super) async fn open_credential(&self, c: &OAuthCredential) -> Result<SealedSecrets> {
        from_json(&self.open_sealed(c.project_id, &c.aad(), &c.sealed).await?)
    }

    /// The client secret to authenticate with: the registration's, or the one given inline.
    pub(super) async fn client_secret(
        &self,
        project: ProjectId,
        p: &ProviderSettings,
        secrets: &SealedSecrets,
    ) -> Result<Option<SecretString>> {
        match p.registration() {
            Some(id) => Ok(self.registration_for_broker(project, None, id).await?.1),
            None => Ok(secrets.client_secret.clone()),
        }
    }
}

/// How a leased refresh ended.
enum Refreshed {
    /// Refreshed and saved.
    Saved(ProviderToken),
    /// Not refreshable but still valid (no refresh token).
    Current(Option<ProviderToken>),
    NeedsConsent,
}
