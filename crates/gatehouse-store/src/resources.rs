//! API resources (SPEC §5.7). Scope names are kept once per project in `api_resource_scopes`,
//! rewritten with their resource in one transaction, so the database enforces their uniqueness.

use gatehouse_core::resources::{ResourceScope, TokenFormat};
use serde::{Deserialize, Serialize};

/// The JSON `settings` column.
#[derive(Serialize, Deserialize)]
struct Settings {
    scopes: Vec<ResourceScope>,
    access_token_lifetime_secs: u32,
    signing_alg: String,
    token_format: TokenFormat,
}

macro_rules! resources_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::ids::{ProjectId, ResourceId};
            use gatehouse_core::jose::SigningAlg;
            use gatehouse_core::model::AuditRecord;
            use gatehouse_core::ports::ResourceStore;
            use gatehouse_core::resources::ApiResource;
            use gatehouse_core::time::Timestamp;

            use super::Settings;
            use crate::sql::$module::{Tx, all, begin, commit, commit_if_one, exec, get};
            use crate::sql::{db_err, unexpected};

            const COLS: &str = "id, project_id, identifier, name, settings, created_at, updated_at, version";
            const IDENTIFIER: &str = "a resource with this identifier";
            const SCOPE: &str = "a resource scope with this name";

            fn settings(r: &ApiResource) -> Result<String> {
                serde_json::to_string(&Settings {
                    scopes: r.scopes.clone(),
                    access_token_lifetime_secs: r.access_token_lifetime_secs,
                    signing_alg: r.signing_alg.as_str().into(),
                    token_format: r.token_format,
                })
                .map_err(unexpected)
            }

            fn resource(r: &$row) -> Result<ApiResource> {
                let s: Settings = serde_json::from_str(&get::<String>(r, "settings")?).map_err(unexpected)?;
                Ok(ApiResource {
                    id: ResourceId::from_uuid(get(r, "id")?),
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    identifier: get(r, "identifier")?,
                    name: get(r, "name")?,
                    scopes: s.scopes,
                    access_token_lifetime_secs: s.access_token_lifetime_secs,
                    signing_alg: SigningAlg::parse(&s.signing_alg).ok_or_else(|| unexpected(anyhow::anyhow!("unknown signing_alg {}", s.signing_alg)))?,
                    token_format: s.token_format,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                    version: get(r, "version")?,
                })
            }

            /// Writes the scope names of `r` (whose previous names were removed).
            async fn put_scopes(tx: &mut Tx<'_>, r: &ApiResource) -> Result<()> {
                for s in &r.scopes {
                    let stmt = sqlx::query("INSERT INTO api_resource_scopes (project_id, name, resource_id) VALUES ($1, $2, $3)")
                        .bind(r.project_id.uuid())
                        .bind(&s.name)
                        .bind(r.id.uuid());
                    exec(tx, stmt, db_err(SCOPE)).await?;
                }
                Ok(())
            }

            #[async_trait]
            impl ResourceStore for $store {
                async fn insert_resource(&self, r: &ApiResource, audit: &AuditRecord) -> Result<()> {
                    let mut tx = begin(&self.pool).await?;
                    let stmt = sqlx::query("INSERT INTO api_resources (id, project_id, identifier, name, settings, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                        .bind(r.id.uuid())
                        .bind(r.project_id.uuid())
                        .bind(&r.identifier)
                        .bind(&r.name)
                        .bind(settings(r)?)
                        .bind(r.created_at.millis())
                        .bind(r.updated_at.millis())
                        .bind(r.version);
                    exec(&mut tx, stmt, db_err(IDENTIFIER)).await?;
                    put_scopes(&mut tx, r).await?;
                    commit(tx, audit).await
                }

                async fn list_resources(&self, project: ProjectId) -> Result<Vec<ApiResource>> {
                    let sql = format!("SELECT {COLS} FROM api_resources WHERE project_id = $1 ORDER BY created_at, id");
                    all(self.db(), sqlx::query(&sql).bind(project.uuid()), resource).await
                }

                async fn update_resource(&self, r: &ApiResource, audit: &AuditRecord) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    let stmt = sqlx::query("UPDATE api_resources SET identifier = $3, name = $4, settings = $5, updated_at = $6, version = $7 WHERE project_id = $1 AND id = $2 AND version = $8")
                        .bind(r.project_id.uuid())
                        .bind(r.id.uuid())
                        .bind(&r.identifier)
                        .bind(&r.name)
                        .bind(settings(r)?)
                        .bind(r.updated_at.millis())
                        .bind(r.version)
                        .bind(r.version - 1);
                    if exec(&mut tx, stmt, db_err(IDENTIFIER)).await? != 1 {
                        return Ok(false);
                    }
                    let clear = sqlx::query("DELETE FROM api_resource_scopes WHERE resource_id = $1").bind(r.id.uuid());
                    exec(&mut tx, clear, unexpected).await?;
                    put_scopes(&mut tx, r).await?;
                    commit(tx, audit).await?;
                    Ok(true)
                }

                async fn delete_resource(&self, project: ProjectId, id: ResourceId, audit: &AuditRecord) -> Result<bool> {
                    let mut tx = begin(&self.pool).await?;
                    let clear = sqlx::query("DELETE FROM api_resource_scopes WHERE project_id = $1 AND resource_id = $2").bind(project.uuid()).bind(id.uuid());
                    exec(&mut tx, clear, unexpected).await?;
                    let stmt = sqlx::query("DELETE FROM api_resources WHERE project_id = $1 AND id = $2").bind(project.uuid()).bind(id.uuid());
                    let n = exec(&mut tx, stmt, unexpected).await?;
                    commit_if_one(tx, n, audit).await
                }
            }
        }
    };
}

resources_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
resources_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
