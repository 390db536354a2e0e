//! `gatehouse resource …`: the project's API resources, the audiences of its own APIs with
//! their scopes (SPEC §5.7).

use anyhow::Result;
use clap::{Args, Subcommand};
use gatehouse_types::{ApiResource, ResourceInput, ResourceScope};
use uuid::Uuid;

use crate::UsageError;
use crate::context::Ctx;
use crate::output::{Table, fields};

/// API resource commands.
#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// List the project's API resources.
    List,
    /// Show one resource with its scopes.
    Show {
        /// The resource's id.
        resource_id: Uuid,
    },
    /// Register an API resource.
    Create(ResourceFields),
    /// Change a resource; flags not given keep their value (`--scope` replaces every scope).
    Update {
        /// The resource's id.
        resource_id: Uuid,
        #[command(flatten)]
        fields: ResourceFields,
    },
    /// Delete a resource.
    Delete {
        /// The resource's id.
        resource_id: Uuid,
        /// Delete even though clients use the resource's scopes or have it as default.
        #[arg(long)]
        force: bool,
    },
}

/// The settings of a resource.
#[derive(Debug, Clone, Args)]
pub struct ResourceFields {
    /// The audience: an absolute URI, e.g. https://api.example.com.
    #[arg(long, value_name = "URI")]
    pub identifier: Option<String>,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// A scope as NAME or NAME=DESCRIPTION (the description is shown at consent); repeatable.
    #[arg(long = "scope", value_name = "NAME[=DESCRIPTION]")]
    pub scopes: Vec<String>,
    /// Access-token lifetime in seconds (60–86400).
    #[arg(long, value_name = "SECONDS")]
    pub lifetime: Option<u32>,
    /// Signing algorithm: ES256, RS256 or EdDSA.
    #[arg(long, value_name = "ALG")]
    pub signing_alg: Option<String>,
    /// Access-token format: jwt (RFC 9068, verified offline) or opaque (introspection only).
    #[arg(long, value_name = "FORMAT")]
    pub token_format: Option<String>,
}

impl ResourceFields {
    /// The body these flags give, over `current` (an update) or from scratch (a create).
    pub fn to_input(&self, current: Option<&ApiResource>) -> Result<ResourceInput, UsageError> {
        let required = |v: &Option<String>, kept: Option<&String>, flag: &str| {
            v.clone()
                .or_else(|| kept.cloned())
                .ok_or_else(|| UsageError::new(format!("--{flag} is required")))
        };
        let scopes = if self.scopes.is_empty() {
            current.map(|c| c.scopes.clone()).unwrap_or_default()
        } else {
            self.scopes.iter().map(|s| parse_scope(s)).collect()
        };
        Ok(ResourceInput {
            identifier: required(&self.identifier, current.map(|c| &c.identifier), "identifier")?,
            name: required(&self.name, current.map(|c| &c.name), "name")?,
            scopes,
            access_token_lifetime_secs: self.lifetime.or(current.map(|c| c.access_token_lifetime_secs)),
            signing_alg: self
                .signing_alg
                .clone()
                .or_else(|| current.map(|c| c.signing_alg.clone())),
            token_format: self
                .token_format
                .clone()
                .or_else(|| current.map(|c| c.token_format.clone())),
        })
    }
}

/// `NAME` or `NAME=DESCRIPTION`.
fn parse_scope(raw: &str) -> ResourceScope {
    let (name, description) = raw.split_once('=').unwrap_or((raw, ""));
    ResourceScope {
        name: name.trim().to_owned(),
        description: description.trim().to_owned(),
    }
}

