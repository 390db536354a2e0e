//! The LLM proxy gate (SPEC §8): provider configuration, one row per project and provider with
//! its key sealed; usage, one row per minute, caller, provider and model; limits, one row per
//! project, and the counts they are checked against, one row per subject and window. The SQL is
//! written once and instantiated for each backend.

macro_rules! llm_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::ids::*;
            use gatehouse_core::llm::limits::{LimitCount, LimitsConfig, LlmLimits, Measure, Rates};
            use gatehouse_core::llm::{Provider, ProviderConfig, UsageRow};
            use gatehouse_core::model::*;
            use gatehouse_core::ports::*;
            use gatehouse_core::time::Timestamp;

            use crate::sql::$module::{all, begin, change_one, get, optional, redacted};
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

            const USAGE_COLS: &str = "project_id, minute, caller_kind, caller_id, provider, model, requests, input_tokens, output_tokens";

            fn count(r: &$row, col: &str) -> Result<u64> {
                u64::try_from(get::<i64>(r, col)?).map_err(unexpected)
            }

            fn usage(r: &$row) -> Result<UsageRow> {
                let name: String = get(r, "provider")?;
                Ok(UsageRow {
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    minute: get(r, "minute")?,
                    caller_kind: get(r, "caller_kind")?,
                    caller_id: get(r, "caller_id")?,
                    provider: Provider::parse(&name).ok_or_else(|| unexpected(anyhow::anyhow!("unknown provider {name}")))?,
                    model: get(r, "model")?,
                    requests: count(r, "requests")?,
                    input_tokens: count(r, "input_tokens")?,
                    output_tokens: count(r, "output_tokens")?,
                })
            }

            fn signed(n: u64) -> i64 {
                i64::try_from(n).unwrap_or(i64::MAX)
            }

            fn rate(r: &$row, col: &str) -> Result<Option<u64>> {
                get::<Option<i64>>(r, col)?.map(|n| u64::try_from(n).map_err(unexpected)).transpose()
            }

            fn limits(r: &$row) -> Result<LimitsConfig> {
                Ok(LimitsConfig {
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    limits: LlmLimits {
                        project: Rates {
                            requests_per_minute: rate(r, "project_requests_per_minute")?,
                            tokens_per_day: rate(r, "project_tokens_per_day")?,
                        },
                        per_caller: Rates {
                            requests_per_minute: rate(r, "caller_requests_per_minute")?,
                            tokens_per_day: rate(r, "caller_tokens_per_day")?,
                        },
                    },
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                    version: get(r, "version")?,
                })
            }

            fn limit_count(r: &$row) -> Result<LimitCount> {
                let measure: String = get(r, "measure")?;
                Ok(LimitCount {
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    caller_kind: get(r, "caller_kind")?,
                    caller_id: get(r, "caller_id")?,
                    measure: Measure::parse(&measure).ok_or_else(|| unexpected(anyhow::anyhow!("unknown measure {measure}")))?,
                    window: get(r, "window_start")?,
                    count: count(r, "count")?,
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

                async fn add_llm_usage(&self, rows: &[UsageRow]) -> Result<()> {
                    let mut tx = begin(&self.pool).await?;
                    for r in rows {
                        sqlx::query(
                            "INSERT INTO llm_usage (project_id, minute, caller_kind, caller_id, provider, model, requests, input_tokens, output_tokens) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                             ON CONFLICT (project_id, minute, caller_kind, caller_id, provider, model) DO UPDATE SET \
                             requests = llm_usage.requests + excluded.requests, input_tokens = llm_usage.input_tokens + excluded.input_tokens, \
                             output_tokens = llm_usage.output_tokens + excluded.output_tokens",
                        )
                        .bind(r.project_id.uuid())
                        .bind(r.minute)
                        .bind(&r.caller_kind)
                        .bind(&r.caller_id)
                        .bind(r.provider.as_str())
                        .bind(&r.model)
                        .bind(signed(r.requests))
                        .bind(signed(r.input_tokens))
                        .bind(signed(r.output_tokens))
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    }
                    tx.commit().await.map_err(unexpected)
                }

                async fn list_llm_usage(&self, project: ProjectId, from: i64, to: i64, limit: u32) -> Result<Vec<UsageRow>> {
                    let sql = format!("SELECT {USAGE_COLS} FROM llm_usage WHERE project_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute, caller_kind, caller_id, provider, model LIMIT $4");
                    all(self.db(), sqlx::query(&sql).bind(project.uuid()).bind(from).bind(to).bind(i64::from(limit)), usage).await
                }

                async fn put_llm_limits(&self, l: &LimitsConfig, audit: &AuditRecord) -> Result<bool> {
                    // As for providers: a writer that read an older version changes nothing.
                    let n = |v: Option<u64>| v.map(signed);
                    let stmt = sqlx::query(
                        "INSERT INTO llm_limits (project_id, project_requests_per_minute, project_tokens_per_day, caller_requests_per_minute, caller_tokens_per_day, updated_at, version) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (project_id) DO UPDATE SET project_requests_per_minute = excluded.project_requests_per_minute, \
                         project_tokens_per_day = excluded.project_tokens_per_day, caller_requests_per_minute = excluded.caller_requests_per_minute, \
                         caller_tokens_per_day = excluded.caller_tokens_per_day, updated_at = excluded.updated_at, version = excluded.version \
                         WHERE llm_limits.version = $8",
                    )
                    .bind(l.project_id.uuid())
                    .bind(n(l.limits.project.requests_per_minute))
                    .bind(n(l.limits.project.tokens_per_day))
                    .bind(n(l.limits.per_caller.requests_per_minute))
                    .bind(n(l.limits.per_caller.tokens_per_day))
                    .bind(l.updated_at.millis())
                    .bind(l.version)
                    .bind(l.version - 1);
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn get_llm_limits(&self, project: ProjectId) -> Result<Option<LimitsConfig>> {
                    let stmt = sqlx::query(
                        "SELECT project_id, project_requests_per_minute, project_tokens_per_day, caller_requests_per_minute, caller_tokens_per_day, updated_at, version \
                         FROM llm_limits WHERE project_id = $1",
                    )
                    .bind(project.uuid());
                    optional(self.db(), stmt, limits).await
                }

                async fn add_llm_limit_counts(&self, rows: &[LimitCount]) -> Result<()> {
                    let mut tx = begin(&self.pool).await?;
                    for r in rows {
                        sqlx::query(
                            "INSERT INTO llm_limit_counts (project_id, caller_kind, caller_id, measure, window_start, count) VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT (project_id, caller_kind, caller_id, measure, window_start) DO UPDATE SET count = llm_limit_counts.count + excluded.count",
                        )
                        .bind(r.project_id.uuid())
                        .bind(&r.caller_kind)
                        .bind(&r.caller_id)
                        .bind(r.measure.as_str())
                        .bind(r.window)
                        .bind(signed(r.count))
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    }
                    tx.commit().await.map_err(unexpected)
                }

                async fn current_llm_limit_counts(&self, requests_since: i64, tokens_since: i64) -> Result<Vec<LimitCount>> {
                    let ended = "(measure = 'requests' AND window_start < $1) OR (measure = 'tokens' AND window_start < $2)";
                    let mut tx = begin(&self.pool).await?;
                    sqlx::query(&format!("DELETE FROM llm_limit_counts WHERE {ended}"))
                        .bind(requests_since)
                        .bind(tokens_since)
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    let read = format!("SELECT project_id, caller_kind, caller_id, measure, window_start, count FROM llm_limit_counts WHERE NOT ({ended})");
                    let rows = all(&mut *tx, sqlx::query(&read).bind(requests_since).bind(tokens_since), limit_count).await?;
                    tx.commit().await.map_err(unexpected)?;
                    Ok(rows)
                }
            }
        }
    };
}

llm_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
llm_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
