//! What the token and device authorization endpoints hand out, as domain records (RFC 6749
//! §5.1, RFC 8628 §3.2). The server turns them into wire responses; the token record is also
//! what a refresh token's successor is sealed as.

use serde::{Deserialize, Serialize};

use crate::secret::{Secret, SecretString};

/// The kind of access token issued: Gatehouse issues bearer tokens only (RFC 6750).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenType {
    Bearer,
}

impl TokenType {
    /// The `token_type` value (RFC 6749 §7.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
        }
    }
}

/// The tokens one token request issued. Sealed and stored as the successor of a rotated refresh
/// token, so that a retry inside the grace window gets the very same pair (SPEC §5.2): its JSON
/// (field names, order and omissions) is what earlier versions stored, and must stay so for
/// successors sealed before an upgrade to open after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedTokens {
    pub access_token: SecretString,
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<SecretString>,
    /// The granted scopes, space separated.
    pub scope: String,
    /// What a token exchange issued (RFC 8693 §2.2.1); absent for every other grant, so a
    /// sealed successor's bytes are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
}

/// A started device authorization (RFC 8628 §3.2). Not `Clone`: the device code is handed out
/// once.
#[derive(Debug, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub device_code: Secret<String>,
    /// The user code as shown to the user: `XXXX-XXXX`.
    pub user_code: SecretString,
    pub verification_uri: String,
    /// The verification URI with the user code filled in.
    pub verification_uri_complete: SecretString,
    /// Seconds until the device code expires.
    pub expires_in: u64,
    /// Seconds the device waits between polls.
    pub interval: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A successor exactly as versions that sealed the wire token response stored it.
    const STORED: &str = r#"{"access_token":"eyJ.at.sig","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-1","id_token":"eyJ.id.sig","scope":"openid offline_access"}"#;

    #[test]
    fn a_successor_sealed_by_an_earlier_version_still_opens() {
        let opened: IssuedTokens = serde_json::from_str(STORED).unwrap();
        assert_eq!(
            opened,
            IssuedTokens {
                access_token: "eyJ.at.sig".into(),
                token_type: TokenType::Bearer,
                expires_in: 3600,
                refresh_token: Some("rt-1".into()),
                id_token: Some("eyJ.id.sig".into()),
                scope: "openid offline_access".into(),
                issued_token_type: None,
            }
        );
        // And what this version seals, earlier versions open: the same bytes.
        assert_eq!(serde_json::to_string(&opened).unwrap(), STORED);
    }

    #[test]
    fn absent_tokens_are_left_out_of_a_sealed_successor() {
        let without = r#"{"access_token":"a","token_type":"Bearer","expires_in":60,"scope":""}"#;
        let opened: IssuedTokens = serde_json::from_str(without).unwrap();
        assert_eq!((&opened.refresh_token, &opened.id_token), (&None, &None));
        assert_eq!(serde_json::to_string(&opened).unwrap(), without);
    }

    #[test]
    fn debug_never_prints_a_token() {
        let t: IssuedTokens = serde_json::from_str(STORED).unwrap();
        let shown = format!("{t:?}");
        assert!(!shown.contains("eyJ") && !shown.contains("rt-1"), "{shown}");
    }
}
