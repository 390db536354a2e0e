//! PKCE (RFC 7636), `S256` only (SPEC §5.2: `plain` is refused).

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::OAuthError;
use crate::secret::ct_eq;

/// Checks a `code_challenge` as sent to the authorization endpoint: `S256`, 43 base64url characters.
pub fn check_challenge(challenge: &str, method: Option<&str>) -> Result<(), OAuthError> {
    match method {
        Some("S256") => {}
        None => {
            // RFC 7636 §4.3 makes `plain` the default; Gatehouse supports S256 only, so the method must be named.
            return Err(OAuthError::invalid_request(
                "code_challenge_method is required and must be S256",
            ));
        }
        Some(_) => return Err(OAuthError::invalid_request("code_challenge_method must be S256")),
    }
    if challenge.len() != 43 || !challenge.bytes().all(is_unreserved_b64) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
        ));
    }
    Ok(())
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge`, compared in constant time.
/// The verifier must be 43–128 characters of the unreserved set (§4.1).
pub fn verify(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    well_formed & ct_eq(computed.as_bytes(), challenge.as_bytes())
}

fn is_unreserved_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        assert!(check_challenge(CHALLENGE, Some("S256")).is_ok());
        assert!(verify(VERIFIER, CHALLENGE));
    }

    #[test]
    fn plain_and_missing_methods_are_refused() {
        assert!(check_challenge(CHALLENGE, Some("plain")).is_err());
        assert!(check_challenge(CHALLENGE, None).is_err());
    }

    #[test]
    fn a_wrong_or_malformed_verifier_fails() {
        assert!(!verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", CHALLENGE));
        assert!(!verify("short", CHALLENGE));
        assert!(!verify(CHALLENGE, CHALLENGE));
    }
}
