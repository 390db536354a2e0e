//! What an upstream identity provider is asked, through the [`Upstream`] port and so under the
//! outbound policy: OpenID Connect discovery and JWKS (cached for a few minutes, the JWKS fetched
//! again when a token names an unknown key), the code exchange, and GitHub's user API.

use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::cache::Cache;
use crate::idp::{Expected, IdentityProvider, IdpKind, UpstreamPerson, check_id_token, github_person};
use crate::jose::{self, PublicKey};
use crate::ports::{Upstream, UpstreamClient, UpstreamError};
use crate::secret::SecretString;
use crate::time::Timestamp;

/// How long discovery documents and key sets are trusted (OIDC Core §10.1.1: keys rotate, and a
/// token naming an unknown `kid` fetches the set again at once).
const METADATA_TTL_MS: i64 = 300_000;

/// The endpoints of a provider.
#[derive(Debug, Clone)]
pub(super) struct Endpoints {
    pub authorization: String,
    pub token: String,
    /// OIDC only: where the provider's signing keys are.
    jwks: Option<String>,
    /// RFC 9207 §3: the provider says its authorization responses carry `iss`.
    pub iss_required: bool,
}

/// The upstream side of the flow, with its caches, and the providers in use.
pub(crate) struct Upstreams {
    pub(super) http: Arc<dyn Upstream>,
    /// The config file's providers, then those managed over REST (their secrets opened).
    pub(super) providers: RwLock<Arc<[IdentityProvider]>>,
    endpoints: Cache<String, Endpoints>,
    keys: Cache<String, Vec<PublicKey>>,
}

impl Upstreams {
    pub(crate) fn new(http: Arc<dyn Upstream>) -> Self {
        Self {
            http,
            providers: RwLock::new(Arc::from(Vec::new())),
            endpoints: Cache::with_limits(METADATA_TTL_MS, 100),
            keys: Cache::with_limits(METADATA_TTL_MS, 100),
        }
    }

    /// Puts `providers` in use, forgetting what was cached of any provider (a changed issuer is
    /// discovered again).
    pub(super) fn replace(&self, providers: Vec<IdentityProvider>) {
        *crate::keyring::write(&self.providers) = Arc::from(providers);
        self.endpoints.invalidate(|_, _| false);
        self.keys.invalidate(|_, _| false);
    }

    /// The provider's endpoints: fixed for GitHub, discovered for OIDC (OIDC Discovery §4; the
    /// document's `issuer` must be the configured one, §4.3).
    pub(super) async fn endpoints(&self, p: &IdentityProvider, now: Timestamp) -> Result<Endpoints, String> {
        let issuer = match &p.kind {
            IdpKind::GitHub { web_url, .. } => {
                let base = web_url.trim_end_matches('/');
                return Ok(Endpoints {
                    authorization: format!("{base}/login/oauth/authorize"),
                    token: format!("{base}/login/oauth/access_token"),
                    jwks: None,
                    iss_required: false,
                });
            }
            IdpKind::Oidc { issuer } => issuer,
        };
        if let Some(e) = self.endpoints.get(&p.name, now) {
            return Ok((*e).clone());
        }
        let ticket = self.endpoints.ticket();
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let doc = self.http.get_json(&url, None).await.map_err(|e| why("discovery", &e))?;
        let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
        if text("issuer").as_deref() != Some(issuer.as_str()) {
            return Err("the discovery document names another issuer".into());
        }
        let need = |k: &str| text(k).ok_or_else(|| format!("the discovery document has no {k}"));
        let e = Endpoints {
            authorization: need("authorization_endpoint")?,
            token: need("token_endpoint")?,
            jwks: Some(need("jwks_uri")?),
            iss_required: doc.get("authorization_response_iss_parameter_supported") == Some(&Value::Bool(true)),
        };
        self.endpoints.insert(ticket, p.name.clone(), Arc::new(e.clone()), now);
        Ok(e)
    }

