//! Rooms, room grants and the participants connected on every node. The SQL is written once and
//! instantiated for each backend.

macro_rules! rooms_impl {
    ($module:ident, $store:ty, $row:ty) => {
        pub(crate) mod $module {
            use async_trait::async_trait;
            use gatehouse_core::Result;
            use gatehouse_core::ids::*;
            use gatehouse_core::model::*;
            use gatehouse_core::ports::*;
            use gatehouse_core::rooms::{Presence, Room, RoomGrant};
            use gatehouse_core::time::Timestamp;
            use serde_json::{Map, Value};

            use crate::sql::$module::{all, begin, change_one, changes_one, commit, get, one_row, optional, page, write};
            use crate::sql::{db_err, unexpected};

            const GRANT_COLS: &str = "g.project_id, g.room_name, g.user_id, u.email, g.permissions, g.created_at, g.updated_at";
            const PRESENCE_COLS: &str = "p.id, p.project_id, p.room_name, p.name, p.role, p.api_key_id, p.node_id, p.connected_at";
            /// The same, unqualified, for `RETURNING` (SQLite allows no table name there).
            const PRESENCE_RETURNING: &str = "id, project_id, room_name, name, role, api_key_id, node_id, connected_at";

            fn object(r: &$row, col: &str) -> Result<Map<String, Value>> {
                serde_json::from_str(&get::<String>(r, col)?).map_err(unexpected)
            }

            fn room(r: &$row) -> Result<Room> {
                Ok(Room {
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    name: get(r, "name")?,
                    metadata: object(r, "metadata")?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                })
            }

            fn grant(r: &$row) -> Result<RoomGrant> {
                Ok(RoomGrant {
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    room_name: get(r, "room_name")?,
                    user_id: UserId::from_uuid(get(r, "user_id")?),
                    email: get(r, "email")?,
                    permissions: object(r, "permissions")?,
                    created_at: Timestamp::from_millis(get(r, "created_at")?),
                    updated_at: Timestamp::from_millis(get(r, "updated_at")?),
                })
            }

            fn presence(r: &$row) -> Result<Presence> {
                Ok(Presence {
                    id: ParticipantId::from_uuid(get(r, "id")?),
                    project_id: ProjectId::from_uuid(get(r, "project_id")?),
                    room_name: get(r, "room_name")?,
                    name: get(r, "name")?,
                    role: get(r, "role")?,
                    api_key_id: ApiKeyId::from_uuid(get(r, "api_key_id")?),
                    node_id: NodeId::from_uuid(get(r, "node_id")?),
                    connected_at: Timestamp::from_millis(get(r, "connected_at")?),
                })
            }

            #[async_trait]
            impl RoomStore for $store {
                async fn insert_room(&self, r: &Room, audit: &AuditRecord) -> Result<()> {
                    let stmt = sqlx::query("INSERT INTO rooms (project_id, name, metadata, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(r.project_id.uuid())
                        .bind(&r.name)
                        .bind(serde_json::to_string(&r.metadata).map_err(unexpected)?)
                        .bind(r.created_at.millis());
                    write(&self.pool, stmt, db_err("a room with this name"), audit).await
                }

                async fn get_room(&self, project: ProjectId, name: &str) -> Result<Option<Room>> {
                    let query = sqlx::query("SELECT project_id, name, metadata, created_at FROM rooms WHERE project_id = $1 AND name = $2")
                        .bind(project.uuid())
                        .bind(name);
                    optional(self.db(), query, room).await
                }

                async fn list_rooms(&self, project: ProjectId, p: Page) -> Result<(Vec<Room>, u64)> {
                    let rows = sqlx::query("SELECT project_id, name, metadata, created_at FROM rooms WHERE project_id = $1 ORDER BY created_at, name LIMIT $2 OFFSET $3")
                        .bind(project.uuid());
                    let count = sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE project_id = $1").bind(project.uuid());
                    page(self.db(), rows, count, p, room).await
                }

                async fn delete_room(&self, project: ProjectId, name: &str, audit: &AuditRecord) -> Result<bool> {
                    // The room's grants go with it (ON DELETE CASCADE), and so do its secrets and
                    // waiting consent requests.
                    let stmt = sqlx::query("DELETE FROM rooms WHERE project_id = $1 AND name = $2")
                        .bind(project.uuid())
                        .bind(name);
                    let Some(mut tx) = one_row(&self.pool, stmt, unexpected).await? else {
                        return Ok(false);
                    };
                    for table in ["room_secrets", "oauth_requests"] {
                        sqlx::query(&format!("DELETE FROM {table} WHERE project_id = $1 AND room_name = $2"))
                            .bind(project.uuid())
                            .bind(name)
                            .execute(&mut *tx)
                            .await
                            .map_err(unexpected)?;
                    }
                    commit(tx, audit).await?;
                    Ok(true)
                }

                async fn put_room_grant(&self, g: &RoomGrant, audit: &AuditRecord) -> Result<()> {
                    let mut tx = begin(&self.pool).await?;
                    // Through the room row, so that a missing room writes nothing.
                    let n = sqlx::query("INSERT INTO room_grants (project_id, room_name, user_id, permissions, created_at, updated_at) SELECT project_id, name, $3, $4, $5, $5 FROM rooms WHERE project_id = $1 AND name = $2 ON CONFLICT (project_id, room_name, user_id) DO UPDATE SET permissions = excluded.permissions, updated_at = excluded.updated_at")
                        .bind(g.project_id.uuid())
                        .bind(&g.room_name)
                        .bind(g.user_id.uuid())
                        .bind(serde_json::to_string(&g.permissions).map_err(unexpected)?)
                        .bind(g.updated_at.millis())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| match &e {
                            // The room (or the user) was deleted meanwhile.
                            sqlx::Error::Database(d) if d.is_foreign_key_violation() => gatehouse_core::Error::NotFound("room"),
                            _ => unexpected(e),
                        })?
                        .rows_affected();
                    if n == 0 {
                        return Err(gatehouse_core::Error::NotFound("room"));
                    }
                    commit(tx, audit).await
                }

                async fn get_room_grant(&self, project: ProjectId, room: &str, user: UserId) -> Result<Option<RoomGrant>> {
                    let sql = format!("SELECT {GRANT_COLS} FROM room_grants g JOIN users u ON u.id = g.user_id WHERE g.project_id = $1 AND g.room_name = $2 AND g.user_id = $3");
                    let query = sqlx::query(&sql).bind(project.uuid()).bind(room).bind(user.uuid());
                    optional(self.db(), query, grant).await
                }

                async fn list_room_grants(&self, project: ProjectId, room: Option<&str>, p: Page) -> Result<(Vec<RoomGrant>, u64)> {
                    // `$2` NULL selects every room.
                    let filter = "g.project_id = $1 AND ($2 IS NULL OR g.room_name = $2)";
                    let sql = format!("SELECT {GRANT_COLS} FROM room_grants g JOIN users u ON u.id = g.user_id WHERE {filter} ORDER BY g.created_at, g.room_name, g.user_id LIMIT $3 OFFSET $4");
                    let count_sql = format!("SELECT COUNT(*) FROM room_grants g WHERE {filter}");
                    let rows = sqlx::query(&sql).bind(project.uuid()).bind(room);
                    let count = sqlx::query_scalar(&count_sql).bind(project.uuid()).bind(room);
                    page(self.db(), rows, count, p, grant).await
                }

                async fn delete_room_grant(&self, project: ProjectId, room: &str, user: UserId, audit: &AuditRecord) -> Result<bool> {
                    let stmt = sqlx::query("DELETE FROM room_grants WHERE project_id = $1 AND room_name = $2 AND user_id = $3")
                        .bind(project.uuid())
                        .bind(room)
                        .bind(user.uuid());
                    change_one(&self.pool, stmt, unexpected, audit).await
                }

                async fn insert_presence(&self, p: &Presence) -> Result<()> {
                    sqlx::query("INSERT INTO room_participants (id, project_id, room_name, name, role, api_key_id, node_id, connected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING")
                        .bind(p.id.uuid())
                        .bind(p.project_id.uuid())
                        .bind(&p.room_name)
                        .bind(&p.name)
                        .bind(&p.role)
                        .bind(p.api_key_id.uuid())
                        .bind(p.node_id.uuid())
                        .bind(p.connected_at.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn delete_presence(&self, id: ParticipantId) -> Result<bool> {
                    let stmt = sqlx::query("DELETE FROM room_participants WHERE id = $1")
                        .bind(id.uuid());
                    changes_one(self.db(), stmt).await
                }

                async fn list_presence(&self, project: ProjectId, room: &str, alive_since: Timestamp) -> Result<Vec<Presence>> {
                    let sql = format!("SELECT {PRESENCE_COLS} FROM room_participants p JOIN room_nodes n ON n.node_id = p.node_id WHERE p.project_id = $1 AND p.room_name = $2 AND n.last_seen >= $3 ORDER BY p.connected_at, p.id");
                    let query = sqlx::query(&sql).bind(project.uuid()).bind(room).bind(alive_since.millis());
                    all(self.db(), query, presence).await
                }

                async fn heartbeat(&self, node: NodeId, at: Timestamp) -> Result<bool> {
                    let n = sqlx::query("UPDATE room_nodes SET last_seen = $2 WHERE node_id = $1")
                        .bind(node.uuid())
                        .bind(at.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?
                        .rows_affected();
                    if n == 1 {
                        return Ok(true);
                    }
                    sqlx::query("INSERT INTO room_nodes (node_id, last_seen) VALUES ($1, $2) ON CONFLICT (node_id) DO UPDATE SET last_seen = excluded.last_seen")
                        .bind(node.uuid())
                        .bind(at.millis())
                        .execute(self.db())
                        .await
                        .map_err(unexpected)?;
                    Ok(false)
                }

                async fn purge_presence(&self, before: Timestamp) -> Result<Vec<Presence>> {
                    let mut tx = begin(&self.pool).await?;
                    // Nodes first: a heartbeat racing this either keeps its row (and so its
                    // participants) or finds it gone and records its participants again.
                    let dead: Vec<uuid::Uuid> = sqlx::query_scalar("DELETE FROM room_nodes WHERE last_seen < $1 RETURNING node_id")
                        .bind(before.millis())
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    let mut gone = Vec::new();
                    for node in dead {
                        let sql = format!("DELETE FROM room_participants WHERE node_id = $1 RETURNING {PRESENCE_RETURNING}");
                        let rows = sqlx::query(&sql).bind(node).fetch_all(&mut *tx).await.map_err(unexpected)?;
                        for r in &rows {
                            gone.push(presence(r)?);
                        }
                    }
                    tx.commit().await.map_err(unexpected)?;
                    Ok(gone)
                }
            }
        }
    };
}

rooms_impl!(sqlite, crate::SqliteStore, sqlx::sqlite::SqliteRow);
rooms_impl!(postgres, crate::PgStore, sqlx::postgres::PgRow);
