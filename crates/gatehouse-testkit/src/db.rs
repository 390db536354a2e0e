//! Test databases: SQLite always, PostgreSQL when `GATEHOUSE_TEST_POSTGRES_URL` is set. A set but
//! unreachable PostgreSQL fails the run instead of skipping it, so CI cannot pass by accident.
//!
//! Every PostgreSQL test database is named `<prefix><random id>`; the prefixes (`gh_test_`,
//! `gh_contract_`, `gh_cli_`, `gh_bench_`) are what `.ci/run` drops leftovers of.

use sqlx::Connection as _;

/// The variable naming the PostgreSQL server tests create their databases on.
pub const POSTGRES_URL_VAR: &str = "GATEHOUSE_TEST_POSTGRES_URL";

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file in the test's own directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server of `admin_url`.
    Postgres { admin_url: String },
}

impl Backend {
    /// `sqlite` or `postgres`, for a test's log.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }
}

/// The backends every backend-dependent test runs against: SQLite, and PostgreSQL when
/// [`POSTGRES_URL_VAR`] is set (a note on stderr says when it is not).
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => v.push(Backend::Postgres { admin_url: url }),
        _ => eprintln!("note: PostgreSQL runs skipped: {POSTGRES_URL_VAR} is not set"),
    }
    v
}

/// A new database name: `prefix` and a random id (a valid unquoted SQL identifier).
pub fn database_name(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// The URL of database `name` on the server of `admin_url`.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).unwrap_or_else(|e| panic!("{admin_url:?} is not a URL: {e}"));
    url.set_path(name);
    url.to_string()
}

/// Creates a fresh database named `prefix<random id>` on the server of `admin_url`; returns its
/// URL.
pub async fn try_create_pg_database(admin_url: &str, prefix: &str) -> Result<String, sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    let name = database_name(prefix);
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    Ok(database_url(admin_url, &name))
}

/// [`try_create_pg_database`] for tests: panics when the server is unreachable.
pub async fn create_pg_database(admin_url: &str, prefix: &str) -> String {
    try_create_pg_database(admin_url, prefix)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is unreachable: {e}"))
}

/// Drops a database made with `prefix` by [`try_create_pg_database`]; a URL of any other
/// database is left alone.
pub async fn try_drop_pg_database(admin_url: &str, database_url: &str, prefix: &str) -> Result<(), sqlx::Error> {
    let url = url::Url::parse(database_url).ok();
    let Some(name) = url
        .as_ref()
        .map(|u| u.path().trim_start_matches('/'))
        .filter(|n| n.starts_with(prefix))
    else {
        return Ok(());
    };
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// [`try_drop_pg_database`], best effort: a leftover costs only disk, and CI drops it later.
pub async fn drop_pg_database(admin_url: &str, database_url: &str, prefix: &str) {
    let _ = try_drop_pg_database(admin_url, database_url, prefix).await;
}

/// Runs `work` on a runtime of its own in a thread of its own, for synchronous callers: `Drop`
/// (which may run while a test's runtime unwinds) and the benchmarks' setup.
pub fn block_on<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(work)
    })
    .join()
    .expect("the database work does not panic")
}
