//! Provider resolution: the third-party provider a request names, given inline or as an
//! external OAuth registration of the project or of the room, checked against the caller's
//! allow-list (SPEC §6.2) and against the outbound policy ([`crate::outbound`]).

use gatehouse_types::OAuthClientConfig;
use serde_json::{Map, Value};

use super::Gatehouse;
use crate::broker::{ProviderSettings, can_request_oauth_token};
use crate::clients::uri::web_url;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, RegistrationId};
use crate::secret::SecretString;
use crate::service::registrations::{check_outbound, check_provider_urls, check_scopes};
use crate::text::check_text;

/// A provider resolved from inline settings or a registration.
pub(super) struct Resolved {
    pub(super) settings: ProviderSettings,
    /// An inline client secret (a registration's is read when needed).
    pub(super) inline_secret: Option<SecretString>,
    pub(super) scopes: Vec<String>,
    pub(super) no_pkce: bool,
    /// A registration's redirect URIs: the request's must be one of them exactly.
    pub(super) redirect_uris: Option<Vec<String>>,
    /// A registration's `delegated_to`: who new credentials are delegated to by default.
    pub(super) delegate_to: Option<String>,
}

/// Whether the caller's `secrets` grant allows the provider (SPEC §6.2).
pub(super) fn allow_provider(grant: &Map<String, Value>, p: &ProviderSettings) -> Result<()> {
    if can_request_oauth_token(grant, Some((&p.authorization_endpoint, &p.client_id))) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "the token's secrets grant does not allow this provider (authorization endpoint and client id)".into(),
        ))
    }
}

impl Gatehouse {
    /// The provider a request names: inline settings or a registration of the project or of
    /// this room. Its endpoints are checked against the outbound policy by their text, a
    /// registration's too: the policy may have changed since it was saved.
    pub(super) async fn resolve_provider(
        &self,
        project: ProjectId,
        room: &str,
        oauth: Option<OAuthClientConfig>,
        registration_id: Option<uuid::Uuid>,
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
        let s = &resolved.settings;
        check_outbound(
            self.broker.upstream.as_ref(),
            &s.authorization_endpoint,
            &s.token_endpoint,
            s.revocation_endpoint.as_deref(),
        )?;
        Ok(resolved)
    }
}

/// Settings given inline, checked as a registration's would be.
fn inline_provider(o: OAuthClientConfig) -> Result<Resolved> {
    let authorization_endpoint = o.authorization_endpoint.trim().to_owned();
    let client_id = o.client_id.trim().to_owned();
    check_text("oauth.client_id", &client_id, 512, true)?;
    let name = web_url("oauth.authorization_endpoint", &authorization_endpoint)?
        .host_str()
        .unwrap_or_default()
        .to_owned();
    check_provider_urls(&o.token_endpoint, o.revocation_endpoint.as_deref(), o.issuer.as_deref())?;
    if let Some(s) = &o.client_secret {
        check_text("oauth.client_secret", s.expose_secret(), 512, true)?;
    }
    let scopes = o.scopes.unwrap_or_default();
    check_scopes("oauth.scopes", &scopes)?;
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
