//! Cryptography at rest (SPEC §7.5, §9.1–§9.3): the master key, per-project data keys wrapped by
//! it, AES-256-GCM sealing with associated data that binds a ciphertext to its row, and the keyed
//! hash (HMAC-SHA256) used to verify high-entropy secrets in constant time.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::error::{Error, Result};
use crate::rng::{Rng, random_bytes};
use crate::secret::Secret;

/// Length of every symmetric key: 256 bits.
pub const KEY_LEN: usize = 32;

/// The server's root key. Wraps data keys and the keyed-hash key; never stored in the database.
#[derive(Debug)]
pub struct MasterKey {
    key: Secret<LessSafeKey>,
    id: String,
}

impl MasterKey {
    /// Builds the key from 32 bytes.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        let id = hex(&digest::digest(&digest::SHA256, bytes).as_ref()[..8]);
        Self {
            key: Secret::new(aead_key(bytes)),
            id,
        }
    }

    /// Parses the contents of a key file or variable: 32 bytes as base64 (standard or URL-safe),
    /// 64 hex digits, or exactly 32 raw bytes. Anything else is refused (SPEC §9.3).
    pub fn parse(contents: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(contents).map(str::trim).ok();
        let decoded = text.and_then(|t| {
            let t = t.trim_end_matches('=');
            URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .or_else(|| {
                    STANDARD
                        .decode(format!("{t}{}", "=".repeat((4 - t.len() % 4) % 4)))
                        .ok()
                })
                .filter(|b| b.len() == KEY_LEN)
                .or_else(|| unhex(t).filter(|b| b.len() == KEY_LEN))
        });
        let bytes = decoded
            .or_else(|| (contents.len() == KEY_LEN).then(|| contents.to_vec()))
            .ok_or_else(|| Error::invalid("master_key", "must be 32 bytes: base64, 64 hex digits, or raw"))?;
        let arr: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(Error::unexpected)?;
        Ok(Self::from_bytes(&arr))
    }

    /// A new random key, encoded for a key file (base64url, one line).
    pub fn generate_encoded(rng: &dyn Rng) -> String {
        format!("{}\n", URL_SAFE_NO_PAD.encode(random_bytes::<KEY_LEN>(rng)))
    }

    /// A short public fingerprint recorded next to everything this key wraps.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Wraps a data key, binding it to `context` (e.g. the project and key id).
    pub fn wrap(&self, rng: &dyn Rng, key: &[u8; KEY_LEN], context: &str) -> Vec<u8> {
        seal_with(self.key.expose_secret(), rng, context.as_bytes(), key)
    }

    /// Encrypts a secret of any length (a signing key's PKCS#8) bound to `context`.
    pub fn wrap_blob(&self, rng: &dyn Rng, secret: &[u8], context: &str) -> Vec<u8> {
        seal_with(self.key.expose_secret(), rng, context.as_bytes(), secret)
    }

    /// Decrypts what [`MasterKey::wrap_blob`] wrapped with the same context.
    pub fn unwrap_blob(&self, wrapped: &[u8], context: &str) -> Result<Vec<u8>> {
        open_with(self.key.expose_secret(), context.as_bytes(), wrapped)
    }
}

/// A per-project data key (AES-256-GCM).
#[derive(Debug)]
pub struct DataKey(Secret<LessSafeKey>);

impl DataKey {
    /// Builds the key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        Self(Secret::new(aead_key(bytes)))
    }

    /// Encrypts `plaintext`; `aad` must be given again, identically, to open it.
    pub fn seal(&self, rng: &dyn Rng, aad: &RowAad, plaintext: &[u8]) -> Vec<u8> {
        seal_with(self.0.expose_secret(), rng, aad.0.as_bytes(), plaintext)
    }

    /// Decrypts what [`DataKey::seal`] produced with the same `aad`.
    pub fn open(&self, aad: &RowAad, sealed: &[u8]) -> Result<Vec<u8>> {
        open_with(self.0.expose_secret(), aad.0.as_bytes(), sealed)
    }
}

/// Associated data binding a ciphertext to its row: (kind, project, room, owner, row id, version),
/// so that a ciphertext copied into another row fails to open (SPEC §7.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowAad(String);

impl RowAad {
    /// The binding for one row's secret column.
    pub fn new(kind: &str, project: &str, room: &str, owner: &str, row_id: &str, version: i64) -> Self {
        // Length-prefixed so that no two distinct tuples give the same bytes.
        let version = version.to_string();
        let parts = [kind, project, room, owner, row_id, &version];
        let mut s = String::with_capacity(16 + parts.iter().map(|p| p.len() + 8).sum::<usize>());
        s.push_str("gatehouse/v1");
        for part in parts {
            s.push('|');
            s.push_str(&part.len().to_string());
            s.push(':');
            s.push_str(part);
        }
        Self(s)
    }
}

/// HMAC-SHA256 under a server key: verification of high-entropy secrets (SPEC §4.3). Hashing
/// costs well under a microsecond, unlike a password KDF, and comparison is constant-time.
#[derive(Debug)]
pub struct KeyedHasher(Secret<hmac::Key>);

impl KeyedHasher {
    /// Builds the hasher from its 32-byte key.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        Self(Secret::new(hmac::Key::new(hmac::HMAC_SHA256, key)))
    }

    /// The tag of `secret` in `domain` for `subject` (e.g. the client id it belongs to).
    pub fn hash(&self, domain: &str, subject: &str, secret: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(self.0.expose_secret());
        for part in [domain, subject, secret] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        ctx.sign().as_ref().to_vec()
    }

    /// A 256-bit key for `purpose`, derived from this one (HMAC as a PRF), so that a server-wide
    /// key needs no storage of its own.
    pub fn derive_key(&self, purpose: &str) -> [u8; KEY_LEN] {
        let tag = self.hash("derived-key", purpose, "");
        let mut key = [0; KEY_LEN];
        key.copy_from_slice(&tag);
        key
    }

    /// Whether `secret` has the tag `expected`, compared in constant time.
    pub fn verify(&self, domain: &str, subject: &str, secret: &str, expected: &[u8]) -> bool {
        crate::secret::ct_eq(&self.hash(domain, subject, secret), expected)
    }
}

