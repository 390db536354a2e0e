//! SQLite connections for single statements, handed out without sqlx's pool.
//!
//! Returning a connection to sqlx's pool spawns a task that pings the connection on its worker
//! thread before releasing it: for SQLite, a second hand-off to that thread and back for every
//! statement, as costly as the statement itself. These connections go back to the free list when
//! their guard drops. A statement abandoned half-way leaves its connection usable: its worker
//! finishes the command on its own. Transactions stay on sqlx's pool, whose release also rolls back
//! one left open.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteQueryResult, SqliteRow, SqliteStatement, SqliteTypeInfo,
};
use sqlx::{ConnectOptions as _, Connection as _, Either, Execute, Executor, Sqlite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A fixed set of connections, one statement at a time on each.
#[derive(Clone)]
pub(crate) struct DirectPool(Arc<Inner>);

struct Inner {
    free: Mutex<Vec<SqliteConnection>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for DirectPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectPool")
            .field("idle", &self.0.permits.available_permits())
            .finish()
    }
}

impl DirectPool {
    /// Opens `n` connections.
    pub(crate) async fn open(opts: &SqliteConnectOptions, n: usize) -> Result<Self, sqlx::Error> {
        let mut free = Vec::with_capacity(n);
        for _ in 0..n {
            free.push(opts.connect().await?);
        }
        Ok(Self(Arc::new(Inner {
            free: Mutex::new(free),
            permits: Arc::new(Semaphore::new(n)),
        })))
    }

    async fn acquire(&self) -> Result<Guard, sqlx::Error> {
        let permit = self
            .0
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        // A permit is held for every connection out of the list, so one is there.
        let conn = self.free().pop().ok_or(sqlx::Error::PoolClosed)?;
        Ok(Guard {
            conn: Some(conn),
            pool: self.0.clone(),
            _permit: permit,
        })
    }

    /// Refuses new statements and closes the idle connections (busy ones close when their
    /// statement ends and their guard drops).
    pub(crate) async fn close(&self) {
        self.0.permits.close();
        let idle = std::mem::take(&mut *self.free());
        for conn in idle {
            let _ = conn.close().await;
        }
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Vec<SqliteConnection>> {
        self.0.free.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One connection out of the list; it goes back when dropped.
struct Guard {
    conn: Option<SqliteConnection>,
    pool: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Back on the list before the permit is released (fields drop after this).
        if let Some(conn) = self.conn.take()
            && !self.pool.permits.is_closed()
        {
            self.pool.free.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
        }
    }
}

impl Deref for Guard {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        // Taken only in `drop`.
        #[allow(clippy::expect_used)]
        self.conn.as_ref().expect("a connection until dropped")
    }
}

impl DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        #[allow(clippy::expect_used)]
        self.conn.as_mut().expect("a connection until dropped")
    }
}

impl<'p> Executor<'p> for &'_ DirectPool {
    type Database = Sqlite;

    /// The results are collected before they are streamed: the connection goes back as soon as
    /// its statement is done. Every statement of the store reads a bounded number of rows.
    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Sqlite>,
    {
        let pool = self.clone();
        stream::once(async move {
            let mut conn = pool.acquire().await?;
            (&mut *conn).fetch_many(query).try_collect::<Vec<_>>().await
        })
        .map_ok(|results| stream::iter(results.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Sqlite>,
    {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            (&mut *conn).fetch_optional(query).await
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement<'q>, sqlx::Error>> {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            (&mut *conn).prepare_with(sql, parameters).await
        })
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<sqlx::Describe<Sqlite>, sqlx::Error>> {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            (&mut *conn).describe(sql).await
        })
    }
}
