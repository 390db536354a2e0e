//! The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4, §6; RFC 7636 §4.6; RFC 8628 §3.4–3.5):
//! the grants, with refresh-token rotation in families; the token exchange is in `exchange.rs`.

use tracing::instrument;

use super::super::Gatehouse;
use super::Issue;
use crate::clients::{Client, TOKEN_EXCHANGE};
use crate::crypto::RowAad;
use crate::error::Result;
use crate::ids::ResourceId;
use crate::model::User;
use crate::oauth::refresh::RefreshTokenId;
use crate::oauth::scope::Scopes;
use crate::oauth::{
    AuthCode, CODE_TTL_SECS, DeviceStatus, Grant, IssuedTokens, OAuthError, OAuthErrorCode, RefreshState, pkce,
};
use crate::resources::{ApiResource, allowed_scopes, grant_target, select_target, token_scopes};
use crate::secret::Secret;

pub(crate) const DEVICE_DOMAIN: &str = "device-code";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The grant parameters of a token request. The code, verifier, refresh token and device code
/// are [`Secret`]s: each is used by the one request that carries it, so none can be copied.
#[derive(Debug, Default)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<Secret<String>>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<Secret<String>>,
    pub refresh_token: Option<Secret<String>>,
    pub device_code: Option<Secret<String>>,
    pub scope: Option<String>,
    /// RFC 8707 `resource` parameters, as given.
    pub resource: Vec<String>,
    /// RFC 8693 §2.1 `audience` parameters, as given.
    pub audience: Vec<String>,
    /// The token exchange's parameters (RFC 8693 §2.1).
    pub subject_token: Option<Secret<String>>,
    pub subject_token_type: Option<String>,
    pub actor_token: Option<Secret<String>>,
    pub actor_token_type: Option<String>,
    pub requested_token_type: Option<String>,
}

