//! Cross-node events (SPEC §2): cache invalidations and room events, over PostgreSQL
//! `LISTEN/NOTIFY` between nodes; the embedded SQLite setup runs as a single node, which has
//! handled both itself by the time it would publish them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_core::Gatehouse;
use gatehouse_core::ports::{Invalidation, Notifier};
use gatehouse_core::rooms::RoomNotice;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

const CHANNEL: &str = "gatehouse_invalidation";
const ROOM_CHANNEL: &str = "gatehouse_rooms";

/// Single-node delivery: the publishing node has already applied the change or delivered the
/// event, so there is nobody else to tell.
#[derive(Debug, Default)]
pub struct InProcessNotifier;

#[async_trait]
impl Notifier for InProcessNotifier {
    async fn publish(&self, _event: &Invalidation) -> gatehouse_core::Result<()> {
        Ok(())
    }

    async fn route(&self, _notice: &str) -> gatehouse_core::Result<()> {
        Ok(())
    }
}

/// `NOTIFY` on publish; [`listen`] applies what other nodes publish.
#[derive(Debug, Clone)]
pub struct PgNotifier {
    pool: PgPool,
}

impl PgNotifier {
    /// A notifier over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl PgNotifier {
    async fn notify(&self, channel: &str, payload: &str) -> gatehouse_core::Result<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&self.pool)
            .await
            .map_err(gatehouse_core::Error::unexpected)?;
        Ok(())
    }
}

#[async_trait]
impl Notifier for PgNotifier {
    async fn publish(&self, event: &Invalidation) -> gatehouse_core::Result<()> {
        let payload = serde_json::to_string(event).map_err(gatehouse_core::Error::unexpected)?;
        self.notify(CHANNEL, &payload).await
    }

    async fn route(&self, notice: &str) -> gatehouse_core::Result<()> {
        self.notify(ROOM_CHANNEL, notice).await
    }
}

/// Applies invalidations from every node until `stop` fires. After a lost connection every
/// cache is dropped, since events may have been missed meanwhile.
pub async fn listen(pool: PgPool, gh: Arc<Gatehouse>, mut stop: watch::Receiver<bool>) {
    loop {
        let mut listener = match connect(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        gh.apply_invalidation(&Invalidation::All).await;
        loop {
            tokio::select! {
                msg = listener.try_recv() => match msg {
                    Ok(Some(n)) if n.channel() == ROOM_CHANNEL => match serde_json::from_str::<RoomNotice>(n.payload()) {
                        Ok(notice) => gh.deliver_room_notice(&notice),
                        Err(e) => tracing::warn!(error = %e, "ignoring a malformed room event"),
                    },
                    Ok(Some(n)) => match serde_json::from_str::<Invalidation>(n.payload()) {
                        Ok(event) => gh.apply_invalidation(&event).await,
                        Err(e) => tracing::warn!(error = %e, "ignoring a malformed invalidation"),
                    },
                    Ok(None) => {
                        tracing::warn!("LISTEN connection lost; dropping caches and reconnecting");
                        gh.apply_invalidation(&Invalidation::All).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN failed; reconnecting");
                        break;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    }
}

async fn connect(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut l = PgListener::connect_with(pool).await?;
    l.listen_all([CHANNEL, ROOM_CHANNEL]).await?;
    Ok(l)
}
