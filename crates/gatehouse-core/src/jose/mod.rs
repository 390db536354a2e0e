//! JSON Web Signatures for the provider: compact JWS (RFC 7515) signing of access tokens
//! (RFC 9068) and ID tokens (OpenID Connect Core) with ES256, RS256 or EdDSA keys (RFC 7518,
//! RFC 8037), their publication as JWKs (RFC 7517), verification, `at_hash`/`c_hash` values, and
//! HS256 for tokens MACed with a shared secret.
//!
//! Verification is deliberately narrow: the caller picks one key (by `kid`, see [`decode_header`])
//! and the token must name exactly that key's algorithm; there is no `none`, no algorithm
//! negotiation, and no critical header extension is understood.

mod compact;
mod hs256;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED, ED25519, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::secret::Secret;

pub use compact::MAX_TOKEN_LEN;
pub use hs256::{Hs256Key, sign_hs256, unverified_payload, verify_hs256};

/// Length in bytes of a P-256 coordinate and of an Ed25519 public key.
const COORD_LEN: usize = 32;
/// Longest RSA signature: the modulus of the largest accepted key (8192 bits).
const MAX_RSA_SIG_LEN: usize = 1024;
/// `typ` values whose encoded header each signing key prepares once.
const COMMON_TYPS: [&str; 3] = ["at+jwt", "JWT", "logout+jwt"];

/// A JWS signature algorithm for the provider's own keys (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// ECDSA on P-256 with SHA-256 (RFC 7518 §3.4); the default.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), 2048-bit keys when generated.
    Rs256,
    /// Ed25519 (RFC 8037 §3.1).
    EdDsa,
}

impl SigningAlg {
    /// Every supported algorithm, default first.
    pub const ALL: [SigningAlg; 3] = [SigningAlg::Es256, SigningAlg::Rs256, SigningAlg::EdDsa];

    /// The algorithm named by a JWS `alg` value (RFC 7518 §3.1), compared case-sensitively.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The JWS `alg` value (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Es256 => "ES256",
            SigningAlg::Rs256 => "RS256",
            SigningAlg::EdDsa => "EdDSA",
        }
    }
}

impl std::fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parsed private key of a [`SigningKey`].
enum KeyPair {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

/// PKCS#8 v1 DER of a private key (RFC 5208), as [`SigningKey::generate`] returns it for the
/// caller to encrypt and store. `Debug` prints `[redacted]`.
#[derive(Debug)]
pub struct Pkcs8Der(Secret<Vec<u8>>);

impl Pkcs8Der {
    /// The DER bytes. Every call site is a place where the private key leaves this type on purpose.
    pub fn expose_secret(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

/// A private signing key in memory: parsed once, used for every signature.
pub struct SigningKey {
    pair: KeyPair,
    public: PublicKey,
    /// Encoded protected headers for [`COMMON_TYPS`], in that order.
    headers: [String; COMMON_TYPS.len()],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid())
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a key (P-256, RSA 2048 or Ed25519 for `alg`); returns it and its PKCS#8 v1 DER
    /// for encrypted storage by the caller.
    pub fn generate(kid: String, alg: SigningAlg) -> Result<(Self, Pkcs8Der)> {
        // aws-lc generates keys from its own DRBG (seeded by the operating system) and has no way
        // to take bytes from `crate::rng::Rng`; key generation is the one place that bypasses it.
        let failed = |_| Error::unexpected(anyhow::anyhow!("generating an {alg} key failed"));
        let (pair, der) = match alg {
            SigningAlg::Es256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(failed)?;
                let der = pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec();
                (KeyPair::Es256(pair), der)
            }
            SigningAlg::Rs256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
                let der = pair.as_der().map_err(failed)?.as_ref().to_vec();
                (KeyPair::Rs256(pair), der)
            }
            SigningAlg::EdDsa => {
                let pair = Ed25519KeyPair::generate().map_err(failed)?;
                let der = pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec();
                (KeyPair::EdDsa(pair), der)
            }
        };
        Ok((Self::new(kid, pair)?, Pkcs8Der(Secret::new(der))))
    }

