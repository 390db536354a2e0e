//! Projects, users, members, API keys, data keys, settings, the audit log and bootstrap.
//! The SQL is written once and instantiated for each backend.

macro_rules! accounts_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::access::MemberFlags;
            use gatehouse_core::ids::*;
            use gatehouse_core::model::*;
            use gatehouse_core::people::ProjectSettings;
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;

            use crate::registry::$module::{CLIENT, insert_client};
            use crate::sql::$module::{Stmt, all, begin, change_one, changes_one, commit, commit_if_one, exec, get, one_row, optional, page, put_audit, redacted, user, write};
            use crate::sql::{USER_COLS, db_err, unexpected};

            /// What a conflict of [`put_member`], [`insert_user`] and [`insert_api_key`] is about.
            pub(crate) const MEMBER: &str = "membership";
            pub(crate) const USER: &str = "a user with this email";
            const API_KEY: &str = "an API key with this id";

            /// Makes `user` a member of `project` with flags `f`, or changes their flags.
            pub(crate) fn put_member<'q>(project: ProjectId, user: UserId, f: MemberFlags) -> Stmt<'q> {
                sqlx::query("INSERT INTO memberships (project_id, user_id, is_admin, is_developer, can_create_rooms, can_use_llm_proxy) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id, user_id) DO UPDATE SET is_admin = $3, is_developer = $4, can_create_rooms = $5, can_use_llm_proxy = $6")
                    .bind(project.uuid())
                    .bind(user.uuid())
                    .bind(f.is_admin)
                    .bind(f.is_developer)
                    .bind(f.can_create_rooms)
                    .bind(f.can_use_llm_proxy)
            }

            pub(crate) fn insert_user(u: &User) -> Stmt<'_> {
                sqlx::query("INSERT INTO users (id, email, email_lower, name, password_hash, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(u.id.uuid())
                    .bind(&u.email)
                    .bind(u.email.to_lowercase())
                    .bind(&u.name)
                    .bind(u.password_hash.expose())
                    .bind(u.email_verified_at.map(Timestamp::millis))
                    .bind(u.created_at.millis())
                    .bind(u.updated_at.millis())
            }

            /// Records that `user`'s address `email` proved to be theirs at `at`, unless it was
            /// already (a reset link or an upstream identity's verified email).
            pub(crate) fn verify_email<'q>(user: UserId, email: &str, at: Timestamp) -> Stmt<'q> {
                sqlx::query("UPDATE users SET email_verified_at = $3 WHERE id = $1 AND email_lower = $2 AND email_verified_at IS NULL")
                    .bind(user.uuid())
                    .bind(email.to_lowercase())
                    .bind(at.millis())
            }

            fn insert_api_key(k: &ApiKeyRecord) -> Stmt<'_> {
                sqlx::query("INSERT INTO api_keys (id, project_id, name, description, secret_hash, secret_ciphertext, data_key_id, server_admin, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(k.id.uuid())
                    .bind(k.project_id.uuid())
                    .bind(&k.name)
                    .bind(&k.description)
                    .bind(k.secret_hash.expose())
                    .bind(k.secret.ciphertext.expose())
                    .bind(k.secret.data_key_id.uuid())
                    .bind(k.server_admin)
                    .bind(k.created_at.millis())
            }

            fn project(r: &$row) -> Result<Project> {
                Ok(Project {
                    id: ProjectId::from_uuid(get(r, "id")?),
                    name: get(r, "name")?,
                    is_system: get(r, "is_system")?,
                    settings: project_settings(r)?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                })
            }

            fn project_settings(r: &$row) -> Result<ProjectSettings> {
                let signup: String = get(r, "signup")?;
                let domains: String = get(r, "signup_domains")?;
                let domains: Vec<String> = domains.split_whitespace().map(str::to_owned).collect();
                ProjectSettings::parse(&signup, &domains, get(r, "require_second_factor")?)
                    .map_err(unexpected)
            }

            /// The four member flags of a row (a membership or an invitation).
            pub(crate) fn flags(r: &$row) -> Result<MemberFlags> {
                Ok(MemberFlags {
                    is_admin: get(r, "is_admin")?,
                    is_developer: get(r, "is_developer")?,
                    can_create_rooms: get(r, "can_create_rooms")?,
                    can_use_llm_proxy: get(r, "can_use_llm_proxy")?,
                })
            }

            fn api_key(r: &$row) -> Result<ApiKeyRecord> {
                Ok(ApiKeyRecord {
                    id: ApiKeyId::from_uuid(get(r, "id")?),
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    name: get(r, "name")?,
                    description: get(r, "description")?,
                    secret_hash: redacted(r, "secret_hash")?,
                    secret: Sealed {
                        data_key_id: DataKeyId::from_uuid(get(r, "data_key_id")?),
                        ciphertext: redacted(r, "secret_ciphertext")?,
                    },
                    server_admin: get(r, "server_admin")?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    last_used_at: get::<Option<i64>>(r, "last_used_at")?.map(Timestamp::from_millis),
                })
            }

            fn data_key(r: &$row) -> Result<DataKeyRecord> {
                Ok(DataKeyRecord {
                    id: DataKeyId::from_uuid(get(r, "id")?),
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    wrapped: redacted(r, "wrapped")?,
                    master_key_id: get(r, "master_key_id")?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                })
            }

            fn audit(r: &$row) -> Result<AuditRecord> {
                let details: String = get(r, "details")?;
                Ok(AuditRecord {
                    id: get(r, "id")?,
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    at: Timestamp::from_millis(get(r, "at")?),
                    actor_type: get(r, "actor_type")?,
                    actor_id: get(r, "actor_id")?,
                    action: get(r, "action")?,
                    target_type: get(r, "target_type")?,
                    target_id: get(r, "target_id")?,
                    details: serde_json::from_str(&details).map_err(unexpected)?,
                })
            }

            const PROJECT_COLS: &str = "p.id, p.name, p.is_system, p.signup, p.signup_domains, p.require_second_factor, p.created_at, p.updated_at";

            #[async_trait]
            impl ProjectStore for $store {
                async fn insert_project(&self, p: &Project, creator: Option<(UserId, MemberFlags)>, audit: &AuditRecord) -> Result<()> {
                    let mut tx = begin(&self.pool).await?;
                    sqlx::query("INSERT INTO projects (id, name, is_system, signup, signup_domains, require_second_factor, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                        .bind(p.id.uuid())
                        .bind(&p.name)
                        .bind(p.is_system)
                        .bind(p.settings.signup_name())
                        .bind(p.settings.signup_domains().join(" "))
                        .bind(p.settings.require_second_factor)
                        .bind(p.created_at.millis())
                        .bind(p.updated_at.millis())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err("project"))?;
                    if let Some((user, f)) = creator {
                        exec(&mut tx, put_member(p.id, user, f), db_err(MEMBER)).await?;
                    }
                    commit(tx, audit).await
                }

                async fn get_project(&self, id: ProjectId) -> Result<Option<Project>> {
                    let sql = format!("SELECT {PROJECT_COLS} FROM projects p WHERE p.id = $1");
                    optional(self.db(), sqlx::query(&sql).bind(id.uuid()), project).await
                }

                async fn list_projects(&self, user: Option<UserId>) -> Result<Vec<Project>> {
                    match user {
                        Some(u) => {
                            let sql = format!("SELECT {PROJECT_COLS} FROM projects p JOIN memberships m ON m.project_id = p.id WHERE m.user_id = $1 ORDER BY p.created_at, p.id");
                            all(self.db(), sqlx::query(&sql).bind(u.uuid()), project).await
                        }
                        None => {
                            let sql = format!("SELECT {PROJECT_COLS} FROM projects p ORDER BY p.created_at, p.id");
                            all(self.db(), sqlx::query(&sql), project).await
                        }
                    }
                }

                async fn rename_project(&self, id: ProjectId, name: &str, at: Timestamp, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE projects SET name = $2, updated_at = $3 WHERE id = $1")
                        .bind(id.uuid())
                        .bind(name)
                        .bind(at.millis());
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn update_project_settings(&self, id: ProjectId, settings: &ProjectSettings, at: Timestamp, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE projects SET signup = $2, signup_domains = $3, require_second_factor = $4, updated_at = $5 WHERE id = $1")
                        .bind(id.uuid())
                        .bind(settings.signup_name())
                        .bind(settings.signup_domains().join(" "))
                        .bind(settings.require_second_factor)
                        .bind(at.millis());
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn delete_project(&self, id: ProjectId, audit: &AuditRecord) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    for table in ["room_participants", "room_grants", "rooms", "memberships", "api_keys", "oauth_clients", "external_oauth", "project_secrets", "data_keys"] {
                        sqlx::query(&format!("DELETE FROM {table} WHERE project_id = $1"))
                            .bind(id.uuid())
                            .execute(&mut *tx)
                            .await
                            .map_err(unexpected)?;
                    }
                    let n = sqlx::query("DELETE FROM projects WHERE id = $1")
                        .bind(id.uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?
                        .rows_affected();
                    commit_if_one(tx, n, audit).await
                }
            }

            #[async_trait]
            impl UserStore for $store {
                async fn insert_user(&self, u: &User, audit: &AuditRecord) -> Result<()> {
                    write(&self.pool, insert_user(u), db_err(USER), audit).await
                }

                async fn get_user(&self, id: UserId) -> Result<Option<User>> {
                    let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1");
                    optional(self.db(), sqlx::query(&sql).bind(id.uuid()), user).await
                }

                async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
                    let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.email_lower = $1");
                    optional(self.db(), sqlx::query(&sql).bind(email.to_lowercase()), user).await
                }

                async fn get_member(&self, project: ProjectId, u: UserId) -> Result<Option<MemberFlags>> {
                    let query = sqlx::query("SELECT is_admin, is_developer, can_create_rooms, can_use_llm_proxy FROM memberships WHERE project_id = $1 AND user_id = $2")
                        .bind(project.uuid())
                        .bind(u.uuid());
                    optional(self.db(), query, flags).await
                }

                async fn list_members(&self, project: ProjectId) -> Result<Vec<Member>> {
                    let sql = format!("SELECT {USER_COLS}, m.is_admin, m.is_developer, m.can_create_rooms, m.can_use_llm_proxy FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.email_lower");
                    all(self.db(), sqlx::query(&sql).bind(project.uuid()), |r| Ok(Member { user: user(r)?, flags: flags(r)? })).await
                }

                async fn put_member(&self, project: ProjectId, u: UserId, f: MemberFlags, audit: &AuditRecord) -> Result<()> {
                    write(&self.pool, put_member(project, u, f), db_err(MEMBER), audit).await
                }

                async fn delete_member(&self, project: ProjectId, u: UserId, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("DELETE FROM memberships WHERE project_id = $1 AND user_id = $2")
                        .bind(project.uuid())
                        .bind(u.uuid());
                    let Some(mut tx) = one_row(&self.pool, stmt, unexpected).await? else {
                        return Ok(false);
                    };
                    // A former member keeps no room grant that would come back with them.
                    sqlx::query("DELETE FROM room_grants WHERE project_id = $1 AND user_id = $2")
                        .bind(project.uuid())
                        .bind(u.uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    commit(tx, audit).await?;
                    Ok(true)
                }
            }

            const KEY_COLS: &str = "id, project_id, name, description, secret_hash, secret_ciphertext, data_key_id, server_admin, created_at, last_used_at";

            #[async_trait]
            impl ApiKeyStore for $store {
                async fn insert_api_key(&self, k: &ApiKeyRecord, audit: &AuditRecord) -> Result<()> {
                    write(&self.pool, insert_api_key(k), db_err(API_KEY), audit).await
                }

                async fn get_api_key(&self, id: ApiKeyId) -> Result<Option<ApiKeyRecord>> {
                    let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE id = $1 AND revoked_at IS NULL");
                    optional(self.db(), sqlx::query(&sql).bind(id.uuid()), api_key).await
                }

                async fn list_api_keys(&self, project: ProjectId) -> Result<Vec<ApiKeyRecord>> {
                    let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE project_id = $1 AND revoked_at IS NULL ORDER BY created_at, id");
                    all(self.db(), sqlx::query(&sql).bind(project.uuid()), api_key).await
                }

                async fn revoke_api_key(&self, project: ProjectId, id: ApiKeyId, audit: &AuditRecord) -> Result<bool> {
                    // The sealed secret is erased with the revocation: nothing can verify with it again.
                    let stmt = sqlx::query("UPDATE api_keys SET revoked_at = $3, secret_ciphertext = $4, secret_hash = $4 WHERE project_id = $1 AND id = $2 AND revoked_at IS NULL")
                        .bind(project.uuid())
                        .bind(id.uuid())
                        .bind(audit.at.millis())
                        .bind(Vec::<u8>::new());
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> Result<()> {
                    sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                        .bind(id.uuid())
                        .bind(at.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }
            }

            #[async_trait]
            impl DataKeyStore for $store {
                async fn current_data_key(&self, project: ProjectId) -> Result<Option<DataKeyRecord>> {
                    let query = sqlx::query("SELECT id, project_id, wrapped, master_key_id, created_at FROM data_keys WHERE project_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1")
                        .bind(project.uuid());
                    optional(self.db(), query, data_key).await
                }

                async fn get_data_key(&self, project: ProjectId, id: DataKeyId) -> Result<Option<DataKeyRecord>> {
                    let query = sqlx::query("SELECT id, project_id, wrapped, master_key_id, created_at FROM data_keys WHERE project_id = $1 AND id = $2")
                        .bind(project.uuid())
                        .bind(id.uuid());
                    optional(self.db(), query, data_key).await
                }

                async fn insert_data_key(&self, k: &DataKeyRecord) -> Result<()> {
                    sqlx::query("INSERT INTO data_keys (id, project_id, wrapped, master_key_id, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(k.id.uuid())
                        .bind(k.project_id.uuid())
                        .bind(k.wrapped.expose())
                        .bind(&k.master_key_id)
                        .bind(k.created_at.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }
            }

            #[async_trait]
            impl SystemStore for $store {
                async fn insert_audit(&self, a: &AuditRecord) -> Result<()> {
                    let mut tx = begin(&self.pool).await?;
                    put_audit(&mut tx, a).await?;
                    tx.commit().await.map_err(unexpected)
                }

                async fn list_audit(&self, project: ProjectId, filter: &AuditFilter, p: Page) -> Result<(Vec<AuditRecord>, u64)> {
                    // Bound in this order: project, then the actor, then the action and its family.
                    let mut args = vec![];
                    let mut cond = String::from("project_id = $1");
                    if let Some(actor) = &filter.actor_id {
                        args.push(actor.clone());
                        cond.push_str(&format!(" AND actor_id = ${}", args.len() + 1));
                    }
                    if let Some(action) = &filter.action {
                        args.push(action.clone());
                        args.push(format!("{}.%", action.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
                        cond.push_str(&format!(" AND (action = ${} OR action LIKE ${} ESCAPE '\\')", args.len(), args.len() + 1));
                    }
                    let n = args.len() + 1;
                    let rows_sql = format!("SELECT id, project_id, at, actor_type, actor_id, action, target_type, target_id, details FROM audit_events WHERE {cond} ORDER BY at DESC, id DESC LIMIT ${} OFFSET ${}", n + 1, n + 2);
                    let count_sql = format!("SELECT COUNT(*) FROM audit_events WHERE {cond}");
                    let mut rows = sqlx::query(&rows_sql).bind(project.uuid());
                    let mut count = sqlx::query_scalar(&count_sql).bind(project.uuid());
                    for a in &args {
                        rows = rows.bind(a);
                        count = count.bind(a);
                    }
                    page(self.db(), rows, count, p, audit).await
                }

                async fn list_audit_of(&self, project: ProjectId, target_type: &str, target_id: &str, p: Page) -> Result<(Vec<AuditRecord>, u64)> {
                    let rows = sqlx::query("SELECT id, project_id, at, actor_type, actor_id, action, target_type, target_id, details FROM audit_events WHERE project_id = $1 AND target_type = $2 AND target_id = $3 ORDER BY at DESC, id DESC LIMIT $4 OFFSET $5")
                        .bind(project.uuid())
                        .bind(target_type)
                        .bind(target_id);
                    let count = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE project_id = $1 AND target_type = $2 AND target_id = $3")
                        .bind(project.uuid())
                        .bind(target_type)
                        .bind(target_id);
                    page(self.db(), rows, count, p, audit).await
                }

                async fn get_setting(&self, key: &str) -> Result<Option<Vec<u8>>> {
                    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                        .bind(key)
                        .fetch_optional(self.db())
                        .await
                        .map_err(unexpected)
                }

                async fn init_setting(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
                    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                        .bind(key)
                        .bind(value)
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                        .bind(key)
                        .fetch_one(self.db())
                        .await
                        .map_err(unexpected)
                }

                async fn bootstrap(&self, plan: &BootstrapPlan) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    let p = &plan.project;
                    let created = sqlx::query("INSERT INTO projects (id, name, is_system, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING")
                        .bind(p.id.uuid())
                        .bind(&p.name)
                        .bind(p.is_system)
                        .bind(p.created_at.millis())
                        .bind(p.updated_at.millis())
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?
                        .rows_affected();
                    if created == 0 {
                        return Ok(false);
                    }
                    exec(&mut tx, insert_user(&plan.admin), db_err(USER)).await?;
                    exec(&mut tx, put_member(p.id, plan.admin.id, MemberFlags::ALL), db_err(MEMBER)).await?;
                    exec(&mut tx, insert_api_key(&plan.api_key), db_err(API_KEY)).await?;
                    for c in &plan.clients {
                        exec(&mut tx, insert_client(c)?, db_err(CLIENT)).await?;
                    }
                    for a in &plan.audit {
                        put_audit(&mut tx, a).await?;
                    }
                    tx.commit().await.map_err(unexpected)?;
                    Ok(true)
                }

                async fn ping(&self) -> Result<()> {
                    sqlx::query("SELECT 1").execute(self.db()).await.map_err(unexpected)?;
                    Ok(())
                }

                async fn list_master_wrapped(&self, settings: &[&str]) -> Result<Vec<MasterWrapped>> {
                    let mut all = Vec::new();
                    for key in settings {
                        if let Some(wrapped) = self.get_setting(key).await? {
                            let kind = MasterWrappedKind::Setting { key: (*key).to_owned() };
                            all.push(MasterWrapped { kind, wrapped: wrapped.into() });
                        }
                    }
                    let rows = sqlx::query("SELECT kid, private_key FROM signing_keys ORDER BY kid")
                        .fetch_all(self.db())
                        .await
                        .map_err(unexpected)?;
                    for r in &rows {
                        let kind = MasterWrappedKind::SigningKey { kid: get(r, "kid")? };
                        all.push(MasterWrapped { kind, wrapped: redacted(r, "private_key")? });
                    }
                    let rows = sqlx::query("SELECT project_id, id, wrapped FROM data_keys ORDER BY project_id, id")
                        .fetch_all(self.db())
                        .await
                        .map_err(unexpected)?;
                    for r in &rows {
                        let kind = MasterWrappedKind::DataKey {
                            project: ProjectId::from_uuid(get(r, "project_id")?),
                            id: DataKeyId::from_uuid(get(r, "id")?),
                        };
                        all.push(MasterWrapped { kind, wrapped: redacted(r, "wrapped")? });
                    }
                    Ok(all)
                }

                async fn rewrap(&self, item: &MasterWrapped, new: &[u8], master_key_id: &str) -> Result<bool> {
                    let query = match &item.kind {
                        MasterWrappedKind::Setting { key } => sqlx::query("UPDATE settings SET value = $1 WHERE key = $2 AND value = $3")
                            .bind(new)
                            .bind(key.as_str())
                            .bind(item.wrapped.as_bytes()),
                        MasterWrappedKind::SigningKey { kid } => sqlx::query("UPDATE signing_keys SET private_key = $1 WHERE kid = $2 AND private_key = $3")
                            .bind(new)
                            .bind(kid.as_str())
                            .bind(item.wrapped.as_bytes()),
                        MasterWrappedKind::DataKey { project, id } => sqlx::query("UPDATE data_keys SET wrapped = $1, master_key_id = $4 WHERE id = $2 AND project_id = $5 AND wrapped = $3")
                            .bind(new)
                            .bind(id.uuid())
                            .bind(item.wrapped.as_bytes())
                            .bind(master_key_id)
                            .bind(project.uuid()),
                    };
                    changes_one(self.db(), query).await
                }
            }
        }
    };
}

accounts_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
accounts_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