/// Runs a resource command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: ResourceCommand) -> Result<()> {
    let client = ctx.client().await?;
    let project = ctx.project_id(&client).await?;
    match cmd {
        ResourceCommand::List => {
            let list = client.list_resources(project).await?;
            if ctx.json() {
                return ctx.print_json(&list);
            }
            let mut table = Table::new(["ID", "IDENTIFIER", "NAME", "SCOPES"]);
            for r in &list.resources {
                let scopes: Vec<&str> = r.scopes.iter().map(|s| s.name.as_str()).collect();
                table.row([r.id.to_string(), r.identifier.clone(), r.name.clone(), scopes.join(" ")]);
            }
            ctx.print(&table.render())
        }
        ResourceCommand::Show { resource_id } => {
            let r = client.get_resource(project, resource_id).await?;
            show(ctx, &r)
        }
        ResourceCommand::Create(f) => {
            let r = client.create_resource(project, &f.to_input(None)?).await?;
            show(ctx, &r)
        }
        ResourceCommand::Update { resource_id, fields } => {
            let current = client.get_resource(project, resource_id).await?;
            let input = fields.to_input(Some(&current))?;
            let r = client.update_resource(project, resource_id, &input).await?;
            show(ctx, &r)
        }
        ResourceCommand::Delete { resource_id, force } => {
            client.delete_resource(project, resource_id, force).await?;
            if !ctx.json() {
                ctx.line(&format!("Deleted resource {resource_id}."))?;
            }
            Ok(())
        }
    }
}

fn show(ctx: &mut Ctx<'_>, r: &ApiResource) -> Result<()> {
    if ctx.json() {
        return ctx.print_json(r);
    }
    let scopes: Vec<String> = r
        .scopes
        .iter()
        .map(|s| {
            if s.description.is_empty() {
                s.name.clone()
            } else {
                format!("{} ({})", s.name, s.description)
            }
        })
        .collect();
    ctx.print(&fields(&[
        ("ID", r.id.to_string()),
        ("Identifier", r.identifier.clone()),
        ("Name", r.name.clone()),
        ("Scopes", scopes.join(", ")),
        ("Token lifetime", format!("{} s", r.access_token_lifetime_secs)),
        ("Signing algorithm", r.signing_alg.clone()),
        ("Token format", r.token_format.clone()),
        ("Created", r.created_at.clone()),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(args: &[&str]) -> ResourceFields {
        #[derive(clap::Parser)]
        struct P {
            #[command(flatten)]
            f: ResourceFields,
        }
        let mut all = vec!["x"];
        all.extend_from_slice(args);
        <P as clap::Parser>::try_parse_from(all).expect("valid").f
    }

    #[test]
    fn scopes_take_an_optional_description() {
        let i = fields(&[
            "--identifier=https://api.example",
            "--name=API",
            "--scope=a.read=Read a",
            "--scope=b",
        ])
        .to_input(None)
        .unwrap();
        assert_eq!(
            i.scopes[0],
            ResourceScope {
                name: "a.read".into(),
                description: "Read a".into()
            }
        );
        assert_eq!(
            i.scopes[1],
            ResourceScope {
                name: "b".into(),
                description: String::new()
            }
        );
    }

    #[test]
    fn create_needs_identifier_and_name_and_update_keeps_what_is_not_given() {
        assert!(fields(&["--name=API"]).to_input(None).is_err());
        let current = ApiResource {
            id: Uuid::nil(),
            project_id: Uuid::nil(),
            identifier: "https://api.example".into(),
            name: "API".into(),
            scopes: vec![ResourceScope {
                name: "a".into(),
                description: "A".into(),
            }],
            access_token_lifetime_secs: 600,
            signing_alg: "EdDSA".into(),
            token_format: "jwt".into(),
            created_at: String::new(),
            updated_at: String::new(),
        };
        let i = fields(&["--name=Renamed"]).to_input(Some(&current)).unwrap();
        assert_eq!(
            (i.identifier.as_str(), i.name.as_str(), i.scopes.len()),
            ("https://api.example", "Renamed", 1)
        );
        assert_eq!(
            (
                i.access_token_lifetime_secs,
                i.signing_alg.as_deref(),
                i.token_format.as_deref()
            ),
            (Some(600), Some("EdDSA"), Some("jwt"))
        );
        let i = fields(&["--token-format=opaque"]).to_input(Some(&current)).unwrap();
        assert_eq!(i.token_format.as_deref(), Some("opaque"));
    }
}
