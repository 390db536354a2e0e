//! Forward-only migrations, embedded in the binary. Each version exists in both trees
//! (`migrations/sqlite`, `migrations/postgres`); a test checks the trees list the same versions.

use anyhow::{Context as _, bail};
use sqlx::{PgPool, SqlitePool};

/// One migration: its version, name and the SQL for each backend.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }
    };
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_accounts_and_clients"),
    migration!(2, "0002_oauth_provider"),
    migration!(3, "0003_refresh_rotation_in_one_statement"),
    migration!(4, "0004_rooms"),
    migration!(5, "0005_room_secrets"),
    migration!(6, "0006_refresh_in_grant_sealed_codes"),
    migration!(7, "0007_client_last_used_and_history"),
    migration!(8, "0008_llm_gate"),
    migration!(9, "0009_llm_limits"),
    migration!(10, "0010_api_resources"),
    migration!(11, "0011_account_links_and_invitations"),
    migration!(12, "0012_second_factors"),
    migration!(13, "0013_linked_identities"),
    migration!(14, "0014_passkeys"),
    migration!(15, "0015_verified_email"),
    migration!(16, "0016_identity_providers"),
    migration!(17, "0017_grant_resources"),
    migration!(18, "0018_project_sign_in_settings"),
];

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS gatehouse_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// `$begin` starts the migration transaction and `$lock`, when given, then serialises nodes that
/// start together on one database (SQLite's `BEGIN IMMEDIATE` already takes the write lock).
macro_rules! run_migrations {
    ($fn_name:ident, $pool:ty, $field:ident, $begin:literal, $lock:expr) => {
        pub(crate) async fn $fn_name(pool: &$pool) -> anyhow::Result<Vec<i64>> {
            let mut tx = pool.begin_with($begin).await?;
            let lock: Option<&str> = $lock;
            if let Some(sql) = lock {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            sqlx::query(CREATE_TABLE).execute(&mut *tx).await?;
            let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM gatehouse_migrations ORDER BY version")
                .fetch_all(&mut *tx)
                .await?;
            let newest_known = MIGRATIONS.last().map_or(0, |m| m.version);
            if let Some(v) = applied.iter().find(|v| **v > newest_known) {
                bail!("the database has migration {v}, newer than this Gatehouse (knows up to {newest_known}); refusing to start");
            }
            let mut ran = Vec::new();
            for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
                sqlx::raw_sql(m.$field).execute(&mut *tx).await.with_context(|| format!("migration {}", m.name))?;
                sqlx::query("INSERT INTO gatehouse_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                    .bind(m.version)
                    .bind(m.name)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?;
                ran.push(m.version);
            }
            tx.commit().await?;
            Ok(ran)
        }
    };
}

run_migrations!(run_sqlite, SqlitePool, sqlite, "BEGIN IMMEDIATE", None);
// Released at commit.
run_migrations!(
    run_postgres,
    PgPool,
    postgres,
    "BEGIN",
    Some("SELECT pg_advisory_xact_lock(7412051961)")
);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(dir: &str) -> Vec<String> {
        let path = format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn both_migration_trees_list_the_same_versions() {
        let sqlite = versions("sqlite");
        assert_eq!(sqlite, versions("postgres"));
        let embedded: Vec<String> = MIGRATIONS.iter().map(|m| format!("{}.sql", m.name)).collect();
        assert_eq!(sqlite, embedded, "every migration file is embedded, in order");
        // Versions only increase, and each file is named after its version.
        let mut previous = 0;
        for m in MIGRATIONS {
            assert!(m.version > previous, "{} comes after {previous}", m.version);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
            previous = m.version;
        }
    }
}
