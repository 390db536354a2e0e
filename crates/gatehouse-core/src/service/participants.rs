//! Participant tokens over REST (SPEC §6.3): minted for a project's backend, validated for anyone
//! holding one.

use serde_json::Map;

use super::api_keys::secret_aad;
use super::{Gatehouse, check_name};
use crate::access::Principal;
use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::jose::MAX_TOKEN_LEN;
use crate::model::ApiKeyRecord;
use crate::participant::{ParticipantClaims, ROLES, TokenGrant, Unverified, Verified};

/// Default and longest lifetime of a token minted here.
const DEFAULT_TTL_SECS: u32 = 3600;
const MAX_TTL_SECS: u32 = 30 * 86_400;
/// Longest participant identity and room name.
const MAX_NAME_CHARS: usize = 256;
/// Most grants in a minted token.
const MAX_GRANTS: usize = 32;

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
        check_name("name", &req.name, MAX_NAME_CHARS)?;
        let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL_SECS);
        if !(1..=MAX_TTL_SECS).contains(&ttl) {
            return Err(Error::invalid("ttl_seconds", format!("must be 1 to {MAX_TTL_SECS}")));
        }
        let grants = match req.grants {
            Some(_) if req.room_name.is_some() || req.role.is_some() || req.api.is_some() => {
                return Err(Error::invalid(
                    "grants",
                    "give either grants or room_name, role and api, not both",
                ));
            }
            Some(grants) => grants.into_iter().map(|g| TokenGrant::new(&g.name, g.scope)).collect(),
            None => {
                let mut grants = Vec::new();
                if let Some(room) = req.room_name {
                    check_name("room_name", &room, MAX_NAME_CHARS)?;
                    grants.push(TokenGrant::new("room", room));
                }
                grants.push(TokenGrant::new("role", req.role.unwrap_or_else(|| "user".into())));
                if let Some(api) = req.api {
                    grants.push(TokenGrant::new("api", api));
                }
                grants
            }
        };
        if grants.len() > MAX_GRANTS {
            return Err(Error::invalid("grants", format!("at most {MAX_GRANTS}")));
        }
        for g in &grants {
            match (g.name.as_str(), g.scope.as_str()) {
                ("role", r) if !r.is_some_and(|r| ROLES.contains(&r)) => {
                    return Err(Error::invalid("role", "must be user, agent or tool"));
                }
                ("room", Some(room)) => check_name("room_name", room, MAX_NAME_CHARS)?,
                _ => {}
            }
        }
        if grants.iter().filter(|g| g.name == "role").count() > 1 {
            return Err(Error::invalid("grants", "at most one role grant"));
        }
        let claims = ParticipantClaims {
            name: req.name,
            grants,
            sub: None,
            kid: None,
            version: None,
            exp: Some(self.clock.now().secs() + i64::from(ttl)),
            extra: Map::new(),
        };
        claims.check()?;
        // A person may hand out only the surfaces they may use themselves (an API key can sign
        // any token locally anyway).
        if let Principal::User { .. } = who
            && let Some(api) = claims.api_scope()
        {
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
        }
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
        let secret = self
            .open_sealed(key.project_id, &secret_aad(key.project_id, key.id), &key.secret)
            .await?;
        token.verify(key.project_id, &secret, self.clock.now())
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
