//! Signing in through an upstream identity provider (SPEC §5.4, [`crate::idp`]): the
//! authorization code flow with PKCE S256, `state` and `nonce`, whose pending values travel sealed
//! in a cookie of the browser that started it (so a callback in another browser, or a second use
//! after the cookie is spent, fails); the RFC 9207 `iss` check; then the account, found by the
//! linked identity, else linked or created only through an email the upstream verified.

mod admin;
mod upstream;

pub use admin::{IdpEntry, IdpSource};
pub(crate) use upstream::Upstreams;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;

use self::upstream::Exchange;
use super::Gatehouse;
use crate::access::Principal;
use crate::broker::s256_challenge;
use crate::error::{Error, Result};
use crate::factors::AuthMethods;
use crate::idp::{IdentityProvider, IdpKind, LinkedIdentity, UpstreamPerson};
use crate::ids::{IdentityId, ProjectId, UserId, new_row_id};
use crate::model::User;
use crate::oauth::Session;
use crate::rng::random_token;
use crate::secret::{Redacted, SecretString, ct_eq};

/// The cookie purpose of a pending upstream sign-in.
const PENDING: &str = "upstream-sign-in";
/// How long a person has at the upstream before the sign-in must start again.
pub const PENDING_TTL_SECS: i64 = 600;

/// A started upstream sign-in: send the browser to `location` with `cookie` set. No `Debug`:
/// the cookie is the pending sign-in.
pub struct UpstreamStart {
    pub location: String,
    /// The sealed pending sign-in, for a cookie that lives [`PENDING_TTL_SECS`].
    pub cookie: String,
}

/// The provider's redirect back to `/login/with/{name}/callback`, with the browser's cookie. No
/// `Debug`: it holds the code.
pub struct UpstreamCallback<'a> {
    pub cookie: Option<&'a str>,
    pub code: Option<&'a str>,
    pub state: Option<&'a str>,
    pub iss: Option<&'a str>,
    pub error: Option<&'a str>,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

/// How an upstream sign-in ended.
#[derive(Debug)]
pub enum UpstreamOutcome {
    /// Signed in: set `cookie` (the new session's `id.secret`) and go on to `next`.
    SignedIn {
        session: Session,
        cookie: SecretString,
        next: String,
    },
    /// Refused; the reason is for the person and names no secret.
    Refused(String),
}

/// What the cookie holds between the start and the callback.
#[derive(Serialize, Deserialize)]
struct Pending {
    provider: String,
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    expires_at: i64,
}

impl Gatehouse {
    /// The upstream identity providers in use, in the order of the sign-in page's buttons: the
    /// config file's, then those managed over REST.
    pub fn identity_providers(&self) -> std::sync::Arc<[IdentityProvider]> {
        crate::keyring::read(&self.upstreams.providers).clone()
    }

    fn identity_provider(&self, name: &str) -> Result<IdentityProvider> {
        self.identity_providers()
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or(Error::NotFound("identity provider"))
    }

    /// Where the provider sends the browser back (to register at the provider).
    pub fn upstream_redirect_uri(&self, name: &str) -> String {
        format!("{}/login/with/{name}/callback", self.provider.config.issuer)
    }

