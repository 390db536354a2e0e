//! Participant tokens over REST (SPEC §6.3): minted for a project's backend, validated for anyone
//! holding one.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::Gatehouse;
use super::api_keys::secret_aad;
use crate::access::{Access, Principal};
use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::jose::{Hs256Key, MAX_TOKEN_LEN};
use crate::model::ApiKeyRecord;
use crate::participant::{ParticipantClaims, Unverified, Verified};

impl Gatehouse {
    /// Mints a participant token (developers). It is signed with the caller's own key when the
    /// caller is an API key of the project, otherwise with the project's newest key.
    pub async fn mint_participant_token(
        &self,
        who: &Principal,
        project: ProjectId,
        req: gatehouse_types::CreateParticipantToken,
    ) -> Result<String> {
        let access = self.access(who, project).await?;
        access.require_developer()?;
        let claims = ParticipantClaims::from_request(req, self.clock.now())?;
        if let Some(api) = claims.api_scope() {
            check_handed_out_scope(who, &access, api)?;
        }
        self.sign_participant_token(who, project, claims).await
    }

    /// Signs `claims` with the caller's own API key when the caller is an API key of the project,
    /// otherwise with the project's newest key.
    pub(super) async fn sign_participant_token(
        &self,
        who: &Principal,
        project: ProjectId,
        claims: ParticipantClaims,
    ) -> Result<String> {
        let key = self.signing_api_key(who, project).await?;
        let secret = self
            .open_sealed(project, &secret_aad(project, key.id), &key.secret)
            .await?;
        let token = claims.sign(key.id, project, &secret)?;
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::invalid(
                "grants",
                format!("the token would be longer than {MAX_TOKEN_LEN} bytes"),
            ));
        }
        Ok(token)
    }

    /// Verifies a participant token (SPEC §6.4): its `kid` names a live API key of the project in
    /// `sub`, the HS256 signature is that key's, and it has not expired. Anything else is
    /// [`Error::Unauthorized`].
    pub async fn validate_participant_token(&self, token: &str) -> Result<Verified> {
        // `read` refuses tokens over `MAX_TOKEN_LEN` before decoding anything.
        let token = Unverified::read(token)?;
        let key = self
            .live_api_key(token.key()?)
            .await?
            .ok_or_else(|| Error::Unauthorized("the participant token's API key is unknown or revoked".into()))?;
        let hmac = self.participant_key(&key).await?;
        token.verify(key.project_id, &hmac, self.clock.now())
    }

    /// The HS256 key of a live API key, its secret opened and its key schedule computed once.
    /// An id's secret never changes, so the entry needs no invalidation: [`Self::live_api_key`]
    /// decides whether the key is still good.
    async fn participant_key(&self, key: &ApiKeyRecord) -> Result<Arc<Hs256Key>> {
        let now = self.clock.now();
        if let Some(k) = self.participant_keys.get(&key.id, now) {
            return Ok(k);
        }
        let ticket = self.participant_keys.ticket();
        let secret = self
            .open_sealed(key.project_id, &secret_aad(key.project_id, key.id), &key.secret)
            .await?;
        let hmac = Arc::new(Hs256Key::new(&secret)?);
        self.participant_keys.insert(ticket, key.id, hmac.clone(), now);
        Ok(hmac)
    }

    async fn signing_api_key(&self, who: &Principal, project: ProjectId) -> Result<ApiKeyRecord> {
        if let Principal::ApiKey { id, project_id, .. } = who
            && *project_id == project
            && let Some(k) = self.live_api_key(*id).await?
        {
            return Ok(ApiKeyRecord::clone(&k));
        }
        self.store
            .list_api_keys(project)
            .await?
            .into_iter()
            .max_by_key(|k| k.created_at)
            .ok_or_else(|| Error::Conflict("the project has no API key to sign participant tokens with".into()))
    }
}

/// A person may hand out only the surfaces they may use themselves: `llm` needs
/// `can_use_llm_proxy`, `admin` needs admin rights. (An API key can sign any token locally anyway.)
pub(super) fn check_handed_out_scope(who: &Principal, access: &Access, api: &Map<String, Value>) -> Result<()> {
    if !matches!(who, Principal::User { .. }) {
        return Ok(());
    }
    let refused = |what: &str| Error::Forbidden(format!("an api grant with {what}"));
    if api.contains_key("llm") {
        access
            .require_llm_proxy()
            .map_err(|_| refused("llm needs can_use_llm_proxy"))?;
    }
    if api.contains_key("admin") {
        access
            .require_admin()
            .map_err(|_| refused("admin needs admin rights in the project"))?;
    }
    Ok(())
}
