//! Participant tokens (SPEC §6.1–6.4): MeshAgent-compatible HS256 JWTs, read without a key to
//! find the signing API key, then verified with it.
//!
//! Input, by its first byte:
//! - `v` and a token: read and verified with a fixed API key; whatever verifies carries that
//!   key's MAC over exactly its header and payload, names the key's project and has not expired.
//! - anything else, then JSON claims: signed with the fixed key and verified back.
#![no_main]

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::ids::{ApiKeyId, ProjectId};
use gatehouse_core::jose::{Hs256Key, verify_hs256};
use gatehouse_core::participant::{ParticipantClaims, Unverified, Verified};
use gatehouse_core::time::Timestamp;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The signing secret of the MeshAgent SDK's test vectors (`testdata/meshagent`), so that the
/// seed corpus can hold the SDK's own tokens.
const SECRET: &[u8] = b"8Q94EkHiJGZ4trRchXBpIIFSpThj5H-sM_YHq0BQBvQ";
const KEY_ID: uuid::Uuid = uuid::uuid!("0b6a3c55-8a0e-4c35-9d0f-5f3b2f8e6a11");
const PROJECT_ID: uuid::Uuid = uuid::uuid!("7d1f0b9e-2c44-4e8a-b1a3-6c9e5d2f4a70");
/// 2026-06-17, when the test vectors were made.
const NOW: Timestamp = Timestamp::from_millis(1_781_654_400_000);

fn verify(token: &str, secret: &[u8]) -> gatehouse_core::Result<Verified> {
    let unverified = Unverified::read(token)?;
    unverified.key()?;
    unverified.verify(ProjectId::from_uuid(PROJECT_ID), &Hs256Key::new(secret)?, NOW)
}

fn check_verified(token: &str, v: &Verified) {
    let (input, mac) = token.rsplit_once('.').expect("a compact JWS");
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
    assert_eq!(
        URL_SAFE_NO_PAD.decode(mac).ok().as_deref(),
        Some(hmac::sign(&key, input.as_bytes()).as_ref()),
        "a token verified without the key's MAC"
    );
    let (_, payload) = input.split_once('.').expect("a compact JWS");
    assert_eq!(URL_SAFE_NO_PAD.decode(payload).ok().as_ref(), Some(&v.payload));
    assert_eq!(v.claims.sub.as_deref(), Some(PROJECT_ID.to_string().as_str()));
    assert!(v.claims.exp.is_none_or(|exp| exp > NOW.secs()));
    assert!(!v.claims.name.trim().is_empty());
    let (header, claims) = verify_hs256(SECRET, token).expect("the same MAC verifies");
    assert_eq!(header["alg"], "HS256");
    assert_eq!(
        serde_json::from_slice::<Value>(&v.payload).ok(),
        Some(Value::Object(claims))
    );
    // Another key's secret does not verify it.
    assert!(verify(token, &[0x5a; 43]).is_err());
}

fuzz_target!(|data: &[u8]| {
    match data {
        [b'v', token @ ..] => {
            let Ok(token) = std::str::from_utf8(token) else {
                return;
            };
            if let Ok(v) = verify(token, SECRET) {
                check_verified(token, &v);
            }
        }
        [_, claims @ ..] => {
            let Ok(claims) = serde_json::from_slice::<ParticipantClaims>(claims) else {
                return;
            };
            let Ok(token) = claims
                .clone()
                .sign(ApiKeyId::from_uuid(KEY_ID), ProjectId::from_uuid(PROJECT_ID), SECRET)
            else {
                assert!(claims.check().is_err(), "valid claims were not signed");
                return;
            };
            match verify(&token, SECRET) {
                Ok(v) => {
                    check_verified(&token, &v);
                    assert_eq!(v.api_key_id, ApiKeyId::from_uuid(KEY_ID));
                    assert_eq!(v.claims.name, claims.name);
                    assert!(
                        v.claims
                            .grants
                            .iter()
                            .map(|g| &g.name)
                            .eq(claims.grants.iter().map(|g| &g.name))
                    );
                }
                Err(e) => {
                    let expired = claims.exp.is_some_and(|exp| exp <= NOW.secs());
                    assert!(expired || token.len() > gatehouse_core::jose::MAX_TOKEN_LEN, "{e}");
                }
            }
        }
        [] => {}
    }
});