    /// Parses a stored PKCS#8 key (RFC 5208; v1, or v2 for Ed25519) that must be of `alg`'s type:
    /// a P-256 key for ES256, RSA of 2048 to 8192 bits for RS256, Ed25519 for EdDSA.
    pub fn from_pkcs8(kid: String, alg: SigningAlg, der: &[u8]) -> Result<Self> {
        let rejected = |_| Error::invalid("signing_key", format!("not a PKCS#8 {alg} private key"));
        let pair = match alg {
            SigningAlg::Es256 => {
                KeyPair::Es256(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der).map_err(rejected)?)
            }
            SigningAlg::Rs256 => KeyPair::Rs256(RsaKeyPair::from_pkcs8(der).map_err(rejected)?),
            SigningAlg::EdDsa => KeyPair::EdDsa(Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?),
        };
        Self::new(kid, pair)
    }

    fn new(kid: String, pair: KeyPair) -> Result<Self> {
        if kid.is_empty() {
            return Err(Error::invalid("kid", "must not be empty"));
        }
        let material = match &pair {
            KeyPair::Es256(p) => {
                // An uncompressed SEC1 point: 0x04 ‖ x ‖ y.
                let point = p.public_key().as_ref();
                match point {
                    [4, xy @ ..] if xy.len() == 2 * COORD_LEN => {
                        let (x, y) = xy.split_at(COORD_LEN);
                        Material::Ec {
                            x: coord(x)?,
                            y: coord(y)?,
                        }
                    }
                    _ => {
                        return Err(Error::unexpected(anyhow::anyhow!(
                            "unexpected P-256 public key encoding"
                        )));
                    }
                }
            }
            KeyPair::Rs256(p) => {
                if p.public_modulus_len() > MAX_RSA_SIG_LEN {
                    return Err(Error::invalid("signing_key", "RSA keys are limited to 8192 bits"));
                }
                let c = RsaPublicKeyComponents::<Vec<u8>>::from(p.public_key());
                Material::Rsa { n: c.n, e: c.e }
            }
            KeyPair::EdDsa(p) => Material::Okp {
                x: coord(p.public_key().as_ref())?,
            },
        };
        let public = PublicKey::new(kid, material).map_err(|e| Error::unexpected(anyhow::anyhow!("{e}")))?;
        let headers = COMMON_TYPS.map(|typ| encode_header(public.alg, typ, &public.kid));
        Ok(Self { pair, public, headers })
    }

    /// The key id, sent as the JWS `kid` header (RFC 7515 §4.1.4).
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// The key's algorithm.
    pub fn alg(&self) -> SigningAlg {
        self.public.alg
    }

    /// The public half, for verification and the JWK Set.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// A compact JWS (RFC 7515 §7.1) `header.payload.signature` with the protected header
    /// `{"alg","typ","kid"}` and the JSON of `claims` as payload. `typ` is e.g. `at+jwt`
    /// (RFC 9068 §2.1) or `JWT`.
    pub fn sign(&self, typ: &str, claims: &impl serde::Serialize) -> Result<String> {
        // Access and ID token claims run to a few hundred bytes: one allocation holds them.
        let mut payload = Vec::with_capacity(512);
        serde_json::to_writer(&mut payload, claims).map_err(Error::unexpected)?;
        let header = match COMMON_TYPS.iter().position(|t| *t == typ) {
            Some(i) => Cow::Borrowed(self.headers[i].as_str()),
            None => Cow::Owned(encode_header(self.alg(), typ, self.kid())),
        };
        let sig_len = match &self.pair {
            KeyPair::Rs256(p) => p.public_modulus_len(),
            KeyPair::Es256(_) | KeyPair::EdDsa(_) => 2 * COORD_LEN,
        };
        let mut token = String::with_capacity(header.len() + 2 + encoded_len(payload.len()) + encoded_len(sig_len));
        token.push_str(&header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);

        let failed = |_| Error::unexpected(anyhow::anyhow!("{} signing failed", self.alg()));
        match &self.pair {
            KeyPair::Es256(p) => {
                // Hashing here and taking aws-lc's DER signature skips its digest context and its
                // DER-to-fixed conversion through big numbers; ECDSA nonces come from aws-lc's DRBG.
                let digest = digest::digest(&digest::SHA256, token.as_bytes());
                let der = p.sign_digest(&digest).map_err(failed)?;
                let sig = jws_ecdsa_signature(der.as_ref())
                    .ok_or_else(|| Error::unexpected(anyhow::anyhow!("aws-lc returned a malformed ECDSA signature")))?;
                push_signature(&mut token, &sig);
            }
            KeyPair::Rs256(p) => {
                // RSASSA-PKCS1-v1_5 is deterministic: aws-lc ignores the `SecureRandom` argument.
                let mut buf = [0u8; MAX_RSA_SIG_LEN];
                let sig = &mut buf[..sig_len];
                p.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), token.as_bytes(), sig)
                    .map_err(failed)?;
                push_signature(&mut token, sig);
            }
            KeyPair::EdDsa(p) => {
                let sig = p.try_sign(token.as_bytes()).map_err(failed)?;
                push_signature(&mut token, sig.as_ref());
            }
        }
        Ok(token)
    }
}

