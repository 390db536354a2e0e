//! Users' second factors (SPEC §5.4): the TOTP secret (sealed by core) with the time step of the
//! last accepted code, and the recovery codes as keyed hashes. Accepting a code is one
//! conditional statement, so two sign-ins racing with the same code cannot both win. The SQL is
//! written once and instantiated for each backend.

macro_rules! factors_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::factors::TotpFactor;
            use gatehouse_core::ids::*;
            use gatehouse_core::model::*;
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;

            use crate::sql::$module::{begin, changes_one, commit, commit_if_one, get, optional, redacted};
            use crate::sql::unexpected;

            fn totp(r: &$row) -> Result<TotpFactor> {
                Ok(TotpFactor {
                    user_id: UserId::from_uuid(get(r, "user_id")?),
                    secret: redacted(r, "secret_ciphertext")?,
                    last_step: get(r, "last_step")?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    confirmed_at: get::<Option<i64>>(r, "confirmed_at")?.map(Timestamp::from_millis),
                    recovery_left: get(r, "recovery_left")?,
                })
            }

            #[async_trait]
            impl FactorStore for $store {
                async fn get_totp(&self, user: UserId) -> Result<Option<TotpFactor>> {
                    let query = sqlx::query("SELECT user_id, secret_ciphertext, last_step, created_at, confirmed_at, (SELECT COUNT(*) FROM recovery_codes c WHERE c.user_id = t.user_id AND c.used_at IS NULL) AS recovery_left FROM totp_factors t WHERE user_id = $1")
                        .bind(user.uuid());
                    optional(self.db(), query, totp).await
                }

                async fn put_pending_totp(&self, f: &TotpFactor) -> Result<bool> {
                    let stmt = sqlx::query("INSERT INTO totp_factors (user_id, secret_ciphertext, last_step, created_at, confirmed_at) VALUES ($1, $2, NULL, $3, NULL) ON CONFLICT (user_id) DO UPDATE SET secret_ciphertext = $2, created_at = $3 WHERE totp_factors.confirmed_at IS NULL")
                        .bind(f.user_id.uuid())
                        .bind(f.secret.expose())
                        .bind(f.created_at.millis());
                    changes_one(self.db(), stmt).await
                }

                async fn confirm_totp(&self, user: UserId, step: i64, at: Timestamp, recovery: &[Vec<u8>], audit: &AuditRecord) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    let n = sqlx::query("UPDATE totp_factors SET confirmed_at = $2, last_step = $3 WHERE user_id = $1 AND confirmed_at IS NULL")
                        .bind(user.uuid())
                        .bind(at.millis())
                        .bind(step)
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?
                        .rows_affected();
                    if n != 1 {
                        return Ok(false);
                    }
                    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                        .bind(user.uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    for hash in recovery {
                        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)")
                            .bind(user.uuid())
                            .bind(hash)
                            .execute(&mut *tx)
                            .await
                            .map_err(unexpected)?;
                    }
                    commit(tx, audit).await?;
                    Ok(true)
                }

                async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE totp_factors SET last_step = $2 WHERE user_id = $1 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $2)")
                        .bind(user.uuid())
                        .bind(step);
                    changes_one(self.db(), stmt).await
                }

                async fn use_recovery_code(&self, user: UserId, hash: &[u8], at: Timestamp) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
                        .bind(user.uuid())
                        .bind(hash)
                        .bind(at.millis());
                    changes_one(self.db(), stmt).await
                }

                async fn remove_totp(&self, user: UserId, audit: &AuditRecord) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                        .bind(user.uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    let n = sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
                        .bind(user.uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?
                        .rows_affected();
                    commit_if_one(tx, n, audit).await
                }
            }
        }
    };
}

factors_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
factors_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
