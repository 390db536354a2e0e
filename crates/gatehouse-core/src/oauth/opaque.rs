//! Opaque access token values (the `opaque` token format of an API resource): the claims a
//! JWT access token would carry, sealed with AES-256-GCM under the server's opaque-token key
//! (derived from the keyed-hash key) and bound to this purpose and format version, behind the
//! prefix `gat1_`. Only Gatehouse can read or make one, so a resource server learns about it by
//! introspection (RFC 7662). Nothing is stored: the value is its own record, and revocation
//! stores only its `jti`. The format is not a contract; resource servers must not parse it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::{DataKey, RowAad};
use crate::rng::Rng;

/// The versioned prefix. No `.`, so the value never splits into the parts of a JWS or JWE.
pub const PREFIX: &str = "gat1_";
/// Longer values are not tokens this server issued (claims are bounded well below this).
const MAX_LEN: usize = 8192;

/// The associated data: the purpose and the format version, so that no other value sealed
/// under a key derived from the same server key opens as a token.
fn binding() -> RowAad {
    RowAad::new("opaque-access-token", "", "", "", "", 1)
}

/// Whether `value` has the form of an opaque access token (it may still be forged).
pub fn is_opaque(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// The token value carrying `claims`.
pub fn seal(key: &DataKey, rng: &dyn Rng, claims: &impl Serialize) -> serde_json::Result<String> {
    let json = serde_json::to_vec(claims)?;
    Ok(format!(
        "{PREFIX}{}",
        URL_SAFE_NO_PAD.encode(key.seal(rng, &binding(), &json))
    ))
}

/// The claims of a token [`seal`] made under `key`; `None` for anything else (malformed,
/// forged, tampered with, or sealed under another server's key).
pub fn open<T: DeserializeOwned>(key: &DataKey, value: &str) -> Option<T> {
    if value.len() > MAX_LEN {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(value.strip_prefix(PREFIX)?).ok()?;
    let json = key.open(&binding(), &bytes).ok()?;
    serde_json::from_slice(&json).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::rng::SystemRng;

    #[test]
    fn a_token_opens_only_under_its_key_and_shows_nothing() {
        let key = DataKey::from_bytes(&[3; 32]);
        let claims = json!({"aud": "https://orders.acme.example", "scope": "orders.read", "sub": "svc-7"});
        let rng = SystemRng::default();
        let value = seal(&key, &rng, &claims).unwrap();
        assert!(is_opaque(&value) && !value.contains('.'), "{value}");
        assert_eq!(open::<Value>(&key, &value), Some(claims.clone()));
        // Two tokens of the same claims differ (fresh nonce).
        assert_ne!(seal(&key, &rng, &claims).unwrap(), value);
        for plain in ["orders", "acme", "svc-7", "scope"] {
            assert!(!value.contains(plain), "{plain} visible in {value}");
        }
        // Another server's key, and the same ciphertext sealed for another purpose.
        assert_eq!(open::<Value>(&DataKey::from_bytes(&[4; 32]), &value), None);
        let other = RowAad::new("browser", "", "", "", "", 1);
        let foreign = URL_SAFE_NO_PAD.encode(key.seal(&rng, &other, b"{}"));
        assert_eq!(open::<Value>(&key, &format!("{PREFIX}{foreign}")), None);
        // Tampered, truncated, without its prefix, not base64, oversized.
        let mut bytes = URL_SAFE_NO_PAD.decode(&value[PREFIX.len()..]).unwrap();
        bytes[20] ^= 1;
        let tampered = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        let oversized = format!("{PREFIX}{}", "A".repeat(MAX_LEN));
        for bad in [
            tampered.as_str(),
            &value[..value.len() - 1],
            &value[PREFIX.len()..],
            "gat1_!!!!",
            PREFIX,
            "",
            &oversized,
        ] {
            assert_eq!(open::<Value>(&key, bad), None, "{bad:.40}");
        }
    }
}
