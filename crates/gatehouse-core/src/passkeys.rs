//! Passkeys (SPEC §5.4, W3C WebAuthn Level 3): the credentials a person registered, the state of
//! a ceremony between its two requests, and the rules for what people type about them. The
//! cryptography is `webauthn-rs`'s; the use cases are in [`crate::service::passkeys`].

use url::Url;

use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::time::Timestamp;

/// Passkeys one person may have.
pub const MAX_PASSKEYS: usize = 20;
/// Characters of a passkey's name.
pub const MAX_NAME: usize = 64;
/// Bytes of a browser's JSON answer to a ceremony (attestation objects are a few hundred bytes).
pub const MAX_CREDENTIAL_JSON: usize = 16 * 1024;
/// Seconds a ceremony may take, from its options to its answer (WebAuthn's own default timeout).
pub const CEREMONY_TTL_SECS: i64 = 300;

/// A registered passkey as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    /// The WebAuthn credential id (unique across users).
    pub credential_id: Vec<u8>,
    /// What the person called it.
    pub name: String,
    /// The credential as `webauthn-rs` keeps it (JSON: public key, counter; nothing secret).
    pub passkey: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// What a ceremony is for: it is finished only by the request of the same purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyPurpose {
    /// Registering a passkey for a signed-in person.
    Register,
    /// A passkey instead of a code after the password.
    SecondStep,
    /// Signing in with a passkey alone.
    SignIn,
}

impl CeremonyPurpose {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SecondStep => "second_step",
            Self::SignIn => "sign_in",
        }
    }
}

/// A ceremony between its two requests: the challenge state, answered at most once before
/// `expires_at`, and the person it is for (none for a passwordless sign-in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// The handle the browser sends back (random; it proves nothing by itself: the answer must
    /// be signed by the passkey over the challenge in `state`).
    pub id: String,
    pub purpose: CeremonyPurpose,
    pub user_id: Option<UserId>,
    /// The `webauthn-rs` ceremony state (JSON).
    pub state: String,
    pub expires_at: Timestamp,
}

/// The relying party of a server reached at `issuer`: its RP id (the host, which must be a domain
/// name: WebAuthn refuses IP addresses) and its origin. `None` when passkeys cannot work there.
pub fn relying_party(issuer: &str) -> Option<(String, Url)> {
    let url = Url::parse(issuer).ok()?;
    let host = url.domain()?.to_owned();
    let secure = url.scheme() == "https" || (url.scheme() == "http" && host == "localhost");
    let origin = Url::parse(&url.origin().ascii_serialization()).ok()?;
    secure.then_some((host, origin))
}

/// A passkey's name as typed: trimmed, 1 to [`MAX_NAME`] characters, no control characters.
pub fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "is required"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Error::invalid("name", format!("is longer than {MAX_NAME} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "contains control characters"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_issuers_domain_over_https_or_localhost() {
        let (id, origin) = relying_party("https://id.example.com/base").unwrap();
        assert_eq!(
            (id.as_str(), origin.as_str()),
            ("id.example.com", "https://id.example.com/")
        );
        let (id, origin) = relying_party("http://localhost:8080").unwrap();
        assert_eq!((id.as_str(), origin.as_str()), ("localhost", "http://localhost:8080/"));
        assert_eq!(
            relying_party("http://127.0.0.1:8080"),
            None,
            "WebAuthn refuses IP addresses"
        );
        assert_eq!(relying_party("https://[::1]:8443"), None);
        assert_eq!(
            relying_party("http://id.example.com"),
            None,
            "plain HTTP only on localhost"
        );
        assert_eq!(relying_party("not a url"), None);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Laptop  ").unwrap(), "Laptop");
        assert!(check_name(" ").is_err());
        assert!(check_name(&"é".repeat(MAX_NAME)).is_ok());
        assert!(check_name(&"é".repeat(MAX_NAME + 1)).is_err());
        assert!(check_name("a\u{0}b").is_err());
    }
}
