//! URI rules for client registration (SPEC §4.2; RFC 6749 §3.1.2, RFC 8252 §7).

use url::{Host, Url};

use crate::error::{Error, Result};
use crate::text::check_text;

/// Longest URI accepted anywhere in a client registration.
pub const MAX_URI_LEN: usize = 2000;

/// Whether `url` points at a loopback host (RFC 8252 §7.3), where plain `http` is allowed.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks a redirect (or post-logout redirect) URI. The string itself is kept verbatim: matching
/// is exact string equality, so nothing is normalised here.
pub fn check_redirect_uri(field: &str, raw: &str, public_client: bool) -> Result<()> {
    let bad = |reason: &str| Err(Error::invalid(field, format!("{raw:?} {reason}")));
    if raw.len() > MAX_URI_LEN {
        return Err(Error::invalid(
            field,
            format!("URIs are at most {MAX_URI_LEN} characters"),
        ));
    }
    if raw.contains('*') {
        return bad("must not contain a wildcard");
    }
    if raw.contains('#') {
        return bad("must not contain a fragment");
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain whitespace");
    }
    let Ok(url) = Url::parse(raw) else {
        return bad("is not an absolute URI");
    };
    if !url.username().is_empty() || url.password().is_some() {
        return bad("must not contain user information");
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => bad("must use https (http is allowed only for 127.0.0.1, [::1] and localhost)"),
        "https" => bad("must name a host"),
        s if public_client && is_private_use_scheme(s) => Ok(()),
        _ if public_client => bad(
            "must use https, http on loopback, or a private-use scheme in reverse-domain form (com.example.app:/callback)",
        ),
        _ => bad("must use https (private-use schemes are for public clients only)"),
    }
}

/// Whether a presented redirect URI matches a registered one: exact string equality, except that
/// the port of an `http` loopback URI may differ (RFC 8252 §7.3; SPEC §5.2). Nothing else is
/// normalised: a changed path, query or case does not match.
pub fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    match (split_loopback(registered), split_loopback(presented)) {
        (Some((h1, rest1)), Some((h2, rest2))) => h1 == h2 && rest1 == rest2,
        _ => false,
    }
}

/// `http://HOST[:PORT]REST` with a loopback HOST → `(HOST, REST)`.
fn split_loopback(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => {
            let port = &authority[i + 1..];
            // A port is 0–65535 (RFC 3986 §3.2.3 allows more digits; a URL parser does not).
            if !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
                return None;
            }
            &authority[..i]
        }
        _ => authority,
    };
    let loopback =
        host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback()) || host == "[::1]";
    loopback.then_some((host, tail))
}

/// RFC 8252 §7.1: a private-use scheme is a reverse domain name, so it contains a dot.
fn is_private_use_scheme(scheme: &str) -> bool {
    scheme.contains('.') && !matches!(scheme, "javascript" | "data" | "file" | "vbscript")
}

/// Checks an `https` (or loopback `http`) URL such as `client_uri`.
pub fn check_web_url(field: &str, raw: &str) -> Result<()> {
    web_url(field, raw).map(drop)
}

/// [`check_web_url`], returning the parsed URL.
pub fn web_url(field: &str, raw: &str) -> Result<Url> {
    let bad = || {
        Err(Error::invalid(
            field,
            format!("{raw:?} must be an absolute https URL (http only on loopback)"),
        ))
    };
    if raw.len() > MAX_URI_LEN {
        return Err(Error::invalid(
            field,
            format!("URLs are at most {MAX_URI_LEN} characters"),
        ));
    }
    // The URL parser drops or escapes control characters; the text as given is what is stored.
    check_text(field, raw, MAX_URI_LEN, true)?;
    match Url::parse(raw) {
        Ok(u) if !u.username().is_empty() || u.password().is_some() => Err(Error::invalid(
            field,
            format!("{raw:?} must not contain user information"),
        )),
        Ok(u) if u.scheme() == "https" && u.host().is_some() => Ok(u),
        Ok(u) if u.scheme() == "http" && is_loopback(&u) => Ok(u),
        _ => bad(),
    }
}