impl Gatehouse {
    /// Runs one token request for an authenticated client.
    #[instrument(level = "debug", skip_all, fields(client_id = %client.id, grant_type = p.grant_type.as_deref().unwrap_or("")))]
    pub async fn token(&self, client: &Client, p: TokenParams) -> Result<IssuedTokens, OAuthError> {
        let grant_type = p
            .grant_type
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
        let allowed = |g: &str| {
            if client.settings.has_grant(g) {
                Ok(())
            } else {
                Err(OAuthError::new(
                    OAuthErrorCode::UnauthorizedClient,
                    format!("this client may not use the {g} grant"),
                ))
            }
        };
        // The grants that go to storage are boxed: a future is as large as its largest branch,
        // and every request's future is moved whole, client credentials' too.
        match grant_type {
            "authorization_code" => {
                allowed(grant_type)?;
                Box::pin(self.code_grant(client, p)).await
            }
            "refresh_token" => {
                allowed(grant_type)?;
                Box::pin(self.refresh_grant(client, p)).await
            }
            "client_credentials" => {
                allowed(grant_type)?;
                self.client_credentials_grant(client, p).await
            }
            DEVICE_GRANT => {
                allowed(grant_type)?;
                Box::pin(self.device_grant(client, p)).await
            }
            TOKEN_EXCHANGE => {
                allowed(grant_type)?;
                Box::pin(self.exchange_grant(client, p)).await
            }
            _ => Err(OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                "grant_type must be authorization_code, refresh_token, client_credentials, device_code or token-exchange",
            )),
        }
    }

    async fn code_grant(&self, client: &Client, p: TokenParams) -> Result<IssuedTokens, OAuthError> {
        let value = p.code.ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let now = self.clock.now();
        let code = AuthCode::open(self.keys.code_key(), client, value.expose_secret())
            .ok_or_else(|| OAuthError::invalid_grant("the code is unknown or was issued to another client"))?;
        if code.expires_at <= now {
            // A late replay still revokes whatever the code's first redemption issued.
            self.revoke_replayed_code(&code).await?;
            return Err(OAuthError::invalid_grant("the code has expired"));
        }
        let redirect_ok = match &p.redirect_uri {
            Some(r) => *r == code.redirect_uri,
            None => !code.redirect_uri_given,
        };
        if !redirect_ok {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        match (&code.code_challenge, &p.code_verifier) {
            (Some(challenge), Some(verifier)) if pkce::verify(verifier.expose_secret(), challenge) => {}
            (Some(_), _) => {
                return Err(OAuthError::invalid_grant(
                    "the code_verifier does not match the challenge",
                ));
            }
            // RFC 9700 §2.1.1: a verifier for a request that had no challenge is a downgrade attempt.
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "a code_verifier was sent but no challenge was",
                ));
            }
            (None, None) => {}
        }
        let scopes = Scopes::parse(&code.scope)?;
        let resources = self.project_resources(client.project_id).await?;
        let target = self.user_target(client, &resources, &p.resource, &code.resources, &scopes)?;
        let mut new = self.new_grant(
            client,
            &scopes,
            Grant {
                id: code.grant_id,
                project_id: client.project_id,
                client_id: client.id.clone(),
                user_id: code.user_id,
                session_id: Some(code.session_id),
                scope: code.scope.clone(),
                resources: code.resources.clone(),
                auth_time: code.auth_time,
                amr: code.amr,
                created_at: now,
                expires_at: now,
                revoked_at: None,
                refresh: None,
            },
        );
        // Spending the code is writing its grant; the grant outlives the code, so that any
        // replay finds it.
        new.grant.expires_at = new.grant.expires_at.max(code.expires_at.plus_secs(CODE_TTL_SECS));
        match self.store.insert_grant(&new.grant).await {
            Ok(true) => {}
            Ok(false) => return Err(OAuthError::invalid_grant("the sign-in session of this code has ended")),
            Err(crate::Error::Conflict(_)) => {
                self.revoke_replayed_code(&code).await?;
                return Err(OAuthError::invalid_grant(
                    "the code was already used; every token issued from it is revoked",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let user = self.live_user(code.user_id).await?;
        self.issue_for_grant(client, &user, (&scopes, target), new, code.nonce.as_deref())
            .await
    }

    /// RFC 6749 §4.1.2: a code presented again revokes what its first redemption issued.
    async fn revoke_replayed_code(&self, code: &AuthCode) -> Result<()> {
        if self.store.revoke_grant(code.grant_id, self.clock.now()).await? {
            self.revoked().await;
            tracing::warn!("an authorization code was presented twice; its tokens are revoked");
        }
        Ok(())
    }

    /// A new grant with its expiry, and its first refresh token when the client may refresh and
    /// `offline_access` was granted (SPEC §5.2).
    fn new_grant(&self, client: &Client, scopes: &Scopes, mut grant: Grant) -> NewGrant {
        let s = &client.settings;
        grant.expires_at = grant
            .created_at
            .plus_secs(i64::from(s.access_token_ttl.max(s.id_token_ttl)));
        if !(s.offline_access() && scopes.contains("offline_access")) {
            return NewGrant { grant, refresh: None };
        }
        let first = RefreshTokenId {
            grant: grant.id,
            generation: 0,
        };
        let expires_at = grant.created_at.plus_secs(i64::from(s.refresh_token_ttl));
        grant.expires_at = grant.expires_at.max(expires_at);
        grant.refresh = Some(RefreshState {
            generation: first.generation,
            expires_at,
            rotated_at: None,
            successor: None,
        });
        NewGrant {
            grant,
            refresh: Some(first.encode(self.keys.hasher())),
        }
    }

    /// The audience of a token from a user grant that named `named` resources and holds `granted`
    /// scopes, for a token request naming `requested` ([`grant_target`]).
    fn user_target<'a>(
        &self,
        client: &Client,
        resources: &'a [ApiResource],
        requested: &[String],
        named: &[ResourceId],
        granted: &Scopes,
    ) -> Result<Option<&'a ApiResource>, OAuthError> {
        let s = &client.settings;
        grant_target(
            resources,
            requested,
            (s.default_resource.as_deref(), &s.scope),
            named,
            granted,
        )
    }

    /// The first tokens of a new user grant, the access token for `target`.
    async fn issue_for_grant(
        &self,
        client: &Client,
        user: &User,
        (granted, target): (&Scopes, Option<&ApiResource>),
        new: NewGrant,
        nonce: Option<&str>,
    ) -> Result<IssuedTokens, OAuthError> {
        self.issue_tokens(Issue {
            client,
            user: Some(user),
            scopes: &token_scopes(granted, target),
            granted,
            grant: Some(new.grant.id),
            session: new.grant.session_id,
            nonce,
            auth_time: Some(new.grant.auth_time),
            amr: Some(new.grant.amr),
            refresh_token: new.refresh.map(Secret::into_secret),
            audience: target,
            delegation: None,
        })
        .await
    }

    async fn live_user(&self, id: crate::ids::UserId) -> Result<User, OAuthError> {
        self.store
            .get_user(id)
            .await?
            .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))
    }

    /// Refresh with rotation (SPEC §5.2, RFC 9700 §4.14.2). The compare-and-set of the grant's
    /// generation in the store decides the one winner across requests and nodes; the
    /// immediately previous generation, inside the grace window, gets the very same successor
    /// pair; any older one revokes the family.
    async fn refresh_grant(&self, client: &Client, p: TokenParams) -> Result<IssuedTokens, OAuthError> {
        let value = p
            .refresh_token
            .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
        let requested = p.scope.as_deref().map(Scopes::parse).transpose()?;
        let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
        let presented = RefreshTokenId::decode(self.keys.hasher(), value.expose_secret()).ok_or_else(invalid)?;
        // Two rounds at most: losing the compare-and-set means someone rotated it a moment ago.
        for _ in 0..2 {
            let now = self.clock.now();
            let (grant, user) = self.store.get_grant(presented.grant).await?.ok_or_else(invalid)?;
            // Another client's token: refused, and the family is left alone (it is not a replay).
            if grant.client_id != client.id || grant.project_id != client.project_id {
                return Err(invalid());
            }
            let Some(state) = grant.refresh.as_ref().filter(|_| grant.revoked_at.is_none()) else {
                return Err(invalid());
            };
            match presented.generation.cmp(&state.generation) {
                std::cmp::Ordering::Less => return self.replayed_refresh(client, &grant, presented).await,
                // Never issued (a database restored from an older backup): refused, family kept.
                std::cmp::Ordering::Greater => return Err(invalid()),
                std::cmp::Ordering::Equal if state.expires_at <= now => return Err(invalid()),
                std::cmp::Ordering::Equal => {}
            }
            // The client's current settings bound what a refresh can give (they may have shrunk).
            let allowed = &client.settings.scope;
            if !client.settings.offline_access() || !allowed.iter().any(|s| s == "offline_access") {
                return Err(OAuthError::new(
                    OAuthErrorCode::UnauthorizedClient,
                    "this client may not refresh",
                ));
            }
            let granted = Scopes::for_user(Some(&Scopes::parse(&grant.scope)?), allowed, true)?;
            let scopes = match &requested {
                Some(r) if r.is_subset(&granted) => r.clone(),
                Some(_) => {
                    return Err(OAuthError::new(
                        OAuthErrorCode::InvalidScope,
                        "a refresh may only narrow the granted scopes",
                    ));
                }
                None => granted.clone(),
            };
            // What the grant covers is decided by its scopes, not the narrowed ones.
            let resources = self.project_resources(client.project_id).await?;
            let target = self.user_target(client, &resources, &p.resource, &grant.resources, &granted)?;
            let next = RefreshTokenId {
                grant: grant.id,
                generation: state.generation + 1,
            };
            let issued = self
                .issue_tokens(Issue {
                    client,
                    user: Some(&user),
                    scopes: &token_scopes(&scopes, target),
                    granted: &scopes,
                    grant: Some(grant.id),
                    session: grant.session_id,
                    nonce: None,
                    auth_time: Some(grant.auth_time),
                    amr: Some(grant.amr),
                    refresh_token: Some(next.encode(self.keys.hasher()).into_secret()),
                    audience: target,
                    delegation: None,
                })
                .await?;
            let json = serde_json::to_vec(&issued).map_err(crate::Error::unexpected)?;
            let sealed = self
                .seal(grant.project_id, &successor_aad(&grant, next.generation), &json)
                .await?;
            let state_next = RefreshState {
                generation: next.generation,
                expires_at: now.plus_secs(i64::from(client.settings.refresh_token_ttl)),
                rotated_at: Some(now),
                successor: Some(sealed),
            };
            if self
                .store
                .rotate_refresh(grant.id, state.generation, &state_next, now)
                .await?
            {
                return Ok(issued);
            }
        }
        Err(invalid())
    }

    /// A rotated token presented again: the same successor inside the grace window if it is the
    /// immediately previous generation, otherwise the whole family is revoked.
    async fn replayed_refresh(
        &self,
        client: &Client,
        grant: &Grant,
        presented: RefreshTokenId,
    ) -> Result<IssuedTokens, OAuthError> {
        let now = self.clock.now();
        let grace = i64::from(client.settings.refresh_grace_seconds);
        if let Some(state) = &grant.refresh
            && presented.generation + 1 == state.generation
            && state.rotated_at.is_some_and(|t| now < t.plus_secs(grace))
            && let Some(sealed) = &state.successor
        {
            let json = self
                .open_sealed(grant.project_id, &successor_aad(grant, state.generation), sealed)
                .await?;
            return serde_json::from_slice(&json).map_err(|e| OAuthError::from(crate::Error::unexpected(e)));
        }
        self.store.revoke_grant(grant.id, now).await?;
        self.revoked().await;
        tracing::warn!(grant = %grant.id, "a rotated refresh token was reused; its family is revoked");
        Err(OAuthError::invalid_grant(
            "the refresh token was already used; the session's tokens are revoked",
        ))
    }

    async fn client_credentials_grant(&self, client: &Client, p: TokenParams) -> Result<IssuedTokens, OAuthError> {
        if !client.settings.require_client_secret {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "public clients cannot use client_credentials",
            ));
        }
        let requested = p.scope.as_deref().map(Scopes::parse).transpose()?;
        let resources = self.project_resources(client.project_id).await?;
        let s = &client.settings;
        let target = select_target(&resources, &p.resource, s.default_resource.as_deref(), &s.scope)?;
        let scopes = Scopes::for_client(requested.as_ref(), &allowed_scopes(&s.scope, target))?;
        self.issue_tokens(Issue {
            client,
            user: None,
            scopes: &scopes,
            granted: &scopes,
            grant: None,
            session: None,
            nonce: None,
            auth_time: None,
            amr: None,
            refresh_token: None,
            audience: target,
            delegation: None,
        })
        .await
    }

    /// RFC 8628 §3.4–3.5: pending, slow_down, denied, expired, or the tokens once.
    async fn device_grant(&self, client: &Client, p: TokenParams) -> Result<IssuedTokens, OAuthError> {
        let code = p
            .device_code
            .ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
        let now = self.clock.now();
        let hash = self.secret_hash(DEVICE_DOMAIN, code.expose_secret());
        let d = self
            .store
            .get_device_grant(&hash)
            .await?
            .filter(|d| d.client_id == client.id && d.project_id == client.project_id)
            .ok_or_else(|| OAuthError::invalid_grant("the device_code is unknown"))?;
        if d.expires_at <= now {
            return Err(OAuthError::new(
                OAuthErrorCode::ExpiredToken,
                "the device_code has expired",
            ));
        }
        let too_fast = d.last_polled_at.is_some_and(|t| now < t.plus_secs(d.interval_secs));
        let interval = if too_fast { d.interval_secs + 5 } else { d.interval_secs };
        self.store.record_device_poll(&hash, now, interval).await?;
        if too_fast && d.status == DeviceStatus::Pending {
            return Err(OAuthError::new(
                OAuthErrorCode::SlowDown,
                format!("polling too fast; wait {interval} s between requests"),
            ));
        }
        let approval = match (d.status, d.approval) {
            (DeviceStatus::Pending, _) => {
                return Err(OAuthError::new(
                    OAuthErrorCode::AuthorizationPending,
                    "the user has not answered yet",
                ));
            }
            (DeviceStatus::Denied, _) => {
                return Err(OAuthError::new(
                    OAuthErrorCode::AccessDenied,
                    "the user denied the request",
                ));
            }
            (DeviceStatus::Approved, Some(a)) => a,
            _ => return Err(OAuthError::invalid_grant("the device_code was already used")),
        };
        let user = self.live_user(approval.user_id).await?;
        let scopes = Scopes::parse(&d.scope)?;
        let resources = self.project_resources(client.project_id).await?;
        let target = self.user_target(client, &resources, &p.resource, &d.resources, &scopes)?;
        let new = self.new_grant(
            client,
            &scopes,
            Grant {
                id: d.grant_id,
                project_id: d.project_id,
                client_id: d.client_id.clone(),
                user_id: approval.user_id,
                session_id: Some(approval.session_id),
                scope: d.scope.clone(),
                resources: d.resources.clone(),
                auth_time: approval.auth_time,
                amr: approval.amr,
                created_at: now,
                expires_at: now,
                revoked_at: None,
                refresh: None,
            },
        );
        if !self.store.redeem_device_grant(&hash, &new.grant).await? {
            return Err(OAuthError::invalid_grant("the device_code was already used"));
        }
        self.issue_for_grant(client, &user, (&scopes, target), new, None).await
    }
}

/// A grant about to be stored, with its first refresh token's value.
struct NewGrant {
    grant: Grant,
    refresh: Option<Secret<String>>,
}

/// Binds a sealed successor to its grant and the generation it carries.
fn successor_aad(grant: &Grant, generation: i64) -> RowAad {
    RowAad::new(
        "refresh-successor",
        &grant.project_id.to_string(),
        "",
        grant.client_id.as_str(),
        &grant.id.to_string(),
        generation,
    )
}
