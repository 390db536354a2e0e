//! A second Gatehouse playing the third-party OAuth provider of the room secrets broker
//! (SPEC §7): a user who consents, and a confidential client whose redirect URI is the consent
//! callback. Being a real provider, it also answers introspection and counts its tokens.

use std::sync::Arc;

use gatehouse_core::time::Clock;
use serde_json::{Value, json};

use crate::{Backend, Browser, TestServer};

/// The scopes the provider's client is registered for and the broker asks for.
pub const SCOPES: [&str; 3] = ["openid", "email", "offline_access"];

/// The provider, its consenting user and its client.
pub struct Provider {
    pub s: TestServer,
    pub client_id: String,
    pub secret: String,
    email: String,
    password: String,
}

impl Provider {
    /// A provider on SQLite running on `clock`, with the user `email`/`password` and a client
    /// for `callback` whose refresh tokens live two hours.
    pub async fn start(clock: Arc<dyn Clock>, callback: &str, email: &str, password: &str) -> Self {
        let s = TestServer::spawn_clocked(Backend::Sqlite, |_| {}, clock).await;
        s.user(email, password).await;
        let settings = json!({
            "name": "Room consent example",
            "redirect_uris": [callback],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": SCOPES.join(" "),
            "refresh_token_ttl": 7200,
        });
        let (client_id, secret) = s.client(&s.admin_key, &s.system_project, settings).await;
        Self {
            s,
            client_id,
            secret: secret.expect("a confidential client"),
            email: email.to_owned(),
            password: password.to_owned(),
        }
    }

    /// The provider as a broker request's inline `oauth` (SPEC §7.2).
    pub fn oauth(&self) -> Value {
        let b = &self.s.base;
        json!({
            "client_id": self.client_id,
            "authorization_endpoint": format!("{b}/oauth/authorize"),
            "token_endpoint": format!("{b}/oauth/token"),
            "revocation_endpoint": format!("{b}/oauth/revoke"),
            "issuer": b,
            "client_secret": self.secret,
            "scopes": SCOPES,
        })
    }

    /// What the participant's page does with a prompt: opens the provider's page with the
    /// challenge, signs in and allows; returns the redirect's `code` and `iss`.
    pub async fn consent(&self, prompt: &Value) -> (String, String) {
        let url = consent_url(prompt).expect("a complete prompt");
        let page = Browser::new(&self.s.base)
            .authorize(&url, &self.email, &self.password)
            .await;
        let p = page.redirect_params();
        assert_eq!(p.get("state"), prompt["state"].as_str().map(str::to_owned).as_ref());
        (p["code"].clone(), p["iss"].clone())
    }

    /// Whether the provider says `token` is an active access token (RFC 7662).
    pub async fn active(&self, token: &str) -> bool {
        self.s.introspect(token).await["active"] == true
    }

    /// Successful token requests the provider has answered, from its own metrics.
    pub async fn tokens_issued(&self) -> u64 {
        let text = self.s.get_text("/metrics").await;
        text.lines()
            .filter(|l| l.contains("_count{") && l.contains("route=\"/oauth/token\"") && l.contains("status=\"200\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

/// The provider page a participant's app opens for a broker `prompt` (the body of a
/// `secrets.request_oauth_token` message): the authorization request with the prompt's state
/// and PKCE challenge. `None` when the prompt lacks a field.
pub fn consent_url(prompt: &Value) -> Option<String> {
    let request = &prompt["request"];
    let text = |k: &str| request[k].as_str();
    let scopes: Vec<&str> = request["scopes"].as_array()?.iter().filter_map(Value::as_str).collect();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", text("client_id")?),
            ("redirect_uri", text("redirect_uri")?),
            ("scope", &scopes.join(" ")),
            ("state", prompt["state"].as_str()?),
            ("code_challenge", prompt["challenge"].as_str()?),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    Some(format!("{}?{query}", text("authorization_endpoint")?))
}
