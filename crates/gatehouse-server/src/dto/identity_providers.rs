//! Upstream identity providers as the REST API shows them: never their client secret.

use gatehouse_core::idp::IdpKind;
use gatehouse_core::service::idp::{IdpEntry, IdpSource};
use gatehouse_types as t;

/// A provider as every read returns it, with `redirect_uri`, where the provider sends people back.
pub fn identity_provider_dto(e: &IdpEntry, redirect_uri: &str) -> t::IdentityProvider {
    let p = &e.settings;
    let (issuer, github_url, github_api_url) = match &p.kind {
        IdpKind::Oidc { issuer } => (Some(issuer.clone()), None, None),
        IdpKind::GitHub { web_url, api_url } => (None, Some(web_url.clone()), Some(api_url.clone())),
    };
    t::IdentityProvider {
        id: p.name.clone(),
        source: match e.source {
            IdpSource::Config => "config",
            IdpSource::Api => "api",
        }
        .into(),
        kind: p.preset.clone(),
        display_name: p.display_name.clone(),
        issuer,
        github_url,
        github_api_url,
        client_id: p.client_id.clone(),
        scopes: p.scopes.clone(),
        allow_signup: p.allow_signup,
        redirect_uri: redirect_uri.to_owned(),
        created_at: e.created_at.map(|t| t.rfc3339()),
        updated_at: e.updated_at.map(|t| t.rfc3339()),
    }
}
