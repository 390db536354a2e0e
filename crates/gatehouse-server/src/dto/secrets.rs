//! Project secrets and external OAuth registrations: their metadata, never the secret values.

use gatehouse_core::model::{ProjectSecretRecord, Registration};
use gatehouse_types as t;

/// A project secret's metadata.
pub fn project_secret_dto(s: &ProjectSecretRecord) -> t::ProjectSecretInfo {
    t::ProjectSecretInfo {
        id: s.id.uuid(),
        name: s.name.clone(),
        kind: s.kind.clone(),
        created_at: s.created_at.rfc3339(),
        updated_at: s.updated_at.rfc3339(),
    }
}

/// An external OAuth registration (never its client secret).
pub fn registration_dto(r: &Registration) -> t::ExternalOAuthRegistration {
    let e = &r.endpoints;
    t::ExternalOAuthRegistration {
        id: r.id.uuid(),
        project_id: r.project_id.uuid(),
        room_name: r.room_name.clone(),
        name: r.name.clone(),
        oauth: t::ExternalOAuthEndpoints {
            authorization_endpoint: e.authorization_endpoint.clone(),
            token_endpoint: e.token_endpoint.clone(),
            revocation_endpoint: e.revocation_endpoint.clone(),
            issuer: e.issuer.clone(),
            scopes: e.scopes.clone(),
            no_pkce: Some(e.no_pkce),
        },
        client_id: r.client_id.clone(),
        has_client_secret: r.client_secret.is_some(),
        redirect_uris: r.redirect_uris.clone(),
        delegated_to: r.delegated_to.clone(),
        created_at: r.created_at.rfc3339(),
        updated_at: r.updated_at.rfc3339(),
    }
}
