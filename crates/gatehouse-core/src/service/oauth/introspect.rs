//! Introspection (RFC 7662), revocation (RFC 7009), userinfo (OIDC Core §5.3), RP-initiated
//! logout (OIDC RP-Initiated Logout 1.0 §2–3), and user access tokens on the REST API (SPEC §3).

use std::sync::Arc;

use serde_json::{Value, json};
use tracing::instrument;

use super::super::Gatehouse;
use crate::access::Principal;
use crate::clients::Client;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, UserId};
use crate::model::User;
use crate::oauth::refresh::RefreshTokenId;
use crate::oauth::{Grant, OAuthError, OAuthErrorCode};
use crate::time::Timestamp;

/// Who asks to introspect: a client sees its own project's tokens; an API key its project's.
#[derive(Debug, Clone)]
pub enum IntrospectionCaller {
    Client(Arc<Client>),
    Project(ProjectId),
}

impl IntrospectionCaller {
    fn project(&self) -> ProjectId {
        match self {
            Self::Client(c) => c.project_id,
            Self::Project(p) => *p,
        }
    }
}

/// Where RP-initiated logout goes afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutPlan {
    /// The `post_logout_redirect_uri` with `state`, when one was given and registered.
    pub redirect: Option<String>,
    /// The client asking, for the confirmation page.
    pub client_name: Option<String>,
}

