//! The authorization server's tables: signing keys, sessions, consent, grants with their refresh
//! tokens, device authorizations and revoked access tokens. The SQL is written once and
//! instantiated for each backend; every state change that must not race (spending a code,
//! rotating a refresh token, deciding a device request) is a single conditional statement.

macro_rules! provider_impl {
    ($module:ident, $store:ty, $db:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::factors::AuthMethods;
            use gatehouse_core::ids::*;
            use gatehouse_core::model::*;
            use gatehouse_core::oauth::*;
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;

            use crate::sql::$module::{Tx, all, begin, changes_one, commit, get, optional, redacted, user};
            use crate::sql::{USER_COLS, db_err, unexpected};

            const SESSION_COLS: &str = "id, user_id, secret_hash, created_at, auth_time, expires_at, user_agent, ip, amr";
            const GRANT_COLS: &str = "id, project_id, client_id, user_id, session_id, scope, auth_time, created_at, expires_at, revoked_at, refresh_generation, refresh_expires_at, refresh_rotated_at, successor_ciphertext, successor_key_id, amr, resources";
            /// A grant's columns next to its user's (two are renamed to stay apart).
            const GRANT_OF_USER_COLS: &str = "g.id AS grant_id, g.project_id, g.client_id, g.user_id, g.session_id, g.scope, g.auth_time, g.created_at AS grant_created_at, g.expires_at, g.revoked_at, g.refresh_generation, g.refresh_expires_at, g.refresh_rotated_at, g.successor_ciphertext, g.successor_key_id, g.amr, g.resources";
            const DEVICE_COLS: &str = "device_code_hash, user_code, grant_id, project_id, client_id, scope, created_at, expires_at, interval_secs, last_polled_at, status, user_id, session_id, auth_time, amr, resources";

            fn at(r: &$row, col: &str) -> Result<Timestamp> {
                Ok(Timestamp::from_millis(get(r, col)?))
            }

            fn at_opt(r: &$row, col: &str) -> Result<Option<Timestamp>> {
                Ok(get::<Option<i64>>(r, col)?.map(Timestamp::from_millis))
            }

            fn signing_key(r: &$row) -> Result<SigningKeyRecord> {
                Ok(SigningKeyRecord {
                    kid: get(r, "kid")?,
                    alg: get(r, "alg")?,
                    private_key: redacted(r, "private_key")?,
                    public_jwk: get(r, "public_jwk")?,
                    created_at: at(r, "created_at")?,
                    activate_at: at_opt(r, "activate_at")?,
                })
            }

            fn session(r: &$row) -> Result<Session> {
                session_as(r, "id", "created_at")
            }

            /// A session from a row whose id and creation columns are named `id` and `created`.
            fn session_as(r: &$row, id: &str, created: &str) -> Result<Session> {
                Ok(Session {
                    id: SessionId::from_uuid(get(r, id)?),
                    user_id: UserId::from_uuid(get(r, "user_id")?),
                    secret_hash: redacted(r, "secret_hash")?,
                    created_at: at(r, created)?,
                    auth_time: at(r, "auth_time")?,
                    amr: AuthMethods::from_bits(get(r, "amr")?),
                    expires_at: at(r, "expires_at")?,
                    user_agent: get(r, "user_agent")?,
                    ip: get(r, "ip")?,
                })
            }

            /// A grant from a row whose id and creation columns are named `id` and `created`.
            fn grant_as(r: &$row, id: &str, created: &str) -> Result<Grant> {
                let generation: Option<i64> = get(r, "refresh_generation")?;
                let refresh = match (generation, at_opt(r, "refresh_expires_at")?) {
                    (Some(generation), Some(expires_at)) => Some(RefreshState {
                        generation,
                        expires_at,
                        rotated_at: at_opt(r, "refresh_rotated_at")?,
                        successor: sealed_opt(r, "successor_ciphertext", "successor_key_id")?,
                    }),
                    _ => None,
                };
                Ok(Grant {
                    id: GrantId::from_uuid(get(r, id)?),
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    client_id: ClientId::parse(&get::<String>(r, "client_id")?)?,
                    user_id: UserId::from_uuid(get(r, "user_id")?),
                    session_id: get::<Option<uuid::Uuid>>(r, "session_id")?.map(SessionId::from_uuid),
                    scope: get(r, "scope")?,
                    resources: crate::sql::resource_ids(&get::<String>(r, "resources")?)?,
                    auth_time: at(r, "auth_time")?,
                    amr: AuthMethods::from_bits(get(r, "amr")?),
                    created_at: at(r, created)?,
                    expires_at: at(r, "expires_at")?,
                    revoked_at: at_opt(r, "revoked_at")?,
                    refresh,
                })
            }

            fn sealed_opt(r: &$row, ciphertext: &str, key: &str) -> Result<Option<Sealed>> {
                let ciphertext: Option<Vec<u8>> = get(r, ciphertext)?;
                let key: Option<uuid::Uuid> = get(r, key)?;
                Ok(ciphertext.zip(key).map(|(ciphertext, k)| Sealed {
                    data_key_id: DataKeyId::from_uuid(k),
                    ciphertext: ciphertext.into(),
                }))
            }

            fn device(r: &$row) -> Result<DeviceGrant> {
                let status: String = get(r, "status")?;
                let user: Option<uuid::Uuid> = get(r, "user_id")?;
                let session: Option<uuid::Uuid> = get(r, "session_id")?;
                let auth_time = at_opt(r, "auth_time")?;
                let amr: Option<i64> = get(r, "amr")?;
                Ok(DeviceGrant {
                    device_code_hash: redacted(r, "device_code_hash")?,
                    user_code: get::<String>(r, "user_code")?.into(),
                    grant_id: GrantId::from_uuid(get(r, "grant_id")?),
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    client_id: ClientId::parse(&get::<String>(r, "client_id")?)?,
                    scope: get(r, "scope")?,
                    resources: crate::sql::resource_ids(&get::<String>(r, "resources")?)?,
                    created_at: at(r, "created_at")?,
                    expires_at: at(r, "expires_at")?,
                    interval_secs: get(r, "interval_secs")?,
                    last_polled_at: at_opt(r, "last_polled_at")?,
                    status: DeviceStatus::parse(&status)
                        .ok_or_else(|| unexpected(anyhow::anyhow!("unknown device status {status:?}")))?,
                    approval: match (user, session, auth_time) {
                        (Some(u), Some(s), Some(t)) => Some(DeviceApproval {
                            user_id: UserId::from_uuid(u),
                            session_id: SessionId::from_uuid(s),
                            auth_time: t,
                            amr: AuthMethods::from_bits(amr.unwrap_or(AuthMethods::PASSWORD.bits())),
                        }),
                        _ => None,
                    },
                })
            }

            /// Writes a grant if its sign-in session still exists; `Conflict` when its id is taken.
            async fn insert_grant_in<'e, E: sqlx::Executor<'e, Database = $db>>(e: E, g: &Grant) -> Result<bool> {
                let refresh = g.refresh.as_ref();
                let successor = refresh.and_then(|r| r.successor.as_ref());
                let r = sqlx::query(&format!("INSERT INTO oauth_grants ({GRANT_COLS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 WHERE EXISTS (SELECT 1 FROM user_sessions WHERE id = $5)"))
                    .bind(g.id.uuid())
                    .bind(g.project_id.uuid())
                    .bind(g.client_id.as_str())
                    .bind(g.user_id.uuid())
                    .bind(g.session_id.map(SessionId::uuid))
                    .bind(&g.scope)
                    .bind(g.auth_time.millis())
                    .bind(g.created_at.millis())
                    .bind(g.expires_at.millis())
                    .bind(g.revoked_at.map(Timestamp::millis))
                    .bind(refresh.map(|r| r.generation))
                    .bind(refresh.map(|r| r.expires_at.millis()))
                    .bind(refresh.and_then(|r| r.rotated_at).map(Timestamp::millis))
                    .bind(successor.map(|s| s.ciphertext.as_bytes()))
                    .bind(successor.map(|s| s.data_key_id.uuid()))
                    .bind(g.amr.bits())
                    .bind(crate::sql::resource_text(&g.resources))
                    .execute(e)
                    .await
                    .map_err(db_err("this grant"))?;
                Ok(r.rows_affected() == 1)
            }

            async fn revoke_grant_tx(tx: &mut Tx<'_>, id: GrantId, at: Timestamp) -> Result<bool> {
                let r = sqlx::query("UPDATE oauth_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id.uuid())
                    .bind(at.millis())
                    .execute(&mut **tx)
                    .await
                    .map_err(unexpected)?;
                Ok(r.rows_affected() > 0)
            }

            #[async_trait]
            impl SigningKeyStore for $store {
                async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>> {
                    let query = sqlx::query("SELECT kid, alg, private_key, public_jwk, created_at, activate_at FROM signing_keys ORDER BY created_at");
                    all(self.db(), query, signing_key).await
                }

                async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<()> {
                    sqlx::query("INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, activate_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&k.kid)
                        .bind(&k.alg)
                        .bind(k.private_key.expose())
                        .bind(&k.public_jwk)
                        .bind(k.created_at.millis())
                        .bind(k.activate_at.map(Timestamp::millis))
                        .execute(self.db())
                        .await
                        .map_err(db_err("a signing key with this kid"))?;
                    Ok(())
                }

                async fn schedule_signing_key(&self, kid: &str, activate_at: Timestamp) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE signing_keys SET activate_at = $2 WHERE kid = $1 AND activate_at IS NULL")
                        .bind(kid)
                        .bind(activate_at.millis());
                    changes_one(self.db(), stmt).await
                }

                async fn delete_signing_key(&self, kid: &str) -> Result<()> {
                    sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
                        .bind(kid)
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }
            }

            #[async_trait]
            impl SessionStore for $store {
                async fn insert_session(&self, s: &Session) -> Result<()> {
                    sqlx::query(&format!("INSERT INTO user_sessions ({SESSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
                        .bind(s.id.uuid())
                        .bind(s.user_id.uuid())
                        .bind(s.secret_hash.expose())
                        .bind(s.created_at.millis())
                        .bind(s.auth_time.millis())
                        .bind(s.expires_at.millis())
                        .bind(&s.user_agent)
                        .bind(&s.ip)
                        .bind(s.amr.bits())
                        .execute(self.db())
                        .await
                        .map_err(db_err("this session"))?;
                    Ok(())
                }

                async fn get_session(&self, id: SessionId) -> Result<Option<(Session, User)>> {
                    let sql = format!("SELECT s.id AS session_id, s.user_id, s.secret_hash, s.created_at AS session_created_at, s.auth_time, s.expires_at, s.user_agent, s.ip, s.amr, {USER_COLS} FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1");
                    let query = sqlx::query(&sql).bind(id.uuid());
                    optional(self.db(), query, |r| Ok((session_as(r, "session_id", "session_created_at")?, user(r)?))).await
                }

                async fn list_sessions(&self, user: UserId, now: Timestamp) -> Result<Vec<Session>> {
                    let sql = format!("SELECT {SESSION_COLS} FROM user_sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC LIMIT 1000");
                    all(self.db(), sqlx::query(&sql).bind(user.uuid()).bind(now.millis()), session).await
                }

                async fn end_session(&self, user: UserId, id: SessionId, revoke: Option<&[ClientId]>, at: Timestamp) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    let gone = sqlx::query("DELETE FROM user_sessions WHERE id = $1 AND user_id = $2")
                        .bind(id.uuid())
                        .bind(user.uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?
                        .rows_affected();
                    if gone == 0 {
                        return Ok(false);
                    }
                    // Device approvals of the session die with it (its codes can no longer be
                    // redeemed: a code's grant is written only while its session exists).
                    sqlx::query("UPDATE device_grants SET status = 'denied' WHERE session_id = $1 AND status = 'approved'")
                        .bind(id.uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    const REVOKE: &str = "UPDATE oauth_grants SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL";
                    match revoke {
                        None => {
                            sqlx::query(REVOKE).bind(id.uuid()).bind(at.millis()).execute(&mut *tx).await.map_err(unexpected)?;
                        }
                        Some(clients) => {
                            for c in clients {
                                sqlx::query(&format!("{REVOKE} AND client_id = $3"))
                                    .bind(id.uuid())
                                    .bind(at.millis())
                                    .bind(c.as_str())
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(unexpected)?;
                            }
                        }
                    }
                    tx.commit().await.map_err(unexpected)?;
                    Ok(true)
                }

                async fn get_consent(&self, user: UserId, client: &ClientId) -> Result<Option<String>> {
                    sqlx::query_scalar("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
                        .bind(user.uuid())
                        .bind(client.as_str())
                        .fetch_optional(self.db())
                        .await
                        .map_err(unexpected)
                }

                async fn put_consent(&self, user: UserId, client: &ClientId, scope: &str, at: Timestamp) -> Result<()> {
                    sqlx::query("INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id) DO UPDATE SET scope = $3, granted_at = $4")
                        .bind(user.uuid())
                        .bind(client.as_str())
                        .bind(scope)
                        .bind(at.millis())
                        .execute(self.db())
                        .await
                        .map_err(db_err("consent"))?;
                    Ok(())
                }

                async fn change_password(&self, user: UserId, hash: &str, at: Timestamp, audit: &AuditRecord) -> Result<()> {
                    let mut tx = begin(&self.pool).await?;
                    set_password(&mut tx, user, hash, at).await?;
                    commit(tx, audit).await
                }
            }

            /// Replaces the password hash of `user`, ends every session and revokes every grant of
            /// theirs, in `tx` (a password change or reset).
            pub(crate) async fn set_password(tx: &mut Tx<'_>, user: UserId, hash: &str, at: Timestamp) -> Result<()> {
                let changed = sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                    .bind(user.uuid())
                    .bind(hash)
                    .bind(at.millis())
                    .execute(&mut **tx)
                    .await
                    .map_err(unexpected)?
                    .rows_affected();
                if changed == 0 {
                    return Err(gatehouse_core::Error::NotFound("user"));
                }
                for sql in [
                    "DELETE FROM user_sessions WHERE user_id = $1",
                    "UPDATE device_grants SET status = 'denied' WHERE user_id = $1 AND status = 'approved'",
                ] {
                    sqlx::query(sql).bind(user.uuid()).execute(&mut **tx).await.map_err(unexpected)?;
                }
                sqlx::query("UPDATE oauth_grants SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(user.uuid())
                    .bind(at.millis())
                    .execute(&mut **tx)
                    .await
                    .map_err(unexpected)?;
                Ok(())
            }

            #[async_trait]
            impl GrantStore for $store {
                async fn insert_grant(&self, g: &Grant) -> Result<bool> {
                    insert_grant_in(self.db(), g).await
                }

                async fn get_grant(&self, id: GrantId) -> Result<Option<(Grant, User)>> {
                    let sql = format!("SELECT {GRANT_OF_USER_COLS}, {USER_COLS} FROM oauth_grants g JOIN users u ON u.id = g.user_id WHERE g.id = $1");
                    optional(self.db(), sqlx::query(&sql).bind(id.uuid()), |r| Ok((grant_as(r, "grant_id", "grant_created_at")?, user(r)?))).await
                }

                async fn revoke_grant(&self, id: GrantId, at: Timestamp) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    let revoked = revoke_grant_tx(&mut tx, id, at).await?;
                    tx.commit().await.map_err(unexpected)?;
                    Ok(revoked)
                }

                async fn session_grant_clients(&self, session: SessionId) -> Result<Vec<ClientId>> {
                    let ids: Vec<String> = sqlx::query_scalar("SELECT DISTINCT client_id FROM oauth_grants WHERE session_id = $1 AND revoked_at IS NULL")
                        .bind(session.uuid())
                        .fetch_all(self.db())
                        .await
                        .map_err(unexpected)?;
                    ids.iter().map(|s| ClientId::parse(s)).collect()
                }

                /// One statement. The grant's own expiry (which the purge and the token checks use)
                /// moves only when the new token would outlive it, and then a day past it, so that
                /// most rotations leave its index alone.
                async fn rotate_refresh(&self, id: GrantId, generation: i64, next: &RefreshState, at: Timestamp) -> Result<bool> {
                    let successor = next.successor.as_ref();
                    let stmt = sqlx::query("UPDATE oauth_grants SET refresh_generation = $3, refresh_expires_at = $4, refresh_rotated_at = $5, successor_ciphertext = $6, successor_key_id = $7, expires_at = CASE WHEN expires_at < $4 THEN $4 + 86400000 ELSE expires_at END WHERE id = $1 AND refresh_generation = $2 AND revoked_at IS NULL AND refresh_expires_at > $5")
                        .bind(id.uuid())
                        .bind(generation)
                        .bind(next.generation)
                        .bind(next.expires_at.millis())
                        .bind(at.millis())
                        .bind(successor.map(|s| s.ciphertext.as_bytes()))
                        .bind(successor.map(|s| s.data_key_id.uuid()));
                    changes_one(self.db(), stmt).await
                }

                async fn insert_device_grant(&self, d: &DeviceGrant) -> Result<()> {
                    sqlx::query(&format!("INSERT INTO device_grants ({DEVICE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, NULL, NULL, NULL, NULL, $11)"))
                        .bind(d.device_code_hash.expose())
                        .bind(d.user_code.expose_secret())
                        .bind(d.grant_id.uuid())
                        .bind(d.project_id.uuid())
                        .bind(d.client_id.as_str())
                        .bind(&d.scope)
                        .bind(d.created_at.millis())
                        .bind(d.expires_at.millis())
                        .bind(d.interval_secs)
                        .bind(d.status.as_str())
                        .bind(crate::sql::resource_text(&d.resources))
                        .execute(self.db())
                        .await
                        .map_err(db_err("a device request with this user code"))?;
                    Ok(())
                }

                async fn get_device_grant(&self, device_code_hash: &[u8]) -> Result<Option<DeviceGrant>> {
                    let sql = format!("SELECT {DEVICE_COLS} FROM device_grants WHERE device_code_hash = $1");
                    optional(self.db(), sqlx::query(&sql).bind(device_code_hash), device).await
                }

                async fn find_device_grant(&self, user_code: &str) -> Result<Option<DeviceGrant>> {
                    let sql = format!("SELECT {DEVICE_COLS} FROM device_grants WHERE user_code = $1");
                    optional(self.db(), sqlx::query(&sql).bind(user_code), device).await
                }

                async fn record_device_poll(&self, device_code_hash: &[u8], at: Timestamp, interval_secs: i64) -> Result<()> {
                    sqlx::query("UPDATE device_grants SET last_polled_at = $2, interval_secs = $3 WHERE device_code_hash = $1")
                        .bind(device_code_hash)
                        .bind(at.millis())
                        .bind(interval_secs)
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn decide_device_grant(&self, user_code: &str, approval: Option<&DeviceApproval>, at: Timestamp) -> Result<bool> {
                    let status = if approval.is_some() { DeviceStatus::Approved } else { DeviceStatus::Denied };
                    let stmt = sqlx::query("UPDATE device_grants SET status = $2, user_id = $3, session_id = $4, auth_time = $5, amr = $7 WHERE user_code = $1 AND status = 'pending' AND expires_at > $6")
                        .bind(user_code)
                        .bind(status.as_str())
                        .bind(approval.map(|a| a.user_id.uuid()))
                        .bind(approval.map(|a| a.session_id.uuid()))
                        .bind(approval.map(|a| a.auth_time.millis()))
                        .bind(at.millis())
                        .bind(approval.map(|a| a.amr.bits()));
                    changes_one(self.db(), stmt).await
                }

                async fn redeem_device_grant(&self, device_code_hash: &[u8], g: &Grant) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    let won = sqlx::query("UPDATE device_grants SET status = 'redeemed' WHERE device_code_hash = $1 AND status = 'approved'")
                        .bind(device_code_hash)
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?
                        .rows_affected()
                        == 1;
                    // A session that ended since the approval denied it; dropping the transaction
                    // undoes the spend.
                    if !won || !insert_grant_in(&mut *tx, g).await? {
                        return Ok(false);
                    }
                    tx.commit().await.map_err(unexpected)?;
                    Ok(true)
                }

                async fn revoke_jti(&self, jti: &str, expires_at: Timestamp) -> Result<()> {
                    sqlx::query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
                        .bind(jti)
                        .bind(expires_at.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn token_active(&self, jti: &str, grant: Option<GrantId>) -> Result<bool> {
                    sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1) AND ($2 IS NULL OR EXISTS (SELECT 1 FROM oauth_grants WHERE id = $2 AND revoked_at IS NULL))")
                        .bind(jti)
                        .bind(grant.map(GrantId::uuid))
                        .fetch_one(self.db())
                        .await
                        .map_err(unexpected)
                }

                async fn purge_expired(&self, now: Timestamp) -> Result<u64> {
                    let mut n = 0;
                    for table in ["oauth_grants", "device_grants", "user_sessions", "revoked_tokens", "passkey_ceremonies"] {
                        n += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at < $1"))
                            .bind(now.millis())
                            .execute(self.db())
                            .await
                            .map_err(unexpected)?
                            .rows_affected();
                    }
                    Ok(n)
                }
            }
        }
    };
}

provider_impl!(sqlite, crate::SqliteStore, sqlx::Sqlite, sqlx::sqlite::SqliteRow);
provider_impl!(postgres, crate::PgStore, sqlx::Postgres, sqlx::postgres::PgRow);
