//! The bearer credential (API key or user access token) the client authenticates with.

use gatehouse_types::secret::SecretString;

/// A bearer credential: a project API key (`ma-…`) or a Gatehouse user access token.
///
/// Kept out of `Debug` output and logs (STYLE §2): the value is reachable only through
/// [`Credential::expose_secret`]. It deliberately has no `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential(SecretString);

impl Credential {
    /// Wraps a credential value.
    pub fn new(value: impl Into<SecretString>) -> Self {
        Self(value.into())
    }

    /// The raw value, for building the `Authorization` header.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for Credential {
    fn from(value: String) -> Self {
        Self(value.into())
    }
}

impl From<&str> for Credential {
    fn from(value: &str) -> Self {
        Self(value.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_value() {
        let credential = Credential::new("ma-secret-value");
        let debug = format!("{credential:?}");
        assert!(!debug.contains("secret-value"), "{debug}");
        assert_eq!(debug, "Credential([redacted])");
        assert_eq!(credential.expose_secret(), "ma-secret-value");
    }
}
