//! Second factors (SPEC §5.4): the rules of time-based one-time passwords (RFC 6238, over the
//! HOTP of RFC 4226 with HMAC-SHA-1, 6 digits, 30-second steps: what every authenticator app
//! speaks), of one-time recovery codes, and the authentication methods a session records
//! (RFC 8176 `amr` values, and the `acr` they add up to).

use aws_lc_rs::hmac;
use data_encoding::BASE32_NOPAD;

use crate::ids::UserId;
use crate::rng::{Rng, random_bytes};
use crate::secret::{Redacted, ct_eq};
use crate::time::Timestamp;

/// A user's TOTP factor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    pub user_id: UserId,
    /// The secret, sealed under the second-factor key and bound to the user.
    pub secret: Redacted<Vec<u8>>,
    /// The time step of the last accepted code: no code of it or before is accepted again.
    pub last_step: Option<i64>,
    pub created_at: Timestamp,
    /// `None` while being set up: the factor counts only once a first code confirmed it.
    pub confirmed_at: Option<Timestamp>,
    /// Recovery codes not used yet.
    pub recovery_left: i64,
}

/// Seconds per TOTP time step (RFC 6238 §4.1 default).
pub const TOTP_STEP_SECS: i64 = 30;
/// Steps accepted either side of the current one (RFC 6238 §5.2: clock drift and typing time).
pub const TOTP_SKEW: i64 = 1;
/// Bytes of a TOTP secret (RFC 4226 §4 recommends 160 bits).
pub const TOTP_SECRET_LEN: usize = 20;
/// Recovery codes handed out at once.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (without its dash): 50 bits from a 32-letter alphabet.
const RECOVERY_LEN: usize = 10;
/// Lower-case base32 without l and o, which people confuse with 1 and 0.
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// The TOTP time step `now` falls in.
pub fn totp_step(now: Timestamp) -> i64 {
    now.millis().div_euclid(TOTP_STEP_SECS * 1000)
}

/// The 6-digit code of `secret` for time step `step` (RFC 4226 §5.3 dynamic truncation).
pub fn totp_code(secret: &[u8], step: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    format!("{:06}", bin % 1_000_000)
}

