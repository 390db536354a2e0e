//! Sign-up (SPEC §5.4): the policy decides who may ask; the account is created only when the
//! person follows the link mailed to the address, so an address cannot be claimed by someone
//! who cannot read its mail. Asking for an address that has an account answers the same and
//! mails its owner a note instead.

use serde_json::json;

use super::{LinkUse, Sent};
use crate::access::Principal;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, UserId, new_row_id};
use crate::model::User;
use crate::people::{AccountLink, LinkPurpose, SIGNUP_LINK_TTL_SECS};
use crate::secret::SecretString;
use crate::service::Gatehouse;
use crate::text::{check_email, check_name};

/// Longest `next` path kept with a sign-up.
const MAX_NEXT: usize = 4096;

/// A sign-up form.
#[derive(Debug)]
pub struct SignUp {
    pub email: String,
    pub name: String,
    pub password: SecretString,
    /// The client's address, for the rate limits.
    pub ip: String,
    /// The same-origin path to return to once the address is verified (may be empty).
    pub next: String,
    /// The invitation token of the link the person followed, if any.
    pub invitation: Option<String>,
}

/// What a sign-up led to.
#[derive(Debug, PartialEq, Eq)]
pub enum SignUpOutcome {
    /// Accepted (a verification mail, or a note to an existing account's owner, is on its way),
    /// or throttled.
    Sent(Sent),
    /// The policy does not let this address sign up (says nothing about accounts).
    NotAllowed,
}

impl Gatehouse {
    /// Checks a sign-up against the policy and mails the verification link.
    pub async fn sign_up(&self, req: SignUp) -> Result<SignUpOutcome> {
        let email = check_email("email", &req.email)?.to_owned();
        check_name("name", &req.name, 200)?;
        if req.next.len() > MAX_NEXT {
            return Err(Error::invalid("next", format!("must be at most {MAX_NEXT} bytes")));
        }
        let policy = self.sign_up_policy_for(&req.next, req.invitation.as_deref()).await?;
        let invited = match (&req.invitation, policy.offers_sign_up()) {
            (Some(token), true) => self.invitation_for(token, &email).await?.is_some(),
            _ => false,
        };
        if !invited && !policy.admits(&email) {
            return Ok(SignUpOutcome::NotAllowed);
        }
        // The password's rules are checked (and it is hashed) whatever happens next, so every
        // accepted sign-up costs one Argon2 hash.
        let password_hash = self.passwords.hash(self.rng.as_ref(), &req.password).await?;
        if let Err(retry_after_secs) = self.count_send(&email, &req.ip) {
            return Ok(SignUpOutcome::Sent(Sent::Throttled { retry_after_secs }));
        }
        if let Some(user) = self.store.find_user_by_email(&email).await? {
            self.post(self.already_registered_mail(&user.email));
            return Ok(SignUpOutcome::Sent(Sent::Sent));
        }
        let now = self.clock.now();
        let (id, token, secret_hash) = self.new_link_secret();
        let link = AccountLink {
            id,
            purpose: LinkPurpose::SignUp,
            email: email.clone(),
            secret_hash: secret_hash.into(),
            user_id: None,
            name: req.name.trim().to_owned(),
            password_hash: password_hash.into(),
            next: req.next,
            created_at: now,
            expires_at: now.plus_secs(SIGNUP_LINK_TTL_SECS),
            used_at: None,
        };
        self.store.insert_link(&link).await?;
        self.post(self.verify_mail(&email, &token));
        Ok(SignUpOutcome::Sent(Sent::Sent))
    }

    /// Follows a sign-up link: creates the account (once) and gives the path to return to.
    pub async fn verify_sign_up(&self, token: &str, ip: &str) -> Result<LinkUse<String>> {
        let link = match self.open_link(token, LinkPurpose::SignUp, ip).await?.done() {
            Ok(l) => l,
            Err(refused) => return Ok(refused),
        };
        let now = self.clock.now();
        let user = User {
            id: UserId::from_uuid(new_row_id()),
            email: link.email.clone(),
            name: link.name.clone(),
            password_hash: link.password_hash.clone(),
            // Following the link mailed to the address proved it.
            email_verified_at: Some(now),
            created_at: now,
            updated_at: now,
        };
        let who = Principal::User {
            id: user.id,
            read_only: false,
            server_admin: false,
        };
        let audit = self.audit(
            &who,
            ProjectId::SYSTEM,
            "user.sign_up",
            ("user", user.id.to_string()),
            json!({ "email": user.email }),
        );
        match self.store.finish_sign_up(link.id, &user, now, &audit).await {
            Ok(true) => {
                tracing::info!(user = %user.id, "signed up");
                Ok(LinkUse::Done(link.next))
            }
            // Used meanwhile, or the address got an account another way.
            Ok(false) | Err(Error::Conflict(_)) => Ok(LinkUse::Refused),
            Err(e) => Err(e),
        }
    }
}
