//! Users' passkeys (SPEC §5.4) and the WebAuthn ceremonies under way. A ceremony is taken with
//! one `DELETE … RETURNING`, so of two requests answering one challenge (on any nodes) only one
//! gets its state. The SQL is written once and instantiated for each backend.

macro_rules! passkeys_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::ids::*;
            use gatehouse_core::model::*;
            use gatehouse_core::passkeys::{Ceremony, CeremonyPurpose, PasskeyRecord};
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;

            use crate::sql::$module::{all, begin, change_one, commit, changes_one, exec, get, optional};
            use crate::sql::{db_err, unexpected};

            const COLS: &str = "id, user_id, credential_id, name, passkey, created_at, last_used_at";

            fn passkey(r: &$row) -> Result<PasskeyRecord> {
                Ok(PasskeyRecord {
                    id: get(r, "id")?,
                    user_id: UserId::from_uuid(get(r, "user_id")?),
                    credential_id: get(r, "credential_id")?,
                    name: get(r, "name")?,
                    passkey: get(r, "passkey")?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    last_used_at: get::<Option<i64>>(r, "last_used_at")?.map(Timestamp::from_millis),
                })
            }

            #[async_trait]
            impl PasskeyStore for $store {
                async fn list_passkeys(&self, user: UserId) -> Result<Vec<PasskeyRecord>> {
                    let sql = format!("SELECT {COLS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id");
                    all(self.db(), sqlx::query(&sql).bind(user.uuid()), passkey).await
                }

                async fn find_passkey(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>> {
                    let sql = format!("SELECT {COLS} FROM passkeys WHERE credential_id = $1");
                    optional(self.db(), sqlx::query(&sql).bind(credential_id), passkey).await
                }

                async fn insert_passkey(&self, p: &PasskeyRecord, audit: &AuditRecord) -> Result<()> {
                    let mut tx = begin(&self.pool).await?;
                    let stmt = sqlx::query("INSERT INTO passkeys (id, user_id, credential_id, name, passkey, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(p.id)
                        .bind(p.user_id.uuid())
                        .bind(&p.credential_id)
                        .bind(&p.name)
                        .bind(&p.passkey)
                        .bind(p.created_at.millis())
                        .bind(p.last_used_at.map(Timestamp::millis));
                    exec(&mut tx, stmt, db_err("passkey")).await?;
                    commit(tx, audit).await
                }

                async fn passkey_used(&self, user: UserId, id: uuid::Uuid, passkey: &str, at: Timestamp) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE passkeys SET passkey = $3, last_used_at = $4 WHERE user_id = $1 AND id = $2")
                        .bind(user.uuid())
                        .bind(id)
                        .bind(passkey)
                        .bind(at.millis());
                    changes_one(self.db(), stmt).await
                }

                async fn delete_passkey(&self, user: UserId, id: uuid::Uuid, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND id = $2")
                        .bind(user.uuid())
                        .bind(id);
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn insert_ceremony(&self, c: &Ceremony) -> Result<()> {
                    sqlx::query("INSERT INTO passkey_ceremonies (id, purpose, user_id, state, expires_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(&c.id)
                        .bind(c.purpose.as_str())
                        .bind(c.user_id.map(UserId::uuid))
                        .bind(&c.state)
                        .bind(c.expires_at.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn take_ceremony(&self, id: &str, purpose: CeremonyPurpose, now: Timestamp) -> Result<Option<Ceremony>> {
                    let query = sqlx::query("DELETE FROM passkey_ceremonies WHERE id = $1 AND purpose = $2 RETURNING user_id, state, expires_at")
                        .bind(id)
                        .bind(purpose.as_str());
                    let taken = optional(self.db(), query, |r| {
                        Ok(Ceremony {
                            id: id.to_owned(),
                            purpose,
                            user_id: get::<Option<uuid::Uuid>>(r, "user_id")?.map(UserId::from_uuid),
                            state: get(r, "state")?,
                            expires_at: Timestamp::from_millis(get(r, "expires_at")?),
                        })
                    })
                    .await?;
                    Ok(taken.filter(|c| c.expires_at > now))
                }
            }
        }
    };
}

passkeys_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
passkeys_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