/// The step within [`TOTP_SKEW`] of `now` whose code is `code`, if it is later than `last_used`:
/// a code is accepted once, and never one older than the last accepted (RFC 6238 §5.2).
pub fn totp_match(secret: &[u8], code: &str, now: Timestamp, last_used: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = totp_step(now);
    let mut found = None;
    // Every candidate is computed and compared, so the time taken does not say which matched.
    for step in current - TOTP_SKEW..=current + TOTP_SKEW {
        let fresh = last_used.is_none_or(|last| step > last);
        if ct_eq(totp_code(secret, step).as_bytes(), code.as_bytes()) && fresh && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Whether `code` has the shape of a TOTP code (six digits) rather than a recovery code.
pub fn looks_like_totp(code: &str) -> bool {
    let code = code.trim();
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// A new TOTP secret.
pub fn new_totp_secret(rng: &dyn Rng) -> [u8; TOTP_SECRET_LEN] {
    random_bytes::<TOTP_SECRET_LEN>(rng)
}

/// The secret as authenticator apps take it typed in: base32 without padding.
pub fn totp_text_key(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// The `otpauth://` URI authenticator apps read (the Key Uri Format of Google Authenticator),
/// labelled with `issuer` and the account's `email`.
pub fn totp_uri(secret: &[u8], issuer: &str, email: &str) -> String {
    let enc = |s: &str| {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={TOTP_STEP_SECS}",
        enc(issuer),
        enc(email),
        totp_text_key(secret),
        enc(issuer),
    )
}

/// New recovery codes, as shown once: `xxxxx-xxxxx`.
pub fn new_recovery_codes(rng: &dyn Rng) -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = random_bytes::<RECOVERY_LEN>(rng);
            let letters: String = bytes
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
                .collect();
            format!("{}-{}", &letters[..5], &letters[5..])
        })
        .collect()
}

/// A recovery code as typed, in the form it is hashed in: lower case, without dashes or spaces.
/// `None` when it cannot be one.
pub fn normalize_recovery_code(code: &str) -> Option<String> {
    let c: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (c.len() == RECOVERY_LEN && c.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(c)
}

/// What a session's sign-in used (RFC 8176), as stored: a set of bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthMethods(u8);

impl AuthMethods {
    /// No method Gatehouse checked itself (a sign-in at an upstream identity provider).
    pub const NONE: Self = Self(0);
    /// A password (`pwd`).
    pub const PASSWORD: Self = Self(1);
    /// A one-time password from an authenticator app or a recovery code (`otp`).
    pub const OTP: Self = Self(2);
    /// A passkey: proof of possession of a hardware-bound or synced key (`hwk`).
    pub const PASSKEY: Self = Self(4);
    /// The passkey's authenticator verified the user (PIN or biometric; `user`).
    pub const USER_VERIFIED: Self = Self(8);

    /// The set stored as `bits`.
    pub fn from_bits(bits: i64) -> Self {
        Self(u8::try_from(bits & 0x0f).unwrap_or(0))
    }

    /// The stored form.
    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    /// Both sets.
    #[must_use]
    pub fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every method of `other` is in this set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// How many independent factors: something known (password, verified user), something had
    /// (an OTP device, a passkey).
    pub fn factors(self) -> u8 {
        let knows = self.contains(Self::PASSWORD) || self.contains(Self::USER_VERIFIED);
        let has = self.contains(Self::OTP) || self.contains(Self::PASSKEY);
        u8::from(knows) + u8::from(has)
    }

    /// The RFC 8176 `amr` values, with `mfa` when two factors were used.
    pub fn amr(self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (m, name) in [
            (Self::PASSWORD, "pwd"),
            (Self::OTP, "otp"),
            (Self::PASSKEY, "hwk"),
            (Self::USER_VERIFIED, "user"),
        ] {
            if self.contains(m) {
                out.push(name);
            }
        }
        if self.factors() >= 2 {
            out.push("mfa");
        }
        out
    }

    /// The `acr` value (OIDC Core §2): [`ACR_MFA`] for two factors, else [`ACR_SINGLE`].
    pub fn acr(self) -> &'static str {
        if self.factors() >= 2 { ACR_MFA } else { ACR_SINGLE }
    }
}

/// `acr` of a sign-in with one factor (a password).
pub const ACR_SINGLE: &str = "urn:gatehouse:acr:1fa";
/// `acr` of a sign-in with two independent factors.
pub const ACR_MFA: &str = "urn:gatehouse:acr:mfa";
/// The `acr` values in discovery, weakest first.
pub const ACR_VALUES: [&str; 2] = [ACR_SINGLE, ACR_MFA];

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (the last six digits of the eight-digit values).
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59_i64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(
                totp_code(secret, totp_step(Timestamp::from_millis(t * 1000))),
                code,
                "{t}"
            );
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_only_after_the_last_used() {
        let secret = b"12345678901234567890";
        let now = Timestamp::from_millis(1_111_111_111_000);
        let step = totp_step(now);
        for s in [step - 1, step, step + 1] {
            assert_eq!(totp_match(secret, &totp_code(secret, s), now, None), Some(s));
        }
        for s in [step - 2, step + 2] {
            assert_eq!(totp_match(secret, &totp_code(secret, s), now, None), None);
        }
        let code = totp_code(secret, step);
        assert_eq!(totp_match(secret, &code, now, Some(step)), None, "replayed");
        assert_eq!(
            totp_match(secret, &totp_code(secret, step - 1), now, Some(step)),
            None,
            "older"
        );
        assert_eq!(totp_match(secret, "12345", now, None), None);
        assert_eq!(totp_match(secret, "abcdef", now, None), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back_as_typed() {
        let codes = new_recovery_codes(&crate::rng::SystemRng::default());
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for c in &codes {
            let n = normalize_recovery_code(&c.to_uppercase().replace('-', " ")).unwrap();
            assert_eq!(n, c.replace('-', ""));
        }
        assert_eq!(normalize_recovery_code("short"), None);
        assert_eq!(normalize_recovery_code("0000000000"), None, "0 is not in the alphabet");
    }

    #[test]
    fn amr_says_mfa_only_for_two_independent_factors() {
        let pwd = AuthMethods::PASSWORD;
        assert_eq!(pwd.amr(), ["pwd"]);
        assert_eq!(pwd.acr(), ACR_SINGLE);
        let otp = pwd.with(AuthMethods::OTP);
        assert_eq!(otp.amr(), ["pwd", "otp", "mfa"]);
        assert_eq!(otp.acr(), ACR_MFA);
        let passkey = AuthMethods::PASSKEY.with(AuthMethods::USER_VERIFIED);
        assert_eq!(passkey.amr(), ["hwk", "user", "mfa"]);
        assert_eq!(AuthMethods::PASSKEY.amr(), ["hwk"]);
        assert_eq!(AuthMethods::from_bits(otp.bits()), otp);
    }

    #[test]
    fn the_uri_carries_the_base32_secret_and_an_escaped_label() {
        let uri = totp_uri(b"12345678901234567890", "Gatehouse", "a b@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Gatehouse:a%20b%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30"
        );
    }
}