/// The public parameters of a key, as its JWK carries them (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Material {
    /// P-256 affine coordinates, big-endian, full length.
    Ec { x: [u8; COORD_LEN], y: [u8; COORD_LEN] },
    /// Modulus and public exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// The Ed25519 public key.
    Okp { x: [u8; COORD_LEN] },
}

impl Material {
    fn alg(&self) -> SigningAlg {
        match self {
            Material::Ec { .. } => SigningAlg::Es256,
            Material::Rsa { .. } => SigningAlg::Rs256,
            Material::Okp { .. } => SigningAlg::EdDsa,
        }
    }
}

/// A public verification key and its JWK (RFC 7517): EC `{kty:"EC",crv:"P-256",x,y}`
/// (RFC 7518 §6.2), RSA `{kty:"RSA",n,e}` (RFC 7518 §6.3) or OKP `{kty:"OKP",crv:"Ed25519",x}`
/// (RFC 8037 §2), each with `kid`, `alg` and `"use":"sig"`.
#[derive(Debug, Clone)]
pub struct PublicKey {
    kid: String,
    alg: SigningAlg,
    material: Material,
    verifier: ParsedPublicKey,
}

impl PublicKey {
    fn new(kid: String, material: Material) -> Result<Self> {
        let verifier = match &material {
            Material::Ec { x, y } => {
                let mut point = [0u8; 1 + 2 * COORD_LEN];
                point[0] = 4;
                point[1..=COORD_LEN].copy_from_slice(x);
                point[1 + COORD_LEN..].copy_from_slice(y);
                ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            }
            Material::Rsa { n, e } => RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256),
            Material::Okp { x } => ParsedPublicKey::new(&ED25519, x),
        }
        .map_err(|_| Error::invalid("jwk", "not a valid public key"))?;
        Ok(Self {
            kid,
            alg: material.alg(),
            material,
            verifier,
        })
    }

    /// The key id (RFC 7517 §4.5); empty for a JWK that had none.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key verifies; a token must name exactly this one.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The key as a JWK (RFC 7517 §4) for a JWK Set, with `kid` (omitted when empty), `alg` and
    /// `"use":"sig"`.
    pub fn jwk(&self) -> Value {
        let mut m = Map::new();
        let b64 = |b: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(b));
        match &self.material {
            Material::Ec { x, y } => {
                m.insert("kty".into(), "EC".into());
                m.insert("crv".into(), "P-256".into());
                m.insert("x".into(), b64(x));
                m.insert("y".into(), b64(y));
            }
            Material::Rsa { n, e } => {
                m.insert("kty".into(), "RSA".into());
                m.insert("n".into(), b64(n));
                m.insert("e".into(), b64(e));
            }
            Material::Okp { x } => {
                m.insert("kty".into(), "OKP".into());
                m.insert("crv".into(), "Ed25519".into());
                m.insert("x".into(), b64(x));
            }
        }
        if !self.kid.is_empty() {
            m.insert("kid".into(), self.kid.clone().into());
        }
        m.insert("alg".into(), self.alg.as_str().into());
        m.insert("use".into(), "sig".into());
        Value::Object(m)
    }

    /// Reads a public JWK (RFC 7517 §4) of one of the three supported types; the inverse of
    /// [`PublicKey::jwk`]. `alg` and `kid` may be absent; when present, `alg` must match the key
    /// type and `use` must be `sig`. Private JWKs (with `d`) are refused.
    pub fn from_jwk(v: &Value) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid("jwk", "must be a JSON object"))?;
        let text = |name: &str| -> Result<Option<&str>> {
            match obj.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(Error::invalid(format!("jwk.{name}"), "must be a string")),
            }
        };
        let bytes = |name: &str| -> Result<Vec<u8>> {
            let s = text(name)?.ok_or_else(|| Error::invalid(format!("jwk.{name}"), "is required"))?;
            URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| Error::invalid(format!("jwk.{name}"), "must be base64url without padding"))
        };
        let fixed = |name: &str| -> Result<[u8; COORD_LEN]> {
            bytes(name)?
                .try_into()
                .map_err(|_| Error::invalid(format!("jwk.{name}"), format!("must be {COORD_LEN} bytes")))
        };
        let curve = |expected: &str| -> Result<()> {
            match text("crv")? {
                Some(c) if c == expected => Ok(()),
                _ => Err(Error::invalid("jwk.crv", format!("must be {expected}"))),
            }
        };

        if obj.contains_key("d") {
            return Err(Error::invalid("jwk", "is a private key; only public keys are accepted"));
        }
        if text("use")?.is_some_and(|u| u != "sig") {
            return Err(Error::invalid("jwk.use", "must be sig"));
        }
        let material = match text("kty")? {
            Some("EC") => {
                curve("P-256")?;
                Material::Ec {
                    x: fixed("x")?,
                    y: fixed("y")?,
                }
            }
            Some("RSA") => {
                let n = strip_leading_zeros(bytes("n")?);
                let e = strip_leading_zeros(bytes("e")?);
                let bits = n.first().map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
                if !(2048..=8192).contains(&bits) {
                    return Err(Error::invalid("jwk.n", "RSA keys must have 2048 to 8192 bits"));
                }
                Material::Rsa { n, e }
            }
            Some("OKP") => {
                curve("Ed25519")?;
                Material::Okp { x: fixed("x")? }
            }
            _ => return Err(Error::invalid("jwk.kty", "must be EC, RSA or OKP")),
        };
        if let Some(alg) = text("alg")?
            && alg != material.alg().as_str()
        {
            return Err(Error::invalid(
                "jwk.alg",
                format!("must be {} for this key type", material.alg()),
            ));
        }
        let kid = text("kid")?.unwrap_or_default().to_owned();
        Self::new(kid, material)
    }

    /// Verifies a compact JWS (RFC 7515 §5.2) signed with this key and returns its claims. The
    /// header `alg` must be exactly this key's algorithm, and the token must carry no `crit`
    /// header (RFC 7515 §4.1.11); anything else, including `none`, is [`Error::Unauthorized`].
    /// Claims (`exp`, `aud`, ...) and `typ` (`at+jwt`, RFC 9068 §4) are the caller's to check.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>> {
        let payload = self.verify_signature(token)?;
        compact::decode_object(payload)
    }

    /// Checks the header and signature; returns the still-encoded payload.
    fn verify_signature<'t>(&self, token: &'t str) -> Result<&'t str> {
        let parts = compact::Parts::split(token)?;
        compact::check_header(&parts.header()?, self.alg.as_str())?;
        let signature = parts.signature()?;
        self.verifier
            .verify_sig(parts.signing_input.as_bytes(), &signature)
            .map_err(|_| compact::refused("token signature does not verify"))?;
        Ok(parts.payload)
    }
}

