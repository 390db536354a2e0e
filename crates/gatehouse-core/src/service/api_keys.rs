//! API keys (SPEC §3): created with a value shown once, verified by keyed hash, revoked at once.

use std::sync::Arc;

use serde_json::json;

use super::Gatehouse;
use crate::access::Principal;
use crate::api_key::ApiKeyValue;
use crate::crypto::RowAad;
use crate::error::{Error, Result};
use crate::ids::{ApiKeyId, ProjectId, new_row_id};
use crate::model::ApiKeyRecord;
use crate::ports::Invalidation;
use crate::rng::random_token;
use crate::secret::Secret;
use crate::text::{check_description, check_name};

/// Domain separator of API key secret hashes.
const HASH_DOMAIN: &str = "api-key-secret";
/// `last_used_at` is written at most this often per key, to keep authentication read-only.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The binding of an API key's sealed secret to its row.
pub(crate) fn secret_aad(project: ProjectId, id: ApiKeyId) -> RowAad {
    RowAad::new("api_key", &project.to_string(), "", "", &id.to_string(), 1)
}

impl Gatehouse {
    /// Creates an API key (project admins; server admins anywhere). The value is returned only here.
    pub async fn create_api_key(
        &self,
        who: &Principal,
        project: ProjectId,
        name: &str,
        description: &str,
    ) -> Result<(ApiKeyRecord, Secret<String>)> {
        self.access(who, project).await?.require_admin()?;
        check_name("name", name, 200)?;
        check_description("description", description, 1000)?;
        let (record, value) = self.new_api_key(project, name, description, false).await?;
        let audit = self.audit(
            who,
            project,
            "api_key.create",
            ("api_key", record.id.to_string()),
            json!({ "name": name }),
        );
        self.store.insert_api_key(&record, &audit).await?;
        Ok((record, value))
    }

    /// A new key record and its value; the secret is hashed and sealed, never stored in the clear.
    pub(crate) async fn new_api_key(
        &self,
        project: ProjectId,
        name: &str,
        description: &str,
        server_admin: bool,
    ) -> Result<(ApiKeyRecord, Secret<String>)> {
        let id = ApiKeyId::from_uuid(new_row_id());
        let secret = random_token(self.rng.as_ref());
        let sealed = self
            .seal(project, &secret_aad(project, id), secret.expose_secret().as_bytes())
            .await?;
        let record = ApiKeyRecord {
            id,
            project_id: project,
            name: name.to_owned(),
            description: description.to_owned(),
            secret_hash: self
                .keys
                .hasher()
                .hash(HASH_DOMAIN, &id.to_string(), secret.expose_secret())
                .into(),
            secret: sealed,
            server_admin,
            created_at: self.clock.now(),
            last_used_at: None,
        };
        let value = ApiKeyValue {
            id,
            project_id: project,
            secret: secret.into(),
        }
        .encode();
        Ok((record, value))
    }

    /// Keys of a project, without values (admins and developers).
    pub async fn list_api_keys(&self, who: &Principal, project: ProjectId) -> Result<Vec<ApiKeyRecord>> {
        self.access(who, project).await?.require_developer_read()?;
        self.store.list_api_keys(project).await
    }

    /// Revokes a key; it stops authenticating at once, on every node.
    pub async fn revoke_api_key(&self, who: &Principal, project: ProjectId, id: ApiKeyId) -> Result<()> {
        self.access(who, project).await?.require_admin()?;
        let audit = self.audit(who, project, "api_key.revoke", ("api_key", id.to_string()), json!({}));
        if !self.store.revoke_api_key(project, id, &audit).await? {
            return Err(Error::NotFound("api key"));
        }
        self.invalidate(Invalidation::ApiKey { id: id.uuid() }).await;
        Ok(())
    }

    /// Authenticates an `ma-…` bearer value.
    pub async fn authenticate_api_key(&self, value: &str) -> Result<Principal> {
        let parsed = ApiKeyValue::parse(value)?;
        let record = self.live_api_key(parsed.id).await?.ok_or_else(invalid_key)?;
        let hashed_ok = self.keys.hasher().verify(
            HASH_DOMAIN,
            &parsed.id.to_string(),
            parsed.secret.expose_secret(),
            record.secret_hash.as_bytes(),
        );
        if !hashed_ok || record.project_id != parsed.project_id {
            return Err(invalid_key());
        }
        self.touch(&record).await;
        Ok(Principal::ApiKey {
            id: record.id,
            project_id: record.project_id,
            server_admin: record.server_admin,
        })
    }

    /// A key that is not revoked, from the cache or storage.
    pub(crate) async fn live_api_key(&self, id: ApiKeyId) -> Result<Option<Arc<ApiKeyRecord>>> {
        let now = self.clock.now();
        if let Some(r) = self.api_keys.get(&id, now) {
            return Ok(Some(r));
        }
        let ticket = self.api_keys.ticket();
        let Some(r) = self.store.get_api_key(id).await? else {
            return Ok(None);
        };
        let r = Arc::new(r);
        self.api_keys.insert(ticket, id, r.clone(), now);
        Ok(Some(r))
    }

    async fn touch(&self, record: &ApiKeyRecord) {
        let now = self.clock.now();
        let stale = record
            .last_used_at
            .is_none_or(|t| now.millis() - t.millis() > TOUCH_EVERY_MS);
        if !stale {
            return;
        }
        let mut updated = record.clone();
        updated.last_used_at = Some(now);
        self.api_keys.refresh(&record.id, Arc::new(updated));
        if let Err(e) = self.store.touch_api_key(record.id, now).await {
            tracing::warn!(error = %e, "recording API key use failed");
        }
    }
}

fn invalid_key() -> Error {
    Error::Unauthorized("invalid API key".into())
}
