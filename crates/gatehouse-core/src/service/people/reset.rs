//! Password reset (SPEC §5.4): a link mailed to the account's address sets a new password once,
//! ending every session and revoking every grant of the account, as a password change does.
//! An unknown address gets the same answer after the same work, minus the mail.

use serde_json::json;

use super::{LinkUse, Sent};
use crate::access::Principal;
use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::people::{AccountLink, LinkPurpose, RESET_LINK_TTL_SECS};
use crate::secret::SecretString;
use crate::service::Gatehouse;
use crate::text::check_email;

impl Gatehouse {
    /// Mails a reset link to `email` if it has an account.
    pub async fn request_password_reset(&self, email: &str, ip: &str) -> Result<Sent> {
        let email = check_email("email", email)?;
        if let Err(retry_after_secs) = self.count_send(email, ip) {
            return Ok(Sent::Throttled { retry_after_secs });
        }
        let user = self.store.find_user_by_email(email).await?;
        // The link is made either way, so both answers cost the same.
        let (id, token, secret_hash) = self.new_link_secret();
        let Some(user) = user else {
            tracing::info!("password reset asked for an address without an account");
            return Ok(Sent::Sent);
        };
        let now = self.clock.now();
        let link = AccountLink {
            id,
            purpose: LinkPurpose::Reset,
            email: user.email.clone(),
            secret_hash: secret_hash.into(),
            user_id: Some(user.id),
            name: String::new(),
            password_hash: String::new().into(),
            next: String::new(),
            created_at: now,
            expires_at: now.plus_secs(RESET_LINK_TTL_SECS),
            used_at: None,
        };
        self.store.insert_link(&link).await?;
        self.post(self.reset_mail(&user.email, &token));
        Ok(Sent::Sent)
    }

    /// Follows a reset link: sets `new` as the password (once), ends every session and revokes
    /// every grant of the account. A password that breaks the rules leaves the link usable.
    pub async fn reset_password(&self, token: &str, new: &SecretString, ip: &str) -> Result<LinkUse<()>> {
        let link = match self.open_link(token, LinkPurpose::Reset, ip).await?.done() {
            Ok(l) => l,
            Err(refused) => return Ok(refused),
        };
        let Some(user) = link.user_id else {
            return Ok(LinkUse::Refused);
        };
        let hash = self.passwords.hash(self.rng.as_ref(), new).await.map_err(|e| match e {
            Error::Invalid { reason, .. } => Error::invalid("new_password", reason),
            e => e,
        })?;
        let who = Principal::User {
            id: user,
            read_only: false,
            server_admin: false,
        };
        let audit = self.audit(
            &who,
            ProjectId::SYSTEM,
            "user.password_reset",
            ("user", user.to_string()),
            json!({}),
        );
        if !self
            .store
            .finish_reset(link.id, user, &hash, self.clock.now(), &audit)
            .await?
        {
            return Ok(LinkUse::Refused);
        }
        self.revoked().await;
        tracing::info!(user = %user, "password reset");
        Ok(LinkUse::Done(()))
    }
}
