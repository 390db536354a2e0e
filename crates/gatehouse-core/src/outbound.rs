//! The outbound policy: where calls Gatehouse makes on someone's behalf may go (SPEC §9.6). Today
//! these are the broker's calls to third-party token and revocation endpoints; upstream identity
//! providers and LLM upstreams are to go through the same client and so the same rule.
//!
//! One rule, applied twice: to the URL as given, so that an IP literal or `localhost` is refused
//! as soon as an operation names it, and to every address a host name resolves to, just before
//! the call. The call then connects to an address that passed, never resolving the name again, so
//! a name whose answer changes between the check and the call (DNS rebinding) gains nothing.
//!
//! Refused, unless the allow-list names the host or a network holding the address:
//! - IPv4: `0.0.0.0/8`, loopback `127.0.0.0/8`, private `10.0.0.0/8`, `172.16.0.0/12`,
//!   `192.168.0.0/16`, shared (carrier-grade NAT) `100.64.0.0/10`, link-local `169.254.0.0/16`
//!   (where cloud metadata services answer), `192.0.0.0/24`, documentation, benchmarking
//!   `198.18.0.0/15`, the 6to4 relay `192.88.99.0/24`, multicast `224.0.0.0/4`, reserved
//!   `240.0.0.0/4` and broadcast.
//! - IPv6: `::`, `::1`, IPv4-compatible `::/96`, IPv4-mapped `::ffff:0:0/96` (refused outright,
//!   whatever it maps to: a public service is named by its IPv4 address, not by its mapped form),
//!   NAT64 `64:ff9b::/96` of a refused IPv4 address and local-use NAT64 `64:ff9b:1::/48`, 6to4
//!   `2002::/16` of a refused IPv4 address, Teredo `2001::/32` (it embeds an address only
//!   obfuscated), discard-only `100::/64`, documentation `2001:db8::/32` and `3fff::/20`,
//!   benchmarking `2001:2::/48`, ORCHID `2001:10::/28` and `2001:20::/28`, unique-local
//!   `fc00::/7`, link-local `fe80::/10`, site-local `fec0::/10` and multicast `ff00::/8`.
//!
//! With `allow_loopback` (`--allow-insecure-upstreams`, for local testing) loopback addresses and
//! `localhost` pass, and so does plain http to them. Everything else is https.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use url::{Host, Url};

use crate::clients::uri::is_loopback;

/// Something the allow-list names: a host, every address of which may be called, or a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// A host name as URLs spell it (lower case, punycode), without a trailing dot.
    Host(String),
    /// The addresses whose first `prefix` bits are `addr`'s (a lone address is a /32 or /128).
    Network { addr: IpAddr, prefix: u8 },
}

impl FromStr for Allowed {
    type Err = String;

    /// `idp.corp.example`, `10.20.0.0/16`, `10.20.0.7`, `fd00::/8`, `::1` or `[::1]`.
    fn from_str(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if let Some((addr, prefix)) = s.split_once('/') {
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("{s:?} is not a network such as 10.0.0.0/8 or fd00::/8"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} needs a prefix length of 0-{max}"))?;
            if masked(addr, prefix) != addr {
                return Err(format!("{s:?} has address bits set past its prefix length"));
            }
            return Ok(Self::Network { addr, prefix });
        }
        let bare = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
        if let Ok(addr) = bare.parse::<IpAddr>() {
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            return Ok(Self::Network { addr, prefix });
        }
        match Host::parse(s) {
            Ok(Host::Domain(d)) if !d.is_empty() && !d.contains(['*', ':', '/']) => {
                Ok(Self::Host(d.trim_end_matches('.').to_owned()))
            }
            _ => Err(format!("{s:?} is neither a host name nor a network")),
        }
    }
}

impl Allowed {
    /// Whether this entry lets `host` be called at `ip`. A network holding an IPv4 address
    /// also holds that address's IPv4-mapped form.
    fn admits(&self, host: &str, ip: IpAddr) -> bool {
        match self {
            Self::Host(h) => same_host(h, host),
            Self::Network { addr, prefix } => [ip, ip.to_canonical()]
                .into_iter()
                .any(|ip| ip.is_ipv4() == addr.is_ipv4() && masked(ip, *prefix) == *addr),
        }
    }
}

/// Where calls made on someone's behalf may go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allow_loopback: bool,
    allowed: Vec<Allowed>,
}

impl OutboundPolicy {
    /// Public addresses only, plus loopback with `allow_loopback`, plus what `allowed` names.
    pub fn new(allow_loopback: bool, allowed: Vec<Allowed>) -> Self {
        Self {
            allow_loopback,
            allowed,
        }
    }

