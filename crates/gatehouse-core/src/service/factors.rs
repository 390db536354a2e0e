//! Second factors on the account page and in sign-in (SPEC §5.4): setting up a TOTP
//! authenticator (the secret sealed at rest, confirmed by a first code, ten recovery codes shown
//! once and stored as keyed hashes), removing it with the password, and checking a code in the
//! second step of sign-in (each TOTP time step accepted once, each recovery code once).

use tracing::instrument;

use super::Gatehouse;
use crate::access::Principal;
use crate::crypto::{DataKey, RowAad};
use crate::error::{Error, Result};
use crate::factors::{
    AuthMethods, TotpFactor, looks_like_totp, new_recovery_codes, new_totp_secret, normalize_recovery_code, totp_match,
    totp_text_key, totp_uri,
};
use crate::ids::{ProjectId, UserId};
use crate::model::User;
use crate::secret::{Redacted, SecretString};

const RECOVERY_DOMAIN: &str = "recovery-code";
/// The issuer label authenticator apps show next to the account.
const TOTP_ISSUER: &str = "Gatehouse";

/// A TOTP secret being set up, as the account page shows it.
#[derive(Debug)]
pub struct TotpSetup {
    /// The `otpauth://` URI (for a QR code or a link on a phone).
    pub uri: SecretString,
    /// The secret in base32, to type in.
    pub text_key: SecretString,
}

impl Gatehouse {
    fn factor_key(&self) -> DataKey {
        DataKey::from_bytes(&self.keys.hasher().derive_key("second factors"))
    }

    fn totp_aad(user: UserId) -> RowAad {
        RowAad::new("totp", "", "", &user.to_string(), &user.to_string(), 1)
    }

    fn recovery_hash(&self, user: UserId, normalized: &str) -> Vec<u8> {
        self.keys.hasher().hash(RECOVERY_DOMAIN, &user.to_string(), normalized)
    }

    fn open_totp(&self, f: &TotpFactor) -> Result<Vec<u8>> {
        self.factor_key().open(&Self::totp_aad(f.user_id), f.secret.expose())
    }

    fn setup_view(&self, user: &User, secret: &[u8]) -> TotpSetup {
        TotpSetup {
            uri: SecretString::new(totp_uri(secret, TOTP_ISSUER, &user.email)),
            text_key: SecretString::new(totp_text_key(secret)),
        }
    }

    /// The user's TOTP factor, confirmed or being set up (the account page).
    pub async fn totp_factor(&self, user: UserId) -> Result<Option<TotpFactor>> {
        self.store.get_totp(user).await
    }

    /// Starts setting up TOTP: a new secret, stored sealed until a first code confirms it.
    /// `Conflict` when the user already has one.
    #[instrument(level = "debug", skip_all, fields(user = %user.id))]
    pub async fn start_totp(&self, user: &User) -> Result<TotpSetup> {
        let secret = new_totp_secret(self.rng.as_ref());
        let factor = TotpFactor {
            user_id: user.id,
            secret: Redacted::new(
                self.factor_key()
                    .seal(self.rng.as_ref(), &Self::totp_aad(user.id), &secret),
            ),
            last_step: None,
            created_at: self.clock.now(),
            confirmed_at: None,
            recovery_left: 0,
        };
        if !self.store.put_pending_totp(&factor).await? {
            return Err(Error::Conflict("an authenticator app is already set up".into()));
        }
        Ok(self.setup_view(user, &secret))
    }

    /// The secret being set up, shown again (after a wrong first code).
    pub async fn pending_totp(&self, user: &User) -> Result<Option<TotpSetup>> {
        match self.store.get_totp(user.id).await? {
            Some(f) if f.confirmed_at.is_none() => Ok(Some(self.setup_view(user, &self.open_totp(&f)?))),
            _ => Ok(None),
        }
    }

