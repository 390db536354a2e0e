//! Name resolution for outbound calls: every address a host resolves to passes the outbound
//! policy ([`gatehouse_core::outbound`]) or is dropped, and the HTTP client connects only to the
//! addresses left, without resolving the name again, so an answer that changes between a check
//! and the call (DNS rebinding) gains nothing. Names may be answered from fixed addresses (tests,
//! embedding); those pass the same policy.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use gatehouse_core::outbound::OutboundPolicy;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A host that resolves only to addresses the policy refuses. The message names the host and
/// the classes of those addresses, not the addresses.
#[derive(Debug)]
pub(super) struct Refused(pub(super) String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Why a host gave no address to call.
pub(super) enum Unresolved {
    Refused(Refused),
    Lookup(std::io::Error),
}

impl From<Unresolved> for BoxError {
    fn from(u: Unresolved) -> Self {
        match u {
            Unresolved::Refused(r) => Box::new(r),
            Unresolved::Lookup(e) => Box::new(e),
        }
    }
}

/// The resolver of the outbound client.
#[derive(Clone)]
pub(super) struct PolicyResolver {
    policy: Arc<OutboundPolicy>,
    fixed: Arc<BTreeMap<String, Vec<IpAddr>>>,
}

impl PolicyResolver {
    pub(super) fn new(policy: Arc<OutboundPolicy>, fixed: BTreeMap<String, Vec<IpAddr>>) -> Self {
        let fixed = fixed.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        Self {
            policy,
            fixed: Arc::new(fixed),
        }
    }

    /// The addresses of `host` that calls may go to, in the order found.
    pub(super) async fn addresses(&self, host: &str) -> Result<Vec<SocketAddr>, Unresolved> {
        let found: Vec<IpAddr> = match self.fixed.get(&host.to_ascii_lowercase()) {
            Some(fixed) => fixed.clone(),
            None => tokio::net::lookup_host((host, 0))
                .await
                .map_err(Unresolved::Lookup)?
                .map(|a| a.ip())
                .collect(),
        };
        let mut refused: Vec<&str> = Vec::new();
        let mut callable = Vec::new();
        for ip in found {
            match self.policy.check_address(host, ip) {
                Ok(()) => callable.push(SocketAddr::new(ip, 0)),
                Err(class) if !refused.contains(&class) => refused.push(class),
                Err(_) => {}
            }
        }
        if callable.is_empty() && !refused.is_empty() {
            return Err(Unresolved::Refused(Refused(format!(
                "{host} resolves only to addresses outbound calls may not reach ({}); outbound_allow may name the host",
                refused.join(", ")
            ))));
        }
        if callable.is_empty() {
            let none = std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host} has no address"));
            return Err(Unresolved::Lookup(none));
        }
        Ok(callable)
    }
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        Box::pin(async move {
            let addrs = this.addresses(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(allow_loopback: bool, fixed: &[(&str, &[&str])]) -> PolicyResolver {
        let fixed = fixed
            .iter()
            .map(|(h, ips)| (h.to_string(), ips.iter().map(|i| i.parse().unwrap()).collect()))
            .collect();
        PolicyResolver::new(Arc::new(OutboundPolicy::new(allow_loopback, Vec::new())), fixed)
    }

    #[tokio::test]
    async fn only_addresses_that_pass_are_returned() {
        let r = resolver(false, &[("Mixed.example", &["10.0.0.1", "93.184.215.14", "fe80::1"])]);
        let addrs = r.addresses("mixed.example").await.ok().unwrap();
        assert_eq!(addrs, [SocketAddr::new("93.184.215.14".parse().unwrap(), 0)]);
    }

    #[tokio::test]
    async fn a_name_with_only_refused_addresses_is_refused_naming_the_host_and_classes() {
        let r = resolver(false, &[("idp.internal", &["10.0.0.1", "127.0.0.1", "10.0.0.2"])]);
        let Err(Unresolved::Refused(Refused(why))) = r.addresses("idp.internal").await else {
            panic!("refused");
        };
        assert_eq!(
            why,
            "idp.internal resolves only to addresses outbound calls may not reach (private, loopback); outbound_allow may name the host"
        );
        assert!(!why.contains("10.0.0.1"), "no address is disclosed");
        let lax = resolver(true, &[("idp.internal", &["127.0.0.1"])]);
        assert!(
            lax.addresses("idp.internal").await.is_ok(),
            "loopback with insecure upstreams"
        );
    }
}
