//! Sign-in, browser sessions and the account pages' operations (SPEC §5.4).

use std::net::{IpAddr, Ipv6Addr};

use tracing::instrument;

use super::super::Gatehouse;
use crate::error::{Error, Result};
use crate::factors::AuthMethods;
use crate::ids::{SessionId, UserId, new_row_id};
use crate::model::User;
use crate::oauth::Session;
use crate::password::MAX_PASSWORD;
use crate::rng::random_token;
use crate::secret::{SecretString, ct_eq};
use crate::text::check_email_ref;

const SESSION_DOMAIN: &str = "session";
const SECOND_STEP_PURPOSE: &str = "second-step";
/// How long after the password the second step may come.
pub const SECOND_STEP_TTL_SECS: i64 = 300;
const MAX_EMAIL: usize = 320;

/// A sign-in attempt from the login form.
#[derive(Debug)]
pub struct SignIn {
    pub email: String,
    pub password: SecretString,
    /// The client's address (the TCP peer); text that is not an address counts as one unknown
    /// address for the brute-force delays.
    pub ip: String,
    pub user_agent: String,
}

/// The second step of a sign-in: a code from the person's authenticator, or a recovery code.
#[derive(Debug)]
pub struct SecondStep {
    /// What [`SignInOutcome::SecondFactor`] handed out.
    pub pending: SecretString,
    pub code: SecretString,
    pub ip: String,
    pub user_agent: String,
}

/// What a sign-in attempt led to.
#[derive(Debug)]
pub enum SignInOutcome {
    /// Signed in: set `cookie` (the session's `id.secret`).
    SignedIn { session: Session, cookie: SecretString },
    /// The password was right and the person has a second factor: keep `pending` (sealed: who,
    /// and when the password was checked) for the second step, [`Gatehouse::sign_in_second_step`].
    SecondFactor { pending: SecretString },
    /// The second step came too late (or `pending` is not genuine): start again with the password.
    Expired,
    /// Wrong email or password (never said which), or a wrong second-step code.
    Invalid,
    /// Too many failures from this address (for this account, or for any): try again later.
    Throttled { retry_after_secs: u64 },
}

impl Gatehouse {
    /// Checks an email and password on the bounded hashing pool and opens a session. Unknown
    /// emails cost the same Argon2 verification as wrong passwords (SPEC §5.2).
    #[instrument(level = "debug", skip_all)]
    pub async fn sign_in(&self, req: SignIn) -> Result<SignInOutcome> {
        let now = self.clock.now();
        // Refused before any limiter or lookup: PostgreSQL cannot even compare a NUL.
        let email = check_email_ref("email", &req.email, MAX_EMAIL)?.to_lowercase();
        // Per account and address, per address, and per account for addresses that failed for
        // it: an address without failures always reaches the password check (oauth::limiter).
        let peer = req.ip.parse().unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        let limiter = &self.provider.limits.sign_in;
        let attempt = limiter.attempt(&email, peer);
        if let Err(retry_after_secs) = limiter.check(attempt, now) {
            return Ok(SignInOutcome::Throttled { retry_after_secs });
        }
        let plausible =
            !email.is_empty() && email.len() <= MAX_EMAIL && req.password.expose_secret().len() <= MAX_PASSWORD * 4;
        let user = if plausible {
            self.store.find_user_by_email(&email).await?
        } else {
            None
        };
        // An account without a password (made by an upstream sign-in) costs the same as none.
        let hash = match user.as_ref().filter(|u| u.has_password()) {
            Some(u) => u.password_hash.expose().clone(),
            None => self.dummy_hash().await?,
        };
        let ok = plausible
            && self.passwords.verify(&req.password, &hash).await?
            && user.as_ref().is_some_and(User::has_password);
        let Some(user) = user.filter(|_| ok) else {
            limiter.failure(attempt, now);
            tracing::info!("sign-in failed");
            return Ok(SignInOutcome::Invalid);
        };
        limiter.success(attempt);
        if self.has_second_factor(user.id).await? {
            let now = self.clock.now();
            let sealed = self.seal_for_browser(SECOND_STEP_PURPOSE, format!("{}.{}", user.id, now.millis()).as_bytes());
            return Ok(SignInOutcome::SecondFactor {
                pending: SecretString::new(sealed),
            });
        }
        let (session, cookie) = self
            .open_session(user.id, AuthMethods::PASSWORD, &req.ip, &req.user_agent)
            .await?;
        Ok(SignInOutcome::SignedIn { session, cookie })
    }

    /// The second step of a sign-in: a TOTP code or a recovery code for the person whose password
    /// `pending` vouches for, within [`SECOND_STEP_TTL_SECS`] of it. Wrong codes are limited per
    /// person ([`crate::oauth::limiter`]).
    #[instrument(level = "debug", skip_all)]
    pub async fn sign_in_second_step(&self, req: SecondStep) -> Result<SignInOutcome> {
        let now = self.clock.now();
        let Some(user) = self.pending_user(&req.pending) else {
            return Ok(SignInOutcome::Expired);
        };
        let limiter = &self.provider.limits.second_factor;
        if let Err(retry_after_secs) = limiter.check(&user, now) {
            return Ok(SignInOutcome::Throttled { retry_after_secs });
        }
        let code = req.code.expose_secret();
        if code.len() > 64 {
            return Err(Error::invalid("code", "is longer than a code can be"));
        }
        let Some(second) = self.check_second_factor(user, code).await? else {
            limiter.failure(&user, now);
            tracing::info!(user = %user, "second sign-in step failed");
            return Ok(SignInOutcome::Invalid);
        };
        limiter.success(&user);
        let (session, cookie) = self
            .open_session(user, AuthMethods::PASSWORD.with(second), &req.ip, &req.user_agent)
            .await?;
        Ok(SignInOutcome::SignedIn { session, cookie })
    }

