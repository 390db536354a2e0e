//! Authorization code values (SPEC §5.2): the code's request, sealed with AES-256-GCM under the
//! server's code key and bound to the project, the client id and the client's creation time, so
//! a code opens only for the client it was issued to (not even for a client re-created later
//! under the same id). The code is its own record: issuing one writes nothing, and redeeming one
//! writes its grant, whose id it carries, so a second redemption collides with the first.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::AuthCode;
use crate::clients::Client;
use crate::crypto::{DataKey, RowAad};
use crate::factors::AuthMethods;
use crate::ids::{GrantId, ResourceId, SessionId, UserId};
use crate::rng::Rng;
use crate::secret::Secret;
use crate::time::Timestamp;

/// Longer values are not codes this server issued (the request's own fields are bounded well
/// below this: a redirect URI, the scopes, a nonce and a challenge).
const MAX_CODE_LEN: usize = 8192;

/// The sealed form, with short names: the code travels in a redirect URL.
#[derive(Serialize, Deserialize)]
struct Sealed {
    #[serde(rename = "g")]
    grant: uuid::Uuid,
    #[serde(rename = "u")]
    user: uuid::Uuid,
    #[serde(rename = "s")]
    session: uuid::Uuid,
    #[serde(rename = "r")]
    redirect_uri: String,
    #[serde(rename = "rg")]
    redirect_uri_given: bool,
    #[serde(rename = "sc")]
    scope: String,
    #[serde(rename = "rs", default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<uuid::Uuid>,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    code_challenge: Option<String>,
    #[serde(rename = "at")]
    auth_time: i64,
    #[serde(rename = "am")]
    amr: i64,
    #[serde(rename = "x")]
    expires_at: i64,
}

fn binding(client: &Client) -> RowAad {
    RowAad::new(
        "authorization-code",
        &client.project_id.to_string(),
        "",
        client.id.as_str(),
        "",
        client.created_at.millis(),
    )
}

impl AuthCode {
    /// The code value for this request, issued to `client`: a [`Secret`], handed out once.
    pub fn seal(&self, key: &DataKey, rng: &dyn Rng, client: &Client) -> Secret<String> {
        let sealed = Sealed {
            grant: self.grant_id.uuid(),
            user: self.user_id.uuid(),
            session: self.session_id.uuid(),
            redirect_uri: self.redirect_uri.clone(),
            redirect_uri_given: self.redirect_uri_given,
            scope: self.scope.clone(),
            resources: self.resources.iter().map(|r| r.uuid()).collect(),
            nonce: self.nonce.clone(),
            code_challenge: self.code_challenge.clone(),
            auth_time: self.auth_time.millis(),
            amr: self.amr.bits(),
            expires_at: self.expires_at.millis(),
        };
        // Serializing a struct of strings, numbers and UUIDs to a Vec cannot fail.
        #[allow(clippy::expect_used)]
        let json = serde_json::to_vec(&sealed).expect("a code serializes");
        Secret::new(URL_SAFE_NO_PAD.encode(key.seal(rng, &binding(client), &json)))
    }

