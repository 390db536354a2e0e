//! Gatehouse's public signing keys, fetched from the `jwks_uri` of its metadata and kept in
//! memory. A token whose `kid` is not among them causes one refetch: Gatehouse publishes a key
//! before it signs with it, but this server may hold a set fetched before a rotation created that
//! key. Refetches for unknown keys happen at most once per [`REFETCH_INTERVAL`], so tokens with
//! made-up `kid`s cannot make this server hammer Gatehouse; each one replaces the whole set, so
//! keys Gatehouse stopped publishing are dropped too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// Least time between two refetches caused by unknown `kid`s.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// One public key, with the one algorithm it verifies (RFC 7518 §3.1: ES256, RS256; RFC 8037:
/// EdDSA with Ed25519).
#[derive(Debug)]
pub enum Key {
    Es256(UnparsedPublicKey<Vec<u8>>),
    EdDsa(UnparsedPublicKey<Vec<u8>>),
    Rs256(RsaPublicKeyComponents<Vec<u8>>),
}

impl Key {
    /// The JWS `alg` this key verifies.
    pub fn alg(&self) -> &'static str {
        match self {
            Key::Es256(_) => "ES256",
            Key::EdDsa(_) => "EdDSA",
            Key::Rs256(_) => "RS256",
        }
    }

    /// Whether `signature` is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Key::Es256(k) | Key::EdDsa(k) => k.verify(message, signature).is_ok(),
            Key::Rs256(k) => k.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature).is_ok(),
        }
    }
}

/// The members of a JWK (RFC 7517 §4) this server reads.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

/// A public key from `jwk`, by its type and curve; `alg`, when given, must be the one the key
/// verifies, and `use`, when given, `sig`.
fn parse(jwk: Jwk) -> anyhow::Result<(String, Key)> {
    let kid = jwk.kid.ok_or_else(|| anyhow!("a key without kid"))?;
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        bail!("key {kid} is not for signatures");
    }
    let bytes = |v: Option<String>, name: &str| -> anyhow::Result<Vec<u8>> {
        let v = v.ok_or_else(|| anyhow!("key {kid} lacks {name}"))?;
        URL_SAFE_NO_PAD
            .decode(v)
            .with_context(|| format!("key {kid}: {name} is not base64url"))
    };
    let key = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("EC", Some("P-256")) => {
            let (x, y) = (bytes(jwk.x, "x")?, bytes(jwk.y, "y")?);
            if x.len() != 32 || y.len() != 32 {
                bail!("key {kid}: a P-256 coordinate is not 32 bytes");
            }
            // SEC 1 §2.3.3: the uncompressed point.
            let point = [&[4u8][..], &x, &y].concat();
            Key::Es256(UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point))
        }
        ("OKP", Some("Ed25519")) => Key::EdDsa(UnparsedPublicKey::new(&ED25519, bytes(jwk.x, "x")?)),
        ("RSA", None) => Key::Rs256(RsaPublicKeyComponents {
            n: bytes(jwk.n, "n")?,
            e: bytes(jwk.e, "e")?,
        }),
        (kty, crv) => bail!("key {kid}: unsupported key type {kty} {crv:?}"),
    };
    if jwk.alg.as_deref().is_some_and(|a| a != key.alg()) {
        bail!("key {kid}: alg {:?} does not fit the key", jwk.alg);
    }
    Ok((kid, key))
}

/// The cached key set of one issuer.
#[derive(Debug)]
pub struct Jwks {
    http: reqwest::Client,
    uri: String,
    keys: RwLock<HashMap<String, Arc<Key>>>,
    /// When the last refetch for an unknown `kid` started; also makes refetches one at a time.
    last_refetch: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

impl Jwks {
    /// Fetches the set at `uri` a first time.
    pub async fn fetch(http: reqwest::Client, uri: String) -> anyhow::Result<Self> {
        let jwks = Self {
            http,
            uri,
            keys: RwLock::default(),
            last_refetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        };
        jwks.load().await?;
        Ok(jwks)
    }

    /// How many times the set was fetched.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The key `kid`, refetching the set once if it is unknown and the last refetch is at least
    /// [`REFETCH_INTERVAL`] old.
    pub async fn key(&self, kid: &str) -> Option<Arc<Key>> {
        if let Some(k) = self.cached(kid) {
            return Some(k);
        }
        let mut last = self.last_refetch.lock().await;
        // A request that held the lock before may just have fetched it.
        if let Some(k) = self.cached(kid) {
            return Some(k);
        }
        if last.is_some_and(|t| t.elapsed() < REFETCH_INTERVAL) {
            return None;
        }
        *last = Some(Instant::now());
        if let Err(e) = self.load().await {
            eprintln!("refetching the JWKS failed: {e:#}");
        }
        self.cached(kid)
    }

    fn cached(&self, kid: &str) -> Option<Arc<Key>> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(kid)
            .cloned()
    }

    /// Fetches the set and replaces the cached one. Keys of other types are skipped.
    async fn load(&self) -> anyhow::Result<()> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let set: JwkSet = self
            .http
            .get(&self.uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("fetching {}", self.uri))?
            .json()
            .await
            .with_context(|| format!("reading {}", self.uri))?;
        let keys: HashMap<String, Arc<Key>> = set
            .keys
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .filter_map(|jwk| parse(jwk).ok())
            .map(|(kid, key)| (kid, Arc::new(key)))
            .collect();
        if keys.is_empty() {
            bail!("{} holds no usable key", self.uri);
        }
        *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwk(v: serde_json::Value) -> anyhow::Result<(String, Key)> {
        parse(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn keys_are_read_by_type_and_curve_and_must_fit_their_alg() {
        let x = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let ok = jwk(json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "a", "alg": "EdDSA", "use": "sig"}));
        assert_eq!(ok.unwrap().1.alg(), "EdDSA");
        let ec = jwk(json!({"kty": "EC", "crv": "P-256", "x": x, "y": x, "kid": "b"}));
        assert_eq!(ec.unwrap().1.alg(), "ES256");
        for bad in [
            json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "a", "alg": "ES256"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "a", "use": "enc"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
            json!({"kty": "EC", "crv": "P-384", "x": x, "y": x, "kid": "c"}),
            json!({"kty": "EC", "crv": "P-256", "x": "short", "y": x, "kid": "c"}),
            json!({"kty": "oct", "k": x, "kid": "d"}),
        ] {
            assert!(jwk(bad.clone()).is_err(), "{bad}");
        }
    }
}
