//! OAuth clients.

use gatehouse_core::clients::Client;
use gatehouse_core::time::Timestamp;
use gatehouse_types as t;

/// A registered client (never its secret).
pub fn client_dto(c: &Client) -> t::OAuthClient {
    let s = &c.settings;
    t::OAuthClient {
        client_id: c.id.to_string(),
        project_id: c.project_id.uuid(),
        name: s.name.clone(),
        enabled: s.enabled,
        client_uri: s.client_uri.clone(),
        logo_uri: s.logo_uri.clone(),
        policy_uri: s.policy_uri.clone(),
        tos_uri: s.tos_uri.clone(),
        require_client_secret: s.require_client_secret,
        has_client_secret: c.secret.current.is_some(),
        token_endpoint_auth_method: s.token_endpoint_auth_method.clone(),
        grant_types: s.grant_types.clone(),
        response_types: s.response_types.clone(),
        redirect_uris: s.redirect_uris.clone(),
        post_logout_redirect_uris: s.post_logout_redirect_uris.clone(),
        allowed_cors_origins: s.allowed_cors_origins.clone(),
        scope: s.scope.join(" "),
        offline_access: s.offline_access(),
        require_pkce: s.require_pkce,
        access_token_ttl: s.access_token_ttl,
        refresh_token_ttl: s.refresh_token_ttl,
        id_token_ttl: s.id_token_ttl,
        refresh_grace_seconds: s.refresh_grace_seconds,
        id_token_signed_response_alg: s.id_token_signed_response_alg.clone(),
        revoke_on_logout: s.revoke_on_logout,
        default_resource: s.default_resource.clone(),
        token_exchange_resources: s.token_exchange_resources.clone(),
        metadata: s.metadata.clone(),
        official: c.official,
        created_at: c.created_at.rfc3339(),
        updated_at: c.updated_at.rfc3339(),
        secret_rotated_at: c.secret.rotated_at.map(Timestamp::rfc3339),
    }
}
