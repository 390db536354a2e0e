use std::sync::OnceLock;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

/// One generated key per algorithm, shared across tests (RSA generation is slow).
fn keys() -> &'static [(SigningKey, Pkcs8Der); 3] {
    static KEYS: OnceLock<[(SigningKey, Pkcs8Der); 3]> = OnceLock::new();
    KEYS.get_or_init(|| SigningAlg::ALL.map(|alg| SigningKey::generate(format!("k-{alg}"), alg).unwrap()))
}

/// A second, unrelated key per algorithm.
fn other_keys() -> &'static [SigningKey; 3] {
    static KEYS: OnceLock<[SigningKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| SigningAlg::ALL.map(|alg| SigningKey::generate(format!("other-{alg}"), alg).unwrap().0))
}

fn signing_keys() -> impl Iterator<Item = &'static SigningKey> {
    keys().iter().map(|(k, _)| k)
}

fn claims() -> Value {
    json!({"iss": "https://gatehouse.example", "sub": "user-1", "aud": "api", "exp": 1_900_000_000, "scope": "a b"})
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn segments(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

fn is_unauthorized<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(Error::Unauthorized(_)))
}

/// `token` with its header replaced by `header`, payload and signature kept.
fn with_header(token: &str, header: &Value) -> String {
    let s = segments(token);
    format!("{}.{}.{}", b64(header.to_string().as_bytes()), s[1], s[2])
}

fn header_json(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segments(token)[0]).unwrap()).unwrap()
}

#[test]
fn algorithm_names_parse_exactly_and_round_trip() {
    for alg in SigningAlg::ALL {
        assert_eq!(SigningAlg::parse(alg.as_str()), Some(alg));
    }
    assert_eq!(SigningAlg::ALL[0], SigningAlg::Es256);
    for bad in ["es256", "EDDSA", "Ed25519", "HS256", "none", "", "RS256 "] {
        assert_eq!(SigningAlg::parse(bad), None, "{bad}");
    }
}

#[test]
fn every_algorithm_signs_tokens_that_its_public_key_verifies() {
    for key in signing_keys() {
        let token = key.sign("at+jwt", &claims()).unwrap();
        assert_eq!(segments(&token).len(), 3);
        let verified = key.public_key().verify(&token).unwrap();
        assert_eq!(Value::Object(verified), claims());
        assert_eq!(
            decode_header(&token).unwrap(),
            Header {
                alg: key.alg().as_str().into(),
                kid: Some(key.kid().into()),
                typ: Some("at+jwt".into())
            }
        );
        let odd_typ = key.sign("secevent+jwt", &claims()).unwrap();
        assert_eq!(decode_header(&odd_typ).unwrap().typ.as_deref(), Some("secevent+jwt"));
        assert!(key.public_key().verify(&odd_typ).is_ok());
    }
}

#[test]
fn the_header_is_alg_typ_kid_in_that_order() {
    let key = &keys()[0].0;
    let token = key.sign("JWT", &claims()).unwrap();
    let raw = URL_SAFE_NO_PAD.decode(segments(&token)[0]).unwrap();
    assert_eq!(
        String::from_utf8(raw).unwrap(),
        r#"{"alg":"ES256","typ":"JWT","kid":"k-ES256"}"#
    );
}

#[test]
fn signatures_have_the_jws_lengths() {
    let expected = [64, 256, 64];
    for (key, len) in signing_keys().zip(expected) {
        let token = key.sign("JWT", &claims()).unwrap();
        let sig = URL_SAFE_NO_PAD.decode(segments(&token)[2]).unwrap();
        assert_eq!(sig.len(), len, "{}", key.alg());
    }
}

