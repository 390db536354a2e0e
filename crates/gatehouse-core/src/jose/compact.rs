//! The JWS Compact Serialization (RFC 7515 §7.1) taken apart strictly: size first, then exactly
//! three unpadded base64url segments, then JSON objects. Every failure is `Unauthorized`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::Header;
use crate::error::{Error, Result};

/// Longest token accepted for verification (16 KiB); longer ones are refused before decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

pub(super) fn refused(reason: &str) -> Error {
    Error::Unauthorized(reason.to_owned())
}

fn malformed() -> Error {
    refused("malformed token")
}

/// A compact JWS split at its two dots, nothing decoded yet.
pub(super) struct Parts<'t> {
    /// `header.payload`, the JWS Signing Input (RFC 7515 §2).
    pub signing_input: &'t str,
    header: &'t str,
    pub payload: &'t str,
    signature: &'t str,
}

impl<'t> Parts<'t> {
    pub fn split(token: &'t str) -> Result<Self> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(refused("token too long"));
        }
        let (header, rest) = token.split_once('.').ok_or_else(malformed)?;
        let (payload, signature) = rest.split_once('.').ok_or_else(malformed)?;
        if signature.contains('.') {
            return Err(malformed());
        }
        Ok(Self {
            signing_input: &token[..header.len() + 1 + payload.len()],
            header,
            payload,
            signature,
        })
    }

    /// The decoded protected header. Duplicate members resolve to the last one (RFC 7515 §5.2).
    pub fn header(&self) -> Result<Map<String, Value>> {
        decode_object(self.header)
    }

    pub fn signature(&self) -> Result<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(self.signature).map_err(|_| malformed())
    }
}

/// Decodes one base64url segment holding a JSON object.
pub(super) fn decode_object(segment: &str) -> Result<Map<String, Value>> {
    serde_json::from_slice(&decode_segment(segment)?).map_err(|_| malformed())
}

/// Decodes one base64url segment.
pub(super) fn decode_segment(segment: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| malformed())
}

pub(super) fn header_fields(header: &Map<String, Value>) -> Result<Header> {
    let text = |name: &str| match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed()),
    };
    Ok(Header {
        alg: text("alg")?.ok_or_else(malformed)?,
        kid: text("kid")?,
        typ: text("typ")?,
    })
}

/// The header names exactly `alg` and asks for no extension: none is understood, so any `crit`
/// makes the token invalid (RFC 7515 §4.1.11).
pub(super) fn check_header(header: &Map<String, Value>, alg: &str) -> Result<()> {
    match header.get("alg") {
        Some(Value::String(a)) if a == alg => {}
        Some(Value::String(_)) => return Err(refused("token algorithm not accepted")),
        _ => return Err(malformed()),
    }
    if header.contains_key("crit") {
        return Err(refused("token has critical header parameters"));
    }
    Ok(())
}
