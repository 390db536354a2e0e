//! OAuth 2.0 Token Exchange (RFC 8693) at the token endpoint: a client allowed the grant trades
//! a person's access token (the subject token) for a token for one API resource of its own
//! project that its policy (`token_exchange_resources`) names, acting for the person.
//!
//! The issued token's `sub` is the person, its `client_id` the acting client, its `act` claim
//! (§4.1) names the acting client and, nested in it, the participant of an `actor_token`. Its
//! `jti` carries the subject token's grant, so revoking that grant (sign-out, revocation of the
//! refresh token, a password change) makes the exchanged token inactive too.

use super::super::Gatehouse;
use super::{Actor, Delegation, Issue};
use crate::clients::Client;
use crate::error::Result;
use crate::oauth::scope::Scopes;
use crate::oauth::{IssuedTokens, OAuthError, OAuthErrorCode};
use crate::resources::{ApiResource, find_target, token_scopes};
use crate::secret::Secret;

use super::token::TokenParams;

/// The token type of access tokens (RFC 8693 §3): the only subject token type accepted and the
/// only token type issued.
pub(crate) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The token type of an actor token: a participant token is a JWT (RFC 8693 §3).
const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// RFC 8693 §2.2.2: an invalid or unacceptable subject or actor token is `invalid_request`. The
/// same words for every reason, so nothing tells whether a token exists in another project.
fn refused(which: &str) -> OAuthError {
    OAuthError::invalid_request(format!("the {which} is invalid, expired or revoked"))
}

impl Gatehouse {
    /// RFC 8693 §2.1–§2.2: checks the request, the target, the actor token and the subject
    /// token, then issues the delegated access token (no refresh token).
    pub(super) async fn exchange_grant(&self, client: &Client, p: TokenParams) -> Result<IssuedTokens, OAuthError> {
        let subject = p
            .subject_token
            .ok_or_else(|| OAuthError::invalid_request("subject_token is required"))?;
        match p.subject_token_type.as_deref() {
            Some(ACCESS_TOKEN_TYPE) => {}
            Some(_) => {
                return Err(OAuthError::invalid_request(format!(
                    "subject_token_type must be {ACCESS_TOKEN_TYPE}"
                )));
            }
            None => return Err(OAuthError::invalid_request("subject_token_type is required")),
        }
        if p.requested_token_type
            .as_deref()
            .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
        {
            return Err(OAuthError::invalid_request(format!(
                "requested_token_type must be {ACCESS_TOKEN_TYPE}"
            )));
        }
        let requested = p.scope.as_deref().map(Scopes::parse).transpose()?;
        let participant = self.actor(client, p.actor_token, p.actor_token_type.as_deref()).await?;
        let resources = self.project_resources(client.project_id).await?;
        let target = exchange_target(client, &resources, &p.resource, &p.audience)?;

        let claims = self
            .active_access_token(subject.expose_secret())
            .await
            .map_err(|_| refused("subject_token"))?;
        if claims.project_id != client.project_id.uuid() {
            return Err(refused("subject_token"));
        }
        let (Some(grant_id), Some(user_id)) = (claims.grant(), claims.user()) else {
            return Err(OAuthError::invalid_request(
                "the subject_token must be a person's access token",
            ));
        };
        if claims.act.is_some() {
            return Err(OAuthError::invalid_request(
                "the subject_token is itself from a token exchange",
            ));
        }
        let (grant, user) = self
            .store
            .get_grant(grant_id)
            .await?
            .filter(|(g, _)| g.project_id == client.project_id && g.user_id == user_id && g.revoked_at.is_none())
            .ok_or_else(|| refused("subject_token"))?;
        // What the person granted in the authorization the subject token comes from, as far as
        // the subject token's client may still hold it, narrowed to the target's scopes.
        let subject_client = self
            .enabled_client(&claims.client_id)
            .await?
            .ok_or_else(|| refused("subject_token"))?;
        let granted = Scopes::parse(&grant.scope)?.filtered(|s| subject_client.settings.scope.iter().any(|c| c == s));
        let available = token_scopes(&granted, Some(target));
        let scopes = match requested.filter(|r| !r.is_empty()) {
            Some(r) if r.is_subset(&available) => r,
            Some(_) => {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    "a scope was asked for that the subject token's grant does not hold for the resource",
                ));
            }
            None if available.is_empty() => {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidScope,
                    "the subject token's grant holds no scope of the resource",
                ));
            }
            None => available,
        };

        let now = self.clock.now();
        let remaining = u32::try_from(claims.exp - now.secs()).unwrap_or(0);
        let act = Actor {
            sub: client.id.to_string(),
            act: participant.map(|sub| Box::new(Actor { sub, act: None })),
        };
        let issued = self
            .issue_tokens(Issue {
                client,
                user: Some(&user),
                scopes: &scopes,
                granted: &scopes,
                grant: Some(grant.id),
                session: grant.session_id,
                nonce: None,
                auth_time: Some(grant.auth_time),
                amr: None,
                refresh_token: None,
                audience: Some(target),
                delegation: Some(Delegation {
                    act: &act,
                    max_ttl: client.settings.access_token_ttl.min(remaining),
                }),
            })
            .await?;
        tracing::info!(
            client_id = %client.id,
            subject_client_id = %claims.client_id,
            grant = %grant.id,
            resource = %target.identifier,
            "a token was exchanged"
        );
        Ok(issued)
    }

    /// The identity of the participant an `actor_token` names: a participant token of the
    /// client's project (RFC 8693 §2.1: `actor_token_type` comes with `actor_token` and only
    /// then).
    async fn actor(
        &self,
        client: &Client,
        token: Option<Secret<String>>,
        token_type: Option<&str>,
    ) -> Result<Option<String>, OAuthError> {
        let token = match (token, token_type) {
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err(OAuthError::invalid_request(
                    "actor_token_type is required with actor_token",
                ));
            }
            (None, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "actor_token_type is only sent with actor_token",
                ));
            }
            (Some(_), Some(t)) if t != JWT_TOKEN_TYPE => {
                return Err(OAuthError::invalid_request(format!(
                    "actor_token_type must be {JWT_TOKEN_TYPE} (a participant token)"
                )));
            }
            (Some(token), Some(_)) => token,
        };
        let verified = self
            .validate_participant_token(token.expose_secret())
            .await
            .map_err(|_| refused("actor_token"))?;
        if verified.project_id != client.project_id {
            return Err(refused("actor_token"));
        }
        Ok(Some(verified.claims.name))
    }
}

/// The one resource an exchange is for (RFC 8693 §2.1): named by `resource` and/or `audience`
/// (its identifier), else the client's default resource; it must be one of the project's and
/// listed in the client's `token_exchange_resources`. `invalid_target` otherwise (§2.2.2).
fn exchange_target<'a>(
    client: &Client,
    resources: &'a [ApiResource],
    resource: &[String],
    audience: &[String],
) -> Result<&'a ApiResource, OAuthError> {
    let target = |msg: &str| OAuthError::new(OAuthErrorCode::InvalidTarget, msg);
    let mut named = resource.iter().chain(audience);
    let wanted = match (named.next(), client.settings.default_resource.as_deref()) {
        (Some(first), _) => {
            if named.any(|other| other != first) {
                return Err(target("one resource per token exchange"));
            }
            first.as_str()
        }
        (None, Some(default)) => default,
        (None, None) => return Err(target("name the resource or audience of the token")),
    };
    let r = find_target(resources, wanted)?;
    if client.settings.token_exchange_resources.contains(&r.identifier) {
        Ok(r)
    } else {
        Err(target("this client may not exchange tokens for the resource"))
    }
}
