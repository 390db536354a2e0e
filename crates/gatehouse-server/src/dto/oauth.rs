//! The token and device authorization responses (RFC 6749 §5.1, RFC 8628 §3.2). Both take the
//! domain record by value and move its strings over: the token endpoint is a hot path.

use gatehouse_core::oauth::{DeviceAuthorization, IssuedTokens};
use gatehouse_types as t;

/// The token response.
pub fn token_dto(i: IssuedTokens) -> t::TokenResponse {
    t::TokenResponse {
        access_token: i.access_token,
        token_type: i.token_type.as_str().into(),
        expires_in: i.expires_in,
        refresh_token: i.refresh_token,
        id_token: i.id_token,
        scope: i.scope,
        issued_token_type: i.issued_token_type,
    }
}

/// The device authorization response.
pub fn device_authorization_dto(d: DeviceAuthorization) -> t::DeviceAuthorizationResponse {
    t::DeviceAuthorizationResponse {
        device_code: d.device_code.into(),
        user_code: d.user_code,
        verification_uri: d.verification_uri,
        verification_uri_complete: d.verification_uri_complete,
        expires_in: d.expires_in,
        interval: d.interval,
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_core::oauth::TokenType;
    use gatehouse_core::secret::{Secret, SecretString};

    use super::*;

    fn issued(refresh_token: Option<&str>, id_token: Option<&str>) -> IssuedTokens {
        IssuedTokens {
            access_token: "eyJ.at.sig".into(),
            token_type: TokenType::Bearer,
            expires_in: 3600,
            refresh_token: refresh_token.map(SecretString::new),
            id_token: id_token.map(SecretString::new),
            scope: "openid offline_access".into(),
            issued_token_type: None,
        }
    }

    #[test]
    fn the_token_response_is_the_sealed_successor_byte_for_byte() {
        // A successor opened inside the grace window is answered as the token response, so both
        // must be the same JSON: member order and omitted members included.
        for i in [
            issued(Some("rt"), Some("eyJ.id.sig")),
            issued(None, Some("eyJ.id.sig")),
            issued(Some("rt"), None),
            issued(None, None),
        ] {
            let sealed = serde_json::to_string(&i).unwrap();
            assert_eq!(serde_json::to_string(&token_dto(i)).unwrap(), sealed);
        }
        assert_eq!(
            serde_json::to_string(&token_dto(issued(Some("rt"), None))).unwrap(),
            r#"{"access_token":"eyJ.at.sig","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","scope":"openid offline_access"}"#
        );
    }

    #[test]
    fn the_device_authorization_response_carries_every_member_in_order() {
        let d = DeviceAuthorization {
            device_code: Secret::new("dc".into()),
            user_code: "BCDF-GHJK".into(),
            verification_uri: "https://id.example/device".into(),
            verification_uri_complete: "https://id.example/device?user_code=BCDF-GHJK".into(),
            expires_in: 600,
            interval: 5,
        };
        assert_eq!(
            serde_json::to_string(&device_authorization_dto(d)).unwrap(),
            r#"{"device_code":"dc","user_code":"BCDF-GHJK","verification_uri":"https://id.example/device","verification_uri_complete":"https://id.example/device?user_code=BCDF-GHJK","expires_in":600,"interval":5}"#
        );
    }
}
