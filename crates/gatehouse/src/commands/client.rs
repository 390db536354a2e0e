//! `gatehouse client …`: the project's OAuth clients (SPEC §4.4).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use gatehouse_client::ExportFormat;
use gatehouse_types::{ListQuery, OAuthClient, SetClientSecret};

use super::client_args::{CreateArgs, UpdateArgs, create_input, read_client_json, update_input};
use crate::context::{Ctx, read_secret_file, warn};
use crate::output::{Table, fields, or_dash, yes_no};

/// OAuth client commands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// List clients, filtered by id or name.
    List(ListArgs),
    /// Show one client (never its secret).
    Get {
        /// The client id.
        client_id: String,
    },
    /// Register a client; a confidential client's secret is shown once.
    Create(CreateArgs),
    /// Change some fields of a client (the client id is immutable).
    Update(UpdateArgs),
    /// Delete a client; it stops working everywhere at once.
    Delete {
        /// The client id.
        client_id: String,
        /// Required to delete an official (system) client.
        #[arg(long)]
        force: bool,
    },
    /// Set a new client secret (server-generated unless --secret-file); shown once.
    RotateSecret {
        /// The client id.
        client_id: String,
        /// Use the secret in this file (`-` = stdin), at least 32 characters.
        #[arg(long, value_name = "FILE")]
        secret_file: Option<PathBuf>,
        /// Keep the previous secret valid for this many seconds [default: 0].
        #[arg(long, value_name = "SECONDS")]
        grace_seconds: Option<u32>,
    },
    /// Download the (filtered) client list as a spreadsheet, PDF or CSV.
    Export(ExportArgs),
}

/// `gatehouse client list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Case-insensitive substring of the client id or name.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Clients per page, 1–1000 [server default: 100].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub count: Option<u32>,
    /// Clients to skip.
    #[arg(long)]
    pub offset: Option<u64>,
}

/// `gatehouse client export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// File format.
    #[arg(long, value_enum)]
    pub format: FileFormat,
    /// Case-insensitive substring of the client id or name.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Where to write the file (`-` = stdout) [default: clients.xlsx, clients.pdf or clients.csv].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// Excel workbook.
    Xlsx,
    /// PDF document.
    Pdf,
    /// Comma-separated values.
    Csv,
}

impl From<FileFormat> for ExportFormat {
    fn from(format: FileFormat) -> Self {
        match format {
            FileFormat::Xlsx => Self::Xlsx,
            FileFormat::Pdf => Self::Pdf,
            FileFormat::Csv => Self::Csv,
        }
    }
}

/// Runs a client command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: ClientCommand) -> Result<()> {
    // Local inputs (flags, files) are checked before the credential, so a usage mistake is
    // reported as such even without an API key.
    match cmd {
        ClientCommand::List(args) => {
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            let query = ListQuery {
                count: args.count,
                offset: args.offset,
                filter: args.filter,
            };
            let list = client.list_clients(project, &query).await?;
            if ctx.json() {
                return ctx.print_json(&list);
            }
            let mut table = Table::new(["CLIENT ID", "NAME", "ENABLED", "TYPE", "URI"]);
            for c in &list.clients {
                table.row([
                    c.client_id.clone(),
                    c.name.clone(),
                    yes_no(c.enabled).to_owned(),
                    client_type(c).to_owned(),
                    or_dash(c.client_uri.as_deref()),
                ]);
            }
            ctx.print(&table.render())?;
            let shown = args.offset.unwrap_or(0) + table.len() as u64;
            if shown < list.total {
                ctx.line(&format!(
                    "({} of {} clients; use --offset {shown} for more)",
                    table.len(),
                    list.total
                ))?;
            }
            Ok(())
        }
        ClientCommand::Get { client_id } => {
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            let response = client.get_client(project, &client_id).await?;
            if ctx.json() {
                return ctx.print_json(&response);
            }
            ctx.print(&fields(&describe(&response.client)))
        }
        ClientCommand::Create(args) => {
            let input = match &args.from_json {
                Some(path) => read_client_json(path)?,
                None => create_input(&args)?,
            };
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            let created = client.create_client(project, &input).await?;
            let secret = created.client.client_secret.as_ref().map(|s| s.expose_secret());
            if secret.is_some() {
                warn("copy the client secret now; it will not be shown again.");
            }
            if ctx.json() {
                return ctx.print_json(&created);
            }
            let mut pairs = describe(&created.client.client);
            if let Some(secret) = secret {
                pairs.push(("Client secret", secret.to_owned()));
            }
            ctx.print(&fields(&pairs))
        }
        ClientCommand::Update(args) => {
            let input = match &args.from_json {
                Some(path) => read_client_json(path)?,
                None => update_input(&args)?,
            };
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            let response = client.update_client(project, &args.client_id, &input).await?;
            if ctx.json() {
                return ctx.print_json(&response);
            }
            ctx.print(&fields(&describe(&response.client)))
        }
        ClientCommand::Delete { client_id, force } => {
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            client.delete_client(project, &client_id, force).await?;
            if !ctx.json() {
                ctx.line(&format!("Deleted client {client_id}."))?;
            }
            Ok(())
        }
        ClientCommand::RotateSecret {
            client_id,
            secret_file,
            grace_seconds,
        } => {
            let client_secret = secret_file.as_deref().map(read_secret_file).transpose()?;
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            let input = SetClientSecret {
                client_secret: client_secret.map(Into::into),
                grace_seconds,
            };
            let secret = client.set_client_secret(project, &client_id, &input).await?;
            warn("copy the client secret now; it will not be shown again.");
            if ctx.json() {
                return ctx.print_json(&secret);
            }
            let mut pairs = vec![
                ("Client ID", client_id),
                ("Client secret", secret.client_secret.expose_secret().to_owned()),
            ];
            if let Some(grace) = grace_seconds.filter(|g| *g > 0) {
                pairs.push(("Previous secret", format!("valid for {grace} more seconds")));
            }
            ctx.print(&fields(&pairs))
        }
        ClientCommand::Export(args) => export(ctx, args).await,
    }
}