#[test]
fn es256_signatures_with_short_r_or_s_verify() {
    // About one signature in 128 has an `r` or `s` below 2^248, which DER writes in fewer than 32
    // bytes; the JWS form pads them back to 32. 3,000 signatures all but surely include some.
    let key = &keys()[0].0;
    let mut short = 0;
    for i in 0..3_000 {
        let token = key.sign("JWT", &json!({ "i": i })).unwrap();
        let sig = URL_SAFE_NO_PAD.decode(segments(&token)[2]).unwrap();
        assert_eq!(sig.len(), 64);
        if sig[0] == 0 || sig[32] == 0 {
            short += 1;
        }
        assert!(key.public_key().verify(&token).is_ok(), "signature {i} does not verify");
    }
    assert!(short > 0, "no signature with a short r or s was seen");
}

#[test]
fn der_ecdsa_signatures_convert_to_the_jws_form() {
    fn der(r: &[u8], s: &[u8]) -> Vec<u8> {
        let mut body = vec![0x02, r.len() as u8];
        body.extend_from_slice(r);
        body.extend_from_slice(&[0x02, s.len() as u8]);
        body.extend_from_slice(s);
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }
    // r has its top bit set (a sign byte precedes it); s is 31 bytes long.
    let r: Vec<u8> = (0..32).map(|i| 0x80 | i).collect();
    let s: Vec<u8> = (1..32).collect();
    let mut r_der = vec![0];
    r_der.extend_from_slice(&r);
    let jws = jws_ecdsa_signature(&der(&r_der, &s)).unwrap();
    assert_eq!(&jws[..32], r.as_slice());
    assert_eq!(jws[32], 0);
    assert_eq!(&jws[33..], s.as_slice());

    let valid = der(&r_der, &s);
    let mut trailing = valid.clone();
    trailing.push(0);
    trailing[1] += 1;
    let mut long_length = valid.clone();
    long_length[1] += 1;
    let mut short_length = valid.clone();
    short_length[1] -= 1;
    let mut set = valid.clone();
    set[0] = 0x31;
    let mut not_integer = valid.clone();
    not_integer[2] = 0x04;
    let mut too_long = vec![0, 0x80];
    too_long.extend_from_slice(&r);
    let negative = [0x80u8; 32];
    let mut after_s = der(&r_der, &s);
    after_s.truncate(after_s.len() - s.len() - 2);
    after_s[1] = (after_s.len() - 2) as u8;
    for (name, bad) in [
        ("empty", Vec::new()),
        ("trailing bytes", trailing),
        ("length past the end", long_length),
        ("length short of the end", short_length),
        ("a SET", set),
        ("r not an INTEGER", not_integer),
        ("r of 33 bytes", der(&too_long, &s)),
        ("negative r", der(&negative, &s)),
        ("empty s", der(&r, &[])),
        ("no s", after_s),
        ("r past the end", vec![0x30, 0x03, 0x02, 0x05, 0x01]),
    ] {
        assert_eq!(jws_ecdsa_signature(&bad), None, "{name}");
    }
}

#[test]
fn a_key_reloaded_from_its_pkcs8_signs_tokens_the_original_public_key_verifies() {
    for (key, der) in keys() {
        let reloaded = SigningKey::from_pkcs8(key.kid().into(), key.alg(), der.expose_secret()).unwrap();
        assert_eq!(reloaded.public_key().jwk(), key.public_key().jwk());
        let token = reloaded.sign("JWT", &claims()).unwrap();
        assert!(key.public_key().verify(&token).is_ok());
    }
}

#[test]
fn pkcs8_of_another_type_or_garbage_is_refused() {
    for (i, (key, _)) in keys().iter().enumerate() {
        let foreign = &keys()[(i + 1) % 3].1;
        assert!(matches!(
            SigningKey::from_pkcs8("k".into(), key.alg(), foreign.expose_secret()),
            Err(Error::Invalid { .. })
        ));
        assert!(SigningKey::from_pkcs8("k".into(), key.alg(), b"not a key").is_err());
        assert!(SigningKey::from_pkcs8("k".into(), key.alg(), &[]).is_err());
    }
    assert!(SigningKey::from_pkcs8(String::new(), SigningAlg::Es256, keys()[0].1.expose_secret()).is_err());
}

