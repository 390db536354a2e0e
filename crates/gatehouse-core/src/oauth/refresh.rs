//! Refresh token values (SPEC §5.2): `base64url(grant id ‖ generation ‖ tag)`, where the tag is
//! the keyed hash of the grant id and the generation. The database keeps only the generation, so
//! a token is checked by recomputing its tag (in constant time) and comparing the generation;
//! a valid tag of an older generation proves a rotated token was reused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::KeyedHasher;
use crate::ids::GrantId;
use crate::secret::Secret;

const DOMAIN: &str = "refresh-token";
const ID_LEN: usize = 16;
const GENERATION_LEN: usize = 8;
const TAG_LEN: usize = 32;
const LEN: usize = ID_LEN + GENERATION_LEN + TAG_LEN;
/// Unpadded base64 of [`LEN`] bytes.
const ENCODED_LEN: usize = (LEN * 4).div_ceil(3);

/// The grant and generation a refresh token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshTokenId {
    pub grant: GrantId,
    pub generation: i64,
}

impl RefreshTokenId {
    /// The token value for this grant and generation.
    pub fn encode(self, hasher: &KeyedHasher) -> Secret<String> {
        let mut bytes = Vec::with_capacity(LEN);
        bytes.extend_from_slice(self.grant.uuid().as_bytes());
        bytes.extend_from_slice(&self.generation.to_be_bytes());
        bytes.extend_from_slice(&tag(hasher, self.grant, self.generation));
        Secret::new(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The grant and generation of a token this server issued; `None` for anything else
    /// (malformed, or a tag that does not verify).
    pub fn decode(hasher: &KeyedHasher, value: &str) -> Option<Self> {
        if value.len() != ENCODED_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        let (id, rest) = bytes.split_at_checked(ID_LEN)?;
        let (generation, tag) = rest.split_at_checked(GENERATION_LEN)?;
        let grant = GrantId::from_uuid(uuid::Uuid::from_slice(id).ok()?);
        let generation = i64::from_be_bytes(generation.try_into().ok()?);
        hasher
            .verify(DOMAIN, &grant.to_string(), &generation.to_string(), tag)
            .then_some(Self { grant, generation })
    }
}

fn tag(hasher: &KeyedHasher, grant: GrantId, generation: i64) -> Vec<u8> {
    hasher.hash(DOMAIN, &grant.to_string(), &generation.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(byte: u8) -> KeyedHasher {
        KeyedHasher::new(&[byte; 32])
    }

    #[test]
    fn a_token_names_its_grant_and_generation_and_nothing_else_verifies() {
        let h = hasher(7);
        let id = RefreshTokenId {
            grant: GrantId::from_uuid(uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)),
            generation: 41,
        };
        let value = id.encode(&h);
        assert_eq!(value.expose_secret().len(), ENCODED_LEN);
        assert_eq!(RefreshTokenId::decode(&h, value.expose_secret()), Some(id));
        // Another server key, another generation or grant, a flipped tag bit, a truncated value.
        assert_eq!(RefreshTokenId::decode(&hasher(8), value.expose_secret()), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(value.expose_secret()).unwrap();
        for at in [0, ID_LEN + GENERATION_LEN - 1, LEN - 1] {
            bytes[at] ^= 1;
            assert_eq!(
                RefreshTokenId::decode(&h, &URL_SAFE_NO_PAD.encode(&bytes)),
                None,
                "byte {at}"
            );
            bytes[at] ^= 1;
        }
        let v = value.expose_secret();
        assert_eq!(RefreshTokenId::decode(&h, &v[..74]), None);
        assert_eq!(RefreshTokenId::decode(&h, &format!("{v}A")), None);
        assert_eq!(RefreshTokenId::decode(&h, ""), None);
        assert_eq!(RefreshTokenId::decode(&h, &"!".repeat(ENCODED_LEN)), None);
    }
}
