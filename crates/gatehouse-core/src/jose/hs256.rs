//! HS256 (HMAC with SHA-256, RFC 7518 §3.2) compact JWS under a shared secret, for participant
//! tokens.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::compact::{self, Parts};
use crate::error::{Error, Result};

const ALG: &str = "HS256";
/// RFC 7518 §3.2: the key must be at least as long as the hash output.
const MIN_SECRET_LEN: usize = 32;

fn key(secret: &[u8]) -> Result<hmac::Key> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(Error::invalid(
            "secret",
            format!("must be at least {MIN_SECRET_LEN} bytes for HS256"),
        ));
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, secret))
}

/// Signs `claims` (a JSON object) as an HS256 compact JWS (RFC 7515 §7.1) with the protected
/// `header` (a JSON object). `alg` is set to `HS256` when absent and must be `HS256` when present;
/// `crit` is refused, since [`verify_hs256`] understands no extension. The secret must be at least
/// 256 bits (RFC 7518 §3.2).
pub fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> Result<String> {
    let key = key(secret)?;
    let mut header = header
        .as_object()
        .cloned()
        .ok_or_else(|| Error::invalid("header", "must be a JSON object"))?;
    match header.get("alg") {
        None => {
            header.insert("alg".into(), ALG.into());
        }
        Some(Value::String(a)) if a == ALG => {}
        Some(_) => return Err(Error::invalid("header", "alg must be HS256")),
    }
    if header.contains_key("crit") {
        return Err(Error::invalid("header", "crit is not supported"));
    }
    if !claims.is_object() {
        return Err(Error::invalid("claims", "must be a JSON object"));
    }
    let header = serde_json::to_vec(&header).map_err(Error::unexpected)?;
    let payload = serde_json::to_vec(claims).map_err(Error::unexpected)?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let tag = hmac::sign(&key, token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
    Ok(token)
}

/// Verifies an HS256 compact JWS (RFC 7515 §5.2) whose header `alg` is exactly `HS256` and which
/// has no `crit`; the MAC is compared in constant time. Returns (header, claims). A token that
/// does not verify is [`Error::Unauthorized`]; a secret shorter than 256 bits is
/// [`Error::Invalid`].
pub fn verify_hs256(secret: &[u8], token: &str) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let (header, parts) = verified(&key(secret)?, token)?;
    Ok((header, compact::decode_object(parts.payload)?))
}

/// An HS256 key with its HMAC key schedule computed once, for verifying many tokens.
#[derive(Clone)]
pub struct Hs256Key(hmac::Key);

impl Hs256Key {
    /// The key for `secret` (at least 256 bits, RFC 7518 §3.2).
    pub fn new(secret: &[u8]) -> Result<Self> {
        key(secret).map(Self)
    }

    /// [`verify_hs256`] without decoding the payload, for a caller that decoded it already with
    /// [`unverified_payload`] to find the key.
    pub fn check(&self, token: &str) -> Result<()> {
        verified(&self.0, token).map(|_| ())
    }
}

impl std::fmt::Debug for Hs256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hs256Key([redacted])")
    }
}

fn verified<'t>(key: &hmac::Key, token: &'t str) -> Result<(Map<String, Value>, Parts<'t>)> {
    let parts = Parts::split(token)?;
    let header = parts.header()?;
    compact::check_header(&header, ALG)?;
    let tag = parts.signature()?;
    hmac::verify(key, parts.signing_input.as_bytes(), &tag)
        .map_err(|_| compact::refused("token signature does not verify"))?;
    Ok((header, parts))
}

/// The payload of a compact JWS as JSON bytes, **not verified**: nothing in it may be trusted
/// until [`check_hs256`] passes with the key it names (a participant token names it in `kid`).
pub fn unverified_payload(token: &str) -> Result<Vec<u8>> {
    compact::decode_segment(Parts::split(token)?.payload)
}
