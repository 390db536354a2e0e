//! What the authorization endpoint hands back once the user is signed in and has consented: a
//! code, tokens, or both (RFC 6749 §4.1.2, §4.2.2; OIDC Core §3.2.2.5, §3.3.2.5).
//!
//! A code is sealed, not stored (see [`AuthCode`]): issuing one writes nothing. Tokens from the
//! front channel belong to a grant of their own, written here and tied to the sign-in session,
//! so revocation, sign-out and introspection treat them like any user token. That grant never
//! has a refresh token: refresh tokens come only from the token endpoint (RFC 6749 §4.2.2).

use super::super::Gatehouse;
use super::authorize::{AuthorizeRequest, RedirectResponse};
use super::{Hashed, Issue};
use crate::ids::{GrantId, new_row_id};
use crate::model::User;
use crate::oauth::{AuthCode, CODE_TTL_SECS, Grant, OAuthError, OAuthErrorCode, Session, TokenType};
use crate::resources::token_scopes;

impl Gatehouse {
    /// The successful response to a checked request, in the order of OIDC Core §3.2.2.5:
    /// `code`, `access_token`, `token_type`, `expires_in`, `scope`, `id_token`, `state`, `iss`.
    pub(super) async fn authorization_response(
        &self,
        req: &AuthorizeRequest,
        session: &Session,
        user: &User,
    ) -> Result<RedirectResponse, OAuthError> {
        let rt = req.response_type;
        let now = self.clock.now();
        let code = rt.code().then(|| {
            AuthCode {
                grant_id: GrantId::from_uuid(new_row_id()),
                user_id: user.id,
                session_id: session.id,
                redirect_uri: req.redirect_uri.clone(),
                redirect_uri_given: req.params.redirect_uri.is_some(),
                scope: req.scopes.to_wire(),
                resources: req.resources.clone(),
                nonce: req.params.nonce.clone(),
                code_challenge: req.params.code_challenge.clone(),
                auth_time: session.auth_time,
                amr: session.amr,
                expires_at: now.plus_secs(CODE_TTL_SECS),
            }
            .seal(self.keys.code_key(), self.rng.as_ref(), &req.client)
        });
        let mut params = Vec::new();
        let mut id_token = None;
        if rt.returns_tokens() {
            let s = &req.client.settings;
            // Nothing here can be refreshed, so offline_access is not granted to these tokens.
            let granted = req.scopes.without("offline_access");
            // Front-channel access tokens are Gatehouse's own: resource tokens come from the
            // token endpoint, where the client names the one resource each is for.
            let scopes = token_scopes(&granted, None);
            let grant = Grant {
                id: GrantId::from_uuid(new_row_id()),
                project_id: req.client.project_id,
                client_id: req.client.id.clone(),
                user_id: user.id,
                session_id: Some(session.id),
                scope: granted.to_wire(),
                resources: req.resources.clone(),
                auth_time: session.auth_time,
                amr: session.amr,
                created_at: now,
                expires_at: now.plus_secs(i64::from(s.access_token_ttl.max(s.id_token_ttl))),
                revoked_at: None,
                refresh: None,
            };
            if !self.store.insert_grant(&grant).await? {
                return Err(OAuthError::new(
                    OAuthErrorCode::LoginRequired,
                    "the sign-in session has ended",
                ));
            }
            let issue = Issue {
                client: &req.client,
                user: Some(user),
                scopes: &scopes,
                granted: &granted,
                grant: Some(grant.id),
                session: Some(session.id),
                nonce: req.params.nonce.as_deref(),
                auth_time: Some(session.auth_time),
                refresh_token: None,
                audience: None,
                amr: Some(session.amr),
                delegation: None,
            };
            let access_token = rt.token().then(|| self.access_token(&issue, now)).transpose()?;
            if rt.id_token() {
                let hashed = Hashed {
                    access_token: access_token.as_ref().map(|(t, _)| t.as_str()),
                    code: code.as_ref().map(|c| c.expose_secret().as_str()),
                };
                id_token = Some(self.id_token(&issue, user, hashed, now).await?);
            }
            if let Some((at, ttl)) = access_token {
                params.extend([
                    ("access_token", at),
                    ("token_type", TokenType::Bearer.as_str().to_owned()),
                    ("expires_in", ttl.to_string()),
                    ("scope", scopes.to_wire()),
                ]);
            }
            self.note_client_use(&req.client.id, now).await;
        }
        // The code moves into the response: the one place it is handed out.
        if let Some(c) = code {
            params.insert(0, ("code", c.into_secret()));
        }
        params.extend(id_token.map(|t| ("id_token", t)));
        if let Some(s) = &req.params.state {
            params.push(("state", s.clone()));
        }
        params.push(("iss", self.provider.config.issuer.clone()));
        Ok(RedirectResponse {
            redirect_uri: req.redirect_uri.clone(),
            mode: req.mode,
            params,
        })
    }
}
