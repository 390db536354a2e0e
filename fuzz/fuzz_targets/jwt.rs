//! Compact JWS (RFC 7515) for the provider's own keys: header decoding, signature verification
//! (ES256, RS256, EdDSA), signing, and public JWKs (RFC 7517). The property that matters: a
//! token verifies only under the key that signed it, and only with what was signed.
//!
//! Input, by its first byte:
//! - `v` and a token: verified against three fixed keys; whatever verifies must be a token one
//!   of them signed (this target signs a fixed set of claims with each at start-up).
//! - `k` and a JSON object: read as a JWK; no token signed by the fixed keys verifies under it
//!   unless it is the signer's public key.
//! - any other byte `m`, then two bytes `p` and `x`, then a JSON object: the claims are signed
//!   with fixed key `m % 3` and verified back; byte `p` (scaled to the token) is XORed with `x`,
//!   and the changed token must not verify with other claims.
#![no_main]

use std::sync::LazyLock;

use gatehouse_core::jose::{MAX_TOKEN_LEN, PublicKey, SigningAlg, SigningKey, decode_header};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

/// A token one of the fixed keys signed at start-up.
struct Signed {
    key: usize,
    token: String,
    claims: Map<String, Value>,
}

struct Fixture {
    keys: [SigningKey; 3],
    /// An ES256 key that signed nothing here.
    stranger: SigningKey,
    signed: Vec<Signed>,
}

/// The `typ` values tokens are signed with: the prepared ones and one the key builds on demand.
const TYPS: [&str; 4] = ["at+jwt", "JWT", "logout+jwt", "dpop+jwt"];

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let load = |kid: &str, alg, der: &[u8]| SigningKey::from_pkcs8(kid.into(), alg, der).expect("a fixed key");
    let keys = [
        load("fuzz-es256", SigningAlg::Es256, include_bytes!("../keys/es256.der")),
        load("fuzz-rs256", SigningAlg::Rs256, include_bytes!("../keys/rs256.der")),
        load("fuzz-eddsa", SigningAlg::EdDsa, include_bytes!("../keys/eddsa.der")),
    ];
    let (stranger, _) = SigningKey::generate("fuzz-es256".into(), SigningAlg::Es256).expect("a key");
    let mut signed = Vec::new();
    for (key, k) in keys.iter().enumerate() {
        for (typ, claims) in TYPS.iter().zip(known_claims()) {
            let token = k.sign(typ, &claims).expect("signing");
            signed.push(Signed { key, token, claims });
        }
    }
    Fixture { keys, stranger, signed }
});

/// The claims the fixed keys sign at start-up; the seed corpus holds the resulting tokens.
fn known_claims() -> Vec<Map<String, Value>> {
    let object = |v: Value| match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    vec![
        object(json!({
            "iss": "https://id.example.com", "sub": "user-1", "aud": "client-1", "client_id": "client-1",
            "iat": 1_781_654_400, "exp": 1_781_658_000, "scope": "openid profile", "jti": "7f3a",
        })),
        object(json!({
            "iss": "https://id.example.com", "sub": "user-2", "aud": ["client-1", "client-2"],
            "nonce": "n-0S6_WzA2Mj", "exp": 1_781_658_000, "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
        })),
        object(json!({ "iss": "https://id.example.com", "sid": "s-1", "events": {} })),
        object(json!({})),
    ]
}

/// `header.payload` of a compact JWS.
fn signing_input(token: &str) -> &str {
    token.rsplit_once('.').map_or(token, |(input, _)| input)
}

/// A token verified against every fixed key: only the key that signed it accepts it, and only
/// for exactly what it signed.
fn verify_token(token: &str) {
    let f = &*FIXTURE;
    let header = decode_header(token);
    for (i, key) in f.keys.iter().enumerate() {
        let Ok(claims) = key.public_key().verify(token) else {
            continue;
        };
        let Some(signed) = f
            .signed
            .iter()
            .find(|s| s.key == i && signing_input(&s.token) == signing_input(token))
        else {
            panic!("{} accepted a token it never signed: {token:?}", key.kid());
        };
        assert_eq!(claims, signed.claims);
        assert_eq!(header.as_ref().map(|h| h.alg.as_str()).ok(), Some(key.alg().as_str()));
        // RS256 and EdDSA signatures are deterministic: there is no second valid signature.
        if key.alg() != SigningAlg::Es256 {
            assert_eq!(token, signed.token);
        }
    }
    assert!(f.stranger.public_key().verify(token).is_err());
}