#[test]
fn private_key_material_is_never_printed() {
    for (key, der) in keys() {
        assert_eq!(format!("{der:?}"), "Pkcs8Der([redacted])");
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid()) && !shown.contains("pair"), "{shown}");
    }
}

#[test]
fn signing_keys_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<SigningKey>();
    shareable::<PublicKey>();
    let key = std::sync::Arc::new(SigningKey::generate("t".into(), SigningAlg::Es256).unwrap().0);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let key = key.clone();
            std::thread::spawn(move || key.sign("JWT", &claims()).unwrap())
        })
        .collect();
    for h in handles {
        assert!(key.public_key().verify(&h.join().unwrap()).is_ok());
    }
}

#[test]
fn a_public_key_published_as_jwk_reads_back_and_verifies() {
    for key in signing_keys() {
        let jwk = key.public_key().jwk();
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(jwk["alg"], key.alg().as_str());
        assert_eq!(jwk["use"], "sig");
        assert!(jwk.get("d").is_none());
        let back = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(back.jwk(), jwk);
        assert_eq!((back.kid(), back.alg()), (key.kid(), key.alg()));
        assert!(back.verify(&key.sign("at+jwt", &claims()).unwrap()).is_ok());
    }
    let [ec, rsa, okp] = keys().each_ref().map(|(k, _)| k.public_key().jwk());
    assert_eq!((&ec["kty"], &ec["crv"]), (&json!("EC"), &json!("P-256")));
    assert_eq!(
        (ec["x"].as_str().unwrap().len(), ec["y"].as_str().unwrap().len()),
        (43, 43)
    );
    assert_eq!(rsa["kty"], "RSA");
    assert_eq!(rsa["e"], "AQAB");
    assert_eq!(rsa["n"].as_str().unwrap().len(), 342);
    assert_eq!((&okp["kty"], &okp["crv"]), (&json!("OKP"), &json!("Ed25519")));
    assert_eq!(okp["x"].as_str().unwrap().len(), 43);
}

#[test]
fn unusable_jwks_are_refused() {
    let ec = keys()[0].0.public_key().jwk();
    let rsa = keys()[1].0.public_key().jwk();
    let okp = keys()[2].0.public_key().jwk();
    let patched = |base: &Value, field: &str, value: Value| {
        let mut v = base.clone();
        v[field] = value;
        v
    };
    let bad = [
        json!("not an object"),
        patched(&ec, "crv", json!("P-384")),
        patched(&ec, "alg", json!("RS256")),
        patched(&ec, "alg", json!("ES384")),
        patched(&ec, "use", json!("enc")),
        patched(&ec, "d", json!("AAAA")),
        patched(&ec, "x", json!(b64(&[1; 32]))),
        patched(&ec, "y", json!(b64(&[1; 31]))),
        patched(&ec, "x", json!(format!("{}=", ec["x"].as_str().unwrap()))),
        patched(&ec, "kty", json!("oct")),
        patched(&ec, "kid", json!(7)),
        patched(&rsa, "n", json!(b64(&[0xff; 128]))),
        patched(&rsa, "alg", json!("PS256")),
        patched(&okp, "crv", json!("X25519")),
        patched(&okp, "crv", json!("Ed448")),
        patched(&okp, "alg", json!("ES256")),
        patched(&okp, "x", json!(b64(&[9; 33]))),
    ];
    for jwk in bad {
        assert!(matches!(PublicKey::from_jwk(&jwk), Err(Error::Invalid { .. })), "{jwk}");
    }
}

