//! Accounts' identities at upstream identity providers ("Continue with …", SPEC §5.4), and the
//! providers a server admin manages over REST. The SQL is written once and instantiated for each
//! backend.

macro_rules! identities_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::idp::settings::{StoredProvider, StoredSettings};
            use gatehouse_core::idp::{IdpKind, LinkedIdentity};
            use gatehouse_core::ids::*;
            use gatehouse_core::model::*;
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;

            use crate::accounts::$module::{USER, insert_user, verify_email};
            use crate::sql::$module::{Stmt, all, begin, change_one, commit, commit_if_one, exec, get, optional, redacted, user, write};
            use crate::sql::{USER_COLS, db_err, unexpected};

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

            const PROVIDER: &str = "identity provider";
            const PROVIDER_COLS: &str = "name, kind, display_name, issuer, github_url, github_api_url, client_id, client_secret_ciphertext, data_key_id, scopes, allow_signup, created_at, updated_at, version";

            fn provider(r: &$row) -> Result<StoredProvider> {
                let issuer: Option<String> = get(r, "issuer")?;
                let github: (Option<String>, Option<String>) = (get(r, "github_url")?, get(r, "github_api_url")?);
                let kind = match (issuer, github) {
                    (Some(issuer), _) => IdpKind::Oidc { issuer },
                    (None, (Some(web_url), Some(api_url))) => IdpKind::GitHub { web_url, api_url },
                    _ => return Err(gatehouse_core::Error::unexpected(anyhow::anyhow!("an identity provider row has no issuer"))),
                };
                let scopes: String = get(r, "scopes")?;
                Ok(StoredProvider {
                    settings: StoredSettings {
                        name: get(r, "name")?,
                        preset: get(r, "kind")?,
                        display_name: get(r, "display_name")?,
                        kind,
                        client_id: get(r, "client_id")?,
                        scopes: serde_json::from_str(&scopes).map_err(unexpected)?,
                        allow_signup: get(r, "allow_signup")?,
                    },
                    client_secret: Sealed {
                        data_key_id: DataKeyId::from_uuid(get(r, "data_key_id")?),
                        ciphertext: redacted(r, "client_secret_ciphertext")?,
                    },
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                    version: get(r, "version")?,
                })
            }

            /// Binds every column but `name` and `created_at`, in [`PROVIDER_COLS`] order, as the
            /// next eleven parameters of `stmt`.
            fn bind_provider<'q>(stmt: Stmt<'q>, p: &'q StoredProvider) -> Result<Stmt<'q>> {
                let s = &p.settings;
                let (issuer, web, api) = match &s.kind {
                    IdpKind::Oidc { issuer } => (Some(issuer), None, None),
                    IdpKind::GitHub { web_url, api_url } => (None, Some(web_url), Some(api_url)),
                };
                Ok(stmt
                    .bind(&s.preset)
                    .bind(&s.display_name)
                    .bind(issuer)
                    .bind(web)
                    .bind(api)
                    .bind(&s.client_id)
                    .bind(p.client_secret.ciphertext.expose().clone())
                    .bind(p.client_secret.data_key_id.uuid())
                    .bind(serde_json::to_string(&s.scopes).map_err(unexpected)?)
                    .bind(s.allow_signup)
                    .bind(p.updated_at.millis()))
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

                async fn list_identity_providers(&self) -> Result<Vec<StoredProvider>> {
                    let sql = format!("SELECT {PROVIDER_COLS} FROM identity_providers ORDER BY created_at, name");
                    all(self.db(), sqlx::query(&sql), provider).await
                }

                async fn insert_identity_provider(&self, p: &StoredProvider, audit: &AuditRecord) -> Result<()> {
                    let stmt = sqlx::query("INSERT INTO identity_providers (name, kind, display_name, issuer, github_url, github_api_url, client_id, client_secret_ciphertext, data_key_id, scopes, allow_signup, updated_at, created_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
                        .bind(&p.settings.name);
                    let stmt = bind_provider(stmt, p)?.bind(p.created_at.millis()).bind(p.version);
                    write(&self.pool, stmt, db_err(PROVIDER), audit).await
                }

                async fn update_identity_provider(&self, p: &StoredProvider, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("UPDATE identity_providers SET kind = $2, display_name = $3, issuer = $4, github_url = $5, github_api_url = $6, client_id = $7, client_secret_ciphertext = $8, data_key_id = $9, scopes = $10, allow_signup = $11, updated_at = $12, version = $13 WHERE name = $1 AND version = $14")
                        .bind(&p.settings.name);
                    let stmt = bind_provider(stmt, p)?.bind(p.version).bind(p.version - 1);
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn delete_identity_provider(&self, name: &str, audit: &AuditRecord) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    exec(&mut tx, sqlx::query("DELETE FROM linked_identities WHERE provider = $1").bind(name), unexpected).await?;
                    let n = exec(&mut tx, sqlx::query("DELETE FROM identity_providers WHERE name = $1").bind(name), unexpected).await?;
                    commit_if_one(tx, n, audit).await
                }
            }
        }
    };
}

identities_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
identities_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