    /// Exchanges `code` (RFC 6749 §4.1.3 with the PKCE verifier, RFC 7636 §4.5) and finds out who
    /// signed in: from the verified ID token for OIDC, from the user API for GitHub.
    pub(super) async fn person(
        &self,
        p: &IdentityProvider,
        e: &Endpoints,
        exchange: Exchange<'_>,
        now: Timestamp,
    ) -> Result<UpstreamPerson, String> {
        let secret = p.client_secret.expose_secret();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", exchange.code),
            ("redirect_uri", exchange.redirect_uri),
            ("code_verifier", exchange.verifier),
        ];
        // GitHub takes the secret in the form; OIDC providers by Basic (RFC 6749 §2.3.1).
        let client = match &p.kind {
            IdpKind::GitHub { .. } => {
                form.push(("client_secret", secret));
                UpstreamClient {
                    client_id: &p.client_id,
                    client_secret: None,
                }
            }
            IdpKind::Oidc { .. } => UpstreamClient {
                client_id: &p.client_id,
                client_secret: Some(secret),
            },
        };
        let tokens = self
            .http
            .token(&e.token, client, &form)
            .await
            .map_err(|e| why("the code exchange", &e))?;
        match &p.kind {
            IdpKind::Oidc { issuer } => {
                let id_token = tokens.id_token.ok_or("the provider sent no ID token")?;
                let want = Expected {
                    issuer,
                    client_id: &p.client_id,
                    nonce: exchange.nonce,
                    now_secs: now.secs(),
                };
                self.verify(p, e, &id_token, &want, now).await
            }
            IdpKind::GitHub { api_url, .. } => {
                let api = api_url.trim_end_matches('/');
                let bearer = Some(tokens.access_token.expose_secret());
                let user = self.http.get_json(&format!("{api}/user"), bearer).await;
                let user = user.map_err(|e| why("GitHub's /user", &e))?;
                let emails = self.http.get_json(&format!("{api}/user/emails"), bearer).await;
                github_person(&user, &emails.map_err(|e| why("GitHub's /user/emails", &e))?)
            }
        }
    }

    /// Verifies the ID token's signature with the provider's key it names, then its claims.
    async fn verify(
        &self,
        p: &IdentityProvider,
        e: &Endpoints,
        token: &SecretString,
        want: &Expected<'_>,
        now: Timestamp,
    ) -> Result<UpstreamPerson, String> {
        let token = token.expose_secret();
        let header = jose::decode_header(token).map_err(|_| "the ID token is malformed".to_owned())?;
        let mut fetched = false;
        let keys = match self.keys.get(&p.name, now) {
            Some(k) => k,
            None => {
                fetched = true;
                self.fetch_keys(p, e, now).await?
            }
        };
        let keys = if find_key(&keys, &header).is_none() && !fetched {
            self.fetch_keys(p, e, now).await?
        } else {
            keys
        };
        let key = find_key(&keys, &header).ok_or("no key of the provider signed the ID token")?;
        let claims = key
            .verify(token)
            .map_err(|_| "the ID token's signature does not verify".to_owned())?;
        check_id_token(&claims, want)
    }

    async fn fetch_keys(
        &self,
        p: &IdentityProvider,
        e: &Endpoints,
        now: Timestamp,
    ) -> Result<Arc<Vec<PublicKey>>, String> {
        let ticket = self.keys.ticket();
        let url = e.jwks.as_deref().ok_or("the provider has no jwks_uri")?;
        let set = self.http.get_json(url, None).await.map_err(|e| why("the JWKS", &e))?;
        // Keys of types or uses this server does not verify with are passed over.
        let keys: Vec<PublicKey> = set
            .get("keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| PublicKey::from_jwk(k).ok())
            .collect();
        let keys = Arc::new(keys);
        self.keys.insert(ticket, p.name.clone(), keys.clone(), now);
        Ok(keys)
    }
}

/// What the code exchange needs from the pending sign-in.
pub(super) struct Exchange<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: &'a str,
    pub nonce: &'a str,
}

/// The key the token's header names (by `kid`, else the only one of its `alg`).
fn find_key<'k>(keys: &'k [PublicKey], header: &jose::Header) -> Option<&'k PublicKey> {
    let mut of_alg = keys.iter().filter(|k| k.alg().as_str() == header.alg);
    match &header.kid {
        Some(kid) => of_alg.find(|k| k.kid() == kid),
        None => {
            let first = of_alg.next();
            first.filter(|_| of_alg.next().is_none())
        }
    }
}

fn why(what: &str, e: &UpstreamError) -> String {
    format!("{what} failed: {e}")
}
