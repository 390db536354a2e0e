//! Client settings (SPEC §4.2): `ClientSettings::create` and `update` from the REST body
//! (`ClientInput`), with every validation rule.
//!
//! Input: a stream of JSON client inputs: the first creates a client, each later one updates it.
#![no_main]

use gatehouse_core::clients::ClientSettings;
use gatehouse_core::clients::uri::{check_cors_origin, check_redirect_uri, check_web_url, logo_origin};
use gatehouse_types::ClientInput;
use libfuzzer_sys::fuzz_target;

/// Inputs applied per run: enough for create, update and a repeat.
const MAX_INPUTS: usize = 4;

/// Rules that hold for every settings value the constructors return.
fn check_valid(s: &ClientSettings) {
    let public = !s.require_client_secret;
    assert_eq!(public, s.token_endpoint_auth_method == "none");
    assert!(!public || s.require_pkce, "public clients use PKCE");
    assert!(!public || !s.has_grant("client_credentials"));
    if s.has_grant("authorization_code") || s.has_grant("implicit") {
        assert!(!s.redirect_uris.is_empty());
    }
    for u in s.redirect_uris.iter().chain(&s.post_logout_redirect_uris) {
        assert!(check_redirect_uri("redirect_uris", u, public).is_ok(), "{u:?}");
    }
    for o in &s.allowed_cors_origins {
        assert!(check_cors_origin(o).is_ok(), "{o:?}");
    }
    for u in [&s.client_uri, &s.policy_uri, &s.tos_uri].into_iter().flatten() {
        assert!(check_web_url("client_uri", u).is_ok(), "{u:?}");
    }
    if let Some(u) = &s.logo_uri {
        assert!(logo_origin("logo_uri", u).is_ok(), "{u:?}");
    }
    // Each scope is an RFC 6749 §3.3 scope-token; whether it names a built-in scope or one of the
    // project's API resources is checked by the use case, which knows the project.
    let nqchar = |b: u8| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b);
    assert!(
        s.scope.iter().all(|sc| !sc.is_empty() && sc.bytes().all(nqchar)),
        "{:?}",
        s.scope
    );
    assert_eq!(s.offline_access(), s.has_grant("refresh_token"));
    // An update that changes nothing keeps the settings, and they survive storage as JSON.
    assert_eq!(s.update(&ClientInput::default()).as_ref().ok(), Some(s));
    let stored = serde_json::to_vec(s).expect("settings serialise");
    assert_eq!(serde_json::from_slice::<ClientSettings>(&stored).ok().as_ref(), Some(s));
}

fuzz_target!(|data: &[u8]| {
    let mut inputs = serde_json::Deserializer::from_slice(data)
        .into_iter::<ClientInput>()
        .take(MAX_INPUTS)
        .map_while(Result::ok);
    let Some(first) = inputs.next() else {
        return;
    };
    let Ok(mut settings) = ClientSettings::create(&first) else {
        return;
    };
    check_valid(&settings);
    for input in inputs {
        let Ok(updated) = settings.update(&input) else {
            continue;
        };
        check_valid(&updated);
        // The same update twice is the same update once.
        assert_eq!(updated.update(&input).as_ref().ok(), Some(&updated));
        settings = updated;
    }
});
