//! The device authorization grant's user side (RFC 8628 §3.1–3.3): issuing device and user
//! codes, and the verification page's lookup and decision.

use std::sync::Arc;

use tracing::instrument;

use super::super::Gatehouse;
use super::authorize::user_grant_scopes;
use super::token::DEVICE_DOMAIN;
use crate::clients::Client;
use crate::error::{Error, Result};
use crate::ids::{GrantId, new_row_id};
use crate::oauth::scope::Scopes;
use crate::oauth::{
    DEVICE_CODE_TTL_SECS, DEVICE_INTERVAL_SECS, DeviceApproval, DeviceAuthorization, DeviceGrant, DeviceStatus,
    OAuthError, OAuthErrorCode, Session, user_code,
};
use crate::resources::{ResourceScope, described};
use crate::rng::random_token;

/// A pending device request as the verification page shows it.
#[derive(Debug, Clone)]
pub struct DeviceView {
    /// Normalised user code.
    pub user_code: String,
    pub client: Arc<Client>,
    pub scopes: Scopes,
    /// The scopes that API resources define, with their descriptions.
    pub resource_scopes: Vec<ResourceScope>,
}

impl Gatehouse {
    /// Starts a device authorization (RFC 8628 §3.1–3.2).
    #[instrument(level = "debug", skip_all, fields(client_id = %client.id))]
    pub async fn device_authorize(
        &self,
        client: &Client,
        scope: Option<&str>,
        resource: &[String],
    ) -> Result<DeviceAuthorization, OAuthError> {
        let s = &client.settings;
        if !s.has_grant("urn:ietf:params:oauth:grant-type:device_code") {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "this client may not use the device authorization grant",
            ));
        }
        let requested = scope.map(Scopes::parse).transpose()?;
        let project_resources = self.project_resources(client.project_id).await?;
        let (scopes, resources, _) = user_grant_scopes(client, &project_resources, requested.as_ref(), resource)?;
        let now = self.clock.now();
        let device_code = random_token(self.rng.as_ref());
        // A user code colliding with a live one is drawn again (20^8 codes; collisions are rare).
        for _ in 0..5 {
            let code = user_code::generate(self.rng.as_ref());
            let grant = DeviceGrant {
                device_code_hash: self.secret_hash(DEVICE_DOMAIN, device_code.expose_secret()).into(),
                user_code: code.clone().into(),
                grant_id: GrantId::from_uuid(new_row_id()),
                project_id: client.project_id,
                client_id: client.id.clone(),
                scope: scopes.to_wire(),
                resources: resources.clone(),
                created_at: now,
                expires_at: now.plus_secs(DEVICE_CODE_TTL_SECS),
                interval_secs: DEVICE_INTERVAL_SECS,
                last_polled_at: None,
                status: DeviceStatus::Pending,
                approval: None,
            };
            match self.store.insert_device_grant(&grant).await {
                Ok(()) => {
                    let issuer = &self.provider.config.issuer;
                    let shown = user_code::display(&code);
                    return Ok(DeviceAuthorization {
                        device_code,
                        verification_uri: format!("{issuer}/device"),
                        verification_uri_complete: format!("{issuer}/device?user_code={shown}").into(),
                        user_code: shown.into(),
                        expires_in: DEVICE_CODE_TTL_SECS as u64,
                        interval: DEVICE_INTERVAL_SECS as u64,
                    });
                }
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(OAuthError::new(
            OAuthErrorCode::ServerError,
            "could not allocate a user code",
        ))
    }

    /// The pending request a user code names, for the signed-in user's session. Wrong guesses are
    /// delayed per user (RFC 8628 §5.1).
    pub async fn find_device_request(&self, session: &Session, input: &str) -> Result<DeviceView> {
        let now = self.clock.now();
        let key = format!("device|{}", session.user_id);
        if let Err(secs) = self.provider.limits.user_code.check(&key, now) {
            return Err(Error::invalid(
                "user_code",
                format!("too many wrong codes; try again in {secs} s"),
            ));
        }
        let unknown = || Error::invalid("user_code", "is not a valid, pending code");
        let found = match user_code::normalize(input) {
            Some(code) => self.store.find_device_grant(&code).await?,
            None => None,
        };
        let found = found.filter(|d| d.status == DeviceStatus::Pending && d.expires_at > now);
        let Some(d) = found else {
            self.provider.limits.user_code.failure(&key, now);
            return Err(unknown());
        };
        let client = self.enabled_client(d.client_id.as_str()).await?.ok_or_else(unknown)?;
        let scopes = Scopes::parse(&d.scope).unwrap_or_default();
        let resources = self.project_resources(client.project_id).await?;
        let resource_scopes = described(&resources, &scopes);
        Ok(DeviceView {
            user_code: d.user_code.into_secret(),
            client,
            scopes,
            resource_scopes,
        })
    }

    /// Approves or denies a pending request as the session's user. The code is looked up again
    /// first, so the answer step is rate limited like the lookup.
    #[instrument(level = "debug", skip_all)]
    pub async fn decide_device_request(&self, session: &Session, user_code: &str, approve: bool) -> Result<()> {
        let view = self.find_device_request(session, user_code).await?;
        if approve && session.amr.factors() < 2 {
            let project = self.store.get_project(view.client.project_id).await?;
            if project.is_some_and(|p| p.settings.require_second_factor) {
                return Err(Error::Forbidden(
                    "this application's project requires two-step sign-in: set up an authenticator app or a passkey on your account page, sign in again with it, and enter the code again".into(),
                ));
            }
        }
        let approval = DeviceApproval {
            user_id: session.user_id,
            session_id: session.id,
            auth_time: session.auth_time,
            amr: session.amr,
        };
        if self
            .store
            .decide_device_grant(&view.user_code, approve.then_some(&approval), self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(Error::invalid("user_code", "is no longer pending"))
        }
    }
}
