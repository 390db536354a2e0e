//! Outbound calls to third-party OAuth providers (SPEC §7, §9.6): token requests (RFC 6749
//! §4.1.3, §6) and revocation (RFC 7009). Every call is https (plain http only to loopback, and
//! only with `allow_insecure_upstreams`), goes only to public addresses (loopback too with that
//! setting), follows no redirect, and is bounded in time and size.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::clients::uri::is_loopback;
use gatehouse_core::ports::{Upstream, UpstreamClient, UpstreamError, UpstreamTokens};
use gatehouse_core::secret::SecretString;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

/// The longest `expires_in` taken from a provider: a year.
const MAX_EXPIRES_IN: i64 = 365 * 86_400;

/// The most a provider's answer may hold.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The HTTP client of the broker.
#[derive(Debug, Clone)]
pub struct HttpUpstream {
    http: reqwest::Client,
    allow_insecure: bool,
    timeout: Duration,
}

impl HttpUpstream {
    /// A client whose calls each end within `timeout`.
    pub fn new(allow_insecure: bool, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(PublicOnly {
                allow_loopback: allow_insecure,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            allow_insecure,
            timeout,
        })
    }

    /// Why a request to `raw` is refused, if it is. Names are checked again when resolved.
    fn refusal(&self, raw: &str) -> Option<&'static str> {
        let literal = |u: &url::Url| match u.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        match url::Url::parse(raw) {
            Ok(u) if literal(&u).is_some_and(|ip| !callable(ip, self.allow_insecure)) => {
                Some("must not name a private, link-local or otherwise internal address")
            }
            Ok(u) if u.scheme() == "https" && u.host().is_some() => None,
            Ok(u) if u.scheme() == "http" && is_loopback(&u) && self.allow_insecure => None,
            Ok(u) if u.scheme() == "http" && is_loopback(&u) => {
                Some("must be https (http to loopback needs --allow-insecure-upstreams)")
            }
            _ => Some("must be an https URL"),
        }
    }

    /// POSTs a form and reads at most [`MAX_RESPONSE_BYTES`] of the answer.
    async fn post(
        &self,
        endpoint: &str,
        client: UpstreamClient<'_>,
        form: &[(&str, &str)],
    ) -> Result<(StatusCode, Vec<u8>), UpstreamError> {
        if let Some(why) = self.refusal(endpoint) {
            return Err(UpstreamError::Transient(format!("the endpoint {why}")));
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
        let mut resp = req.body(body).send().await.map_err(|e| self.failure(&e))?;
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

/// Whether calls may go to `ip`: public addresses, and loopback when insecure upstreams are
/// allowed. Private, link-local, shared, documentation, multicast and reserved ranges never.
fn callable(ip: IpAddr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    match ip {
        IpAddr::V4(a) => {
            let [o0, o1, o2, _] = a.octets();
            !(a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_documentation()
                || a.is_multicast()
                || o0 == 0
                || o0 >= 240
                || (o0 == 100 && (o1 & 0xc0) == 64)
                || (o0 == 192 && o1 == 0 && o2 == 0)
                || (o0 == 198 && (o1 & 0xfe) == 18))
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return callable(IpAddr::V4(v4), allow_loopback);
            }
            let s = a.segments();
            !(a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// Name resolution that keeps only addresses calls may go to, so a public-looking name cannot
/// lead the server into its own network.
struct PublicOnly {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let addrs: Vec<SocketAddr> = found.filter(|a| callable(a.ip(), allow_loopback)).collect();
            if addrs.is_empty() {
                return Err(format!("{} resolves to no public address", name.as_str()).into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
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
    })
}

#[async_trait]
impl Upstream for HttpUpstream {
    fn check_endpoint(&self, field: &str, url: &str) -> gatehouse_core::Result<()> {
        match self.refusal(url) {
            None => Ok(()),
            Some(why) => Err(gatehouse_core::Error::invalid(field, why)),
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

    #[test]
    fn plain_http_only_to_loopback_and_only_when_allowed() {
        let strict = HttpUpstream::new(false, Duration::from_secs(1)).unwrap();
        let lax = HttpUpstream::new(true, Duration::from_secs(1)).unwrap();
        assert!(strict.check_endpoint("f", "https://idp.example/token").is_ok());
        assert!(strict.check_endpoint("f", "http://127.0.0.1:9/token").is_err());
        assert!(lax.check_endpoint("f", "http://127.0.0.1:9/token").is_ok());
        assert!(lax.check_endpoint("f", "http://idp.example/token").is_err());
        assert!(lax.check_endpoint("f", "ftp://idp.example/token").is_err());
        for internal in [
            "https://10.0.0.5/token",
            "https://169.254.169.254/x",
            "https://[fd00::1]/t",
            "https://[::ffff:192.168.1.1]/t",
        ] {
            assert!(lax.check_endpoint("f", internal).is_err(), "{internal}");
        }
        assert!(strict.check_endpoint("f", "https://127.0.0.1/token").is_err());
        assert!(strict.check_endpoint("f", "https://93.184.215.14/token").is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_not_called() {
        let strict = HttpUpstream::new(false, Duration::from_secs(2)).unwrap();
        let client = UpstreamClient {
            client_id: "c",
            client_secret: None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let refused = strict
            .token(&format!("https://localhost:{port}/token"), client, &[])
            .await
            .unwrap_err();
        assert!(matches!(refused, UpstreamError::Transient(_)), "{refused:?}");
        let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
        assert!(accepted.is_err(), "no connection reached the loopback listener");
    }
}