    /// The URL, or why no call may go to it, judged by its text: https (plain http only to
    /// loopback with `allow_loopback`), and a host that is neither an IP literal nor `localhost`
    /// (or `*.localhost`) unless the policy lets that address or host through. A host name is
    /// judged again by its addresses when it is resolved ([`OutboundPolicy::check_address`]).
    pub fn check_url(&self, raw: &str) -> Result<Url, String> {
        let url = Url::parse(raw).map_err(|_| "must be an https URL".to_owned())?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) && self.allow_loopback => {}
            "http" if is_loopback(&url) => {
                return Err("must be https (http to loopback needs --allow-insecure-upstreams)".into());
            }
            _ => return Err("must be an https URL".into()),
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(d)) => {
                let local = d.trim_end_matches('.');
                let localhost = local == "localhost" || local.ends_with(".localhost");
                if localhost && !self.allow_loopback && !self.names_host(local) {
                    return Err(format!(
                        "names {d}, a loopback host; outbound calls go only to public addresses unless outbound_allow names the host"
                    ));
                }
                return Ok(url);
            }
            None => return Err("must be an https URL".into()),
        };
        let host = url.host_str().unwrap_or_default();
        match self.check_address(host, literal) {
            Ok(()) => Ok(url),
            Err(class) => Err(format!(
                "names {literal} ({class} address); outbound calls go only to public addresses unless outbound_allow names the address or its network"
            )),
        }
    }

    /// Whether `host` may be called at `ip`, one of its addresses; if not, the class of address
    /// that refuses it ("private", "link-local", …).
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), &'static str> {
        if self.allowed.iter().any(|a| a.admits(host, ip)) || (self.allow_loopback && ip.to_canonical().is_loopback()) {
            return Ok(());
        }
        match reserved(ip) {
            Some(class) => Err(class),
            None => Ok(()),
        }
    }

    fn names_host(&self, host: &str) -> bool {
        self.allowed
            .iter()
            .any(|a| matches!(a, Allowed::Host(h) if same_host(h, host)))
    }
}

/// Why `ip` is not a public address, if it is not: the class of range it lies in.
pub fn reserved(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => reserved_v4(a),
        IpAddr::V6(a) => reserved_v6(a),
    }
}

fn reserved_v4(a: Ipv4Addr) -> Option<&'static str> {
    let [o0, o1, o2, _] = a.octets();
    let class = if o0 == 0 {
        "unspecified"
    } else if a.is_loopback() {
        "loopback"
    } else if a.is_private() {
        "private"
    } else if o0 == 100 && (o1 & 0xc0) == 64 {
        "shared (carrier-grade NAT)"
    } else if a.is_link_local() {
        "link-local"
    } else if a.is_documentation() {
        "documentation"
    } else if o0 == 198 && (o1 & 0xfe) == 18 {
        "benchmarking"
    } else if (o0, o1, o2) == (192, 0, 0) || (o0, o1, o2) == (192, 88, 99) {
        "reserved"
    } else if a.is_multicast() {
        "multicast"
    } else if a.is_broadcast() {
        "broadcast"
    } else if o0 >= 240 {
        "reserved"
    } else {
        return None;
    };
    Some(class)
}

fn reserved_v6(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let class = if a.is_unspecified() {
        "unspecified"
    } else if a.is_loopback() {
        "loopback"
    } else if a.to_ipv4_mapped().is_some() {
        "IPv4-mapped"
    } else if s[..6] == [0; 6] {
        "IPv4-compatible"
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        reserved_v4(embedded(s[6], s[7])).map(|_| "NAT64 form of a non-public")?
    } else if s[..3] == [0x64, 0xff9b, 1] {
        "local-use NAT64"
    } else if s[..4] == [0x100, 0, 0, 0] {
        "discard-only"
    } else if s[0] == 0x2001 && s[1] == 0 {
        "Teredo"
    } else if (s[0] == 0x2001 && (s[1] == 0xdb8 || (s[1] == 2 && s[2] == 0))) || (s[0] == 0x3fff && s[1] < 0x1000) {
        "documentation or benchmarking"
    } else if s[0] == 0x2001 && (0x10..=0x2f).contains(&s[1]) {
        "ORCHID"
    } else if s[0] == 0x2002 {
        reserved_v4(embedded(s[1], s[2])).map(|_| "6to4 form of a non-public")?
    } else if a.is_unique_local() {
        "unique-local"
    } else if a.is_unicast_link_local() {
        "link-local"
    } else if s[0] & 0xffc0 == 0xfec0 {
        "site-local"
    } else if a.is_multicast() {
        "multicast"
    } else {
        return None;
    };
    Some(class)
}

/// `ip` with every bit past the first `prefix` cleared.
fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

