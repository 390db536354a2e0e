//! SQLite and PostgreSQL implementations of Gatehouse's storage ports.
//!
//! The backend is chosen once, from the database URL. Both backends run the same SQL (written
//! once, in [`accounts`], [`registry`], [`resources`], [`provider`], [`rooms`], [`broker`], [`llm`], [`factors`], [`passkeys`], [`people`] and [`identities`], and instantiated per backend
//! by macro), so behaviour cannot drift between them; only the migrations differ, in column types.
//! What those modules all do the same way (transactions, audit records, pages) is in [`sql`].

mod accounts;
mod broker;
mod direct;
mod factors;
mod identities;
mod llm;
mod migrate;
mod passkeys;
mod people;
mod provider;
mod registry;
mod resources;
mod rooms;
mod sql;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use gatehouse_core::ports::Store;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use migrate::{MIGRATIONS, Migration};

/// The SQLite backend.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Transactions and migrations.
    pool: SqlitePool,
    /// Single statements.
    direct: direct::DirectPool,
}

impl SqliteStore {
    /// Where a single statement runs.
    fn db(&self) -> &direct::DirectPool {
        &self.direct
    }
}

/// The PostgreSQL backend.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Where a single statement runs.
    fn db(&self) -> &PgPool {
        &self.pool
    }
}

/// An open database of either kind.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Database {
    /// Opens `url`: `sqlite:…` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).context("invalid PostgreSQL URL")?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .context("connecting to PostgreSQL")?;
            Ok(Self::Postgres(PgStore { pool }))
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .context("invalid SQLite URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .optimize_on_close(true, None)
                // Checkpoint every 10,000 pages (about 40 MB of WAL) rather than 1,000: a page
                // written by many commits in between is copied back to the database once.
                .pragma("wal_autocheckpoint", "10000");
            create_private_file(opts.get_filename())?;
            // Few connections: each one drops its page cache whenever another commits. Single
            // statements (most requests' only ones) have two, transactions two more.
            let direct = direct::DirectPool::open(&opts, 2).await.context("opening SQLite")?;
            let pool = SqlitePoolOptions::new()
                .max_connections(2)
                // A ping per checkout is a round trip to the connection's thread; a broken
                // connection shows up on the query itself.
                .test_before_acquire(false)
                .connect_with(opts)
                .await
                .context("opening SQLite")?;
            Ok(Self::Sqlite(SqliteStore { pool, direct }))
        } else {
            anyhow::bail!("database URL must start with sqlite: or postgres://")
        }
    }

    /// The storage ports.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// The PostgreSQL pool, for `LISTEN/NOTIFY`.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match self {
            Self::Postgres(s) => Some(&s.pool),
            Self::Sqlite(_) => None,
        }
    }

    /// Applies pending migrations; refuses a database that is newer than this build.
    pub async fn migrate(&self) -> anyhow::Result<Vec<i64>> {
        match self {
            Self::Sqlite(s) => migrate::run_sqlite(&s.pool).await,
            Self::Postgres(s) => migrate::run_postgres(&s.pool).await,
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => {
                s.direct.close().await;
                s.pool.close().await;
            }
            Self::Postgres(s) => s.pool.close().await,
        }
    }
}

/// Creates a new SQLite file readable only by its owner; SQLite gives its `-wal` and `-shm`
/// files the same mode.
fn create_private_file(path: &std::path::Path) -> anyhow::Result<()> {
    if path.as_os_str() == ":memory:" || path.exists() {
        return Ok(());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(())
}