/// A JWK read from untrusted JSON: it writes back to itself, and verifies a fixed key's token
/// only when it is that key.
fn read_jwk(value: &Value) {
    let Ok(key) = PublicKey::from_jwk(value) else {
        return;
    };
    let jwk = key.jwk();
    let again = PublicKey::from_jwk(&jwk).expect("a written JWK reads back");
    assert_eq!(again.jwk(), jwk);
    let material = |jwk: &Value| ["kty", "crv", "x", "y", "n", "e"].map(|m| jwk.get(m).cloned());
    let f = &*FIXTURE;
    for s in f.signed.iter().filter(|s| f.keys[s.key].alg() == key.alg()) {
        if key.verify(&s.token).is_ok() {
            assert_eq!(material(&jwk), material(&f.keys[s.key].public_key().jwk()));
        }
    }
}

/// Claims signed with a fixed key verify back to exactly the signed JSON, under that key only;
/// a changed token verifies only if its signing input is unchanged (ECDSA signatures have two
/// valid forms).
fn sign_and_verify(key: usize, typ: &str, position: u8, xor: u8, claims: &Map<String, Value>) {
    let f = &*FIXTURE;
    let signer = &f.keys[key];
    let token = signer.sign(typ, claims).expect("signing claims");
    let (_, payload, _) = split3(&token);
    let signed: Map<String, Value> = serde_json::from_slice(&b64(payload)).expect("the payload is JSON");
    if token.len() > MAX_TOKEN_LEN {
        assert!(
            signer.public_key().verify(&token).is_err(),
            "an oversized token verified"
        );
        return;
    }
    assert_eq!(signer.public_key().verify(&token).ok().as_ref(), Some(&signed));
    let header = decode_header(&token).expect("a signed header reads back");
    assert_eq!(
        (header.alg.as_str(), header.kid.as_deref(), header.typ.as_deref()),
        (signer.alg().as_str(), Some(signer.kid()), Some(typ))
    );
    for (i, other) in f.keys.iter().enumerate().filter(|(i, _)| *i != key) {
        assert!(
            other.public_key().verify(&token).is_err(),
            "key {i} accepted key {key}'s token"
        );
    }
    assert!(f.stranger.public_key().verify(&token).is_err());

    let mut changed = token.clone().into_bytes();
    let at = usize::from(position) * changed.len() / 256;
    changed[at] ^= xor;
    if let Ok(changed) = String::from_utf8(changed)
        && changed != token
        && signer.public_key().verify(&changed).is_ok()
    {
        assert_eq!(signer.alg(), SigningAlg::Es256, "{changed:?}");
        assert_eq!(signing_input(&changed), signing_input(&token));
    }
}

fn split3(token: &str) -> (&str, &str, &str) {
    let mut parts = token.splitn(3, '.');
    let mut next = || parts.next().expect("three parts");
    (next(), next(), next())
}

fn b64(segment: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .expect("base64url")
}

fuzz_target!(|data: &[u8]| {
    match data {
        [b'v', token @ ..] => {
            if let Ok(token) = std::str::from_utf8(token) {
                verify_token(token);
            }
        }
        [b'k', jwk @ ..] => {
            if let Ok(value) = serde_json::from_slice::<Value>(jwk) {
                read_jwk(&value);
            }
        }
        [mode, position, xor, claims @ ..] => {
            if let Ok(claims) = serde_json::from_slice::<Map<String, Value>>(claims) {
                let typ = TYPS[usize::from(*mode / 3) % TYPS.len()];
                sign_and_verify(usize::from(*mode % 3), typ, *position, *xor, &claims);
            }
        }
        _ => {}
    }
});
