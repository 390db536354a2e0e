//! API resources (SPEC §5.7).

use gatehouse_core::resources::ApiResource;
use gatehouse_types as t;

/// An API resource as the REST API shows it.
pub fn resource_dto(r: &ApiResource) -> t::ApiResource {
    t::ApiResource {
        id: r.id.uuid(),
        project_id: r.project_id.uuid(),
        identifier: r.identifier.clone(),
        name: r.name.clone(),
        scopes: r
            .scopes
            .iter()
            .map(|s| t::ResourceScope {
                name: s.name.clone(),
                description: s.description.clone(),
            })
            .collect(),
        access_token_lifetime_secs: r.access_token_lifetime_secs,
        signing_alg: r.signing_alg.as_str().into(),
        token_format: r.token_format.as_str().into(),
        created_at: r.created_at.rfc3339(),
        updated_at: r.updated_at.rfc3339(),
    }
}
