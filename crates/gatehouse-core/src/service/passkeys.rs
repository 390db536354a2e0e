//! Passkeys (SPEC §5.4): registering them on the account page, signing in with one alone
//! (a discoverable credential with user verification), and using one instead of a code after the
//! password. Each ceremony's state waits in the database between its two requests, so any node
//! can finish it, and is taken by the first answer: a challenge is answered once.

use serde_json::Value;
use tracing::instrument;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};
use webauthn_rs_proto::{Mediation, ResidentKeyRequirement};

use super::Gatehouse;
use super::oauth::SignInOutcome;
use crate::error::{Error, Result};
use crate::factors::AuthMethods;
use crate::ids::{ProjectId, UserId, new_row_id};
use crate::model::User;
use crate::passkeys::{
    CEREMONY_TTL_SECS, Ceremony, CeremonyPurpose, MAX_CREDENTIAL_JSON, MAX_PASSKEYS, PasskeyRecord, check_name,
    relying_party,
};
use crate::rng::random_token;
use crate::secret::SecretString;

/// The browser's side of a ceremony: the handle to send back, and the options for
/// `navigator.credentials.create()` or `.get()` (`{"publicKey": …}`, binary values base64url).
#[derive(Debug)]
pub struct CeremonyStart {
    pub ceremony: String,
    pub options: Value,
}

/// The browser's answer to a ceremony.
#[derive(Debug)]
pub struct CeremonyAnswer {
    pub ceremony: String,
    /// The `PublicKeyCredential` as JSON (binary values base64url).
    pub credential: String,
}

fn refused() -> Error {
    Error::invalid("credential", "was not accepted; try again")
}

fn expired() -> Error {
    Error::invalid("ceremony", "has expired or was used already; try again")
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    if json.len() > MAX_CREDENTIAL_JSON {
        return Err(Error::invalid("credential", "is larger than a passkey's answer can be"));
    }
    serde_json::from_str(json).map_err(|_| Error::invalid("credential", "is not a WebAuthn credential"))
}

/// Asks for a discoverable credential, so that the passkey alone signs in (WebAuthn §5.4.6).
fn require_resident_key(options: &mut CreationChallengeResponse) {
    if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
        sel.resident_key = Some(ResidentKeyRequirement::Required);
        sel.require_resident_key = true;
    }
}

fn unexpected(e: impl std::fmt::Display) -> Error {
    Error::Unexpected(anyhow::anyhow!("webauthn: {e}"))
}

impl Gatehouse {
    /// The relying party of this server, or `None` when its public URL cannot carry passkeys
    /// (an IP address, or plain HTTP other than on `localhost`).
    fn webauthn(&self) -> Option<Webauthn> {
        let (id, origin) = relying_party(&self.provider.config.issuer)?;
        WebauthnBuilder::new(&id, &origin)
            .ok()?
            .rp_name("Gatehouse")
            .build()
            .ok()
    }

    fn webauthn_or_refuse(&self) -> Result<Webauthn> {
        self.webauthn()
            .ok_or_else(|| Error::Conflict("passkeys need the server's public URL to be an https:// domain".into()))
    }

    /// Whether passkeys work on this server (see [`crate::passkeys::relying_party`]).
    pub fn passkeys_available(&self) -> bool {
        self.webauthn().is_some()
    }

    /// The user's passkeys, oldest first (the account page).
    pub async fn passkeys(&self, user: UserId) -> Result<Vec<PasskeyRecord>> {
        self.store.list_passkeys(user).await
    }

    async fn begin_ceremony(
        &self,
        purpose: CeremonyPurpose,
        user: Option<UserId>,
        state: &impl serde::Serialize,
        options: &impl serde::Serialize,
    ) -> Result<CeremonyStart> {
        let ceremony = Ceremony {
            id: random_token(self.rng.as_ref()).into_secret(),
            purpose,
            user_id: user,
            state: serde_json::to_string(state).map_err(unexpected)?,
            expires_at: self.clock.now().plus_secs(CEREMONY_TTL_SECS),
        };
        self.store.insert_ceremony(&ceremony).await?;
        Ok(CeremonyStart {
            ceremony: ceremony.id,
            options: serde_json::to_value(options).map_err(unexpected)?,
        })
    }

    /// The ceremony `id` of `purpose` for `user`, taken so that nothing answers it again.
    async fn take<T: serde::de::DeserializeOwned>(
        &self,
        id: &str,
        purpose: CeremonyPurpose,
        user: Option<UserId>,
    ) -> Result<T> {
        if id.is_empty() || id.len() > 64 {
            return Err(expired());
        }
        let c = self
            .store
            .take_ceremony(id, purpose, self.clock.now())
            .await?
            .filter(|c| c.user_id == user)
            .ok_or_else(expired)?;
        serde_json::from_str(&c.state).map_err(unexpected)
    }

    fn stored(record: &PasskeyRecord) -> Result<Passkey> {
        serde_json::from_str(&record.passkey).map_err(unexpected)
    }