    /// Confirms the secret being set up with a first code and returns the new recovery codes,
    /// shown this once. Wrong codes count towards the second-step limit.
    #[instrument(level = "debug", skip_all, fields(user = %user.id))]
    pub async fn confirm_totp(&self, user: &User, code: &str) -> Result<Vec<SecretString>> {
        let now = self.clock.now();
        let limiter = &self.provider.limits.second_factor;
        if let Err(secs) = limiter.check(&user.id, now) {
            return Err(Error::invalid(
                "code",
                format!("was wrong too often; try again in {secs} s"),
            ));
        }
        let Some(f) = self.store.get_totp(user.id).await?.filter(|f| f.confirmed_at.is_none()) else {
            return Err(Error::invalid(
                "code",
                "belongs to no authenticator being set up; start again",
            ));
        };
        let Some(step) = totp_match(&self.open_totp(&f)?, code, now, None) else {
            limiter.failure(&user.id, now);
            return Err(Error::invalid("code", "is not the authenticator's current code"));
        };
        limiter.success(&user.id);
        let codes = new_recovery_codes(self.rng.as_ref());
        let hashes: Vec<Vec<u8>> = codes
            .iter()
            .map(|c| self.recovery_hash(user.id, &c.replace('-', "")))
            .collect();
        let audit = self.audit(
            &Self::self_service(user.id),
            ProjectId::SYSTEM,
            "user.totp_enable",
            ("user", user.id.to_string()),
            serde_json::json!({}),
        );
        if !self.store.confirm_totp(user.id, step, now, &hashes, &audit).await? {
            return Err(Error::invalid(
                "code",
                "belongs to no authenticator being set up; start again",
            ));
        }
        Ok(codes.into_iter().map(SecretString::new).collect())
    }

    /// Removes the user's authenticator and recovery codes after checking their password.
    #[instrument(level = "debug", skip_all, fields(user = %user.id))]
    pub async fn remove_totp(&self, user: &User, password: &SecretString) -> Result<()> {
        if !self.passwords.verify(password, user.password_hash.expose()).await? {
            return Err(Error::invalid("current_password", "is not correct"));
        }
        let audit = self.audit(
            &Self::self_service(user.id),
            ProjectId::SYSTEM,
            "user.totp_remove",
            ("user", user.id.to_string()),
            serde_json::json!({}),
        );
        if self.store.remove_totp(user.id, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("authenticator"))
        }
    }

    /// Whether `user` must pass a second factor after the password.
    pub(crate) async fn has_second_factor(&self, user: UserId) -> Result<bool> {
        Ok(self.has_totp(user).await? || !self.store.list_passkeys(user).await?.is_empty())
    }

    /// Whether `user` has a confirmed authenticator app.
    pub(crate) async fn has_totp(&self, user: UserId) -> Result<bool> {
        Ok(self
            .store
            .get_totp(user)
            .await?
            .is_some_and(|f| f.confirmed_at.is_some()))
    }

    /// Checks a code of the second step: six digits are a TOTP code (its time step then used
    /// up), anything else a recovery code (then used up). What it proved, or `None`.
    pub(crate) async fn check_second_factor(&self, user: UserId, code: &str) -> Result<Option<AuthMethods>> {
        let now = self.clock.now();
        if looks_like_totp(code) {
            let Some(f) = self.store.get_totp(user).await?.filter(|f| f.confirmed_at.is_some()) else {
                return Ok(None);
            };
            let Some(step) = totp_match(&self.open_totp(&f)?, code, now, f.last_step) else {
                return Ok(None);
            };
            // Compare and set: of two sign-ins racing with one code, one wins.
            return Ok(self.store.use_totp_step(user, step).await?.then_some(AuthMethods::OTP));
        }
        let Some(normalized) = normalize_recovery_code(code) else {
            return Ok(None);
        };
        let hash = self.recovery_hash(user, &normalized);
        Ok(self
            .store
            .use_recovery_code(user, &hash, now)
            .await?
            .then_some(AuthMethods::OTP))
    }

    pub(crate) fn self_service(id: UserId) -> Principal {
        Principal::User {
            id,
            read_only: false,
            server_admin: false,
        }
    }
}
