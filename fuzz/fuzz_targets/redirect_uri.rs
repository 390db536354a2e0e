//! Redirect URIs of client registration (SPEC §4.2; RFC 6749 §3.1.2, RFC 8252 §7) and their
//! matching at the authorization endpoint.
//!
//! Input: a URI; after a newline, optionally a second URI presented against the first.
#![no_main]

use gatehouse_core::clients::uri::{check_redirect_uri, check_web_url, redirect_uri_matches};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (registered, presented) = text.split_once('\n').unwrap_or((text, text));
    let public = check_redirect_uri("redirect_uris", registered, true).is_ok();
    let confidential = check_redirect_uri("redirect_uris", registered, false).is_ok();
    // Public clients may use everything confidential ones may, and private-use schemes besides.
    assert!(!confidential || public);
    if public {
        assert!(!registered.contains(['#', '*']));
        assert!(!registered.chars().any(|c| c.is_whitespace() || c.is_control()));
        let url = Url::parse(registered).expect("an accepted redirect URI parses");
        assert!(url.username().is_empty() && url.password().is_none());
        assert!(url.fragment().is_none());
        // Exact matching: an accepted URI matches itself, and its parsed form is stable.
        assert!(redirect_uri_matches(registered, registered));
        assert_eq!(Url::parse(url.as_str()).as_ref(), Ok(&url));
        if confidential {
            assert!(matches!(url.scheme(), "https" | "http"));
        }
    }
    let _ = check_web_url("client_uri", registered);

    let matched = redirect_uri_matches(registered, presented);
    assert_eq!(
        matched,
        redirect_uri_matches(presented, registered),
        "matching is symmetric"
    );
    if matched && registered != presented {
        // Only the port of an http loopback URI may differ (RFC 8252 §7.3).
        assert!(registered.starts_with("http://") && presented.starts_with("http://"));
        if let (true, Ok(r), Ok(p)) = (public, Url::parse(registered), Url::parse(presented)) {
            assert_eq!(r.scheme(), p.scheme());
            assert_eq!(r.host(), p.host());
            assert_eq!(r.username(), p.username());
            assert_eq!(r.password(), p.password());
            assert_eq!(r.path(), p.path());
            assert_eq!(r.query(), p.query());
            assert_eq!(r.fragment(), p.fragment());
        }
    }
});
