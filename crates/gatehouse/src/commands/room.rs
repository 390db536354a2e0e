//! `gatehouse room …`: the project's rooms and room grants, and `connect` for a signed-in user
//! (SPEC §6.3).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{ArgGroup, Subcommand};
use gatehouse_types::{CreateRoom, CreateRoomGrant, RoomGrantQuery, RoomListQuery};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::context::{Ctx, read_input};
use crate::output::{Table, fields};

/// Room commands.
#[derive(Debug, Subcommand)]
pub enum RoomCommand {
    /// Create a room.
    Create {
        /// 1–63 characters of a-z, 0-9 and '-'.
        name: String,
        /// Succeed with the existing room when the name is taken.
        #[arg(long)]
        if_not_exists: bool,
        /// Metadata, a JSON object.
        #[arg(long, value_name = "JSON")]
        metadata: Option<String>,
    },
    /// List the project's rooms, oldest first.
    List {
        /// Rooms per page, 1–1000.
        #[arg(long)]
        limit: Option<u32>,
        /// Rooms to skip.
        #[arg(long)]
        offset: Option<u64>,
    },
    /// Delete a room and its grants.
    Delete { name: String },
    /// Give a member of the project a grant in a room (replacing any they had).
    #[command(group(ArgGroup::new("who").required(true).args(["email", "user_id"])))]
    #[command(group(ArgGroup::new("scope").args(["permissions", "permissions_file"])))]
    Grant {
        room: String,
        /// The user, by email.
        #[arg(long)]
        email: Option<String>,
        /// The user, by id.
        #[arg(long)]
        user_id: Option<Uuid>,
        /// The ApiScope the user gets: JSON, or a preset (user_default, agent_default, full)
        /// [default: {}].
        #[arg(long, value_name = "JSON")]
        permissions: Option<String>,
        /// The ApiScope from a JSON file ('-' for standard input).
        #[arg(long, value_name = "FILE")]
        permissions_file: Option<PathBuf>,
    },
    /// List room grants: of one room, or of every room.
    Grants {
        /// Only this room's grants.
        #[arg(long)]
        room: Option<String>,
        /// Grants per page, 1–1000.
        #[arg(long)]
        limit: Option<u32>,
        /// Grants to skip.
        #[arg(long)]
        offset: Option<u64>,
    },
    /// Remove a user's grant in a room.
    Revoke { room: String, user_id: Uuid },
    /// Get a participant token for yourself (signed in with `gatehouse auth login`) in a room
    /// you have a grant for.
    Connect { room: String },
}

fn json_object(field: &str, text: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(text).with_context(|| format!("--{field} must be a JSON object"))
}

/// Runs a room command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: RoomCommand) -> Result<()> {
    let client = ctx.client().await?;
    let project = ctx.project_id(&client).await?;
    match cmd {
        RoomCommand::Create {
            name,
            if_not_exists,
            metadata,
        } => {
            let input = CreateRoom {
                name,
                if_not_exists: if_not_exists.then_some(true),
                metadata: metadata.map(|m| json_object("metadata", &m)).transpose()?,
            };
            let room = client.create_room(project, &input).await?;
            if ctx.json() {
                return ctx.print_json(&room);
            }
            ctx.print(&fields(&[
                ("Room", room.name.clone()),
                ("Created", room.created_at.clone()),
            ]))
        }
        RoomCommand::List { limit, offset } => {
            let list = client.list_rooms(project, &RoomListQuery { limit, offset }).await?;
            if ctx.json() {
                return ctx.print_json(&list);
            }
            let mut table = Table::new(["NAME", "CREATED", "METADATA"]);
            for r in &list.rooms {
                table.row([
                    r.name.clone(),
                    r.created_at.clone(),
                    Value::Object(r.metadata.clone()).to_string(),
                ]);
            }
            ctx.print(&table.render())
        }
        RoomCommand::Delete { name } => {
            client.delete_room(project, &name).await?;
            if !ctx.json() {
                ctx.line(&format!("Deleted room {name} and its grants."))?;
            }
            Ok(())
        }
        RoomCommand::Grant {
            room,
            email,
            user_id,
            permissions,
            permissions_file,
        } => {
            let permissions = match (permissions, permissions_file) {
                // JSON, or a preset's name for the server to expand.
                (Some(text), _) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
                (None, Some(path)) => Value::Object(json_object("permissions-file", &read_input(&path)?)?),
                (None, None) => Value::Object(Map::new()),
            };
            let input = CreateRoomGrant {
                room_name: room,
                user_id,
                email,
                permissions,
            };
            let grant = client.put_room_grant(project, &input).await?;
            if ctx.json() {
                return ctx.print_json(&grant);
            }
            ctx.print(&fields(&[
                ("Room", grant.room_name.clone()),
                ("User", format!("{} ({})", grant.email, grant.user_id)),
                ("Permissions", Value::Object(grant.permissions.clone()).to_string()),
            ]))
        }
        RoomCommand::Grants { room, limit, offset } => {
            let query = RoomGrantQuery {
                room_name: room,
                limit,
                offset,
            };
            let list = client.list_room_grants(project, &query).await?;
            if ctx.json() {
                return ctx.print_json(&list);
            }
            let mut table = Table::new(["ROOM", "USER ID", "EMAIL", "PERMISSIONS"]);
            for g in &list.grants {
                table.row([
                    g.room_name.clone(),
                    g.user_id.to_string(),
                    g.email.clone(),
                    Value::Object(g.permissions.clone()).to_string(),
                ]);
            }
            ctx.print(&table.render())
        }
        RoomCommand::Revoke { room, user_id } => {
            client.delete_room_grant(project, &room, user_id).await?;
            if !ctx.json() {
                ctx.line(&format!("Removed the grant of {user_id} in room {room}."))?;
            }
            Ok(())
        }
        RoomCommand::Connect { room } => {
            let c = client.connect_room(project, &room).await?;
            if ctx.json() {
                return ctx.print_json(&c);
            }
            ctx.print(&fields(&[("Room URL", c.room_url.clone()), ("Token", c.jwt.clone())]))
        }
    }
}
