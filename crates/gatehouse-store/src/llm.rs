//! The LLM proxy gate's provider configuration (SPEC §8), one row per project and provider with
//! its key sealed. The SQL is written once and instantiated for each backend.

macro_rules! llm_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::ids::*;
            use gatehouse_core::llm::{Provider, ProviderConfig};
            use gatehouse_core::model::*;
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;

            use crate::sql::$module::{change_one, get, optional, redacted};
            use crate::sql::unexpected;

            const COLS: &str = "project_id, provider, base_url, key_ciphertext, data_key_id, created_at, updated_at, version";

            fn config(r: &$row) -> Result<ProviderConfig> {
                let name: String = get(r, "provider")?;
                Ok(ProviderConfig {
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    provider: Provider::parse(&name).ok_or_else(|| unexpected(anyhow::anyhow!("unknown provider {name}")))?,
                    base_url: get(r, "base_url")?,
                    key: Sealed {
                        data_key_id: DataKeyId::from_uuid(get(r, "data_key_id")?),
                        ciphertext: redacted(r, "key_ciphertext")?,
                    },
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                    version: get(r, "version")?,
                })
            }

            #[async_trait]
            impl LlmStore for $store {
                async fn put_llm_provider(&self, c: &ProviderConfig, audit: &AuditRecord) -> Result<bool> {
                    // A new row, or the replacement of the version this one follows: a writer
                    // that read an older version changes nothing.
                    let stmt = sqlx::query(
                        "INSERT INTO llm_providers (project_id, provider, base_url, key_ciphertext, data_key_id, created_at, updated_at, version) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (project_id, provider) DO UPDATE SET base_url = excluded.base_url, key_ciphertext = excluded.key_ciphertext, \
                         data_key_id = excluded.data_key_id, updated_at = excluded.updated_at, version = excluded.version \
                         WHERE llm_providers.version = $9",
                    )
                    .bind(c.project_id.uuid())
                    .bind(c.provider.as_str())
                    .bind(&c.base_url)
                    .bind(c.key.ciphertext.expose())
                    .bind(c.key.data_key_id.uuid())
                    .bind(c.created_at.millis())
                    .bind(c.updated_at.millis())
                    .bind(c.version)
                    .bind(c.version - 1);
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn get_llm_provider(&self, project: ProjectId, provider: Provider) -> Result<Option<ProviderConfig>> {
                    let sql = format!("SELECT {COLS} FROM llm_providers WHERE project_id = $1 AND provider = $2");
                    optional(self.db(), sqlx::query(&sql).bind(project.uuid()).bind(provider.as_str()), config).await
                }

                async fn delete_llm_provider(&self, project: ProjectId, provider: Provider, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("DELETE FROM llm_providers WHERE project_id = $1 AND provider = $2")
                        .bind(project.uuid())
                        .bind(provider.as_str());
                    change_one(&self.pool, stmt, unexpected, audit).await
                }
            }
        }
    };
}

llm_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
llm_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