fn same_host(a: &str, b: &str) -> bool {
    a.trim_end_matches('.').eq_ignore_ascii_case(b.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_non_public_range_is_refused_with_its_class() {
        for (addr, class) in [
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("100.127.255.255", "shared (carrier-grade NAT)"),
            ("169.254.169.254", "link-local"),
            ("192.0.2.1", "documentation"),
            ("198.51.100.1", "documentation"),
            ("203.0.113.1", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("192.0.0.8", "reserved"),
            ("192.88.99.1", "reserved"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:10.0.0.1", "IPv4-mapped"),
            ("::ffff:8.8.8.8", "IPv4-mapped"),
            ("::10.0.0.1", "IPv4-compatible"),
            ("64:ff9b::10.0.0.1", "NAT64 form of a non-public"),
            ("64:ff9b::169.254.169.254", "NAT64 form of a non-public"),
            ("64:ff9b:1::1", "local-use NAT64"),
            ("100::1", "discard-only"),
            ("2001::1", "Teredo"),
            ("2001:db8::1", "documentation or benchmarking"),
            ("2001:2::1", "documentation or benchmarking"),
            ("3fff::1", "documentation or benchmarking"),
            ("2001:10::1", "ORCHID"),
            ("2001:20::1", "ORCHID"),
            ("2002:c0a8:101::1", "6to4 form of a non-public"),
            ("2002:7f00:1::1", "6to4 form of a non-public"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("ff0e::1", "multicast"),
        ] {
            assert_eq!(reserved(ip(addr)), Some(class), "{addr}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "169.253.0.1",
            "192.0.1.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(reserved(ip(addr)), None, "{addr}");
        }
    }

    #[test]
    fn literals_and_localhost_are_refused_by_the_text_of_the_url() {
        let strict = OutboundPolicy::default();
        for url in [
            "https://127.0.0.1/token",
            "https://10.0.0.1/token",
            "https://[::1]/token",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:127.0.0.1]/token",
            "https://[fd00::1]/t",
            "https://localhost/token",
            "https://LOCALHOST./token",
            "https://idp.localhost/token",
            "http://127.0.0.1:9/token",
            "http://idp.example/token",
            "ftp://idp.example/token",
            "not a url",
        ] {
            assert!(strict.check_url(url).is_err(), "{url}");
        }
        let why = strict.check_url("https://10.0.0.1/token").unwrap_err();
        assert!(why.contains("names 10.0.0.1 (private address)"), "{why}");
        for url in ["https://idp.example/token", "https://93.184.215.14/token"] {
            assert!(strict.check_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn insecure_upstreams_let_loopback_and_plain_http_to_it_through() {
        let lax = OutboundPolicy::new(true, Vec::new());
        for url in [
            "http://127.0.0.1:9/token",
            "https://127.0.0.1/token",
            "http://[::1]:9/token",
            "http://localhost:9/token",
            "https://[::ffff:127.0.0.1]/token",
        ] {
            assert!(lax.check_url(url).is_ok(), "{url}");
        }
        for url in [
            "http://idp.example/token",
            "https://10.0.0.5/token",
            "https://169.254.169.254/x",
            "https://[fd00::1]/t",
            "https://[::ffff:192.168.1.1]/t",
        ] {
            assert!(lax.check_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn the_allow_list_names_hosts_and_networks() {
        let allowed: Vec<Allowed> = [
            "10.0.0.0/8",
            "169.254.169.254",
            "[::1]",
            "fd00::/8",
            "idp.corp.example.",
            "localhost",
        ]
        .into_iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let p = OutboundPolicy::new(false, allowed);
        for url in [
            "https://10.1.2.3/t",
            "https://169.254.169.254/t",
            "https://[::1]/t",
            "https://[fd00::5]/t",
            "https://[::ffff:10.0.0.1]/t",
            "https://localhost/t",
        ] {
            assert!(p.check_url(url).is_ok(), "{url}");
        }
        assert!(p.check_url("https://169.254.169.253/t").is_err());
        assert!(p.check_url("https://127.0.0.1/t").is_err());
        assert!(p.check_url("http://10.1.2.3/t").is_err(), "still https");
        assert_eq!(p.check_address("IDP.corp.example", ip("192.168.0.9")), Ok(()));
        assert_eq!(p.check_address("other.example", ip("192.168.0.9")), Err("private"));
        assert_eq!(p.check_address("other.example", ip("10.9.9.9")), Ok(()));
    }

    #[test]
    fn allow_list_entries_are_parsed_strictly() {
        assert_eq!(
            "10.0.0.0/8".parse(),
            Ok(Allowed::Network {
                addr: ip("10.0.0.0"),
                prefix: 8
            })
        );
        assert_eq!(
            "::1".parse(),
            Ok(Allowed::Network {
                addr: ip("::1"),
                prefix: 128
            })
        );
        assert_eq!(" IDP.Example ".parse(), Ok(Allowed::Host("idp.example".into())));
        for bad in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "fd00::/129",
            "x/8",
            "*.example",
            "",
            "a b",
            "idp.example:443",
        ] {
            assert!(bad.parse::<Allowed>().is_err(), "{bad:?}");
        }
    }
}
