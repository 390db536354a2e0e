//! CORS origins of client registration: `scheme://host[:port]`, in canonical form.
//!
//! Input: the origin.
#![no_main]

use gatehouse_core::clients::uri::check_cors_origin;
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if check_cors_origin(raw).is_err() {
        return;
    }
    // What a browser sends in `Origin` is compared by string equality with the stored value: an
    // accepted value is exactly the serialisation of its own origin, so a browser can send it.
    let url = Url::parse(raw).expect("an accepted origin parses");
    assert!(matches!(url.scheme(), "http" | "https"));
    assert!(url.origin().is_tuple());
    assert_eq!(url.origin().ascii_serialization(), raw);
    assert!(url.username().is_empty() && url.password().is_none());
    assert_eq!(url.path(), "/");
    assert!(url.query().is_none() && url.fragment().is_none());
    assert!(!raw.ends_with('/'));
});
