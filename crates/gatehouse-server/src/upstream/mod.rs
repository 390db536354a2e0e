//! Outbound calls to third-party OAuth providers (SPEC §7, §9.6): token requests (RFC 6749
//! §4.1.3, §6), revocation (RFC 7009) and JSON documents (OIDC discovery, JWKS, GitHub's user
//! API, for upstream identity providers). This is the one client for calls Gatehouse makes on
//! someone's behalf; the LLM proxy gate uses it too. Every call
//! is https (plain http only to loopback, and only with `allow_insecure_upstreams`), goes only
//! where the outbound policy allows ([`gatehouse_core::outbound`]: IP literals and `localhost` are
//! refused by the URL's text, host names by every address they resolve to, and the connection is
//! made to an address that passed, [`resolve`]), ignores proxy settings (a proxy would resolve
//! the name itself), follows no redirect, and is bounded in time and size.

mod forward;
mod resolve;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::outbound::OutboundPolicy;
use gatehouse_core::ports::{Upstream, UpstreamClient, UpstreamError, UpstreamTokens};
use gatehouse_core::secret::SecretString;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

pub(crate) use self::forward::ForwardError;
use self::resolve::{PolicyResolver, Refused, Unresolved};

/// The longest `expires_in` taken from a provider: a year.
const MAX_EXPIRES_IN: i64 = 365 * 86_400;

/// The most a provider's answer may hold.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The outbound HTTP client.
#[derive(Clone)]
pub struct HttpUpstream {
    http: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    resolver: PolicyResolver,
    timeout: Duration,
}

impl HttpUpstream {
    /// A client that calls only where `policy` allows, resolving the names in `fixed` to their
    /// addresses instead of through DNS, each call ending within `timeout`.
    pub fn new(
        policy: OutboundPolicy,
        fixed: BTreeMap<String, Vec<IpAddr>>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let policy = Arc::new(policy);
        let resolver = PolicyResolver::new(policy.clone(), fixed);
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(resolver.clone()))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            policy,
            resolver,
            timeout,
        })
    }

    /// POSTs a form and reads at most [`MAX_RESPONSE_BYTES`] of the answer.
    async fn post(
        &self,
        endpoint: &str,
        client: UpstreamClient<'_>,
        form: &[(&str, &str)],
    ) -> Result<(StatusCode, Vec<u8>), UpstreamError> {
        if let Err(why) = self.policy.check_url(endpoint) {
            return Err(UpstreamError::Refused(why));
        }
        let mut req = self
            .http
            .post(endpoint)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json");
        // RFC 6749 §2.3.1: a confidential client uses Basic, both parts form-encoded first; a
        // public one names itself in the body.
        let body = match client.client_secret {
            Some(secret) => {
                let pair = format!("{}:{}", form_encode(client.client_id), form_encode(secret));
                req = req.header(AUTHORIZATION, format!("Basic {}", STANDARD.encode(pair)));
                form_body(form, None)
            }
            None => form_body(form, Some(client.client_id)),
        };
        self.read(req.body(body)).await
    }

    /// Sends `req` and reads at most [`MAX_RESPONSE_BYTES`] of the answer.
    async fn read(&self, req: reqwest::RequestBuilder) -> Result<(StatusCode, Vec<u8>), UpstreamError> {
        let mut resp = req.send().await.map_err(|e| self.failure(&e))?;
        let status = resp.status();
        if resp.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
            return Err(too_large());
        }
        let mut buf = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.failure(&e))? {
            if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok((status, buf))
    }

    fn failure(&self, e: &reqwest::Error) -> UpstreamError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = source {
            if let Some(refused) = s.downcast_ref::<Refused>() {
                return UpstreamError::Refused(refused.to_string());
            }
            source = s.source();
        }
        let what = if e.is_timeout() {
            format!("no answer within {} s", self.timeout.as_secs_f32())
        } else if e.is_connect() {
            "could not connect".to_owned()
        } else {
            "the request failed".to_owned()
        };
        UpstreamError::Transient(what)
    }
}

fn too_large() -> UpstreamError {
    UpstreamError::Transient(format!("the answer exceeds {MAX_RESPONSE_BYTES} bytes"))
}

fn form_body(form: &[(&str, &str)], client_id: Option<&str>) -> String {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.extend_pairs(form);
    if let Some(id) = client_id {
        body.append_pair("client_id", id);
    }
    body.finish()
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An OAuth error answer (RFC 6749 §5.2) as a refusal; anything else as a transient failure.
fn refusal(status: StatusCode, body: &[u8]) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty() && e.len() <= 100);
    match error {
        Some(error) if status.is_client_error() => UpstreamError::Rejected {
            error: error.to_owned(),
            description: parsed
                .as_ref()
                .and_then(|v| v.get("error_description"))
                .and_then(Value::as_str)
                .map(|d| d.chars().take(300).collect()),
        },
        _ => UpstreamError::Transient(format!("HTTP {}", status.as_u16())),
    }
}

/// A successful token answer (RFC 6749 §5.1). `expires_in` is taken as a number or a string of
/// digits, as some providers send it.
fn tokens(body: &[u8]) -> Result<UpstreamTokens, UpstreamError> {
    let malformed = |why: &str| UpstreamError::Transient(format!("malformed token response: {why}"));
    let v: Value = serde_json::from_slice(body).map_err(|_| malformed("not JSON"))?;
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let access_token = text("access_token").ok_or_else(|| malformed("no access_token"))?;
    let expires_in = match v.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        Some(_) => None,
    }
    .filter(|s| *s >= 0)
    // A provider's answer is not trusted to reach past a year (or overflow a timestamp).
    .map(|s| s.min(MAX_EXPIRES_IN));
    Ok(UpstreamTokens {
        access_token: access_token.into(),
        refresh_token: text("refresh_token").map(SecretString::new),
        expires_in,
        scope: text("scope"),
        id_token: text("id_token").map(SecretString::new),
    })
}

