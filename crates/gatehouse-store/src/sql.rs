//! What every store module does the same way, written once: decoding a column, mapping driver
//! errors, opening a write transaction, committing a change together with its audit record,
//! changing or deleting exactly one row with its audit record, and reading one page of rows with the
//! total count of their kind.
//!
//! Like the store modules, the per-backend part is a macro instantiated for each backend
//! ([`sqlite`], [`postgres`]): every helper is a plain function of the backend's own types, so a
//! call costs what the statements written out in place would (no boxing, no dynamic dispatch).

use gatehouse_core::ports::Page;

/// Maps a driver error: unique violations become `Conflict(what)`, the rest `Unexpected`.
pub(crate) fn db_err(what: &'static str) -> impl Fn(sqlx::Error) -> gatehouse_core::Error {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            gatehouse_core::Error::Conflict(format!("{what} already exists"))
        }
        // The project (or user) the row belongs to was deleted meanwhile.
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => gatehouse_core::Error::NotFound("project"),
        _ => gatehouse_core::Error::unexpected(e),
    }
}

/// Any failure the caller cannot act on.
pub(crate) fn unexpected(e: impl Into<anyhow::Error>) -> gatehouse_core::Error {
    gatehouse_core::Error::unexpected(e)
}

/// `LIMIT` and `OFFSET` of a page.
pub(crate) fn limit_offset(page: Page) -> (i64, i64) {
    (i64::from(page.count), page.offset as i64)
}