    /// Starts registering a passkey for `user`: a resident key (so it can sign in alone) with
    /// user verification, never one of the user's existing credentials again.
    #[instrument(level = "debug", skip_all, fields(user = %user.id))]
    pub async fn start_passkey_registration(&self, user: &User) -> Result<CeremonyStart> {
        let webauthn = self.webauthn_or_refuse()?;
        let existing = self.store.list_passkeys(user.id).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(Error::Conflict(format!(
                "you have {MAX_PASSKEYS} passkeys; remove one first"
            )));
        }
        let exclude = existing
            .iter()
            .map(|p| Self::stored(p).map(|k| k.cred_id().clone()))
            .collect::<Result<Vec<_>>>()?;
        let display = if user.name.is_empty() { &user.email } else { &user.name };
        let (mut options, state) = webauthn
            .start_passkey_registration(user.id.uuid(), &user.email, display, Some(exclude))
            .map_err(unexpected)?;
        require_resident_key(&mut options);
        self.begin_ceremony(CeremonyPurpose::Register, Some(user.id), &state, &options)
            .await
    }

    /// Finishes a registration: the browser's answer to the user's own ceremony, kept under `name`.
    #[instrument(level = "debug", skip_all, fields(user = %user.id))]
    pub async fn finish_passkey_registration(&self, user: &User, name: &str, answer: &CeremonyAnswer) -> Result<()> {
        let webauthn = self.webauthn_or_refuse()?;
        let name = check_name(name)?;
        let credential: RegisterPublicKeyCredential = parse(&answer.credential)?;
        let state: PasskeyRegistration = self
            .take(&answer.ceremony, CeremonyPurpose::Register, Some(user.id))
            .await?;
        let passkey = webauthn.finish_passkey_registration(&credential, &state).map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            refused()
        })?;
        let now = self.clock.now();
        let record = PasskeyRecord {
            id: new_row_id(),
            user_id: user.id,
            credential_id: passkey.cred_id().to_vec(),
            name: name.clone(),
            passkey: serde_json::to_string(&passkey).map_err(unexpected)?,
            created_at: now,
            last_used_at: None,
        };
        let audit = self.audit(
            &Self::self_service(user.id),
            ProjectId::SYSTEM,
            "user.passkey_add",
            ("user", user.id.to_string()),
            serde_json::json!({ "passkey": record.id, "name": name }),
        );
        self.store.insert_passkey(&record, &audit).await.map_err(|e| match e {
            Error::Conflict(_) => Error::invalid("credential", "is registered already"),
            e => e,
        })
    }

    /// Removes one of the user's passkeys. `NotFound` for any id that is not theirs.
    #[instrument(level = "debug", skip_all, fields(user = %user.id))]
    pub async fn remove_passkey(&self, user: &User, id: &str) -> Result<()> {
        let id = uuid::Uuid::try_parse(id).map_err(|_| Error::NotFound("passkey"))?;
        let audit = self.audit(
            &Self::self_service(user.id),
            ProjectId::SYSTEM,
            "user.passkey_remove",
            ("user", user.id.to_string()),
            serde_json::json!({ "passkey": id }),
        );
        if self.store.delete_passkey(user.id, id, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("passkey"))
        }
    }

    /// Starts a passwordless sign-in: the browser offers the passkeys it holds for this server.
    pub async fn start_passkey_sign_in(&self) -> Result<CeremonyStart> {
        let (mut options, state) = self
            .webauthn_or_refuse()?
            .start_discoverable_authentication()
            .map_err(unexpected)?;
        // Asked for by a button, not offered in the email field's autofill.
        options.mediation = None::<Mediation>;
        self.begin_ceremony(CeremonyPurpose::SignIn, None, &state, &options)
            .await
    }

    /// Finishes a passwordless sign-in: the passkey's signature over the ceremony's challenge
    /// opens a session of its owner (`hwk`, and `user` when the authenticator verified them).
    #[instrument(level = "debug", skip_all)]
    pub async fn finish_passkey_sign_in(
        &self,
        answer: &CeremonyAnswer,
        ip: &str,
        user_agent: &str,
    ) -> Result<SignInOutcome> {
        let webauthn = self.webauthn_or_refuse()?;
        let credential: PublicKeyCredential = parse(&answer.credential)?;
        let state: DiscoverableAuthentication = self.take(&answer.ceremony, CeremonyPurpose::SignIn, None).await?;
        let (owner, credential_id) = webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(|_| refused())?;
        let Some(record) = self
            .store
            .find_passkey(credential_id)
            .await?
            .filter(|r| r.user_id.uuid() == owner)
        else {
            tracing::info!("passkey sign-in with an unknown credential");
            return Ok(SignInOutcome::Invalid);
        };
        let mut passkey = Self::stored(&record)?;
        let Ok(result) =
            webauthn.finish_discoverable_authentication(&credential, state, &[DiscoverableKey::from(&passkey)])
        else {
            tracing::info!(user = %record.user_id, "passkey sign-in refused");
            return Ok(SignInOutcome::Invalid);
        };
        passkey.update_credential(&result);
        self.passkey_used(&record, &passkey).await?;
        let amr = AuthMethods::PASSKEY.with(if result.user_verified() {
            AuthMethods::USER_VERIFIED
        } else {
            AuthMethods::NONE
        });
        let (session, cookie) = self.open_session(record.user_id, amr, ip, user_agent).await?;
        Ok(SignInOutcome::SignedIn { session, cookie })
    }

    /// Whether the person `pending` vouches for has an authenticator app and passkeys, in that
    /// order (which choices the second step offers); `None` when `pending` is late or forged.
    pub async fn second_step_choices(&self, pending: &SecretString) -> Result<Option<(bool, bool)>> {
        let Some(user) = self.pending_user(pending) else {
            return Ok(None);
        };
        let passkeys = !self.store.list_passkeys(user).await?.is_empty() && self.passkeys_available();
        Ok(Some((self.has_totp(user).await?, passkeys)))
    }

    /// Starts the second step with a passkey for the person `pending` vouches for: only their
    /// passkeys answer it. `None` when `pending` is late or forged.
    pub async fn start_passkey_second_step(&self, pending: &SecretString) -> Result<Option<CeremonyStart>> {
        let webauthn = self.webauthn_or_refuse()?;
        let Some(user) = self.pending_user(pending) else {
            return Ok(None);
        };
        let keys = self
            .store
            .list_passkeys(user)
            .await?
            .iter()
            .map(Self::stored)
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            return Err(Error::NotFound("passkey"));
        }
        let (options, state) = webauthn.start_passkey_authentication(&keys).map_err(unexpected)?;
        let start = self
            .begin_ceremony(CeremonyPurpose::SecondStep, Some(user), &state, &options)
            .await?;
        Ok(Some(start))
    }

    /// Finishes the second step with a passkey: a session with `pwd` and `hwk` (and `user` when
    /// the authenticator verified the person).
    #[instrument(level = "debug", skip_all)]
    pub async fn finish_passkey_second_step(
        &self,
        pending: &SecretString,
        answer: &CeremonyAnswer,
        ip: &str,
        user_agent: &str,
    ) -> Result<SignInOutcome> {
        let webauthn = self.webauthn_or_refuse()?;
        let Some(user) = self.pending_user(pending) else {
            return Ok(SignInOutcome::Expired);
        };
        let credential: PublicKeyCredential = parse(&answer.credential)?;
        let state: PasskeyAuthentication = self
            .take(&answer.ceremony, CeremonyPurpose::SecondStep, Some(user))
            .await?;
        let record = self
            .store
            .find_passkey(credential.get_credential_id())
            .await?
            .filter(|r| r.user_id == user);
        let result = record
            .as_ref()
            .and_then(|_| webauthn.finish_passkey_authentication(&credential, &state).ok());
        let (Some(record), Some(result)) = (record, result) else {
            tracing::info!(user = %user, "passkey second step refused");
            return Ok(SignInOutcome::Invalid);
        };
        let mut passkey = Self::stored(&record)?;
        passkey.update_credential(&result);
        self.passkey_used(&record, &passkey).await?;
        let mut amr = AuthMethods::PASSWORD.with(AuthMethods::PASSKEY);
        if result.user_verified() {
            amr = amr.with(AuthMethods::USER_VERIFIED);
        }
        let (session, cookie) = self.open_session(user, amr, ip, user_agent).await?;
        Ok(SignInOutcome::SignedIn { session, cookie })
    }

    async fn passkey_used(&self, record: &PasskeyRecord, passkey: &Passkey) -> Result<()> {
        let json = serde_json::to_string(passkey).map_err(unexpected)?;
        self.store
            .passkey_used(record.user_id, record.id, &json, self.clock.now())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_are_not_credentials_are_refused_by_field() {
        let err = parse::<PublicKeyCredential>("{\"id\":1}").unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "credential"),
            "{err}"
        );
        let big = format!("\"{}\"", "a".repeat(MAX_CREDENTIAL_JSON));
        let err = parse::<PublicKeyCredential>(&big).unwrap_err();
        assert!(err.to_string().contains("larger"), "{err}");
    }

    #[test]
    fn every_ceremony_purpose_has_its_own_stored_name() {
        let names = [
            CeremonyPurpose::Register,
            CeremonyPurpose::SecondStep,
            CeremonyPurpose::SignIn,
        ]
        .map(CeremonyPurpose::as_str);
        assert_eq!(names, ["register", "second_step", "sign_in"]);
    }

    #[test]
    fn registration_options_ask_for_a_resident_key_with_user_verification() {
        let (id, origin) = relying_party("https://id.example.com").unwrap();
        let webauthn = WebauthnBuilder::new(&id, &origin).unwrap().build().unwrap();
        let (mut options, _) = webauthn
            .start_passkey_registration(uuid::Uuid::nil(), "a@example.com", "A", None)
            .unwrap();
        require_resident_key(&mut options);
        let json = serde_json::to_value(&options).unwrap();
        assert_eq!(json["publicKey"]["rp"]["id"], "id.example.com");
        let selection = &json["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["requireResidentKey"], true);
    }
}
