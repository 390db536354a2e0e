//! Accounts' identities at upstream identity providers ("Continue with …", SPEC §5.4). The SQL is
//! written once and instantiated for each backend.

macro_rules! identities_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::idp::LinkedIdentity;
            use gatehouse_core::ids::*;
            use gatehouse_core::model::*;
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;

            use crate::accounts::$module::{USER, insert_user, verify_email};
            use crate::sql::$module::{all, begin, change_one, commit, exec, get, optional, user};
            use crate::sql::{USER_COLS, db_err};

            const IDENTITY: &str = "this identity's link";
            const COLS: &str = "i.id AS identity_id, i.user_id, i.provider, i.subject, i.email AS identity_email, i.created_at AS linked_at";

            fn identity(r: &$row) -> Result<LinkedIdentity> {
                Ok(LinkedIdentity {
                    id: IdentityId::from_uuid(get(r, "identity_id")?),
                    user_id: UserId::from_uuid(get(r, "user_id")?),
                    provider: get(r, "provider")?,
                    subject: get(r, "subject")?,
                    email: get(r, "identity_email")?,
                    created_at: Timestamp::from_millis(get(r, "linked_at")?),
                })
            }

            #[async_trait]
            impl IdentityStore for $store {
                async fn find_identity(&self, provider: &str, subject: &str) -> Result<Option<(LinkedIdentity, User)>> {
                    let sql = format!(
                        "SELECT {COLS}, {USER_COLS} FROM linked_identities i JOIN users u ON u.id = i.user_id WHERE i.provider = $1 AND i.subject = $2"
                    );
                    let query = sqlx::query(&sql).bind(provider).bind(subject);
                    optional(self.db(), query, |r| Ok((identity(r)?, user(r)?))).await
                }

                async fn link_identity(&self, i: &LinkedIdentity, new_user: Option<&User>, audit: &AuditRecord) -> Result<()> {
                    let mut tx = begin(&self.pool).await?;
                    if let Some(u) = new_user {
                        exec(&mut tx, insert_user(u), db_err(USER)).await?;
                    }
                    let stmt = sqlx::query("INSERT INTO linked_identities (id, user_id, provider, subject, email, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(i.id.uuid())
                        .bind(i.user_id.uuid())
                        .bind(&i.provider)
                        .bind(&i.subject)
                        .bind(&i.email)
                        .bind(i.created_at.millis());
                    exec(&mut tx, stmt, db_err(IDENTITY)).await?;
                    // An identity is linked only through the email its provider verified.
                    exec(&mut tx, verify_email(i.user_id, &i.email, i.created_at), db_err(USER)).await?;
                    commit(tx, audit).await
                }

                async fn list_identities(&self, u: UserId) -> Result<Vec<LinkedIdentity>> {
                    let sql = format!("SELECT {COLS} FROM linked_identities i WHERE i.user_id = $1 ORDER BY i.created_at, i.id");
                    all(self.db(), sqlx::query(&sql).bind(u.uuid()), identity).await
                }

                async fn delete_identity(&self, u: UserId, id: IdentityId, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("DELETE FROM linked_identities WHERE id = $1 AND user_id = $2")
                        .bind(id.uuid())
                        .bind(u.uuid());
                    change_one(&self.pool, stmt, db_err(IDENTITY), audit).await
                }
            }
        }
    };
}

identities_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
identities_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
