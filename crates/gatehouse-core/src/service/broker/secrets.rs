//! Stored secrets: the list of credentials a participant owns or may use in a room, and their
//! deletion, which also revokes them at the provider.

use serde_json::json;

use super::{Gatehouse, secrets_grant};
use crate::broker::OAuthCredential;
use crate::error::{Error, Result};
use crate::ids::RoomSecretId;
use crate::participant::{MAX_NAME_CHARS, Verified};
use crate::ports::{Invalidation, UpstreamClient};
use crate::secret::SecretString;
use crate::text::check_name;

/// Secrets one list returns at most.
const MAX_LISTED: u32 = 1000;

impl Gatehouse {
    /// `secrets.list`: the credentials the caller owns or that are delegated to it, in this room.
    /// Only their public settings are meant to be shown: the tokens stay sealed.
    pub async fn list_room_secrets(&self, who: &Verified, room: &str) -> Result<Vec<OAuthCredential>> {
        secrets_grant(who)?;
        self.store
            .list_credentials(who.project_id, room, &who.claims.name, MAX_LISTED)
            .await
    }

    /// `secrets.delete`: forgets a credential the caller owns or may use, and revokes it at the
    /// provider when it has a revocation endpoint (best effort: the credential is gone either way).
    /// With `delegated_to`, only the credential delegated to that identity.
    pub async fn delete_room_secret(
        &self,
        who: &Verified,
        room: &str,
        id: RoomSecretId,
        delegated_to: Option<&str>,
    ) -> Result<()> {
        secrets_grant(who)?;
        if let Some(d) = delegated_to {
            check_name("delegated_to", d, MAX_NAME_CHARS)?;
        }
        let me = &who.claims.name;
        let c = self
            .store
            .get_credential(who.project_id, id)
            .await?
            .filter(|c| c.room_name == room && c.usable_by(me))
            .filter(|c| delegated_to.is_none_or(|d| d == c.delegated_to))
            .ok_or(Error::NotFound("secret"))?;
        let audit = self.participant_audit(
            who,
            "room_secret.delete",
            c.id,
            json!({ "room": room, "owner": c.owner }),
        );
        if !self.store.delete_credential(who.project_id, c.id, &audit).await? {
            return Err(Error::NotFound("secret"));
        }
        self.invalidate(Invalidation::Broker { id: c.id.uuid() }).await;
        if let Some(endpoint) = &c.provider.revocation_endpoint
            && let Err(e) = self.revoke_upstream(&c, endpoint).await
        {
            tracing::warn!(error = %e, secret = %c.id, "revoking a deleted credential at its provider failed");
        }
        Ok(())
    }

    async fn revoke_upstream(&self, c: &OAuthCredential, endpoint: &str) -> Result<()> {
        let secrets = self.open_credential(c).await?;
        let client_secret = self.client_secret(c.project_id, &c.provider, &secrets).await?;
        let (token, hint) = match (&secrets.refresh_token, &secrets.access_token) {
            (Some(t), _) => (t, "refresh_token"),
            (None, Some(t)) => (t, "access_token"),
            (None, None) => return Ok(()),
        };
        let client = UpstreamClient {
            client_id: &c.provider.client_id,
            client_secret: client_secret.as_ref().map(SecretString::expose_secret),
        };
        self.broker
            .upstream
            .revoke(endpoint, client, token.expose_secret(), hint)
            .await
            .map_err(|e| Error::Upstream(e.to_string()))
    }
}