fn aead_key(bytes: &[u8; KEY_LEN]) -> LessSafeKey {
    // AES-256-GCM accepts every 32-byte key; the length is fixed by the type.
    #[allow(clippy::expect_used)]
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte AES-256 key"))
}

/// nonce ‖ ciphertext ‖ tag, with a fresh random 96-bit nonce.
fn seal_with(key: &LessSafeKey, rng: &dyn Rng, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = random_bytes::<NONCE_LEN>(rng);
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    let mut body = plaintext.to_vec();
    // Sealing fails only for inputs beyond GCM's 64 GiB limit, which every caller bounds far below.
    #[allow(clippy::expect_used)]
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut body)
        .expect("plaintext within AES-GCM limits");
    out.extend_from_slice(&body);
    out
}

fn open_with(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    let fail = || Error::unexpected(anyhow::anyhow!("ciphertext does not open with this key and binding"));
    if sealed.len() < NONCE_LEN + 16 {
        return Err(fail());
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| fail())?;
    let mut body = body.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(aad), &mut body)
        .map_err(|_| fail())?;
    Ok(plain.to_vec())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SystemRng;

    fn rng() -> SystemRng {
        SystemRng::default()
    }

    #[test]
    fn debug_of_keys_shows_no_key_material() {
        let master = MasterKey::from_bytes(&[7u8; KEY_LEN]);
        let shown = format!("{master:?}");
        assert_eq!(shown, format!("MasterKey {{ key: [redacted], id: {:?} }}", master.id()));
        assert_eq!(
            format!("{:?}", DataKey::from_bytes(&[7u8; KEY_LEN])),
            "DataKey([redacted])"
        );
        assert_eq!(
            format!("{:?}", KeyedHasher::new(&[7u8; KEY_LEN])),
            "KeyedHasher([redacted])"
        );
    }

    #[test]
    fn master_key_accepts_base64_hex_and_raw_and_nothing_else() {
        let k = [7u8; 32];
        let a = MasterKey::parse(URL_SAFE_NO_PAD.encode(k).as_bytes()).unwrap();
        let b = MasterKey::parse(STANDARD.encode(k).as_bytes()).unwrap();
        let c = MasterKey::parse(hex(&k).as_bytes()).unwrap();
        let d = MasterKey::parse(&k).unwrap();
        assert!([b.id(), c.id(), d.id()].iter().all(|id| *id == a.id()));
        assert!(MasterKey::parse(b"short").is_err());
        assert!(MasterKey::parse(URL_SAFE_NO_PAD.encode([1u8; 16]).as_bytes()).is_err());
        assert!(MasterKey::parse(b"").is_err());
    }

    #[test]
    fn generated_master_keys_parse_back() {
        let text = MasterKey::generate_encoded(&rng());
        assert!(MasterKey::parse(text.as_bytes()).is_ok());
    }

    #[test]
    fn wrapped_keys_open_only_with_the_same_master_key_and_context() {
        let m = MasterKey::from_bytes(&[1; 32]);
        let other = MasterKey::from_bytes(&[2; 32]);
        let w = m.wrap(&rng(), &[9; 32], "project-a");
        assert_eq!(m.unwrap_blob(&w, "project-a").unwrap(), [9; 32]);
        assert!(m.unwrap_blob(&w, "project-b").is_err());
        assert!(other.unwrap_blob(&w, "project-a").is_err());
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_does_not_open() {
        let dk = DataKey::from_bytes(&[3; 32]);
        let row1 = RowAad::new("secret", "p", "", "", "row-1", 1);
        let row2 = RowAad::new("secret", "p", "", "", "row-2", 1);
        let sealed = dk.seal(&rng(), &row1, b"top secret");
        assert_eq!(dk.open(&row1, &sealed).unwrap(), b"top secret");
        assert!(dk.open(&row2, &sealed).is_err());
        assert!(!sealed.windows(10).any(|w| w == b"top secret"));
    }

    #[test]
    fn tampered_ciphertexts_are_refused() {
        let dk = DataKey::from_bytes(&[3; 32]);
        let aad = RowAad::new("k", "p", "", "", "r", 1);
        let mut sealed = dk.seal(&rng(), &aad, b"value");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(dk.open(&aad, &sealed).is_err());
        assert!(dk.open(&aad, &sealed[..5]).is_err());
    }

    #[test]
    fn aad_parts_cannot_be_shifted_into_each_other() {
        assert_ne!(
            RowAad::new("a", "bc", "", "", "", 0),
            RowAad::new("ab", "c", "", "", "", 0)
        );
    }

    #[test]
    fn keyed_hash_verifies_the_right_secret_for_the_right_subject() {
        let h = KeyedHasher::new(&[5; 32]);
        let tag = h.hash("client", "app", "s3cret");
        assert!(h.verify("client", "app", "s3cret", &tag));
        assert!(!h.verify("client", "app", "s3creT", &tag));
        assert!(!h.verify("client", "other", "s3cret", &tag));
        assert!(!h.verify("api_key", "app", "s3cret", &tag));
        assert!(!KeyedHasher::new(&[6; 32]).verify("client", "app", "s3cret", &tag));
    }
}