/// The protected header of a compact JWS (RFC 7515 §4.1), read without verifying the signature,
/// so that the verifier can pick a key by `kid`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Header {
    /// `alg` (RFC 7515 §4.1.1).
    pub alg: String,
    /// `kid` (RFC 7515 §4.1.4).
    pub kid: Option<String>,
    /// `typ` (RFC 7515 §4.1.9).
    pub typ: Option<String>,
}

/// Reads the protected header of a compact JWS without verifying it. Nothing in it is to be
/// trusted until [`PublicKey::verify`] succeeds. Malformed tokens are [`Error::Unauthorized`].
pub fn decode_header(token: &str) -> Result<Header> {
    let parts = compact::Parts::split(token)?;
    compact::header_fields(&parts.header()?)
}

/// The `at_hash`/`c_hash` of `value` (OpenID Connect Core §3.1.3.6, §3.3.2.11): base64url of the
/// left half of the hash of its ASCII bytes, with the hash of the ID token's `alg`: SHA-256 for
/// ES256 and RS256 (16 bytes, 22 characters). For EdDSA with Ed25519 it is SHA-512 (32 bytes, 43
/// characters), as the OpenID Foundation's errata to Core say and as the `openidconnect` crate
/// (v4, `CoreJsonWebKey::hash_bytes`) computes.
pub fn left_hash(alg: SigningAlg, value: &str) -> String {
    let algorithm = match alg {
        SigningAlg::Es256 | SigningAlg::Rs256 => &digest::SHA256,
        SigningAlg::EdDsa => &digest::SHA512,
    };
    let hash = digest::digest(algorithm, value.as_bytes());
    let hash = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&hash[..hash.len() / 2])
}