impl Gatehouse {
    /// RFC 7662 §2.2: `{"active": false}` for anything not valid, not ours, or of another project.
    /// Access tokens of both formats, JWT and opaque, are introspected alike.
    /// Both kinds of token are always looked for, so `token_type_hint` is not needed (§2.1 allows
    /// ignoring it); access tokens first, as they are recognised without storage.
    #[instrument(level = "debug", skip_all)]
    pub async fn introspect(&self, caller: &IntrospectionCaller, token: &str) -> Result<Value> {
        let inactive = json!({ "active": false });
        if let Ok(c) = self.active_access_token(token).await {
            if c.project_id != caller.project().uuid() {
                return Ok(inactive);
            }
            let mut out = json!({
                "active": true,
                "token_type": "Bearer",
                "scope": c.scope,
                "client_id": c.client_id,
                "sub": c.sub,
                "aud": c.aud,
                "iss": c.iss,
                "exp": c.exp,
                "iat": c.iat,
                "jti": c.jti,
                "project_id": c.project_id,
            });
            if let Some(user) = c.user()
                && let Some(u) = self.store.get_user(user).await?
            {
                out["username"] = u.email.into();
            }
            // RFC 8693 §4.1: who acts for `sub` in a token from a token exchange.
            if let Some(act) = &c.act {
                out["act"] = serde_json::to_value(act).map_err(Error::unexpected)?;
            }
            return Ok(out);
        }
        let Some((presented, grant, user)) = self.refresh_token_grant(token).await? else {
            return Ok(inactive);
        };
        let now = self.clock.now();
        let current = grant
            .refresh
            .as_ref()
            .filter(|r| r.generation == presented.generation && r.expires_at > now);
        let Some(state) = current else {
            return Ok(inactive);
        };
        let client_ok = self.enabled_client(grant.client_id.as_str()).await?.is_some();
        if grant.project_id != caller.project() || grant.revoked_at.is_some() || !client_ok {
            return Ok(inactive);
        }
        Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": grant.scope,
            "client_id": grant.client_id.as_str(),
            "sub": grant.user_id.to_string(),
            "username": user.email,
            "iss": self.provider.config.issuer,
            "exp": state.expires_at.secs(),
            "iat": state.rotated_at.unwrap_or(grant.created_at).secs(),
        }))
    }

    /// The grant (with its user) of a refresh token this server issued, of any generation.
    async fn refresh_token_grant(&self, token: &str) -> Result<Option<(RefreshTokenId, Grant, User)>> {
        let Some(presented) = RefreshTokenId::decode(self.keys.hasher(), token) else {
            return Ok(None);
        };
        let found = self.store.get_grant(presented.grant).await?;
        Ok(found.map(|(grant, user)| (presented, grant, user)))
    }

    /// RFC 7009 §2.1: revokes a token of the calling client. A refresh token takes its whole family
    /// with it (SPEC §5.1); an access token, JWT or opaque, is revoked on its own. Unknown tokens
    /// are not an error. Both kinds are always looked for, whatever `token_type_hint` says (§2.1 allows ignoring it).
    #[instrument(level = "debug", skip_all, fields(client_id = %client.id))]
    pub async fn revoke_token(&self, client: &Client, token: &str) -> Result<(), OAuthError> {
        let now = self.clock.now();
        if let Some((_, g, _)) = self.refresh_token_grant(token).await? {
            if g.client_id == client.id && self.store.revoke_grant(g.id, now).await? {
                self.revoked().await;
            }
            return Ok(());
        }
        if let Ok(c) = self.access_claims(token)
            && c.client_id == client.id.as_str()
            && c.exp > now.secs()
        {
            self.store
                .revoke_jti(&c.jti, Timestamp::from_millis(c.exp * 1000))
                .await?;
            self.revoked().await;
        }
        Ok(())
    }

    /// OIDC Core §5.3: the claims of the token's user, by the token's scopes.
    #[instrument(level = "debug", skip_all)]
    pub async fn userinfo(&self, token: &str) -> Result<Value, OAuthError> {
        let c = self.validate_access_token(token).await?;
        let scopes = c.scopes();
        if !scopes.contains("openid") {
            return Err(OAuthError::new(
                OAuthErrorCode::InsufficientScope,
                "the token lacks the openid scope",
            ));
        }
        let user = match c.user() {
            Some(u) => self.store.get_user(u).await?,
            None => None,
        };
        let user = user.ok_or_else(|| OAuthError::new(OAuthErrorCode::InvalidToken, "the token has no user"))?;
        let mut out = serde_json::Map::new();
        out.insert("sub".into(), user.id.to_string().into());
        out.extend(
            self.user_claims(&user, &scopes, Some(ProjectId::from_uuid(c.project_id)))
                .await?,
        );
        Ok(out.into())
    }

    /// A REST caller from a user access token with `gatehouse_api` or `gatehouse_api.read_only`
    /// (SPEC §3). Server admins are the admins of the system project.
    pub async fn authenticate_user_token(&self, token: &str) -> Result<Principal> {
        let c = self
            .validate_access_token(token)
            .await
            .map_err(|_| Error::Unauthorized("the access token is invalid, expired or revoked".into()))?;
        let user = c
            .user()
            .ok_or_else(|| Error::Unauthorized("client credentials tokens cannot call the management API".into()))?;
        let scopes = c.scopes();
        let read_only = if scopes.contains("gatehouse_api") {
            false
        } else if scopes.contains("gatehouse_api.read_only") {
            true
        } else {
            return Err(Error::Forbidden(
                "the token needs the gatehouse_api or gatehouse_api.read_only scope".into(),
            ));
        };
        let server_admin = self.is_server_admin(user).await?;
        Ok(Principal::User {
            id: user,
            read_only,
            server_admin,
        })
    }

    async fn is_server_admin(&self, user: UserId) -> Result<bool> {
        Ok(self
            .store
            .get_member(ProjectId::SYSTEM, user)
            .await?
            .is_some_and(|f| f.is_admin))
    }

    /// Checks an RP-initiated logout request (OIDC RP-Initiated Logout §2): the `id_token_hint`
    /// must be ours (it may have expired), and `post_logout_redirect_uri` must be registered,
    /// exactly, for the client it names.
    pub async fn plan_logout(
        &self,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<LogoutPlan> {
        let hinted = match id_token_hint {
            Some(t) => {
                let not_ours = || Error::invalid("id_token_hint", "is not an ID token issued here");
                // An ID token, not an access token, and from this issuer; it may have expired.
                let header = crate::jose::decode_header(t).map_err(|_| not_ours())?;
                if header.typ.is_some_and(|t| t.eq_ignore_ascii_case("at+jwt")) {
                    return Err(not_ours());
                }
                let claims = self.verify_own_jwt(t).ok_or_else(not_ours)?;
                if claims.get("iss").and_then(Value::as_str) != Some(self.provider.config.issuer.as_str()) {
                    return Err(not_ours());
                }
                claims.get("aud").and_then(Value::as_str).map(str::to_owned)
            }
            None => None,
        };
        if let (Some(h), Some(c)) = (&hinted, client_id)
            && h != c
        {
            return Err(Error::invalid("client_id", "does not match the id_token_hint"));
        }
        // Exact string equality for post-logout URIs (SPEC §5.1), no loopback port leeway.
        let client = match hinted.as_deref().or(client_id) {
            Some(id) => self.enabled_client(id).await?,
            None => None,
        };
        let redirect = match post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let c = client.as_ref().ok_or_else(|| {
                    Error::invalid(
                        "post_logout_redirect_uri",
                        "needs an id_token_hint or client_id naming the client",
                    )
                })?;
                if !c.settings.post_logout_redirect_uris.iter().any(|r| r == uri) {
                    return Err(Error::invalid(
                        "post_logout_redirect_uri",
                        "is not registered for this client",
                    ));
                }
                Some(match state {
                    Some(s) => {
                        let sep = if uri.contains('?') { '&' } else { '?' };
                        let q: String = url::form_urlencoded::Serializer::new(String::new())
                            .append_pair("state", s)
                            .finish();
                        format!("{uri}{sep}{q}")
                    }
                    None => uri.to_owned(),
                })
            }
        };
        Ok(LogoutPlan {
            redirect,
            client_name: client.map(|c| c.settings.name.clone()),
        })
    }
}
