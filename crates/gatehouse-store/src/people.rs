//! Links mailed to people (sign-up verification, password reset) and project invitations
//! (SPEC §5.4). A link is consumed by a conditional update in the same transaction as its
//! effect, so it works once however many times it is followed at once. The SQL is written once
//! and instantiated for each backend.

macro_rules! people_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::ids::*;
            use gatehouse_core::model::*;
            use gatehouse_core::people::{AccountLink, Invitation, LinkPurpose};
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;

            use crate::accounts::$module::{MEMBER, USER, flags, insert_user, put_member};
            use crate::provider::$module::set_password;
            use crate::sql::$module::{Tx, all, begin, commit, exec, get, optional, redacted, write};
            use crate::sql::{db_err, unexpected};

            const LINK_COLS: &str = "id, purpose, email, secret_hash, user_id, name, password_hash, next, created_at, expires_at, used_at";
            const INVITATION_COLS: &str = "id, project_id, email, secret_hash, is_admin, is_developer, can_create_rooms, can_use_llm_proxy, created_at, expires_at";

            fn link(r: &$row) -> Result<AccountLink> {
                let purpose: String = get(r, "purpose")?;
                Ok(AccountLink {
                    id: LinkId::from_uuid(get(r, "id")?),
                    purpose: LinkPurpose::parse(&purpose)
                        .ok_or_else(|| unexpected(anyhow::anyhow!("unknown link purpose {purpose}")))?,
                    email: get(r, "email")?,
                    secret_hash: redacted(r, "secret_hash")?,
                    user_id: get::<Option<uuid::Uuid>>(r, "user_id")?.map(UserId::from_uuid),
                    name: get(r, "name")?,
                    password_hash: redacted(r, "password_hash")?,
                    next: get(r, "next")?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    expires_at: Timestamp::from_millis(get(r, "expires_at")?),
                    used_at: get::<Option<i64>>(r, "used_at")?.map(Timestamp::from_millis),
                })
            }

            fn invitation(r: &$row) -> Result<Invitation> {
                Ok(Invitation {
                    id: InvitationId::from_uuid(get(r, "id")?),
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    email: get(r, "email")?,
                    secret_hash: redacted(r, "secret_hash")?,
                    flags: flags(r)?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    expires_at: Timestamp::from_millis(get(r, "expires_at")?),
                })
            }

            /// Marks `link` used if it is unused and unexpired at `at`; whether it was.
            async fn consume(tx: &mut Tx<'_>, link: LinkId, at: Timestamp) -> Result<bool> {
                let stmt = sqlx::query("UPDATE account_links SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2")
                    .bind(link.uuid())
                    .bind(at.millis());
                Ok(exec(tx, stmt, unexpected).await? == 1)
            }

            #[async_trait]
            impl PeopleStore for $store {
                async fn insert_link(&self, l: &AccountLink) -> Result<()> {
                    sqlx::query("INSERT INTO account_links (id, purpose, email, secret_hash, user_id, name, password_hash, next, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                        .bind(l.id.uuid())
                        .bind(l.purpose.as_str())
                        .bind(&l.email)
                        .bind(l.secret_hash.expose())
                        .bind(l.user_id.map(UserId::uuid))
                        .bind(&l.name)
                        .bind(l.password_hash.expose())
                        .bind(&l.next)
                        .bind(l.created_at.millis())
                        .bind(l.expires_at.millis())
                        .execute(self.db())
                        .await
                        .map_err(db_err("link"))?;
                    Ok(())
                }

                async fn get_link(&self, id: LinkId) -> Result<Option<AccountLink>> {
                    let sql = format!("SELECT {LINK_COLS} FROM account_links WHERE id = $1");
                    optional(self.db(), sqlx::query(&sql).bind(id.uuid()), link).await
                }

                async fn finish_sign_up(&self, l: LinkId, u: &User, at: Timestamp, audit: &AuditRecord) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    if !consume(&mut tx, l, at).await? {
                        return Ok(false);
                    }
                    exec(&mut tx, insert_user(u), db_err(USER)).await?;
                    commit(tx, audit).await?;
                    Ok(true)
                }

                async fn finish_reset(&self, l: LinkId, u: UserId, hash: &str, at: Timestamp, audit: &AuditRecord) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    if !consume(&mut tx, l, at).await? {
                        return Ok(false);
                    }
                    set_password(&mut tx, u, hash, at).await?;
                    // Following the link mailed to the address proves it is the owner's, if it
                    // is still the account's address.
                    let stmt = sqlx::query("UPDATE users SET email_verified_at = $3 WHERE id = $1 AND email_verified_at IS NULL AND email_lower = (SELECT lower(email) FROM account_links WHERE id = $2)")
                        .bind(u.uuid())
                        .bind(l.uuid())
                        .bind(at.millis());
                    exec(&mut tx, stmt, unexpected).await?;
                    commit(tx, audit).await?;
                    Ok(true)
                }

                async fn purge_links(&self, before: Timestamp) -> Result<u64> {
                    let done = sqlx::query("DELETE FROM account_links WHERE expires_at <= $1")
                        .bind(before.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    let stale = sqlx::query("DELETE FROM invitations WHERE expires_at <= $1")
                        .bind(before.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(done.rows_affected() + stale.rows_affected())
                }

                async fn put_invitation(&self, i: &Invitation, audit: &AuditRecord) -> Result<()> {
                    let stmt = sqlx::query("INSERT INTO invitations (id, project_id, email, email_lower, secret_hash, is_admin, is_developer, can_create_rooms, can_use_llm_proxy, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (project_id, email_lower) DO UPDATE SET id = $1, email = $3, secret_hash = $5, is_admin = $6, is_developer = $7, can_create_rooms = $8, can_use_llm_proxy = $9, created_at = $10, expires_at = $11")
                        .bind(i.id.uuid())
                        .bind(i.project_id.uuid())
                        .bind(&i.email)
                        .bind(i.email.to_lowercase())
                        .bind(i.secret_hash.expose())
                        .bind(i.flags.is_admin)
                        .bind(i.flags.is_developer)
                        .bind(i.flags.can_create_rooms)
                        .bind(i.flags.can_use_llm_proxy)
                        .bind(i.created_at.millis())
                        .bind(i.expires_at.millis());
                    write(&self.pool, stmt, db_err("invitation"), audit).await
                }

                async fn get_invitation(&self, id: InvitationId) -> Result<Option<Invitation>> {
                    let sql = format!("SELECT {INVITATION_COLS} FROM invitations WHERE id = $1");
                    optional(self.db(), sqlx::query(&sql).bind(id.uuid()), invitation).await
                }

                async fn list_project_invitations(&self, project: ProjectId, now: Timestamp) -> Result<Vec<Invitation>> {
                    let sql = format!("SELECT {INVITATION_COLS} FROM invitations WHERE project_id = $1 AND expires_at > $2 ORDER BY created_at, id");
                    all(self.db(), sqlx::query(&sql).bind(project.uuid()).bind(now.millis()), invitation).await
                }

                async fn list_invitations_for(&self, email: &str, now: Timestamp) -> Result<Vec<Invitation>> {
                    let sql = format!("SELECT {INVITATION_COLS} FROM invitations WHERE email_lower = $1 AND expires_at > $2 ORDER BY created_at, id");
                    all(self.db(), sqlx::query(&sql).bind(email.to_lowercase()).bind(now.millis()), invitation).await
                }

                async fn close_invitation(&self, i: &Invitation, member: Option<UserId>, audit: &AuditRecord) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    let stmt = sqlx::query("DELETE FROM invitations WHERE id = $1 AND project_id = $2")
                        .bind(i.id.uuid())
                        .bind(i.project_id.uuid());
                    if exec(&mut tx, stmt, unexpected).await? != 1 {
                        return Ok(false);
                    }
                    if let Some(user) = member {
                        exec(&mut tx, put_member(i.project_id, user, i.flags), db_err(MEMBER)).await?;
                    }
                    commit(tx, audit).await?;
                    Ok(true)
                }
            }
        }
    };
}

people_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
people_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