async fn export(ctx: &mut Ctx<'_>, args: ExportArgs) -> Result<()> {
    let format = ExportFormat::from(args.format);
    let client = ctx.client().await?;
    let project = ctx.project_id(&client).await?;
    let file = client.export_clients(project, format, args.filter.as_deref()).await?;
    let path = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("clients.{}", format.as_str())));
    if path.as_os_str() == "-" {
        return ctx.write_bytes(&file.bytes);
    }
    std::fs::write(&path, &file.bytes).with_context(|| format!("writing {}", path.display()))?;
    if ctx.json() {
        ctx.print_json(&serde_json::json!({
            "path": path,
            "bytes": file.bytes.len(),
            "content_type": file.content_type,
        }))
    } else {
        ctx.line(&path.display().to_string())
    }
}

fn client_type(c: &OAuthClient) -> &'static str {
    if c.require_client_secret {
        "confidential"
    } else {
        "public"
    }
}

/// Every field of a client, labelled as in the console.
fn describe(c: &OAuthClient) -> Vec<(&'static str, String)> {
    let lines = |v: &[String]| {
        if v.is_empty() { "-".to_owned() } else { v.join("\n") }
    };
    let metadata: Vec<String> = c.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
    vec![
        ("Client ID", c.client_id.clone()),
        ("Name", c.name.clone()),
        ("Enabled", yes_no(c.enabled).to_owned()),
        ("Type", client_type(c).to_owned()),
        ("Has secret", yes_no(c.has_client_secret).to_owned()),
        ("Client URI", or_dash(c.client_uri.as_deref())),
        ("Logo URI", or_dash(c.logo_uri.as_deref())),
        ("Privacy policy", or_dash(c.policy_uri.as_deref())),
        ("Terms of service", or_dash(c.tos_uri.as_deref())),
        ("Token auth method", c.token_endpoint_auth_method.clone()),
        ("Grant types", lines(&c.grant_types)),
        ("Response types", lines(&c.response_types)),
        ("Redirect URIs", lines(&c.redirect_uris)),
        ("Post-logout URIs", lines(&c.post_logout_redirect_uris)),
        ("CORS origins", lines(&c.allowed_cors_origins)),
        ("Scope", or_dash(Some(&c.scope))),
        ("Offline access", yes_no(c.offline_access).to_owned()),
        ("Require PKCE", yes_no(c.require_pkce).to_owned()),
        ("Access token TTL", format!("{}s", c.access_token_ttl)),
        ("Refresh token TTL", format!("{}s", c.refresh_token_ttl)),
        ("ID token TTL", format!("{}s", c.id_token_ttl)),
        ("Refresh grace", format!("{}s", c.refresh_grace_seconds)),
        ("ID token alg", c.id_token_signed_response_alg.clone()),
        ("Revoke on logout", yes_no(c.revoke_on_logout).to_owned()),
        ("Metadata", lines(&metadata)),
        ("Official", yes_no(c.official).to_owned()),
        ("Project", c.project_id.to_string()),
        ("Created", c.created_at.clone()),
        ("Updated", c.updated_at.clone()),
        ("Secret rotated", or_dash(c.secret_rotated_at.as_deref())),
    ]
}