/// Checks a client's `logo_uri` ([`web_url`]) and returns its origin, which the pages showing the
/// logo add to their CSP `img-src`. A CSP source names a host by letters, digits, dots and
/// hyphens, so the host must be a domain name or an IPv4 address.
pub fn logo_origin(field: &str, raw: &str) -> Result<String> {
    let url = web_url(field, raw)?;
    let nameable = match url.host() {
        Some(Host::Domain(d)) => d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
        Some(Host::Ipv4(_)) => true,
        _ => false,
    };
    if !nameable {
        return Err(Error::invalid(
            field,
            format!("{raw:?} must name its host by domain name or IPv4 address"),
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// Checks a CORS origin: `scheme://host[:port]`, nothing more, and no trailing slash.
pub fn check_cors_origin(raw: &str) -> Result<()> {
    let field = "allowed_cors_origins";
    let bad = |reason: &str| Err(Error::invalid(field, format!("{raw:?} {reason}")));
    if raw.len() > MAX_URI_LEN {
        return bad("is too long");
    }
    if raw.ends_with('/') {
        return bad("must not end with a slash: an origin is scheme://host[:port]");
    }
    let Ok(url) = Url::parse(raw) else {
        return bad("is not an origin of the form scheme://host[:port]");
    };
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return bad("must be an http or https origin");
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return bad("must not have a path, query or fragment: an origin is scheme://host[:port]");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad("must not contain user information");
    }
    // The serialised origin must be exactly what was given (no default port, lowercase host).
    if url.origin().ascii_serialization() != raw {
        return bad(&format!(
            "is not in canonical form; use {:?}",
            url.origin().ascii_serialization()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_except_the_loopback_port() {
        assert!(redirect_uri_matches("https://a.example/cb", "https://a.example/cb"));
        assert!(!redirect_uri_matches(
            "https://a.example/cb",
            "https://a.example/cb?x=1"
        ));
        assert!(!redirect_uri_matches(
            "https://a.example/cb?x=1",
            "https://a.example/cb?x=2"
        ));
        assert!(!redirect_uri_matches("https://a.example/cb", "https://A.example/cb"));
        assert!(!redirect_uri_matches(
            "https://a.example:443/cb",
            "https://a.example:444/cb"
        ));
        assert!(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:49152/cb"));
        assert!(redirect_uri_matches("http://[::1]:80/cb", "http://[::1]:8080/cb"));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:49152/cb/"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.2:49152/cb"
        ));
        assert!(!redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:x/cb"));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:99999/cb"
        ));
        assert!(!redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:/cb"));
        assert!(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:65535/cb"));
    }
    use proptest::prelude::*;

    #[test]
    fn https_and_loopback_http_redirects_are_accepted() {
        for ok in [
            "https://app.example.com/cb",
            "https://app.example.com/cb?x=1",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost:3000/callback",
        ] {
            assert!(check_redirect_uri("redirect_uris", ok, false).is_ok(), "{ok}");
        }
    }

    #[test]
    fn unsafe_redirects_are_rejected() {
        for bad in [
            "https://app.example.com/cb#frag",
            "https://*.example.com/cb",
            "https://user:pw@app.example.com/cb",
            "http://app.example.com/cb",
            "/relative/cb",
            "javascript:alert(1)",
            "https://app.example.com/c b",
        ] {
            assert!(check_redirect_uri("redirect_uris", bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_use_schemes_are_for_public_clients_only() {
        assert!(check_redirect_uri("redirect_uris", "com.example.app:/cb", true).is_ok());
        assert!(check_redirect_uri("redirect_uris", "com.example.app:/cb", false).is_err());
        assert!(check_redirect_uri("redirect_uris", "myapp:/cb", true).is_err());
    }

    #[test]
    fn cors_origins_have_no_path_and_no_trailing_slash() {
        assert!(check_cors_origin("https://app.example.com").is_ok());
        assert!(check_cors_origin("http://localhost:3000").is_ok());
        let slash = check_cors_origin("https://app.example.com/").unwrap_err();
        assert!(slash.to_string().contains("slash"), "{slash}");
        assert!(check_cors_origin("https://app.example.com/path").is_err());
        assert!(check_cors_origin("https://app.example.com:443").is_err());
        assert!(check_cors_origin("ftp://app.example.com").is_err());
        assert!(check_cors_origin("https://App.example.com").is_err());
    }

    #[test]
    fn client_uri_must_be_https_or_loopback() {
        assert!(check_web_url("client_uri", "https://example.com").is_ok());
        assert!(check_web_url("client_uri", "http://127.0.0.1:9000").is_ok());
        assert!(check_web_url("client_uri", "http://example.com").is_err());
        assert!(check_web_url("client_uri", "example.com").is_err());
        assert!(check_web_url("client_uri", "https://user:pw@example.com").is_err());
    }

    #[test]
    fn a_logo_is_allowed_by_its_exact_origin() {
        let origin = |u: &str| logo_origin("logo_uri", u);
        assert_eq!(
            origin("https://CDN.example.com/a/logo.png?v=2").unwrap(),
            "https://cdn.example.com"
        );
        assert_eq!(
            origin("https://cdn.example.com:8443/l.png").unwrap(),
            "https://cdn.example.com:8443"
        );
        assert_eq!(origin("http://127.0.0.1:9000/l.png").unwrap(), "http://127.0.0.1:9000");
        for bad in [
            "http://cdn.example.com/l.png",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "/logo.png",
            "https://[2001:db8::1]/l.png",
            "http://[::1]:9000/l.png",
            "https://a;script-src/l.png",
            "https://a_b.example/l.png",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn redirect_check_never_panics_and_rejects_fragments(s in "\\PC{0,80}") {
            let _ = check_redirect_uri("redirect_uris", &s, true);
            let with_fragment = format!("https://a.example/{s}#f");
            prop_assert!(check_redirect_uri("redirect_uris", &with_fragment, true).is_err());
        }

        #[test]
        fn cors_check_never_panics(s in "\\PC{0,80}") {
            let _ = check_cors_origin(&s);
        }

        #[test]
        fn an_accepted_logo_origin_is_one_csp_source(host in "\\PC{1,40}", path in "\\PC{0,40}") {
            if let Ok(origin) = logo_origin("logo_uri", &format!("https://{host}/{path}")) {
                prop_assert!(origin.starts_with("https://"));
                prop_assert!(origin[8..].bytes().all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b)), "{origin}");
            }
        }
    }
}
