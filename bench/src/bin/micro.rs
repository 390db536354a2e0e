//! Micro benchmarks of the token endpoint's per-request work, on one thread: client
//! authentication (a cache lookup of the client record, one keyed hash (HMAC-SHA256) and a
//! constant-time comparison), and signing and verifying an access token with each algorithm.
//!
//! `cargo run --release -p gatehouse-bench --bin micro`

use std::hint::black_box;
use std::sync::Arc;

use gatehouse_bench::{rate, sample_access_claims, time};
use gatehouse_core::cache::Cache;
use gatehouse_core::clients::{Client, ClientSettings, SECRET_HASH_DOMAIN, SecretHashes};
use gatehouse_core::crypto::KeyedHasher;
use gatehouse_core::ids::{ClientId, ProjectId};
use gatehouse_core::jose::{SigningAlg, SigningKey};
use gatehouse_core::time::Timestamp;
use gatehouse_types::ClientInput;

fn main() {
    let hasher = KeyedHasher::new(&[7; 32]);
    let secret = "pT3w0x9Qk8cV1mZ6yR4aL2nB7dF5hJ0sG3eU8iO1qWc";
    let id = ClientId::parse("bench-client-0001").expect("valid id");
    let input = ClientInput {
        name: Some("Bench".into()),
        grant_types: Some(vec!["client_credentials".into()]),
        response_types: Some(vec![]),
        ..ClientInput::default()
    };
    let now = Timestamp::from_millis(1_700_000_000_000);
    let cache: Cache<String, Client> = Cache::default();
    for i in 0..10_000 {
        let cid = ClientId::parse(&format!("bench-client-{i:04}")).expect("valid id");
        let client = Client {
            secret: SecretHashes {
                current: Some(hasher.hash(SECRET_HASH_DOMAIN, cid.as_str(), secret).into()),
                ..SecretHashes::default()
            },
            id: cid,
            project_id: ProjectId::SYSTEM,
            settings: ClientSettings::create(&input).expect("valid settings"),
            official: false,
            created_at: now,
            updated_at: now,
            version: 1,
            last_used_at: None,
        };
        cache.insert(cache.ticket(), client.id.to_string(), Arc::new(client), now);
    }
    let n = 3_000_000;
    let verify = || {
        let c = cache.get(black_box(id.as_str()), now).expect("cached");
        assert!(c.verify_secret(&hasher, black_box(secret), now));
    };
    time(100_000, verify);
    let elapsed = time(n, verify);
    println!(
        "client secret verification (cache hit, keyed hash, constant-time compare, 1 thread): {:.0} per second ({:.0} ns each)",
        rate(n, elapsed),
        elapsed.as_nanos() as f64 / n as f64
    );
    sign_access_tokens();
}

/// An RFC 9068 access token as the token endpoint signs it, per algorithm: the ceiling of a
/// token-issuing request on one core.
fn sign_access_tokens() {
    let claims = sample_access_claims();
    for alg in [SigningAlg::Es256, SigningAlg::EdDsa, SigningAlg::Rs256] {
        let (key, _) = SigningKey::generate("bench".into(), alg).expect("key generation");
        let n = if alg == SigningAlg::Rs256 { 2_000 } else { 50_000 };
        let sign = || {
            black_box(key.sign("at+jwt", black_box(&claims)).expect("signing"));
        };
        time(n / 10, sign);
        let elapsed = time(n, sign);
        println!(
            "access token signing, {alg} (claims to compact JWS, 1 thread): {:.0} per second ({:.1} µs each)",
            rate(n, elapsed),
            elapsed.as_secs_f64() * 1e6 / n as f64
        );
        let token = key.sign("at+jwt", &claims).expect("signing");
        let verify = || {
            black_box(key.public_key().verify(black_box(&token)).expect("valid"));
        };
        time(n / 10, verify);
        let elapsed = time(n, verify);
        println!(
            "access token verification, {alg} (compact JWS to claims, 1 thread): {:.0} per second ({:.1} µs each)",
            rate(n, elapsed),
            elapsed.as_secs_f64() * 1e6 / n as f64
        );
    }
}