    /// The person whose password `pending` (from [`SignInOutcome::SecondFactor`]) vouches for,
    /// within [`SECOND_STEP_TTL_SECS`] of it; `None` when it is late or not genuine.
    pub(crate) fn pending_user(&self, pending: &SecretString) -> Option<UserId> {
        let opened = self
            .open_from_browser(SECOND_STEP_PURPOSE, pending.expose_secret())
            .and_then(|b| String::from_utf8(b).ok())?;
        let (user, at) = opened.split_once('.')?;
        let (user, at) = (uuid::Uuid::try_parse(user).ok()?, at.parse::<i64>().ok()?);
        (self.clock.now().millis() - at <= SECOND_STEP_TTL_SECS * 1000).then(|| UserId::from_uuid(user))
    }

    /// Opens a browser session for `user`, who has just proved who they are with `amr`
    /// (`auth_time` is now, after the last factor was checked); the session and its cookie value
    /// (`id.secret`).
    pub(crate) async fn open_session(
        &self,
        user: UserId,
        amr: AuthMethods,
        ip: &str,
        user_agent: &str,
    ) -> Result<(Session, SecretString)> {
        let now = self.clock.now();
        let secret = random_token(self.rng.as_ref());
        let id = SessionId::from_uuid(new_row_id());
        let session = Session {
            id,
            user_id: user,
            secret_hash: self.session_hash(id, secret.expose_secret()).into(),
            created_at: now,
            auth_time: now,
            amr,
            expires_at: now.plus_secs(self.provider.config.session_ttl_secs),
            user_agent: truncate(user_agent, 300),
            ip: truncate(ip, 64),
        };
        self.store.insert_session(&session).await?;
        tracing::info!(user = %user, session = %id, "signed in");
        let cookie = SecretString::new(format!("{}.{}", id.uuid().simple(), secret.expose_secret()));
        Ok((session, cookie))
    }

    async fn dummy_hash(&self) -> Result<String> {
        self.provider
            .dummy_hash
            .get_or_try_init(|| async {
                self.passwords
                    .hash(self.rng.as_ref(), &random_token(self.rng.as_ref()).into())
                    .await
            })
            .await
            .cloned()
    }

    fn session_hash(&self, id: SessionId, secret: &str) -> Vec<u8> {
        self.keys.hasher().hash(SESSION_DOMAIN, &id.to_string(), secret)
    }

    /// The live session a cookie value names, with its user.
    pub async fn session_from_cookie(&self, cookie: &str) -> Result<Option<(Session, User)>> {
        let Some((id, secret)) = cookie.split_once('.') else {
            return Ok(None);
        };
        let Ok(id) = uuid::Uuid::try_parse(id) else {
            return Ok(None);
        };
        let Some((session, user)) = self.store.get_session(SessionId::from_uuid(id)).await? else {
            return Ok(None);
        };
        let expected = self.session_hash(session.id, secret);
        if !ct_eq(&expected, session.secret_hash.as_bytes()) || session.expires_at <= self.clock.now() {
            return Ok(None);
        }
        Ok(Some((session, user)))
    }

    /// Signs out: ends the session and revokes the refresh tokens issued in it to clients with
    /// `revoke_on_logout` (SPEC §5.2).
    #[instrument(level = "debug", skip_all, fields(session = %session.id))]
    pub async fn sign_out(&self, session: &Session) -> Result<()> {
        let mut revoke = Vec::new();
        for id in self.store.session_grant_clients(session.id).await? {
            let keep = self
                .cached_client(id.as_str())
                .await?
                .is_some_and(|c| !c.settings.revoke_on_logout);
            if !keep {
                revoke.push(id);
            }
        }
        if self
            .store
            .end_session(session.user_id, session.id, Some(&revoke), self.clock.now())
            .await?
        {
            self.revoked().await;
        }
        Ok(())
    }

    /// The user's live sessions (the account page).
    pub async fn list_own_sessions(&self, user: UserId) -> Result<Vec<Session>> {
        self.store.list_sessions(user, self.clock.now()).await
    }

    /// Ends one of the user's own sessions and revokes every token issued in it.
    pub async fn revoke_own_session(&self, user: UserId, id: SessionId) -> Result<()> {
        if self.store.end_session(user, id, None, self.clock.now()).await? {
            self.revoked().await;
            Ok(())
        } else {
            Err(Error::NotFound("session"))
        }
    }

    /// Changes the user's password after checking the current one, then ends every session and
    /// revokes every grant of the user (SPEC §5.4).
    #[instrument(level = "debug", skip_all, fields(user = %user.id))]
    pub async fn change_password(&self, user: &User, current: &SecretString, new: &SecretString) -> Result<()> {
        if !user.has_password() || !self.passwords.verify(current, user.password_hash.expose()).await? {
            return Err(Error::invalid("current_password", "is not correct"));
        }
        let hash = self.passwords.hash(self.rng.as_ref(), new).await?;
        let who = crate::access::Principal::User {
            id: user.id,
            read_only: false,
            server_admin: false,
        };
        let audit = self.audit(
            &who,
            crate::ids::ProjectId::SYSTEM,
            "user.password_change",
            ("user", user.id.to_string()),
            serde_json::json!({}),
        );
        self.store
            .change_password(user.id, &hash, self.clock.now(), &audit)
            .await?;
        self.revoked().await;
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}
