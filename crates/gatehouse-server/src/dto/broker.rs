//! The room secrets broker's answers on the wire (SPEC §7): stored credentials as `secrets.list`
//! shows them (never their tokens) and the access tokens handed to participants.

use gatehouse_core::broker::OAuthCredential;
use gatehouse_core::service::ProviderToken;
use gatehouse_core::time::Timestamp;
use gatehouse_types::{OAuthToken, OfflineOAuthToken, RoomSecretInfo, RoomSecretList};

/// `secrets.list`: the settings of each credential.
pub fn room_secret_list_dto(credentials: &[OAuthCredential]) -> RoomSecretList {
    RoomSecretList {
        secrets: credentials.iter().map(room_secret_info_dto).collect(),
    }
}

fn room_secret_info_dto(c: &OAuthCredential) -> RoomSecretInfo {
    RoomSecretInfo {
        id: c.id.uuid(),
        kind: "oauth".into(),
        name: c.provider.name.clone(),
        owner: c.owner.clone(),
        delegated_to: Some(c.delegated_to.clone()).filter(|d| !d.is_empty()),
        authorization_endpoint: c.provider.authorization_endpoint.clone(),
        client_id: c.provider.client_id.clone(),
        scopes: c.scopes.clone(),
        expires_at: c.expires_at.map(Timestamp::rfc3339),
        needs_consent: c.needs_consent,
    }
}

/// The answer to `secrets.request_oauth_token`.
pub fn oauth_token_dto(t: ProviderToken) -> OAuthToken {
    OAuthToken {
        access_token: t.access_token,
        expires_at: t.expires_at.map(Timestamp::rfc3339),
        scopes: t.scopes,
    }
}

/// The answer to `secrets.get_offline_oauth_token`: `null` without a usable token.
pub fn offline_token_dto(t: Option<ProviderToken>) -> OfflineOAuthToken {
    OfflineOAuthToken {
        access_token: t.map(|t| t.access_token),
    }
}