    /// The request of a code issued to `client`; `None` for anything else (malformed, forged,
    /// or issued to another client).
    pub fn open(key: &DataKey, client: &Client, value: &str) -> Option<Self> {
        if value.len() > MAX_CODE_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        let json = key.open(&binding(client), &bytes).ok()?;
        let s: Sealed = serde_json::from_slice(&json).ok()?;
        Some(Self {
            grant_id: GrantId::from_uuid(s.grant),
            user_id: UserId::from_uuid(s.user),
            session_id: SessionId::from_uuid(s.session),
            redirect_uri: s.redirect_uri,
            redirect_uri_given: s.redirect_uri_given,
            scope: s.scope,
            resources: s.resources.into_iter().map(ResourceId::from_uuid).collect(),
            nonce: s.nonce,
            code_challenge: s.code_challenge,
            auth_time: Timestamp::from_millis(s.auth_time),
            amr: AuthMethods::from_bits(s.amr),
            expires_at: Timestamp::from_millis(s.expires_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_types::ClientInput;

    use super::*;
    use crate::clients::{ClientSettings, SecretHashes};
    use crate::ids::{ClientId, ProjectId};
    use crate::rng::SystemRng;

    fn client(id: &str, project: ProjectId, created_at: i64) -> Client {
        let input = ClientInput {
            name: Some(id.into()),
            redirect_uris: Some(vec!["https://app.example/cb".into()]),
            ..ClientInput::default()
        };
        Client {
            id: ClientId::parse(id).unwrap(),
            project_id: project,
            settings: ClientSettings::create(&input).unwrap(),
            official: false,
            secret: SecretHashes::default(),
            created_at: Timestamp::from_millis(created_at),
            updated_at: Timestamp::from_millis(created_at),
            version: 1,
            last_used_at: None,
        }
    }

    #[test]
    fn a_code_opens_only_for_its_client_with_every_field_intact() {
        let key = DataKey::from_bytes(&[3; 32]);
        let a = client("app-a", ProjectId::SYSTEM, 1_000);
        let code = AuthCode {
            grant_id: GrantId::from_uuid(uuid::Uuid::new_v4()),
            user_id: UserId::from_uuid(uuid::Uuid::new_v4()),
            session_id: SessionId::from_uuid(uuid::Uuid::new_v4()),
            redirect_uri: "https://app.example/cb?x=1".into(),
            redirect_uri_given: true,
            scope: "openid offline_access orders.read".into(),
            resources: vec![ResourceId::from_uuid(uuid::Uuid::new_v4())],
            nonce: Some("n-0S6_WzA2Mj".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            auth_time: Timestamp::from_millis(1_700_000_000_123),
            amr: AuthMethods::PASSWORD.with(AuthMethods::OTP),
            expires_at: Timestamp::from_millis(1_700_000_060_123),
        };
        let rng = SystemRng::default();
        let value = code.seal(&key, &rng, &a);
        let v = value.expose_secret();
        assert_eq!(AuthCode::open(&key, &a, v), Some(code.clone()));
        // Two codes for the same request differ (fresh nonce); both open.
        let again = code.seal(&key, &rng, &a);
        assert_ne!(again.expose_secret(), v);
        assert_eq!(AuthCode::open(&key, &a, again.expose_secret()), Some(code.clone()));
        // Nothing of the request is readable in the value.
        for plain in [
            "app.example",
            "openid",
            "orders.read",
            "n-0S6_WzA2Mj",
            &code.grant_id.to_string(),
        ] {
            assert!(!v.contains(plain), "{plain} visible");
        }
        // Another client id, another project, the same id re-created later, another server key.
        let b = client("app-b", ProjectId::SYSTEM, 1_000);
        let other_project = client("app-a", ProjectId::from_uuid(uuid::Uuid::new_v4()), 1_000);
        let recreated = client("app-a", ProjectId::SYSTEM, 2_000);
        for c in [&b, &other_project, &recreated] {
            assert_eq!(AuthCode::open(&key, c, v), None);
        }
        assert_eq!(AuthCode::open(&DataKey::from_bytes(&[4; 32]), &a, v), None);
        // Tampered, truncated, not base64, empty, oversized.
        let mut bytes = URL_SAFE_NO_PAD.decode(v).unwrap();
        bytes[20] ^= 1;
        assert_eq!(AuthCode::open(&key, &a, &URL_SAFE_NO_PAD.encode(&bytes)), None);
        assert_eq!(AuthCode::open(&key, &a, &v[..v.len() - 1]), None);
        for bad in ["", "!!!!", &"A".repeat(MAX_CODE_LEN + 4)] {
            assert_eq!(AuthCode::open(&key, &a, bad), None);
        }
    }
}