#[test]
fn rfc_7515_a3_es256_example_verifies_with_its_jwk() {
    let jwk = json!({
        "kty": "EC", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    });
    let token = "eyJhbGciOiJFUzI1NiJ9\
        .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
        .DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    let key = PublicKey::from_jwk(&jwk).unwrap();
    assert_eq!((key.kid(), key.alg()), ("", SigningAlg::Es256));
    let claims = key.verify(token).unwrap();
    assert_eq!(claims["iss"], "joe");
    assert_eq!(claims["http://example.com/is_root"], true);
}

#[test]
fn rfc_8037_a4_ed25519_example_signature_verifies() {
    let key = PublicKey::from_jwk(
        &json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}),
    )
    .unwrap();
    let token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc\
        .hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    assert_eq!(
        key.verify_signature(token).unwrap(),
        "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    );
    // The example's payload is plain text, not a claims object.
    assert!(is_unauthorized(key.verify(token)));
}

#[test]
fn a_tampered_payload_is_refused() {
    for key in signing_keys() {
        let token = key.sign("JWT", &claims()).unwrap();
        let s = segments(&token);
        let mut forged = claims();
        forged["sub"] = json!("admin");
        let swapped = format!("{}.{}.{}", s[0], b64(forged.to_string().as_bytes()), s[2]);
        assert!(is_unauthorized(key.public_key().verify(&swapped)));
    }
}

#[test]
fn a_tampered_signature_is_refused() {
    for key in signing_keys() {
        let token = key.sign("JWT", &claims()).unwrap();
        let s = segments(&token);
        let mut sig = URL_SAFE_NO_PAD.decode(s[2]).unwrap();
        for i in [0, sig.len() / 2, sig.len() - 1] {
            sig[i] ^= 0x01;
            let bad = format!("{}.{}.{}", s[0], s[1], b64(&sig));
            assert!(is_unauthorized(key.public_key().verify(&bad)), "{} byte {i}", key.alg());
            sig[i] ^= 0x01;
        }
        let truncated = format!("{}.{}.{}", s[0], s[1], b64(&sig[..sig.len() - 1]));
        assert!(is_unauthorized(key.public_key().verify(&truncated)));
        let empty = format!("{}.{}.", s[0], s[1]);
        assert!(is_unauthorized(key.public_key().verify(&empty)));
    }
}

#[test]
fn a_token_signed_by_another_key_is_refused() {
    for (key, other) in signing_keys().zip(other_keys()) {
        let token = other.sign("JWT", &claims()).unwrap();
        assert!(is_unauthorized(key.public_key().verify(&token)), "{}", key.alg());
        for verifier in signing_keys().filter(|k| k.alg() != other.alg()) {
            assert!(is_unauthorized(verifier.public_key().verify(&token)));
        }
    }
}

#[test]
fn a_header_naming_another_algorithm_or_none_is_refused() {
    for key in signing_keys() {
        let token = key.sign("JWT", &claims()).unwrap();
        let header = header_json(&token);
        let others = SigningAlg::ALL
            .iter()
            .map(|a| a.as_str())
            .filter(|a| *a != key.alg().as_str());
        for alg in others.chain(["none", "None", "HS256", "RS512", "", "es256"]) {
            let mut h = header.clone();
            h["alg"] = json!(alg);
            let swapped = with_header(&token, &h);
            assert!(is_unauthorized(key.public_key().verify(&swapped)), "{alg}");
            let unsigned = format!("{}.{}.", segments(&swapped)[0], segments(&swapped)[1]);
            assert!(is_unauthorized(key.public_key().verify(&unsigned)), "{alg} unsigned");
        }
        let mut no_alg = header.clone();
        no_alg.as_object_mut().unwrap().remove("alg");
        assert!(is_unauthorized(key.public_key().verify(&with_header(&token, &no_alg))));
    }
}

