//! Scope parameters (RFC 6749 §3.3): `Scopes::parse`, and narrowing a request to what a client
//! may have (SPEC §5.6).
//!
//! Input: the requested scope; after a newline, optionally the client's allowed scopes
//! (space-delimited; all known scopes when absent).
#![no_main]

use gatehouse_core::clients::KNOWN_SCOPES;
use gatehouse_core::oauth::scope::Scopes;
use libfuzzer_sys::fuzz_target;

/// Scopes never granted without a signed-in user.
const USER_ONLY: [&str; 5] = ["openid", "profile", "email", "role", "offline_access"];

fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (raw, allowed) = match text.split_once('\n') {
        Some((raw, allowed)) => (
            raw,
            allowed.split(' ').filter(|s| !s.is_empty()).map(String::from).collect(),
        ),
        None => (text, KNOWN_SCOPES.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
    };
    let Ok(scopes) = Scopes::parse(raw) else {
        return;
    };
    let tokens: Vec<&str> = scopes.iter().collect();
    for (i, t) in tokens.iter().enumerate() {
        assert!(is_scope_token(t), "{t:?}");
        assert!(!tokens[..i].contains(t), "duplicate {t:?}");
        assert!(raw.split(' ').any(|r| r == *t), "{t:?} was not requested");
    }
    assert_eq!(Scopes::parse(&scopes.to_wire()).ok().as_ref(), Some(&scopes));

    for offline in [true, false] {
        match Scopes::for_user(Some(&scopes), &allowed, offline) {
            Ok(granted) => {
                for s in granted.iter() {
                    assert!(allowed.iter().any(|a| a == s), "{s:?} is not allowed");
                    assert!(scopes.is_empty() || scopes.contains(s), "{s:?} was not requested");
                    assert!(offline || s != "offline_access");
                }
            }
            Err(_) => assert!(!scopes.is_empty() && !scopes.iter().any(|s| allowed.iter().any(|a| a == s))),
        }
    }
    match Scopes::for_client(Some(&scopes), &allowed) {
        Ok(granted) => {
            for s in granted.iter() {
                assert!(!USER_ONLY.contains(&s), "{s:?} needs a user");
                assert!(allowed.iter().any(|a| a == s), "{s:?} is not allowed");
            }
            assert!(scopes.is_empty() || granted.is_subset(&scopes));
        }
        Err(_) => assert!(!scopes.is_empty()),
    }
});