    /// Starts signing in with provider `name`, returning to the local path `next` afterwards.
    #[instrument(level = "debug", skip_all, fields(provider = %name))]
    pub async fn start_upstream_sign_in(&self, name: &str, next: &str) -> Result<UpstreamStart> {
        let p = &self.identity_provider(name)?;
        let now = self.clock.now();
        let endpoints = self.upstreams.endpoints(p, now).await.map_err(|why| {
            tracing::warn!(provider = %p.name, %why, "upstream identity provider unusable");
            Error::unexpected(anyhow::anyhow!("{} cannot be reached now", p.display_name))
        })?;
        let pending = Pending {
            provider: p.name.clone(),
            state: random_token(self.rng.as_ref()).into_secret(),
            nonce: random_token(self.rng.as_ref()).into_secret(),
            verifier: random_token(self.rng.as_ref()).into_secret(),
            next: next.to_owned(),
            expires_at: now.plus_secs(PENDING_TTL_SECS).millis(),
        };
        let mut url = url::Url::parse(&endpoints.authorization)
            .map_err(|_| Error::unexpected(anyhow::anyhow!("{}: the authorization endpoint is no URL", p.name)))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &p.client_id)
            .append_pair("redirect_uri", &self.upstream_redirect_uri(&p.name))
            .append_pair("scope", &p.scopes.join(" "))
            .append_pair("state", &pending.state)
            .append_pair("code_challenge", &s256_challenge(&pending.verifier))
            .append_pair("code_challenge_method", "S256");
        if matches!(p.kind, IdpKind::Oidc { .. }) {
            url.query_pairs_mut().append_pair("nonce", &pending.nonce);
        }
        let sealed = serde_json::to_vec(&pending).map_err(Error::unexpected)?;
        Ok(UpstreamStart {
            location: url.into(),
            cookie: self.seal_for_browser(PENDING, &sealed),
        })
    }

    /// Finishes signing in with provider `name`: checks the callback against the pending sign-in
    /// of this browser, exchanges the code, and signs in the account the upstream identity names.
    #[instrument(level = "debug", skip_all, fields(provider = %name))]
    pub async fn finish_upstream_sign_in(&self, name: &str, cb: UpstreamCallback<'_>) -> Result<UpstreamOutcome> {
        let p = &self.identity_provider(name)?;
        let refused = |why: &str| {
            tracing::info!(provider = %p.name, %why, "upstream sign-in refused");
            Ok(UpstreamOutcome::Refused(why.to_owned()))
        };
        let now = self.clock.now();
        let pending = cb
            .cookie
            .and_then(|c| self.open_from_browser(PENDING, c))
            .and_then(|raw| serde_json::from_slice::<Pending>(&raw).ok())
            .filter(|s| s.provider == p.name && s.expires_at > now.millis());
        let Some(pending) = pending else {
            return refused("This sign-in was not started in this browser, or it took too long. Start again.");
        };
        if let Some(error) = cb.error {
            let error: String = error.chars().filter(char::is_ascii_graphic).take(60).collect();
            return refused(&format!("{} did not sign you in ({error}).", p.display_name));
        }
        if !cb.state.is_some_and(|s| ct_eq(s.as_bytes(), pending.state.as_bytes())) {
            return refused("The answer's state does not match this sign-in.");
        }
        let endpoints = match self.upstreams.endpoints(p, now).await {
            Ok(e) => e,
            Err(why) => return refused(&format!("{} cannot be reached now: {why}", p.display_name)),
        };
        // RFC 9207 §2.4: a provider that says it sends `iss` must send its own.
        let expected_iss = match &p.kind {
            IdpKind::Oidc { issuer } => Some(issuer.as_str()),
            IdpKind::GitHub { .. } => None,
        };
        let iss_ok = match (cb.iss, expected_iss) {
            (Some(got), Some(want)) => got == want,
            (Some(_), None) => false,
            (None, _) => !endpoints.iss_required,
        };
        if !iss_ok {
            return refused("The answer's iss is not the provider's issuer.");
        }
        let Some(code) = cb.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
            return refused("The answer has no code.");
        };
        let redirect_uri = self.upstream_redirect_uri(&p.name);
        let exchange = Exchange {
            code,
            redirect_uri: &redirect_uri,
            verifier: &pending.verifier,
            nonce: &pending.nonce,
        };
        let person = match self.upstreams.person(p, &endpoints, exchange, now).await {
            Ok(person) => person,
            Err(why) => return refused(&format!("{} could not be used: {why}.", p.display_name)),
        };
        let Some(user) = self.account_for(p, person).await? else {
            return refused(&format!(
                "No account could be signed in with {}: it must give a verified email address of an account here, or new accounts must be allowed.",
                p.display_name
            ));
        };
        // The upstream authenticated the person; how is its own business (RFC 8176 names no method
        // for it), so the ID token carries no `amr`.
        let (session, cookie) = self
            .open_session(user.id, AuthMethods::NONE, cb.ip, cb.user_agent)
            .await?;
        Ok(UpstreamOutcome::SignedIn {
            session,
            cookie,
            next: pending.next,
        })
    }

    /// The account `person` signs in as: the one their identity is linked to; else the account
    /// with their verified email, linked now; else, where the provider allows sign-up, a new
    /// account (without a password) for their verified email. Never through an unverified email.
    async fn account_for(&self, p: &IdentityProvider, person: UpstreamPerson) -> Result<Option<User>> {
        if let Some((_, user)) = self.store.find_identity(&p.name, &person.subject).await? {
            return Ok(Some(user));
        }
        let Some(email) = person.verified_email else {
            return Ok(None);
        };
        let now = self.clock.now();
        let (user, new_user) = match self.store.find_user_by_email(&email).await? {
            Some(existing) => (existing, false),
            None if p.allow_signup => {
                let name = person
                    .name
                    .filter(|n| crate::text::check_name("name", n, 100).is_ok())
                    .unwrap_or_else(|| email.clone());
                let user = User {
                    id: UserId::from_uuid(new_row_id()),
                    email: email.clone(),
                    name,
                    password_hash: Redacted::new(String::new()),
                    // The upstream verified this address (never linked otherwise).
                    email_verified_at: Some(now),
                    created_at: now,
                    updated_at: now,
                };
                (user, true)
            }
            None => return Ok(None),
        };
        let identity = LinkedIdentity {
            id: IdentityId::from_uuid(new_row_id()),
            user_id: user.id,
            provider: p.name.clone(),
            subject: person.subject,
            email,
            created_at: now,
        };
        let audit = self.audit(
            &own(user.id),
            ProjectId::SYSTEM,
            if new_user {
                "user.create_by_identity"
            } else {
                "user.identity_link"
            },
            ("user", user.id.to_string()),
            json!({"provider": p.name, "identity": identity.id.to_string()}),
        );
        self.store
            .link_identity(&identity, new_user.then_some(&user), &audit)
            .await?;
        tracing::info!(user = %user.id, provider = %p.name, new_user, "upstream identity linked");
        Ok(Some(user))
    }

    /// The account's linked identities (the account page).
    pub async fn list_own_identities(&self, user: UserId) -> Result<Vec<LinkedIdentity>> {
        self.store.list_identities(user).await
    }

    /// Removes one of the account's linked identities, unless it is the last way to sign in of
    /// an account without a password.
    #[instrument(level = "debug", skip_all, fields(user = %user.id))]
    pub async fn unlink_own_identity(&self, user: &User, id: IdentityId) -> Result<()> {
        let identities = self.store.list_identities(user.id).await?;
        let Some(identity) = identities.iter().find(|i| i.id == id) else {
            return Err(Error::NotFound("linked identity"));
        };
        if !user.has_password() && identities.len() == 1 {
            return Err(Error::invalid(
                "identity",
                "is the only way to sign in to this account, which has no password",
            ));
        }
        let audit = self.audit(
            &own(user.id),
            ProjectId::SYSTEM,
            "user.identity_unlink",
            ("user", user.id.to_string()),
            json!({"provider": identity.provider, "identity": id.to_string()}),
        );
        if self.store.delete_identity(user.id, id, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("linked identity"))
        }
    }
}

/// The person acting on their own account.
fn own(id: UserId) -> Principal {
    Principal::User {
        id,
        read_only: false,
        server_admin: false,
    }
}