/// `LIKE` pattern for a case-insensitive substring search of an already lower-cased column.
pub(crate) fn like_pattern(filter: &str) -> String {
    let escaped = filter
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `GLOB` pattern for a substring search of an already lower-cased column: SQLite's trigram index
/// serves GLOB on a case-sensitive tokenizer. Special characters are bracketed to stand for themselves.
pub(crate) fn glob_pattern(filter: &str) -> String {
    let mut out = String::from("*");
    for c in filter.to_lowercase().chars() {
        if matches!(c, '*' | '?' | '[') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out.push('*');
    out
}

/// The API resources a grant names, as stored: their ids, space-separated.
pub(crate) fn resource_text(ids: &[gatehouse_core::ids::ResourceId]) -> String {
    ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// The ids of [`resource_text`].
pub(crate) fn resource_ids(text: &str) -> gatehouse_core::Result<Vec<gatehouse_core::ids::ResourceId>> {
    text.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| {
            uuid::Uuid::try_parse(t)
                .map(gatehouse_core::ids::ResourceId::from_uuid)
                .map_err(unexpected)
        })
        .collect()
}

/// The columns of a user (table alias `u`), as [`sqlite::user`] and [`postgres::user`] read them.
pub(crate) const USER_COLS: &str =
    "u.id, u.email, u.name, u.password_hash, u.email_verified_at, u.created_at, u.updated_at";

/// `$begin` starts a write transaction: SQLite takes the write lock up front (`BEGIN IMMEDIATE`),
/// so concurrent writers wait for each other instead of failing on a lock upgrade.
macro_rules! sql_impl {
    ($module:ident, $db:ty, $row:ty, $begin:literal) => {
        /// The helpers for this backend.
        pub(crate) mod $module {
            use gatehouse_core::Result;
            use gatehouse_core::ids::UserId;
            use gatehouse_core::model::{AuditRecord, User};
            use gatehouse_core::ports::Page;
            use gatehouse_core::secret::Redacted;
            use gatehouse_core::time::Timestamp;
            use sqlx::Row as _;

            use super::{limit_offset, unexpected};

            /// A write transaction.
            pub(crate) type Tx<'a> = sqlx::Transaction<'a, $db>;

            /// A statement with its parameters bound.
            pub(crate) type Stmt<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>;

            /// A `SELECT COUNT(*)` with its parameters bound.
            pub(crate) type Count<'q> =
                sqlx::query::QueryScalar<'q, $db, i64, <$db as sqlx::Database>::Arguments<'q>>;

            /// Column `col` of a row, decoded as `T`.
            pub(crate) fn get<'r, T: sqlx::Decode<'r, $db> + sqlx::Type<$db>>(r: &'r $row, col: &str) -> Result<T> {
                r.try_get(col).map_err(unexpected)
            }

            /// Column `col` of a row holding a hash, ciphertext or wrapped key, decoded as `T`.
            pub(crate) fn redacted<'r, T: sqlx::Decode<'r, $db> + sqlx::Type<$db>>(
                r: &'r $row,
                col: &str,
            ) -> Result<Redacted<T>> {
                get(r, col).map(Redacted::new)
            }

            /// A user from a row holding [`USER_COLS`](super::USER_COLS).
            pub(crate) fn user(r: &$row) -> Result<User> {
                Ok(User {
                    id: UserId::from_uuid(get(r, "id")?),
                    email: get(r, "email")?,
                    name: get(r, "name")?,
                    password_hash: redacted(r, "password_hash")?,
                    email_verified_at: get::<Option<i64>>(r, "email_verified_at")?.map(Timestamp::from_millis),
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                })
            }

            /// Opens a write transaction.
            pub(crate) async fn begin(pool: &sqlx::Pool<$db>) -> Result<Tx<'static>> {
                pool.begin_with($begin).await.map_err(unexpected)
            }

            /// The row of `query`, if any, read by `map`.
            pub(crate) async fn optional<'e, 'q: 'e, T>(
                db: impl sqlx::Executor<'e, Database = $db>,
                query: Stmt<'q>,
                map: impl FnOnce(&$row) -> Result<T>,
            ) -> Result<Option<T>> {
                let row = query.fetch_optional(db).await.map_err(unexpected)?;
                row.as_ref().map(map).transpose()
            }

            /// Every row of `query`, read by `map`.
            pub(crate) async fn all<'e, 'q: 'e, T>(
                db: impl sqlx::Executor<'e, Database = $db>,
                query: Stmt<'q>,
                map: impl FnMut(&$row) -> Result<T>,
            ) -> Result<Vec<T>> {
                let rows = query.fetch_all(db).await.map_err(unexpected)?;
                rows.iter().map(map).collect()
            }

            /// Runs `stmt` on its own; whether it touched exactly one row (a conditional change that
            /// won, a row that was there).
            pub(crate) async fn changes_one<'e, 'q: 'e>(db: impl sqlx::Executor<'e, Database = $db>, stmt: Stmt<'q>) -> Result<bool> {
                Ok(stmt.execute(db).await.map_err(unexpected)?.rows_affected() == 1)
            }

            /// One page of `rows` (whose last two parameters, still unbound, are `LIMIT` and
            /// `OFFSET`), read by `map`, with `count`: how many rows all pages hold.
            pub(crate) async fn page<'e, 'q: 'e, T, E>(
                db: E,
                rows: Stmt<'q>,
                count: Count<'q>,
                page: Page,
                map: impl FnMut(&$row) -> Result<T>,
            ) -> Result<(Vec<T>, u64)>
            where
                E: sqlx::Executor<'e, Database = $db> + Copy,
            {
                let (limit, offset) = limit_offset(page);
                let items = all(db, rows.bind(limit).bind(offset), map).await?;
                let total = count.fetch_one(db).await.map_err(unexpected)?;
                Ok((items, total as u64))
            }

            /// Records `a` in the transaction.
            pub(crate) async fn put_audit(tx: &mut Tx<'_>, a: &AuditRecord) -> Result<()> {
                sqlx::query("INSERT INTO audit_events (id, project_id, at, actor_type, actor_id, action, target_type, target_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(a.id)
                    .bind(a.project_id.uuid())
                    .bind(a.at.millis())
                    .bind(&a.actor_type)
                    .bind(&a.actor_id)
                    .bind(&a.action)
                    .bind(&a.target_type)
                    .bind(&a.target_id)
                    .bind(a.details.to_string())
                    .execute(&mut **tx)
                    .await
                    .map_err(unexpected)?;
                Ok(())
            }

            /// Records `audit` in the transaction and commits both.
            pub(crate) async fn commit(mut tx: Tx<'_>, audit: &AuditRecord) -> Result<()> {
                put_audit(&mut tx, audit).await?;
                tx.commit().await.map_err(unexpected)
            }

            /// Commits with `audit` when the change touched exactly one row (`rows`), and rolls
            /// back otherwise; whether it committed.
            pub(crate) async fn commit_if_one(tx: Tx<'_>, rows: u64, audit: &AuditRecord) -> Result<bool> {
                if rows == 1 {
                    commit(tx, audit).await?;
                }
                Ok(rows == 1)
            }

            /// Runs `stmt` in the transaction (its failure mapped by `on_error`); how many rows it touched.
            pub(crate) async fn exec(
                tx: &mut Tx<'_>,
                stmt: Stmt<'_>,
                on_error: impl FnOnce(sqlx::Error) -> gatehouse_core::Error,
            ) -> Result<u64> {
                Ok(stmt.execute(&mut **tx).await.map_err(on_error)?.rows_affected())
            }

            /// Runs `stmt` (its failure mapped by `on_error`) and commits it with `audit`.
            pub(crate) async fn write(
                pool: &sqlx::Pool<$db>,
                stmt: Stmt<'_>,
                on_error: impl FnOnce(sqlx::Error) -> gatehouse_core::Error,
                audit: &AuditRecord,
            ) -> Result<()> {
                let mut tx = begin(pool).await?;
                exec(&mut tx, stmt, on_error).await?;
                commit(tx, audit).await
            }

            /// Runs `stmt` (its failure mapped by `on_error`) in a new write transaction, which it
            /// returns, still open, when the statement touched exactly one row. Otherwise the
            /// transaction is rolled back.
            pub(crate) async fn one_row(
                pool: &sqlx::Pool<$db>,
                stmt: Stmt<'_>,
                on_error: impl FnOnce(sqlx::Error) -> gatehouse_core::Error,
            ) -> Result<Option<Tx<'static>>> {
                let mut tx = begin(pool).await?;
                let n = exec(&mut tx, stmt, on_error).await?;
                Ok((n == 1).then_some(tx))
            }

            /// Changes (or deletes) the one row `stmt` selects and records `audit` with it, in one
            /// transaction; whether there was that one row (without it, nothing is recorded).
            pub(crate) async fn change_one(
                pool: &sqlx::Pool<$db>,
                stmt: Stmt<'_>,
                on_error: impl FnOnce(sqlx::Error) -> gatehouse_core::Error,
                audit: &AuditRecord,
            ) -> Result<bool> {
                let Some(tx) = one_row(pool, stmt, on_error).await? else {
                    return Ok(false);
                };
                commit(tx, audit).await?;
                Ok(true)
            }
        }
    };
}

sql_impl!(sqlite, sqlx::Sqlite, sqlx::sqlite::SqliteRow, "BEGIN IMMEDIATE");
sql_impl!(postgres, sqlx::Postgres, sqlx::postgres::PgRow, "BEGIN");

#[cfg(test)]
mod tests {
    #[test]
    fn glob_patterns_bracket_wildcards() {
        assert_eq!(super::glob_pattern("A*b?[c"), "*a[*]b[?][[]c*");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like_pattern("A_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
