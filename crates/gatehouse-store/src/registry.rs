//! The OAuth client registry, external OAuth registrations and project secrets.
//! The SQL is written once and instantiated for each backend.

/// `$search` selects the clients of project `$1` whose search text contains the filter, given as `$2`
/// built by `$pattern`.
macro_rules! registry_impl {
    ($module:ident, $store:ty, $row:ty, $search:literal, $pattern:path) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::clients::{Client, SecretHashes};
            use gatehouse_core::ids::*;
            use gatehouse_core::model::*;
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;
            use sqlx::Row as _;

            use crate::sql::$module::{Stmt, all, change_one, commit, get, one_row, optional, page, redacted, write};
            use gatehouse_core::secret::Redacted;
            use crate::sql::{db_err, unexpected};

            const CLIENT_COLS: &str = "c.client_id, c.project_id, c.settings, c.official, c.secret_hash, c.previous_secret_hash, c.previous_secret_expires_at, c.secret_rotated_at, c.created_at, c.updated_at, c.version, c.last_used_at";

            /// Lower-cased id and name: what the case-insensitive filter searches.
            fn search_text(c: &Client) -> String {
                format!("{}\n{}", c.id.as_str().to_lowercase(), c.settings.name.to_lowercase())
            }

            fn ms(t: Option<Timestamp>) -> Option<i64> {
                t.map(Timestamp::millis)
            }

            fn ts(r: &$row, col: &str) -> Result<Option<Timestamp>> {
                Ok(get::<Option<i64>>(r, col)?.map(Timestamp::from_millis))
            }

            /// What a conflict of [`insert_client`] is about.
            pub(crate) const CLIENT: &str = "a client with this client_id";

            /// Writes client `c`.
            pub(crate) fn insert_client(c: &Client) -> Result<Stmt<'_>> {
                Ok(sqlx::query("INSERT INTO oauth_clients (client_id, project_id, name, search, settings, official, secret_hash, previous_secret_hash, previous_secret_expires_at, secret_rotated_at, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
                    .bind(c.id.as_str())
                    .bind(c.project_id.uuid())
                    .bind(&c.settings.name)
                    .bind(search_text(c))
                    .bind(serde_json::to_string(&c.settings).map_err(unexpected)?)
                    .bind(c.official)
                    .bind(c.secret.current.as_ref().map(Redacted::as_bytes))
                    .bind(c.secret.previous.as_ref().map(Redacted::as_bytes))
                    .bind(ms(c.secret.previous_expires_at))
                    .bind(ms(c.secret.rotated_at))
                    .bind(c.created_at.millis())
                    .bind(c.updated_at.millis())
                    .bind(c.version))
            }

            fn client(r: &$row) -> Result<Client> {
                let settings: String = get(r, "settings")?;
                let id: String = get(r, "client_id")?;
                Ok(Client {
                    id: ClientId::parse(&id)?,
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    settings: serde_json::from_str(&settings).map_err(unexpected)?,
                    official: get(r, "official")?,
                    secret: SecretHashes {
                        current: get::<Option<Vec<u8>>>(r, "secret_hash")?.map(Redacted::new),
                        previous: get::<Option<Vec<u8>>>(r, "previous_secret_hash")?.map(Redacted::new),
                        previous_expires_at: ts(r, "previous_secret_expires_at")?,
                        rotated_at: ts(r, "secret_rotated_at")?,
                    },
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                    version: get(r, "version")?,
                    last_used_at: ts(r, "last_used_at")?,
                })
            }

            #[async_trait]
            impl ClientStore for $store {
                async fn insert_client(&self, c: &Client, audit: &AuditRecord) -> Result<()> {
                    write(&self.pool, insert_client(c)?, db_err(CLIENT), audit).await
                }

                async fn get_client(&self, project: ProjectId, id: &ClientId) -> Result<Option<Client>> {
                    let sql = format!("SELECT {CLIENT_COLS} FROM oauth_clients c WHERE c.project_id = $1 AND c.client_id = $2");
                    optional(self.db(), sqlx::query(&sql).bind(project.uuid()).bind(id.as_str()), client).await
                }

                async fn find_client(&self, id: &ClientId) -> Result<Option<Client>> {
                    let sql = format!("SELECT {CLIENT_COLS} FROM oauth_clients c WHERE c.client_id = $1");
                    optional(self.db(), sqlx::query(&sql).bind(id.as_str()), client).await
                }

                async fn list_clients(&self, project: ProjectId, filter: Option<&str>, p: Page) -> Result<(Vec<Client>, u64)> {
                    match filter {
                        Some(f) => {
                            let (limit, offset) = crate::sql::limit_offset(p);
                            let pattern = $pattern(f);
                            // One pass over the matches: sort only their keys, count them with a
                            // window (evaluated before LIMIT), then fetch the page's rows.
                            // The matches are collected first, unordered, so the planner uses the trigram index
                            // instead of walking the project's rows in page order.
                            let sql = format!("WITH m AS MATERIALIZED (SELECT client_id, created_at FROM oauth_clients WHERE {}) SELECT {CLIENT_COLS}, k.total FROM (SELECT client_id, created_at, COUNT(*) OVER () AS total FROM m ORDER BY created_at, client_id LIMIT $3 OFFSET $4) k JOIN oauth_clients c ON c.client_id = k.client_id ORDER BY k.created_at, k.client_id", $search);
                            let rows = sqlx::query(&sql).bind(project.uuid()).bind(&pattern).bind(limit).bind(offset).fetch_all(self.db()).await;
                            let total = match rows.as_ref().ok().and_then(|r| r.first()) {
                                Some(first) => first.try_get::<i64, _>("total"),
                                // An empty page says nothing of the total (an offset past the end).
                                None => {
                                    let count = format!("SELECT COUNT(*) FROM oauth_clients WHERE {}", $search);
                                    sqlx::query_scalar(&count).bind(project.uuid()).bind(&pattern).fetch_one(self.db()).await
                                }
                            };
                            let rows = rows.map_err(unexpected)?;
                            Ok((rows.iter().map(client).collect::<Result<_>>()?, total.map_err(unexpected)? as u64))
                        }
                        None => {
                            let sql = format!("SELECT {CLIENT_COLS} FROM oauth_clients c WHERE c.project_id = $1 ORDER BY c.created_at, c.client_id LIMIT $2 OFFSET $3");
                            let rows = sqlx::query(&sql).bind(project.uuid());
                            let count = sqlx::query_scalar("SELECT COUNT(*) FROM oauth_clients WHERE project_id = $1").bind(project.uuid());
                            page(self.db(), rows, count, p, client).await
                        }
                    }
                }

                async fn update_client(&self, c: &Client, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE oauth_clients SET name = $3, search = $4, settings = $5, secret_hash = $6, previous_secret_hash = $7, previous_secret_expires_at = $8, secret_rotated_at = $9, updated_at = $10, version = $11 WHERE project_id = $1 AND client_id = $2 AND version = $12")
                        .bind(c.project_id.uuid())
                        .bind(c.id.as_str())
                        .bind(&c.settings.name)
                        .bind(search_text(c))
                        .bind(serde_json::to_string(&c.settings).map_err(unexpected)?)
                        .bind(c.secret.current.as_ref().map(Redacted::as_bytes))
                        .bind(c.secret.previous.as_ref().map(Redacted::as_bytes))
                        .bind(ms(c.secret.previous_expires_at))
                        .bind(ms(c.secret.rotated_at))
                        .bind(c.updated_at.millis())
                        .bind(c.version)
                        .bind(c.version - 1);
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn delete_client(&self, project: ProjectId, id: &ClientId, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("DELETE FROM oauth_clients WHERE project_id = $1 AND client_id = $2")
                        .bind(project.uuid())
                        .bind(id.as_str());
                    let Some(mut tx) = one_row(&self.pool, stmt, unexpected).await? else {
                        return Ok(false);
                    };
                    // Nothing issued to the client outlives it: a client created later with the
                    // same id (in any project) inherits no consent or token (nor code: codes are
                    // sealed to the client's creation time).
                    for sql in [
                        "DELETE FROM consents WHERE client_id = $1",
                        "DELETE FROM device_grants WHERE client_id = $1",
                    ] {
                        sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await.map_err(unexpected)?;
                    }
                    sqlx::query("UPDATE oauth_grants SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL")
                        .bind(id.as_str())
                        .bind(audit.at.millis())
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    commit(tx, audit).await?;
                    Ok(true)
                }

                async fn list_client_settings(&self, project: ProjectId) -> Result<Vec<(ClientId, gatehouse_core::clients::ClientSettings)>> {
                    let query = sqlx::query("SELECT client_id, settings FROM oauth_clients WHERE project_id = $1 ORDER BY created_at, client_id").bind(project.uuid());
                    all(self.db(), query, |r| {
                        let settings: String = get(r, "settings")?;
                        Ok((ClientId::parse(&get::<String>(r, "client_id")?)?, serde_json::from_str(&settings).map_err(unexpected)?))
                    })
                    .await
                }

                async fn record_client_use(&self, id: &ClientId, at: Timestamp) -> Result<()> {
                    sqlx::query("UPDATE oauth_clients SET last_used_at = $2 WHERE client_id = $1 AND (last_used_at IS NULL OR last_used_at < $2)")
                        .bind(id.as_str())
                        .bind(at.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn cors_origin_registered(&self, origin: &str) -> Result<bool> {
                    // The JSON text narrows the candidates; the parsed settings decide exactly.
                    let escaped = origin.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    let rows: Vec<String> = sqlx::query_scalar("SELECT settings FROM oauth_clients WHERE settings LIKE $1 ESCAPE '\\' LIMIT 200")
                        .bind(format!("%\"{escaped}\"%"))
                        .fetch_all(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(rows.iter().any(|json| {
                        serde_json::from_str::<gatehouse_core::clients::ClientSettings>(json)
                            .is_ok_and(|s| s.enabled && s.allowed_cors_origins.iter().any(|o| o == origin))
                    }))
                }
            }

            const REG_COLS: &str = "id, project_id, room_name, name, endpoints, client_id, client_secret_ciphertext, data_key_id, redirect_uris, delegated_to, created_at, updated_at, version";

            fn registration(r: &$row) -> Result<Registration> {
                let endpoints: String = get(r, "endpoints")?;
                let redirects: String = get(r, "redirect_uris")?;
                let ciphertext: Option<Vec<u8>> = get(r, "client_secret_ciphertext")?;
                let key: Option<uuid::Uuid> = get(r, "data_key_id")?;
                Ok(Registration {
                    id: RegistrationId::from_uuid(get(r, "id")?),
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    room_name: get(r, "room_name")?,
                    name: get(r, "name")?,
                    endpoints: serde_json::from_str(&endpoints).map_err(unexpected)?,
                    client_id: get(r, "client_id")?,
                    client_secret: ciphertext.zip(key).map(|(ciphertext, k)| Sealed { data_key_id: DataKeyId::from_uuid(k), ciphertext: ciphertext.into() }),
                    redirect_uris: serde_json::from_str(&redirects).map_err(unexpected)?,
                    delegated_to: get(r, "delegated_to")?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                    version: get(r, "version")?,
                })
            }

            /// Binds what an update may change in a registration (name, endpoints, client,
            /// redirect URIs, delegation) as the next seven parameters of `stmt`.
            fn bind_registration<'q>(stmt: Stmt<'q>, r: &'q Registration) -> Result<Stmt<'q>> {
                Ok(stmt
                    .bind(&r.name)
                    .bind(serde_json::to_string(&r.endpoints).map_err(unexpected)?)
                    .bind(&r.client_id)
                    .bind(r.client_secret.as_ref().map(|s| s.ciphertext.expose().clone()))
                    .bind(r.client_secret.as_ref().map(|s| s.data_key_id.uuid()))
                    .bind(serde_json::to_string(&r.redirect_uris).map_err(unexpected)?)
                    .bind(&r.delegated_to))
            }

            #[async_trait]
            impl RegistrationStore for $store {
                async fn insert_registration(&self, r: &Registration, audit: &AuditRecord) -> Result<()> {
                    let stmt = sqlx::query("INSERT INTO external_oauth (id, project_id, room_name, name, endpoints, client_id, client_secret_ciphertext, data_key_id, redirect_uris, delegated_to, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
                        .bind(r.id.uuid())
                        .bind(r.project_id.uuid())
                        .bind(&r.room_name);
                    let stmt = bind_registration(stmt, r)?
                        .bind(r.created_at.millis())
                        .bind(r.updated_at.millis())
                        .bind(r.version);
                    write(&self.pool, stmt, db_err("registration"), audit).await
                }

                async fn get_registration(&self, project: ProjectId, id: RegistrationId) -> Result<Option<Registration>> {
                    let sql = format!("SELECT {REG_COLS} FROM external_oauth WHERE project_id = $1 AND id = $2");
                    optional(self.db(), sqlx::query(&sql).bind(project.uuid()).bind(id.uuid()), registration).await
                }

                async fn list_registrations(&self, project: ProjectId, room: Option<&str>) -> Result<Vec<Registration>> {
                    match room {
                        Some(room) => {
                            let sql = format!("SELECT {REG_COLS} FROM external_oauth WHERE project_id = $1 AND room_name = $2 ORDER BY created_at, id");
                            all(self.db(), sqlx::query(&sql).bind(project.uuid()).bind(room), registration).await
                        }
                        None => {
                            let sql = format!("SELECT {REG_COLS} FROM external_oauth WHERE project_id = $1 AND room_name IS NULL ORDER BY created_at, id");
                            all(self.db(), sqlx::query(&sql).bind(project.uuid()), registration).await
                        }
                    }
                }

                async fn update_registration(&self, r: &Registration, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE external_oauth SET name = $3, endpoints = $4, client_id = $5, client_secret_ciphertext = $6, data_key_id = $7, redirect_uris = $8, delegated_to = $9, updated_at = $10, version = $11 WHERE project_id = $1 AND id = $2 AND version = $12")
                        .bind(r.project_id.uuid())
                        .bind(r.id.uuid());
                    let stmt = bind_registration(stmt, r)?
                        .bind(r.updated_at.millis())
                        .bind(r.version)
                        .bind(r.version - 1);
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn delete_registration(&self, project: ProjectId, id: RegistrationId, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("DELETE FROM external_oauth WHERE project_id = $1 AND id = $2").bind(project.uuid()).bind(id.uuid());
                    change_one(&self.pool, stmt, unexpected, audit).await
                }
            }

            const SECRET_COLS: &str = "id, project_id, name, kind, ciphertext, data_key_id, created_at, updated_at, version";

            fn project_secret(r: &$row) -> Result<ProjectSecretRecord> {
                Ok(ProjectSecretRecord {
                    id: SecretId::from_uuid(get(r, "id")?),
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    name: get(r, "name")?,
                    kind: get(r, "kind")?,
                    data: Sealed {
                        data_key_id: DataKeyId::from_uuid(get(r, "data_key_id")?),
                        ciphertext: redacted(r, "ciphertext")?,
                    },
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                    version: get(r, "version")?,
                })
            }

            #[async_trait]
            impl ProjectSecretStore for $store {
                async fn insert_project_secret(&self, s: &ProjectSecretRecord, audit: &AuditRecord) -> Result<()> {
                    let stmt = sqlx::query("INSERT INTO project_secrets (id, project_id, name, kind, ciphertext, data_key_id, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                        .bind(s.id.uuid())
                        .bind(s.project_id.uuid())
                        .bind(&s.name)
                        .bind(&s.kind)
                        .bind(s.data.ciphertext.expose())
                        .bind(s.data.data_key_id.uuid())
                        .bind(s.created_at.millis())
                        .bind(s.updated_at.millis())
                        .bind(s.version);
                    write(&self.pool, stmt, db_err("a secret with this name"), audit).await
                }

                async fn get_project_secret(&self, project: ProjectId, id: SecretId) -> Result<Option<ProjectSecretRecord>> {
                    let sql = format!("SELECT {SECRET_COLS} FROM project_secrets WHERE project_id = $1 AND id = $2");
                    optional(self.db(), sqlx::query(&sql).bind(project.uuid()).bind(id.uuid()), project_secret).await
                }

                async fn list_project_secrets(&self, project: ProjectId) -> Result<Vec<ProjectSecretRecord>> {
                    let sql = format!("SELECT {SECRET_COLS} FROM project_secrets WHERE project_id = $1 ORDER BY name");
                    all(self.db(), sqlx::query(&sql).bind(project.uuid()), project_secret).await
                }

                async fn update_project_secret(&self, s: &ProjectSecretRecord, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE project_secrets SET name = $3, kind = $4, ciphertext = $5, data_key_id = $6, updated_at = $7, version = $8 WHERE project_id = $1 AND id = $2 AND version = $9")
                        .bind(s.project_id.uuid())
                        .bind(s.id.uuid())
                        .bind(&s.name)
                        .bind(&s.kind)
                        .bind(s.data.ciphertext.expose())
                        .bind(s.data.data_key_id.uuid())
                        .bind(s.updated_at.millis())
                        .bind(s.version)
                        .bind(s.version - 1);
                    change_one(&self.pool, stmt, db_err("a secret with this name"), audit).await
                }

                async fn delete_project_secret(&self, project: ProjectId, id: SecretId, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("DELETE FROM project_secrets WHERE project_id = $1 AND id = $2").bind(project.uuid()).bind(id.uuid());
                    change_one(&self.pool, stmt, unexpected, audit).await
                }
            }
        }
    };
}

registry_impl!(
    sqlite,
    crate::SqliteStore,
    sqlx::sqlite::SqliteRow,
    // `+project_id` keeps the planner from walking the project's whole index: the trigram index drives.
    "seq IN (SELECT rowid FROM oauth_clients_search WHERE search GLOB $2) AND +project_id = $1",
    crate::sql::glob_pattern
);
registry_impl!(
    postgres,
    crate::PgStore,
    sqlx::postgres::PgRow,
    "project_id = $1 AND (lower(name) LIKE $2 ESCAPE '\\' OR lower(client_id) LIKE $2 ESCAPE '\\')",
    crate::sql::like_pattern
);