#[async_trait]
impl Upstream for HttpUpstream {
    fn check_endpoint(&self, field: &str, url: &str) -> gatehouse_core::Result<()> {
        self.policy
            .check_url(url)
            .map(drop)
            .map_err(|why| gatehouse_core::Error::invalid(field, why))
    }

    async fn resolve_endpoint(&self, field: &str, url: &str) -> gatehouse_core::Result<()> {
        let url = self
            .policy
            .check_url(url)
            .map_err(|why| gatehouse_core::Error::invalid(field, why))?;
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        match self.resolver.addresses(host).await {
            Err(Unresolved::Refused(why)) => Err(gatehouse_core::Error::invalid(field, why.to_string())),
            // A name that does not resolve now is not refused: the call says what happened.
            Ok(_) | Err(Unresolved::Lookup(_)) => Ok(()),
        }
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn token(
        &self,
        endpoint: &str,
        client: UpstreamClient<'_>,
        form: &[(&str, &str)],
    ) -> Result<UpstreamTokens, UpstreamError> {
        let (status, body) = self.post(endpoint, client, form).await?;
        if status.is_success() {
            tokens(&body)
        } else {
            Err(refusal(status, &body))
        }
    }

    async fn get_json(&self, url: &str, bearer: Option<&str>) -> Result<Value, UpstreamError> {
        if let Err(why) = self.policy.check_url(url) {
            return Err(UpstreamError::Refused(why));
        }
        let mut req = self.http.get(url).header(ACCEPT, "application/json");
        if let Some(token) = bearer {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let (status, body) = self.read(req).await?;
        if !status.is_success() {
            return Err(UpstreamError::Transient(format!("HTTP {}", status.as_u16())));
        }
        serde_json::from_slice(&body).map_err(|_| UpstreamError::Transient("the answer is not JSON".into()))
    }

    async fn revoke(
        &self,
        endpoint: &str,
        client: UpstreamClient<'_>,
        token: &str,
        hint: &str,
    ) -> Result<(), UpstreamError> {
        let form = [("token", token), ("token_type_hint", hint)];
        let (status, body) = self.post(endpoint, client, &form).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(refusal(status, &body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_are_read_leniently_and_checked() {
        let t = tokens(br#"{"access_token":"a","token_type":"Bearer","expires_in":"3600","scope":"x y"}"#).unwrap();
        assert_eq!((t.expires_in, t.scope.as_deref()), (Some(3600), Some("x y")));
        assert!(tokens(br#"{"token_type":"Bearer"}"#).is_err());
        assert!(tokens(b"access_token=a").is_err());
    }

    #[test]
    fn only_client_errors_with_an_oauth_error_are_refusals() {
        let body = br#"{"error":"invalid_grant","error_description":"expired"}"#;
        assert!(
            matches!(refusal(StatusCode::BAD_REQUEST, body), UpstreamError::Rejected { error, .. } if error == "invalid_grant")
        );
        assert!(matches!(
            refusal(StatusCode::BAD_GATEWAY, body),
            UpstreamError::Transient(_)
        ));
        assert!(matches!(
            refusal(StatusCode::BAD_REQUEST, b"<html>"),
            UpstreamError::Transient(_)
        ));
    }

    fn client(allow_loopback: bool, fixed: &[(&str, IpAddr)]) -> HttpUpstream {
        let fixed = fixed.iter().map(|(h, ip)| (h.to_string(), vec![*ip])).collect();
        HttpUpstream::new(
            OutboundPolicy::new(allow_loopback, Vec::new()),
            fixed,
            Duration::from_secs(2),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn endpoints_are_refused_naming_the_field() {
        let strict = client(false, &[("idp.internal.test", "10.1.2.3".parse().unwrap())]);
        assert!(strict.check_endpoint("f", "https://idp.example/token").is_ok());
        let e = strict
            .check_endpoint("oauth.token_endpoint", "https://10.0.0.1/token")
            .unwrap_err();
        assert!(e.to_string().contains("oauth.token_endpoint"), "{e}");
        assert!(
            strict.check_endpoint("f", "https://idp.internal.test/token").is_ok(),
            "a name is judged when it resolves"
        );
        let e = strict
            .resolve_endpoint("oauth.token_endpoint", "https://idp.internal.test/token")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("oauth.token_endpoint") && e.contains("idp.internal.test") && e.contains("private"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_not_called() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let strict = client(false, &[("idp.internal.test", addr.ip())]);
        let public = UpstreamClient {
            client_id: "c",
            client_secret: None,
        };
        let url = format!("https://idp.internal.test:{}/token", addr.port());
        let refused = strict.token(&url, public, &[]).await.unwrap_err();
        assert!(
            matches!(&refused, UpstreamError::Refused(why) if why.contains("idp.internal.test") && why.contains("loopback")),
            "{refused:?}"
        );
        let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
        assert!(accepted.is_err(), "no connection reached the loopback listener");
        // Allowed, the call connects to the address the resolver checked: the name is not in DNS.
        let lax = client(true, &[("idp.internal.test", addr.ip())]);
        let call = tokio::spawn(async move {
            let public = UpstreamClient {
                client_id: "c",
                client_secret: None,
            };
            lax.token(&url, public, &[]).await
        });
        let accepted = tokio::time::timeout(Duration::from_secs(2), listener.accept()).await;
        assert!(accepted.is_ok(), "loopback is called with insecure upstreams");
        drop(accepted);
        assert!(call.await.unwrap().is_err(), "the listener speaks no TLS");
    }
}
