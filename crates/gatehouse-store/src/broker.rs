//! Room secrets (SPEC §7): credentials kept for participants, with their refresh lease, and the
//! consent requests waiting for an answer. The SQL is written once and instantiated for each
//! backend.

macro_rules! broker_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::broker::{
                OAuthCredential, PendingRequest, ProviderSettings, RequestFailure, RequestStatus, owner_key, split_scopes,
            };
            use gatehouse_core::ids::*;
            use gatehouse_core::model::*;
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;
            use gatehouse_core::{Error, Result};

            use crate::sql::$module::{Stmt, all, change_one, changes_one, commit, get, one_row, optional, redacted, write};
            use crate::sql::{db_err, unexpected};

            const CREDENTIAL_COLS: &str = "id, project_id, room_name, owner, delegated_to, provider, scopes, sealed, data_key_id, expires_at, needs_consent, generation, created_at, updated_at";
            const REQUEST_COLS: &str = "id, project_id, request_hash, room_name, requester, requester_participant, target, target_name, delegate_to, provider, redirect_uri, scopes, sealed, data_key_id, state, status, outcome, expires_at, created_at";

            fn provider(r: &$row) -> Result<ProviderSettings> {
                serde_json::from_str(&get::<String>(r, "provider")?).map_err(unexpected)
            }

            fn sealed(r: &$row) -> Result<Sealed> {
                Ok(Sealed {
                    data_key_id: DataKeyId::from_uuid(get(r, "data_key_id")?),
                    ciphertext: redacted(r, "sealed")?,
                })
            }

            fn credential(r: &$row) -> Result<OAuthCredential> {
                Ok(OAuthCredential {
                    id: RoomSecretId::from_uuid(get(r, "id")?),
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    room_name: get(r, "room_name")?,
                    owner: get(r, "owner")?,
                    delegated_to: get(r, "delegated_to")?,
                    provider: provider(r)?,
                    scopes: split_scopes(&get::<String>(r, "scopes")?),
                    sealed: sealed(r)?,
                    expires_at: get::<Option<i64>>(r, "expires_at")?.map(Timestamp::from_millis),
                    needs_consent: get(r, "needs_consent")?,
                    generation: get(r, "generation")?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                })
            }

            /// A status as its column and outcome: `done` keeps the secret's id, `failed` why.
            fn status_columns(s: &RequestStatus) -> Result<(&'static str, Option<String>)> {
                Ok(match s {
                    RequestStatus::Pending => ("pending", None),
                    RequestStatus::Exchanging => ("exchanging", None),
                    RequestStatus::Done(id) => ("done", Some(id.to_string())),
                    RequestStatus::Failed(f) => ("failed", Some(serde_json::to_string(f).map_err(unexpected)?)),
                })
            }

            fn status(r: &$row) -> Result<RequestStatus> {
                let outcome: Option<String> = get(r, "outcome")?;
                let malformed = || Error::unexpected(anyhow::anyhow!("a consent request has a malformed outcome"));
                Ok(match (get::<String>(r, "status")?.as_str(), outcome) {
                    ("pending", _) => RequestStatus::Pending,
                    ("exchanging", _) => RequestStatus::Exchanging,
                    ("done", Some(id)) => RequestStatus::Done(RoomSecretId::from_uuid(id.parse().map_err(|_| malformed())?)),
                    ("failed", Some(why)) => RequestStatus::Failed(serde_json::from_str::<RequestFailure>(&why).map_err(|_| malformed())?),
                    _ => return Err(malformed()),
                })
            }

            fn request(r: &$row) -> Result<PendingRequest> {
                Ok(PendingRequest {
                    id: OAuthRequestId::from_uuid(get(r, "id")?),
                    request_hash: redacted(r, "request_hash")?,
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    room_name: get(r, "room_name")?,
                    requester: get(r, "requester")?,
                    requester_participant: get::<Option<uuid::Uuid>>(r, "requester_participant")?.map(ParticipantId::from_uuid),
                    target: ParticipantId::from_uuid(get(r, "target")?),
                    target_name: get(r, "target_name")?,
                    delegate_to: get(r, "delegate_to")?,
                    provider: provider(r)?,
                    redirect_uri: get(r, "redirect_uri")?,
                    scopes: split_scopes(&get::<String>(r, "scopes")?),
                    sealed: sealed(r)?,
                    state: get(r, "state")?,
                    status: status(r)?,
                    expires_at: Timestamp::from_millis(get(r, "expires_at")?),
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                })
            }

            /// Binds what a credential's refresh changes (its provider settings, scopes, sealed
            /// token, expiry and generation) as the next seven parameters of `stmt`.
            fn bind_state<'q>(stmt: Stmt<'q>, c: &'q OAuthCredential) -> Result<Stmt<'q>> {
                Ok(stmt
                    .bind(serde_json::to_string(&c.provider).map_err(unexpected)?)
                    .bind(c.scopes.join(" "))
                    .bind(c.sealed.ciphertext.expose())
                    .bind(c.sealed.data_key_id.uuid())
                    .bind(c.expires_at.map(Timestamp::millis))
                    .bind(c.needs_consent)
                    .bind(c.generation))
            }

            #[async_trait]
            impl BrokerStore for $store {
                async fn insert_credential(&self, c: &OAuthCredential, audit: &AuditRecord) -> Result<()> {
                    let sql = format!("INSERT INTO room_secrets ({CREDENTIAL_COLS}, authorization_endpoint, client_id, owner_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)");
                    let stmt = sqlx::query(&sql)
                        .bind(c.id.uuid())
                        .bind(c.project_id.uuid())
                        .bind(&c.room_name)
                        .bind(&c.owner)
                        .bind(&c.delegated_to);
                    let stmt = bind_state(stmt, c)?
                        .bind(c.created_at.millis())
                        .bind(c.updated_at.millis())
                        .bind(&c.provider.authorization_endpoint)
                        .bind(&c.provider.client_id)
                        .bind(c.owner_key());
                    write(&self.pool, stmt, db_err("a credential for this provider"), audit).await
                }

                async fn replace_credential(&self, c: &OAuthCredential, expected: i64, audit: Option<&AuditRecord>) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE room_secrets SET provider = $3, scopes = $4, sealed = $5, data_key_id = $6, expires_at = $7, needs_consent = $8, generation = $9, updated_at = $10, lease_holder = NULL, lease_until = NULL WHERE id = $1 AND project_id = $2 AND generation = $11")
                        .bind(c.id.uuid())
                        .bind(c.project_id.uuid());
                    let stmt = bind_state(stmt, c)?
                        .bind(c.updated_at.millis())
                        .bind(expected);
                    let Some(tx) = one_row(&self.pool, stmt, unexpected).await? else {
                        return Ok(false);
                    };
                    match audit {
                        Some(a) => commit(tx, a).await?,
                        None => tx.commit().await.map_err(unexpected)?,
                    }
                    Ok(true)
                }

                async fn get_credential(&self, project: ProjectId, id: RoomSecretId) -> Result<Option<OAuthCredential>> {
                    let sql = format!("SELECT {CREDENTIAL_COLS} FROM room_secrets WHERE id = $1 AND project_id = $2");
                    optional(self.db(), sqlx::query(&sql).bind(id.uuid()).bind(project.uuid()), credential).await
                }

                async fn find_credentials(
                    &self,
                    project: ProjectId,
                    room: &str,
                    owner: &str,
                    authorization_endpoint: &str,
                    client_id: &str,
                ) -> Result<Vec<OAuthCredential>> {
                    let sql = format!("SELECT {CREDENTIAL_COLS} FROM room_secrets WHERE owner_key = $6 AND project_id = $1 AND room_name = $2 AND owner = $3 AND authorization_endpoint = $4 AND client_id = $5");
                    let query = sqlx::query(&sql)
                        .bind(project.uuid())
                        .bind(room)
                        .bind(owner)
                        .bind(authorization_endpoint)
                        .bind(client_id)
                        .bind(owner_key(project, room, owner, authorization_endpoint, client_id));
                    all(self.db(), query, credential).await
                }

                async fn list_credentials(&self, project: ProjectId, room: &str, identity: &str, limit: u32) -> Result<Vec<OAuthCredential>> {
                    let sql = format!("SELECT {CREDENTIAL_COLS} FROM room_secrets WHERE project_id = $1 AND room_name = $2 AND (owner = $3 OR delegated_to = $3) ORDER BY created_at, id LIMIT $4");
                    let query = sqlx::query(&sql).bind(project.uuid()).bind(room).bind(identity).bind(i64::from(limit));
                    all(self.db(), query, credential).await
                }

                async fn delete_credential(&self, project: ProjectId, id: RoomSecretId, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("DELETE FROM room_secrets WHERE id = $1 AND project_id = $2").bind(id.uuid()).bind(project.uuid());
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn lease_credential(&self, project: ProjectId, id: RoomSecretId, generation: i64, holder: NodeId, until: Timestamp, now: Timestamp) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE room_secrets SET lease_holder = $3, lease_until = $4 WHERE id = $1 AND generation = $2 AND (lease_until IS NULL OR lease_until <= $5) AND project_id = $6")
                        .bind(id.uuid())
                        .bind(generation)
                        .bind(holder.uuid())
                        .bind(until.millis())
                        .bind(now.millis())
                        .bind(project.uuid());
                    changes_one(self.db(), stmt).await
                }

                async fn release_credential(&self, project: ProjectId, id: RoomSecretId, generation: i64, holder: NodeId) -> Result<()> {
                    sqlx::query("UPDATE room_secrets SET lease_holder = NULL, lease_until = NULL WHERE id = $1 AND generation = $2 AND lease_holder = $3 AND project_id = $4")
                        .bind(id.uuid())
                        .bind(generation)
                        .bind(holder.uuid())
                        .bind(project.uuid())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn insert_oauth_request(&self, r: &PendingRequest, per_room: u32, per_requester: u32, now: Timestamp) -> Result<bool> {
                    let (status, outcome) = status_columns(&r.status)?;
                    let sql = format!("INSERT INTO oauth_requests ({REQUEST_COLS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19 WHERE (SELECT COUNT(*) FROM oauth_requests WHERE project_id = $2 AND room_name = $4 AND status = 'pending' AND expires_at > $20) < $21 AND (SELECT COUNT(*) FROM oauth_requests WHERE project_id = $2 AND room_name = $4 AND requester = $5 AND status = 'pending' AND expires_at > $20) < $22");
                    let stmt = sqlx::query(&sql)
                        .bind(r.id.uuid())
                        .bind(r.project_id.uuid())
                        .bind(r.request_hash.expose())
                        .bind(&r.room_name)
                        .bind(&r.requester)
                        .bind(r.requester_participant.map(ParticipantId::uuid))
                        .bind(r.target.uuid())
                        .bind(&r.target_name)
                        .bind(&r.delegate_to)
                        .bind(serde_json::to_string(&r.provider).map_err(unexpected)?)
                        .bind(&r.redirect_uri)
                        .bind(r.scopes.join(" "))
                        .bind(r.sealed.ciphertext.expose())
                        .bind(r.sealed.data_key_id.uuid())
                        .bind(&r.state)
                        .bind(status)
                        .bind(outcome)
                        .bind(r.expires_at.millis())
                        .bind(r.created_at.millis())
                        .bind(now.millis())
                        .bind(i64::from(per_room))
                        .bind(i64::from(per_requester));
                    changes_one(self.db(), stmt).await
                }

                async fn find_oauth_request(&self, project: ProjectId, request_hash: &[u8]) -> Result<Option<PendingRequest>> {
                    let sql = format!("SELECT {REQUEST_COLS} FROM oauth_requests WHERE request_hash = $1 AND project_id = $2");
                    optional(self.db(), sqlx::query(&sql).bind(request_hash).bind(project.uuid()), request).await
                }

                async fn get_oauth_request(&self, project: ProjectId, id: OAuthRequestId) -> Result<Option<PendingRequest>> {
                    let sql = format!("SELECT {REQUEST_COLS} FROM oauth_requests WHERE id = $1 AND project_id = $2");
                    optional(self.db(), sqlx::query(&sql).bind(id.uuid()).bind(project.uuid()), request).await
                }

                async fn set_oauth_request_status(&self, project: ProjectId, id: OAuthRequestId, from: &RequestStatus, to: &RequestStatus) -> Result<bool> {
                    let (from, _) = status_columns(from)?;
                    let (to, outcome) = status_columns(to)?;
                    let stmt = sqlx::query("UPDATE oauth_requests SET status = $3, outcome = $4 WHERE id = $1 AND status = $2 AND project_id = $5")
                        .bind(id.uuid())
                        .bind(from)
                        .bind(to)
                        .bind(outcome)
                        .bind(project.uuid());
                    changes_one(self.db(), stmt).await
                }

                async fn delete_oauth_request(&self, project: ProjectId, id: OAuthRequestId) -> Result<()> {
                    sqlx::query("DELETE FROM oauth_requests WHERE id = $1 AND project_id = $2")
                        .bind(id.uuid())
                        .bind(project.uuid())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn purge_oauth_requests(&self, before: Timestamp) -> Result<u64> {
                    let n = sqlx::query("DELETE FROM oauth_requests WHERE expires_at < $1")
                        .bind(before.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?
                        .rows_affected();
                    Ok(n)
                }
            }
        }
    };
}

broker_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
broker_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
