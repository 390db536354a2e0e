//! Client authentication at the back-channel endpoints (RFC 6749 §2.3), and the client policy
//! those endpoints apply to the client that authenticated: which browser origins may read their
//! answers, and who may introspect.

use std::net::IpAddr;
use std::sync::Arc;

use tracing::instrument;

use super::super::Gatehouse;
use super::IntrospectionCaller;
use crate::clients::Client;
use crate::oauth::OAuthError;
use crate::secret::SecretString;

/// How the client authenticated (RFC 6749 §2.3; at most one method per request).
#[derive(Debug)]
pub enum ClientCredentials {
    /// `client_secret_basic`: the HTTP Basic header, already form-decoded.
    Basic { id: String, secret: SecretString },
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    Post { id: String, secret: SecretString },
    /// `none`: a public client naming itself with `client_id`.
    None { id: String },
}

impl ClientCredentials {
    /// The client id the caller claims.
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { id, .. } | Self::Post { id, .. } | Self::None { id } => id,
        }
    }
}

impl Gatehouse {
    /// Authenticates a client with the method it registered (SPEC §4.1), the secret checked by
    /// keyed hash in constant time. Repeated failures of a client from one address delay that
    /// address only, and a success there forgets them (SPEC §5.2, [`crate::oauth::limiter`]):
    /// `peer` is the address the request came from.
    #[instrument(level = "debug", skip_all, fields(client_id = %creds.client_id()))]
    pub async fn authenticate_client(
        &self,
        creds: &ClientCredentials,
        peer: IpAddr,
    ) -> Result<Arc<Client>, OAuthError> {
        let now = self.clock.now();
        let id = creds.client_id();
        let limiter = &self.provider.limits.client;
        let attempt = limiter.attempt(id, peer);
        if let Err(secs) = limiter.check(attempt, now) {
            return Err(OAuthError::invalid_client(format!(
                "too many failed attempts for this client; retry in {secs} s"
            )));
        }
        let client = self.enabled_client(id).await?;
        let ok = match (&client, creds) {
            (Some(c), ClientCredentials::Basic { secret, .. }) => {
                c.settings.token_endpoint_auth_method == "client_secret_basic"
                    && c.verify_secret(self.keys.hasher(), secret.expose_secret(), now)
            }
            (Some(c), ClientCredentials::Post { secret, .. }) => {
                c.settings.token_endpoint_auth_method == "client_secret_post"
                    && c.verify_secret(self.keys.hasher(), secret.expose_secret(), now)
            }
            (Some(c), ClientCredentials::None { .. }) => c.settings.token_endpoint_auth_method == "none",
            (None, _) => false,
        };
        match client.filter(|_| ok) {
            Some(c) => {
                limiter.success(attempt);
                Ok(c)
            }
            None => {
                limiter.failure(attempt, now);
                Err(OAuthError::invalid_client("client authentication failed"))
            }
        }
    }
}

impl Client {
    /// Whether a browser page at `origin` may read this client's answers from the token and
    /// revocation endpoints: only the origins the client lists (SPEC §5.2).
    pub fn allows_cors_origin(&self, origin: &str) -> bool {
        self.settings.allowed_cors_origins.iter().any(|a| a == origin)
    }
}

impl IntrospectionCaller {
    /// An authenticated client as an introspection caller. Public clients may not introspect:
    /// anyone can name one, and the endpoint must not answer just anyone (RFC 7662 §4, token
    /// scanning).
    pub fn client(client: Arc<Client>) -> Result<Self, OAuthError> {
        if client.settings.require_client_secret {
            Ok(Self::Client(client))
        } else {
            Err(OAuthError::invalid_client("public clients cannot introspect"))
        }
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_types::ClientInput;

    use super::*;
    use crate::clients::{ClientSettings, SecretHashes};
    use crate::ids::{ClientId, ProjectId};
    use crate::oauth::OAuthErrorCode;
    use crate::time::Timestamp;

    fn client(public: bool, origins: &[&str]) -> Client {
        let input = ClientInput {
            name: Some("App".into()),
            require_client_secret: Some(!public),
            redirect_uris: Some(vec!["https://app.example/cb".into()]),
            allowed_cors_origins: Some(origins.iter().map(|o| (*o).to_owned()).collect()),
            ..ClientInput::default()
        };
        Client {
            id: ClientId::parse("app").unwrap(),
            project_id: ProjectId::SYSTEM,
            settings: ClientSettings::create(&input).unwrap(),
            official: false,
            secret: SecretHashes::default(),
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            version: 1,
            last_used_at: None,
        }
    }

    #[test]
    fn only_a_listed_origin_may_read_a_clients_answers() {
        let c = client(true, &["https://app.example", "http://localhost:3000"]);
        assert!(c.allows_cors_origin("https://app.example"));
        assert!(c.allows_cors_origin("http://localhost:3000"));
        assert!(!c.allows_cors_origin("https://app.example.evil"));
        assert!(!c.allows_cors_origin("https://APP.example"));
        assert!(!c.allows_cors_origin(""));
        assert!(!client(false, &[]).allows_cors_origin("https://app.example"));
    }

    #[test]
    fn public_clients_may_not_introspect() {
        let refused = IntrospectionCaller::client(Arc::new(client(true, &[]))).unwrap_err();
        assert_eq!(refused.code, OAuthErrorCode::InvalidClient);
        assert_eq!(refused.description, "public clients cannot introspect");
        let confidential = Arc::new(client(false, &[]));
        assert!(matches!(
            IntrospectionCaller::client(confidential.clone()),
            Ok(IntrospectionCaller::Client(c)) if Arc::ptr_eq(&c, &confidential)
        ));
    }
}
