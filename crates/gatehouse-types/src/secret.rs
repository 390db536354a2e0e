//! Secret values (SPEC §9.2): the redacting wrappers every crate uses. `Debug` prints a fixed
//! `[redacted]`, a secret is read only through `expose_secret()`, and equality of secrets is
//! constant-time. [`SecretString`] is for secrets on the wire, [`Secret`] for values that must
//! not be copied, [`Redacted`] for stored values that are not secrets but are never printed.
//!
//! They live here, in the crate with no internal dependencies, so that wire shapes, the core and
//! the clients share them; `gatehouse_core::secret` re-exports them. A struct that holds a secret
//! field of one of these types derives `Debug` safely.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// A secret string. `Debug` prints `[redacted]`; read it only through [`SecretString::expose_secret`].
///
/// It serializes as the plain string (a wire field keeps its JSON shape). It is `Clone` because
/// wire shapes that carry one are plain data; a value whose reuse is a bug is a [`Secret`].
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself. Every call site is a place where the secret leaves this type on purpose.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The secret itself, by value.
    pub fn into_secret(self) -> String {
        self.0
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<&String> for SecretString {
    fn from(s: &String) -> Self {
        Self(s.clone())
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for SecretString {}

/// A secret that must not be copied: key material, and values whose reuse is a bug (an
/// authorization code, a PKCE verifier, a token request's code or refresh token, a client secret
/// or API key shown once). `Debug` prints `[redacted]` and the value is read only through
/// [`Secret::expose_secret`].
///
/// It is not `Clone`, and that is checked at compile time: the value moves from where it is made
/// to where it is used (or handed to the wire with [`SecretString::from`]), so a second copy is
/// never made by accident.
///
/// ```compile_fail
/// use gatehouse_types::secret::Secret;
///
/// let code = Secret::new(String::from("one-time"));
/// let copy = code.clone(); // error: `Secret` is not `Clone`
/// ```
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself. Every call site is a place where the secret leaves this type on purpose.
    pub fn expose_secret(&self) -> &T {
        &self.0
    }

    /// The secret itself, by value: the one use that consumes it.
    pub fn into_secret(self) -> T {
        self.0
    }
}

/// A one-time value handed to the wire: moved, not copied.
impl From<Secret<String>> for SecretString {
    fn from(s: Secret<String>) -> Self {
        Self(s.0)
    }
}

/// A one-time string that is kept sealed (a PKCE verifier) serializes as the plain string.
impl Serialize for Secret<String> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret<String> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T: AsRef<[u8]>> PartialEq for Secret<T> {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(self.0.as_ref(), other.0.as_ref())
    }
}

impl<T: AsRef<[u8]>> Eq for Secret<T> {}

/// A stored value that is not a secret in itself but is never printed: a keyed hash, a
/// ciphertext, a wrapped key. `Debug` prints `[redacted]`, so a record holding one derives
/// `Debug`. Unlike [`Secret`] it is `Clone` (records are copied between caches and storage) and
/// compares like its content; it has no `Deref`, so every read goes through [`Redacted::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value itself, for storage and verification.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The value itself, by value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: AsRef<[u8]>> Redacted<T> {
    /// The value's bytes, e.g. to bind to a query or compare with a hash.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }
}

impl<T> From<T> for Redacted<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> std::fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Constant-time equality of two byte strings (the length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let s = SecretString::new("hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }

    #[test]
    fn equality_compares_content() {
        assert_eq!(SecretString::new("abc"), SecretString::new("abc"));
        assert_ne!(SecretString::new("abc"), SecretString::new("abd"));
        assert_ne!(SecretString::new("abc"), SecretString::new("abcd"));
    }

    #[test]
    fn a_secret_string_serializes_as_the_plain_string() {
        let s = SecretString::new("hunter2");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
        let back: SecretString = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(back.expose_secret(), "hunter2");
    }

    #[test]
    fn wire_shapes_with_secrets_debug_without_them() {
        let client = crate::ClientSecret {
            client_secret: "cs-hunter2".into(),
        };
        assert_eq!(format!("{client:?}"), "ClientSecret { client_secret: [redacted] }");
        let key = crate::CreatedApiKey {
            id: uuid::Uuid::nil(),
            name: "ci".into(),
            description: String::new(),
            created_at: "2026-01-01T00:00:00Z".into(),
            value: "ma-hunter2".into(),
        };
        let tokens = crate::TokenResponse {
            access_token: "at-hunter2".into(),
            token_type: "Bearer".into(),
            expires_in: 300,
            refresh_token: Some("rt-hunter2".into()),
            id_token: Some("id-hunter2".into()),
            scope: "openid".into(),
            issued_token_type: None,
        };
        let user = crate::CreateUser {
            email: "a@example.com".into(),
            name: "A".into(),
            password: "pw-hunter2".into(),
        };
        for shown in [format!("{key:?}"), format!("{tokens:?}"), format!("{user:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
        }
    }

    #[test]
    fn wire_shapes_with_secrets_keep_their_json() {
        let tokens = crate::TokenResponse {
            access_token: "at".into(),
            token_type: "Bearer".into(),
            expires_in: 300,
            refresh_token: Some("rt".into()),
            id_token: None,
            scope: "openid".into(),
            issued_token_type: None,
        };
        let json =
            r#"{"access_token":"at","token_type":"Bearer","expires_in":300,"refresh_token":"rt","scope":"openid"}"#;
        assert_eq!(serde_json::to_string(&tokens).unwrap(), json);
        assert_eq!(serde_json::from_str::<crate::TokenResponse>(json).unwrap(), tokens);
        let secret = crate::SetClientSecret {
            client_secret: Some("cs".into()),
            grace_seconds: None,
        };
        assert_eq!(serde_json::to_string(&secret).unwrap(), r#"{"client_secret":"cs"}"#);
    }

    #[test]
    fn debug_of_a_redacted_value_never_prints_it() {
        let hash = Redacted::new(b"hash-hunter2".to_vec());
        assert_eq!(format!("{hash:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(hash.clone())), "Some([redacted])");
        assert_eq!(hash.as_bytes(), b"hash-hunter2");
        assert_eq!(Redacted::new("phc-hunter2".to_owned()).expose(), "phc-hunter2");
    }

    #[test]
    fn debug_of_a_secret_key_never_prints_it() {
        let k = Secret::new(vec![0x42u8; 32]);
        assert_eq!(format!("{k:?}"), "[redacted]");
        assert_eq!(k, Secret::new(vec![0x42u8; 32]));
        assert_ne!(k, Secret::new(vec![0x43u8; 32]));
    }

    #[test]
    fn a_one_time_secret_moves_to_the_wire_and_keeps_its_json() {
        let v = Secret::new("cv-hunter2".to_owned());
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"cv-hunter2\"");
        let back: Secret<String> = serde_json::from_str("\"cv-hunter2\"").unwrap();
        assert_eq!(back.expose_secret(), "cv-hunter2");
        let wire = SecretString::from(back);
        assert_eq!(format!("{wire:?}"), "[redacted]");
        assert_eq!(wire.into_secret(), "cv-hunter2");
    }
}