#[test]
fn an_hs256_token_maced_with_the_rsa_public_key_does_not_verify_as_rs256() {
    let rsa = &keys()[1].0;
    let public = rsa.public_key();
    let jwk = public.jwk();
    let spki = public.verifier.as_der().unwrap();
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let jwk_text = jwk.to_string();
    let secrets: [&[u8]; 4] = [
        spki.as_ref(),
        &n,
        jwk_text.as_bytes(),
        jwk["n"].as_str().unwrap().as_bytes(),
    ];
    for secret in secrets {
        let token = sign_hs256(
            secret,
            &json!({"alg": "HS256", "typ": "JWT", "kid": rsa.kid()}),
            &claims(),
        )
        .unwrap();
        assert!(verify_hs256(secret, &token).is_ok());
        assert!(is_unauthorized(public.verify(&token)));
    }
}

#[test]
fn tokens_with_critical_header_parameters_are_refused() {
    let key = &keys()[0].0;
    let token = key.sign("JWT", &claims()).unwrap();
    let mut h = header_json(&token);
    h["crit"] = json!(["exp"]);
    let s = segments(&token);
    let input = format!("{}.{}", b64(h.to_string().as_bytes()), s[1]);
    // Re-sign so that only `crit` is wrong.
    let KeyPair::Es256(pair) = &key.pair else {
        unreachable!()
    };
    let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    let resigned = format!("{input}.{}", b64(sig.as_ref()));
    assert!(is_unauthorized(key.public_key().verify(&resigned)));

    let secret = [7u8; 32];
    let mac = sign_hs256(&secret, &json!({}), &claims()).unwrap();
    let s = segments(&mac);
    let crit_header = b64(json!({"alg": "HS256", "crit": ["b64"], "b64": false})
        .to_string()
        .as_bytes());
    let input = format!("{crit_header}.{}", s[1]);
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
        input.as_bytes(),
    );
    assert!(is_unauthorized(verify_hs256(
        &secret,
        &format!("{input}.{}", b64(tag.as_ref()))
    )));
    assert!(sign_hs256(&secret, &json!({"crit": ["x"]}), &claims()).is_err());
}

