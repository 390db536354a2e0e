//! `gatehouse idp …`: upstream identity providers ("Continue with …" on the sign-in page), for
//! server admins. The client secret is read from a file or standard input, never the command line.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use gatehouse_types::{IdentityProvider, IdentityProviderInput, IdentityProviderPatch};

use crate::context::{Ctx, read_secret_file};
use crate::output::{Table, fields};

/// Identity provider commands.
#[derive(Debug, Subcommand)]
pub enum IdpCommand {
    /// List the providers: the config file's (read-only) and those added here.
    List,
    /// Show one provider.
    Show {
        /// The provider's name.
        name: String,
    },
    /// Add a provider.
    Add {
        /// The provider's name in URLs: lowercase letters, digits and `-`.
        name: String,
        /// oidc, google, microsoft, gitlab or github.
        #[arg(long, default_value = "oidc")]
        kind: String,
        /// The client id registered at the provider.
        #[arg(long)]
        client_id: String,
        #[command(flatten)]
        fields: IdpFields,
    },
    /// Change a provider added with `idp add`; flags not given keep their value.
    Update {
        /// The provider's name.
        name: String,
        #[arg(long)]
        client_id: Option<String>,
        #[command(flatten)]
        fields: IdpFields,
    },
    /// Remove a provider added with `idp add`, and the identities linked through it.
    Remove {
        /// The provider's name.
        name: String,
    },
}

/// The settings `add` and `update` share.
#[derive(Debug, Clone, Args)]
pub struct IdpFields {
    /// File holding the client secret (`-` for standard input). Required by `add`.
    #[arg(long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// The button says "Continue with NAME".
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
    /// The OpenID Connect issuer.
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// GitHub Enterprise Server's URL.
    #[arg(long, value_name = "URL")]
    pub github_url: Option<String>,
    /// GitHub's REST API URL.
    #[arg(long, value_name = "URL")]
    pub github_api_url: Option<String>,
    /// A scope to ask for; repeatable (replaces every scope).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Create accounts for people without one (verified emails only).
    #[arg(long, value_name = "BOOL")]
    pub allow_signup: Option<bool>,
}

/// Runs an identity provider command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: IdpCommand) -> Result<()> {
    // The secret is read before the credential, so a usage mistake is reported as such.
    let secret = match &cmd {
        IdpCommand::Add { fields, .. } | IdpCommand::Update { fields, .. } => {
            fields.client_secret_file.as_deref().map(read_secret_file).transpose()?
        }
        _ => None,
    };
    let client = ctx.client().await?;
    match cmd {
        IdpCommand::List => {
            let list = client.list_identity_providers().await?;
            if ctx.json() {
                return ctx.print_json(&list);
            }
            let mut table = Table::new(["NAME", "KIND", "DISPLAY NAME", "SOURCE", "SIGN-UP"]);
            for p in &list.identity_providers {
                table.row([
                    p.id.clone(),
                    p.kind.clone(),
                    p.display_name.clone(),
                    p.source.clone(),
                    p.allow_signup.to_string(),
                ]);
            }
            ctx.print(&table.render())
        }
        IdpCommand::Show { name } => {
            let p = client.get_identity_provider(&name).await?;
            show(ctx, &p)
        }
        IdpCommand::Add {
            name,
            kind,
            client_id,
            fields,
        } => {
            let Some(secret) = secret else {
                anyhow::bail!("--client-secret-file is required (use - for standard input)");
            };
            let input = IdentityProviderInput {
                name,
                kind: Some(kind),
                display_name: fields.display_name,
                issuer: fields.issuer,
                github_url: fields.github_url,
                github_api_url: fields.github_api_url,
                client_id,
                client_secret: secret.into(),
                scopes: (!fields.scopes.is_empty()).then_some(fields.scopes),
                allow_signup: fields.allow_signup,
            };
            let p = client.create_identity_provider(&input).await?;
            show(ctx, &p)
        }
        IdpCommand::Update {
            name,
            client_id,
            fields,
        } => {
            let patch = IdentityProviderPatch {
                display_name: fields.display_name,
                issuer: fields.issuer,
                github_url: fields.github_url,
                github_api_url: fields.github_api_url,
                client_id,
                client_secret: secret.map(Into::into),
                scopes: (!fields.scopes.is_empty()).then_some(fields.scopes),
                allow_signup: fields.allow_signup,
            };
            let p = client.update_identity_provider(&name, &patch).await?;
            show(ctx, &p)
        }
        IdpCommand::Remove { name } => {
            client.delete_identity_provider(&name).await?;
            if !ctx.json() {
                ctx.line(&format!("Removed identity provider {name}."))?;
            }
            Ok(())
        }
    }
}

fn show(ctx: &mut Ctx<'_>, p: &IdentityProvider) -> Result<()> {
    if ctx.json() {
        return ctx.print_json(p);
    }
    let url = p.issuer.clone().or_else(|| p.github_url.clone()).unwrap_or_default();
    ctx.print(&fields(&[
        ("Name", p.id.clone()),
        ("Kind", p.kind.clone()),
        ("Display name", p.display_name.clone()),
        ("Source", p.source.clone()),
        (if p.issuer.is_some() { "Issuer" } else { "GitHub URL" }, url),
        ("Client id", p.client_id.clone()),
        ("Scopes", p.scopes.join(" ")),
        ("Sign-up", p.allow_signup.to_string()),
        ("Redirect URI", p.redirect_uri.clone()),
    ]))
}
