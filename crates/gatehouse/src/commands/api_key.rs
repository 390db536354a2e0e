//! `gatehouse api-key …`: list, create and revoke the project's API keys (SPEC §3).

use anyhow::Result;
use clap::Subcommand;
use gatehouse_types::CreateApiKey;
use uuid::Uuid;

use crate::context::{Ctx, warn};
use crate::output::{Table, fields, or_dash};

/// API key commands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// List the project's API keys (never their values).
    List,
    /// Create an API key; its value is shown once.
    Create {
        /// Key name, 1–200 characters.
        #[arg(long)]
        name: String,
        /// Free-text description.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Revoke an API key, immediately, on every node.
    Delete {
        /// The key's id.
        key_id: Uuid,
    },
}

/// Runs an API key command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: ApiKeyCommand) -> Result<()> {
    let client = ctx.client().await?;
    let project = ctx.project_id(&client).await?;
    match cmd {
        ApiKeyCommand::List => {
            let list = client.list_api_keys(project).await?;
            if ctx.json() {
                return ctx.print_json(&list);
            }
            let mut table = Table::new(["ID", "NAME", "DESCRIPTION", "CREATED", "LAST USED"]);
            for k in &list.keys {
                table.row([
                    k.id.to_string(),
                    k.name.clone(),
                    k.description.clone(),
                    k.created_at.clone(),
                    or_dash(k.last_used_at.as_deref()),
                ]);
            }
            ctx.print(&table.render())
        }
        ApiKeyCommand::Create { name, description } => {
            let key = client
                .create_api_key(project, &CreateApiKey { name, description })
                .await?;
            warn("copy the API key value now; it will not be shown again.");
            if ctx.json() {
                return ctx.print_json(&key);
            }
            ctx.print(&fields(&[
                ("ID", key.id.to_string()),
                ("Name", key.name.clone()),
                ("Description", key.description.clone()),
                ("Created", key.created_at.clone()),
                ("API key", key.value.expose_secret().to_owned()),
            ]))
        }
        ApiKeyCommand::Delete { key_id } => {
            client.delete_api_key(project, key_id).await?;
            if !ctx.json() {
                ctx.line(&format!("Revoked API key {key_id}."))?;
            }
            Ok(())
        }
    }
}