fn encode_header(alg: SigningAlg, typ: &str, kid: &str) -> String {
    #[derive(serde::Serialize)]
    struct Protected<'a> {
        alg: &'a str,
        typ: &'a str,
        kid: &'a str,
    }
    let protected = Protected {
        alg: alg.as_str(),
        typ,
        kid,
    };
    // Serialising a struct of three strings cannot fail.
    #[allow(clippy::expect_used)]
    let json = serde_json::to_vec(&protected).expect("a header of strings serialises");
    URL_SAFE_NO_PAD.encode(json)
}

/// The JWS form of a P-256 ECDSA signature (RFC 7518 §3.4: `r ‖ s`, 32 big-endian bytes each)
/// from its DER form (RFC 3279 §2.2.3: `SEQUENCE { r INTEGER, s INTEGER }`), as aws-lc signs.
fn jws_ecdsa_signature(der: &[u8]) -> Option<[u8; 2 * COORD_LEN]> {
    /// A positive INTEGER of at most 32 bytes, after its sign byte, and what follows it.
    fn integer(der: &[u8]) -> Option<(&[u8], &[u8])> {
        let [0x02, len, rest @ ..] = der else {
            return None;
        };
        let (value, rest) = rest.split_at_checked(usize::from(*len))?;
        let value = match value {
            [0, first, ..] if *first >= 0x80 => &value[1..],
            [first, ..] if *first < 0x80 => value,
            _ => return None,
        };
        (value.len() <= COORD_LEN).then_some((value, rest))
    }
    // A P-256 signature is at most 72 bytes: its length always fits the one-byte short form.
    let [0x30, len, body @ ..] = der else {
        return None;
    };
    if usize::from(*len) != body.len() {
        return None;
    }
    let (r, rest) = integer(body)?;
    let (s, rest) = integer(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = [0u8; 2 * COORD_LEN];
    out[COORD_LEN - r.len()..COORD_LEN].copy_from_slice(r);
    out[2 * COORD_LEN - s.len()..].copy_from_slice(s);
    Some(out)
}

fn push_signature(token: &mut String, sig: &[u8]) {
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, token);
}

/// Length of the unpadded base64 encoding of `n` bytes.
fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

fn coord(b: &[u8]) -> Result<[u8; COORD_LEN]> {
    b.try_into()
        .map_err(|_| Error::unexpected(anyhow::anyhow!("unexpected public key length {}", b.len())))
}

fn strip_leading_zeros(mut b: Vec<u8>) -> Vec<u8> {
    let zeros = b.iter().take_while(|&&x| x == 0).count();
    b.drain(..zeros);
    b
}
