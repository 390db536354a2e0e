//! `gatehouse secret …`: project secrets, environment variable sets and registry credentials
//! (SPEC §7.6).

use anyhow::Result;
use clap::{Args, Subcommand};
use gatehouse_types::{ProjectSecret, ProjectSecretInput};
use uuid::Uuid;

use super::secret_data::{DockerCredential, SecretDataArgs, SecretKind, decode, encode, load_data, resolve_kind};
use crate::UsageError;
use crate::context::Ctx;
use crate::output::{Table, fields, or_dash};

/// Project secret commands.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// List the project's secrets (metadata only).
    List,
    /// Show a secret and its data (developers and admins).
    Get {
        /// The secret's id.
        secret_id: Uuid,
    },
    /// Create a secret: `--type keys` from an env file or JSON, or `--type docker`.
    Create(CreateArgs),
    /// Replace a secret's data (and optionally its name).
    Update(UpdateArgs),
    /// Delete a secret.
    Delete {
        /// The secret's id.
        secret_id: Uuid,
    },
}

/// `gatehouse secret create`.
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// Secret name.
    #[arg(long)]
    pub name: String,
    /// Secret type [default: implied by the data flags].
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub kind: Option<SecretKind>,
    #[command(flatten)]
    pub data: SecretDataArgs,
}

/// `gatehouse secret update`.
#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// The secret's id.
    pub secret_id: Uuid,
    /// New name [default: unchanged].
    #[arg(long)]
    pub name: Option<String>,
    /// Secret type [default: implied by the data flags, else unchanged].
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub kind: Option<SecretKind>,
    #[command(flatten)]
    pub data: SecretDataArgs,
}

/// Runs a project secret command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: SecretCommand) -> Result<()> {
    // Local inputs (flags, files) are checked before the credential, so a usage mistake is
    // reported as such even without an API key.
    match cmd {
        SecretCommand::List => {
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            let list = client.list_secrets(project).await?;
            if ctx.json() {
                return ctx.print_json(&list);
            }
            let mut table = Table::new(["ID", "NAME", "TYPE", "CREATED", "UPDATED"]);
            for s in &list.secrets {
                table.row([
                    s.id.to_string(),
                    s.name.clone(),
                    s.kind.clone(),
                    s.created_at.clone(),
                    s.updated_at.clone(),
                ]);
            }
            ctx.print(&table.render())
        }
        SecretCommand::Get { secret_id } => {
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            let secret = client.get_secret(project, secret_id).await?;
            if ctx.json() {
                return ctx.print_json(&secret);
            }
            show(ctx, &secret)
        }
        SecretCommand::Create(args) => {
            let kind = resolve_kind(args.kind, &args.data)?
                .ok_or_else(|| UsageError::new("give --type keys|docker and its data flags"))?;
            let input = ProjectSecretInput {
                name: args.name,
                kind: kind.as_str().to_owned(),
                data_base64: encode(&load_data(kind, &args.data)?).into(),
            };
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            let info = client.create_secret(project, &input).await?;
            if ctx.json() {
                return ctx.print_json(&info);
            }
            ctx.line(&format!("Created {} secret {} ({}).", info.kind, info.name, info.id))
        }
        SecretCommand::Update(args) => {
            let kind = resolve_kind(args.kind, &args.data)?
                .ok_or_else(|| UsageError::new("give the new data: --from-env-file, --data, or the docker flags"))?;
            let data_base64 = encode(&load_data(kind, &args.data)?);
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            // The body replaces the secret, so an omitted name keeps the stored one.
            let name = match args.name {
                Some(name) => name,
                None => client.get_secret(project, args.secret_id).await?.info.name,
            };
            let input = ProjectSecretInput {
                name,
                kind: kind.as_str().to_owned(),
                data_base64: data_base64.into(),
            };
            let info = client.update_secret(project, args.secret_id, &input).await?;
            if ctx.json() {
                return ctx.print_json(&info);
            }
            ctx.line(&format!("Updated {} secret {} ({}).", info.kind, info.name, info.id))
        }
        SecretCommand::Delete { secret_id } => {
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            client.delete_secret(project, secret_id).await?;
            if !ctx.json() {
                ctx.line(&format!("Deleted secret {secret_id}."))?;
            }
            Ok(())
        }
    }
}

/// Metadata, then the decoded data in the shape of its type.
fn show(ctx: &mut Ctx<'_>, secret: &ProjectSecret) -> Result<()> {
    let info = &secret.info;
    let mut pairs = vec![
        ("ID", info.id.to_string()),
        ("Name", info.name.clone()),
        ("Type", info.kind.clone()),
        ("Created", info.created_at.clone()),
        ("Updated", info.updated_at.clone()),
    ];
    let data = decode(secret.data_base64.expose_secret()).ok();
    let keys = data.as_deref().and_then(|d| {
        (info.kind == "keys")
            .then(|| serde_json::from_slice::<std::collections::BTreeMap<String, String>>(d).ok())
            .flatten()
    });
    let docker = data.as_deref().and_then(|d| {
        (info.kind == "docker")
            .then(|| serde_json::from_slice::<DockerCredential>(d).ok())
            .flatten()
    });
    if let Some(docker) = &docker {
        pairs.extend([
            ("Registry", docker.server.clone()),
            ("Username", docker.username.clone()),
            ("Password", docker.password.expose_secret().to_owned()),
            ("Email", or_dash(Some(&docker.email))),
        ]);
    } else if keys.is_none() {
        // Unknown type or shape: show what there is rather than nothing.
        let raw = match &data {
            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            None => secret.data_base64.expose_secret().to_owned(),
        };
        pairs.push(("Data", raw));
    }
    ctx.print(&fields(&pairs))?;
    if let Some(keys) = keys {
        let mut table = Table::new(["NAME", "VALUE"]);
        for (name, value) in &keys {
            table.row([name, value]);
        }
        ctx.line("")?;
        ctx.print(&table.render())?;
    }
    Ok(())
}