#[test]
fn malformed_tokens_are_refused_without_panicking() {
    let key = &keys()[0].0;
    let token = key.sign("JWT", &claims()).unwrap();
    let s = segments(&token);
    let header = URL_SAFE_NO_PAD.decode(s[0]).unwrap();
    let payload = URL_SAFE_NO_PAD.decode(s[1]).unwrap();
    let sig = URL_SAFE_NO_PAD.decode(s[2]).unwrap();
    let big = format!("{}.{}.{}", s[0], "A".repeat(MAX_TOKEN_LEN), s[2]);
    let bad = [
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
        format!("{}.{}", s[0], s[1]),
        format!("{}.{}.{}.{}", s[0], s[1], s[2], s[2]),
        format!("{token}."),
        format!(".{token}"),
        format!(
            "{}.{}.{}",
            URL_SAFE.encode(&header),
            URL_SAFE.encode(&payload),
            URL_SAFE.encode(&sig)
        ),
        format!("{}=.{}.{}", s[0], s[1], s[2]),
        format!("{}.{}.{}==", s[0], s[1], s[2]),
        format!("{}.{}+.{}", s[0], s[1], s[2]),
        format!("{} .{}.{}", s[0], s[1], s[2]),
        format!("{}.{}.{}", b64(b"not json"), s[1], s[2]),
        format!("{}.{}.{}", b64(b"[\"alg\"]"), s[1], s[2]),
        format!("{}.{}.{}", b64(br#"{"alg":1}"#), s[1], s[2]),
        format!("{}.{}.{}", s[0], b64(b"[1,2]"), s[2]),
        format!("{}.{}.{}", s[0], b64(&[0xff, 0xfe]), s[2]),
        format!("{}.{}.{}", s[0], b64("[".repeat(10_000).as_bytes()), s[2]),
        big,
    ];
    for t in &bad {
        assert!(is_unauthorized(key.public_key().verify(t)), "{t:.80}");
        assert!(is_unauthorized(verify_hs256(&[7; 32], t)), "{t:.80}");
    }
    for t in &bad[..10] {
        assert!(is_unauthorized(decode_header(t)), "{t:.80}");
    }
    assert!(is_unauthorized(decode_header(&format!(
        "{}.{}.{}",
        b64(br#"{"alg":"ES256","kid":5}"#),
        s[1],
        s[2]
    ))));
    let deep = format!("{}.{}.{}", b64("[".repeat(5_000).as_bytes()), s[1], s[2]);
    assert!(is_unauthorized(decode_header(&deep)));
    assert!(is_unauthorized(key.public_key().verify(&deep)));
    assert!(decode_header(&format!("{}.{}.{}", s[0], b64(b"x"), s[2])).is_ok());
}

#[test]
fn tokens_are_read_up_to_the_size_limit_and_refused_beyond_it() {
    let key = &keys()[0].0;
    let base = key.sign("JWT", &json!({"pad": ""})).unwrap().len();
    // Every three bytes of claims add four characters to the token.
    let pad = "x".repeat((MAX_TOKEN_LEN - base) / 4 * 3);
    let largest = key.sign("JWT", &json!({"pad": pad})).unwrap();
    assert!(
        (MAX_TOKEN_LEN - 4..=MAX_TOKEN_LEN).contains(&largest.len()),
        "{}",
        largest.len()
    );
    assert!(key.public_key().verify(&largest).is_ok());
    let too_long = key.sign("JWT", &json!({"pad": format!("{pad}xxx")})).unwrap();
    assert!(too_long.len() > MAX_TOKEN_LEN);
    assert!(is_unauthorized(key.public_key().verify(&too_long)));
    assert!(is_unauthorized(decode_header(&too_long)));
}

#[test]
fn left_hash_is_the_left_half_of_the_algorithms_hash() {
    let value = "jHkWEdUXMU1BwAsC4vtUsZwnNHuwRdhiFtPmCuMLjqQ";
    let sha256 = digest::digest(&digest::SHA256, value.as_bytes());
    let sha512 = digest::digest(&digest::SHA512, value.as_bytes());
    let expected_256 = b64(&sha256.as_ref()[..16]);
    let expected_512 = b64(&sha512.as_ref()[..32]);
    assert_eq!(left_hash(SigningAlg::Es256, value), expected_256);
    assert_eq!(left_hash(SigningAlg::Rs256, value), expected_256);
    assert_eq!(left_hash(SigningAlg::EdDsa, value), expected_512);
    assert_eq!(expected_256.len(), 22);
    assert_eq!(expected_512.len(), 43);
    // A published RS256 example (Ping Identity developer guide, "Validate at_hash").
    assert_eq!(
        left_hash(SigningAlg::Rs256, "dNZX1hEZ9wBCzNL40Upu646bdzQA"),
        "wfgvmE9VxjAudsl9lc6TqA"
    );
}

#[test]
fn hs256_tokens_round_trip() {
    let secret = [42u8; 32];
    let token = sign_hs256(&secret, &json!({"typ": "JWT", "kid": "p1"}), &claims()).unwrap();
    let (header, payload) = verify_hs256(&secret, &token).unwrap();
    assert_eq!(
        Value::Object(header),
        json!({"alg": "HS256", "typ": "JWT", "kid": "p1"})
    );
    assert_eq!(Value::Object(payload), claims());
    assert_eq!(decode_header(&token).unwrap().alg, "HS256");
    let explicit = sign_hs256(&secret, &json!({"alg": "HS256"}), &claims()).unwrap();
    assert!(verify_hs256(&secret, &explicit).is_ok());
}

#[test]
fn hs256_refuses_wrong_secrets_tampering_and_bad_inputs() {
    let secret = [42u8; 32];
    let token = sign_hs256(&secret, &json!({}), &claims()).unwrap();
    assert!(is_unauthorized(verify_hs256(&[43u8; 32], &token)));
    assert!(is_unauthorized(verify_hs256(&[42u8; 33], &token)));
    let s = segments(&token);
    let forged = format!(
        "{}.{}.{}",
        s[0],
        b64(json!({"sub": "admin"}).to_string().as_bytes()),
        s[2]
    );
    assert!(is_unauthorized(verify_hs256(&secret, &forged)));
    assert!(matches!(
        verify_hs256(&secret[..31], &token),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        sign_hs256(&secret[..31], &json!({}), &claims()),
        Err(Error::Invalid { .. })
    ));
    assert!(sign_hs256(&secret, &json!({"alg": "HS512"}), &claims()).is_err());
    assert!(sign_hs256(&secret, &json!({"alg": "none"}), &claims()).is_err());
    assert!(sign_hs256(&secret, &json!([]), &claims()).is_err());
    assert!(sign_hs256(&secret, &json!({}), &json!("claims")).is_err());
}

#[test]
fn hs256_refuses_none_and_other_hmac_algorithms() {
    let secret = [42u8; 32];
    let token = sign_hs256(&secret, &json!({"typ": "JWT"}), &claims()).unwrap();
    let header = header_json(&token);
    for alg in ["none", "HS512", "HS384", "hs256", "ES256", ""] {
        let mut h = header.clone();
        h["alg"] = json!(alg);
        let swapped = with_header(&token, &h);
        assert!(is_unauthorized(verify_hs256(&secret, &swapped)), "{alg}");
        let unsigned = format!("{}.{}.", segments(&swapped)[0], segments(&swapped)[1]);
        assert!(is_unauthorized(verify_hs256(&secret, &unsigned)), "{alg} unsigned");
    }
    // A token whose MAC is computed over a header that really says HS512.
    let s = segments(&token);
    let input = format!("{}.{}", b64(br#"{"alg":"HS512"}"#), s[1]);
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
        input.as_bytes(),
    );
    assert!(is_unauthorized(verify_hs256(
        &secret,
        &format!("{input}.{}", b64(tag.as_ref()))
    )));
}

#[test]
fn rfc_7515_a1_hs256_example_verifies() {
    let k = URL_SAFE_NO_PAD
        .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
        .unwrap();
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
        .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
        .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let (header, claims) = verify_hs256(&k, token).unwrap();
    assert_eq!(Value::Object(header), json!({"typ": "JWT", "alg": "HS256"}));
    assert_eq!(
        Value::Object(claims),
        json!({"iss": "joe", "exp": 1_300_819_380, "http://example.com/is_root": true})
    );
    let mut wrong = k.clone();
    wrong[0] ^= 1;
    assert!(is_unauthorized(verify_hs256(&wrong, token)));
}

proptest! {
    #[test]
    fn parsing_arbitrary_strings_never_panics(s in "\\PC{0,200}") {
        let key = keys()[0].0.public_key();
        let _ = decode_header(&s);
        prop_assert!(key.verify(&s).is_err());
        prop_assert!(verify_hs256(&[1; 32], &s).is_err());
    }

    #[test]
    fn parsing_arbitrary_three_segment_tokens_never_panics(
        h in "[A-Za-z0-9_-]{0,60}",
        p in "[A-Za-z0-9_-]{0,60}",
        sig in "[A-Za-z0-9_-]{0,90}",
        alg in 0usize..3,
    ) {
        let token = format!("{h}.{p}.{sig}");
        let _ = decode_header(&token);
        prop_assert!(keys()[alg].0.public_key().verify(&token).is_err());
        prop_assert!(verify_hs256(&[1; 32], &token).is_err());
    }

    #[test]
    fn arbitrary_json_headers_and_payloads_never_verify_unsigned(
        header in prop::collection::vec(any::<u8>(), 0..80),
        payload in prop::collection::vec(any::<u8>(), 0..80),
        sig in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&sig));
        let _ = decode_header(&token);
        for (key, _) in keys() {
            prop_assert!(key.public_key().verify(&token).is_err());
        }
    }
}
