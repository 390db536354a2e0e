//! MeshAgent API key values, `ma-<b64(kid)>-<b64(project_id)>-<secret>` (SPEC §3).
//!
//! Input: the key value.
#![no_main]

use gatehouse_core::api_key::ApiKeyValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    match ApiKeyValue::parse(value) {
        // One key has one spelling: parsing refuses every variant Gatehouse never issues, so
        // an accepted value encodes back to itself, and the key found by id is that key.
        Ok(key) => {
            assert_eq!(key.encode().expose_secret(), value);
            assert!(!key.secret.expose_secret().is_empty());
            assert!(value.ends_with(key.secret.expose_secret()));
        }
        // The value is a secret: the error is the same whatever the value.
        Err(e) => assert_eq!(e.to_string(), ApiKeyValue::parse("").unwrap_err().to_string()),
    }
});
