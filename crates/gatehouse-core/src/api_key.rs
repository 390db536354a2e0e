//! API key values in the MeshAgent format (SPEC §3):
//! `ma-<b64(kid)>-<b64(project_id)>-<secret>`, where `b64` is the 16 UUID bytes in URL-safe base64
//! without padding and with `-` written as `.`, and the secret is 32 random bytes in base64url.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};
use crate::ids::{ApiKeyId, ProjectId};
use crate::secret::{Secret, SecretString};

/// A parsed API key value. The secret stays inside [`SecretString`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyValue {
    pub id: ApiKeyId,
    pub project_id: ProjectId,
    pub secret: SecretString,
}

impl ApiKeyValue {
    /// Parses `ma-…`. The secret may itself contain `-`: the value is split at most three ways.
    /// Values the MeshAgent SDK only tolerates (empty secret, `=` padding, standard base64) are
    /// refused: Gatehouse never issues them.
    pub fn parse(value: &str) -> Result<Self> {
        let bad = || Error::Unauthorized("malformed API key".into());
        let rest = value.strip_prefix("ma-").ok_or_else(bad)?;
        let mut parts = rest.splitn(3, '-');
        let (kid, pid, secret) = match (parts.next(), parts.next(), parts.next()) {
            (Some(k), Some(p), Some(s)) if !s.is_empty() => (k, p, s),
            _ => return Err(bad()),
        };
        let id = decode_uuid(kid).ok_or_else(bad)?;
        let project = decode_uuid(pid).ok_or_else(bad)?;
        Ok(Self {
            id: ApiKeyId::from_uuid(id),
            project_id: ProjectId::from_uuid(project),
            secret: SecretString::new(secret),
        })
    }

    /// The full `ma-…` value, to be shown to its creator exactly once.
    pub fn encode(&self) -> Secret<String> {
        Secret::new(format!(
            "ma-{}-{}-{}",
            encode_uuid(self.id.uuid()),
            encode_uuid(self.project_id.uuid()),
            self.secret.expose_secret()
        ))
    }
}

fn encode_uuid(id: uuid::Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes()).replace('-', ".")
}

fn decode_uuid(part: &str) -> Option<uuid::Uuid> {
    if part.len() != 22 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(part.replace('.', "-")).ok()?;
    uuid::Uuid::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> serde_json::Value {
        crate::meshagent_fixture("api_keys.json")
    }

    #[test]
    fn every_sdk_key_parses_to_its_id_project_and_secret_and_encodes_back() {
        let f = fixtures();
        let valid = f["valid"].as_array().unwrap();
        assert_eq!(valid.len(), 4);
        for case in valid {
            let value = case["value"].as_str().unwrap();
            let k = ApiKeyValue::parse(value).unwrap();
            assert_eq!(k.id.to_string(), case["id"].as_str().unwrap());
            assert_eq!(k.project_id.to_string(), case["project_id"].as_str().unwrap());
            assert_eq!(k.secret.expose_secret(), case["secret"].as_str().unwrap());
            assert_eq!(k.encode().expose_secret(), value);
        }
    }

    #[test]
    fn every_key_the_sdk_rejects_is_rejected() {
        let f = fixtures();
        for case in f["invalid"].as_array().unwrap() {
            let value = case["value"].as_str().unwrap();
            assert!(ApiKeyValue::parse(value).is_err(), "{}", case["description"]);
        }
    }

    #[test]
    fn nonstandard_values_the_sdk_tolerates_are_refused() {
        let f = fixtures();
        for case in f["sdk_accepts_nonstandard"].as_array().unwrap() {
            let value = case["value"].as_str().unwrap();
            assert!(ApiKeyValue::parse(value).is_err(), "{}", case["description"]);
        }
    }

    #[test]
    fn parse_errors_never_echo_the_value() {
        let e = ApiKeyValue::parse("ma-x-y-supersecretvalue").unwrap_err();
        assert!(!e.to_string().contains("supersecret"));
    }
}
