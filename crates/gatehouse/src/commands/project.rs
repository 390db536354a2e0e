//! `gatehouse project …`: list, create, show, update and delete projects (with how people sign
//! in to their apps), and choose the active one.

use anyhow::Result;
use clap::Subcommand;
use gatehouse_types::{Project, ProjectInput, ProjectSettings, SignUpMode};

use crate::config::{self, ActiveProject};
use crate::context::{Ctx, resolve_project, warn};
use crate::output::{Table, fields, yes_no};

/// Project commands.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// List the projects you belong to (`*` marks the active one).
    List,
    /// Create a project.
    Create {
        /// Project name, 1–200 characters.
        #[arg(long)]
        name: String,
        /// Also make it the active project.
        #[arg(long)]
        activate: bool,
    },
    /// Show a project [default: the active project].
    Get {
        /// Project id or name.
        #[arg(value_name = "ID|NAME")]
        target: Option<String>,
    },
    /// Rename a project or change how people sign in to its apps (project admins) [default:
    /// the active project].
    Update {
        /// Project id or name.
        #[arg(value_name = "ID|NAME")]
        target: Option<String>,
        /// New name, 1–200 characters.
        #[arg(long)]
        name: Option<String>,
        /// Who may sign up from the project's apps and invitations; `inherit` follows the server.
        #[arg(long, value_enum)]
        signup: Option<SignUpArg>,
        /// An email domain of `--signup domains` (repeat for several).
        #[arg(long = "signup-domain", value_name = "DOMAIN")]
        signup_domains: Vec<String>,
        /// Whether signing in to the project's apps needs a second factor.
        #[arg(long, value_name = "true|false")]
        require_second_factor: Option<bool>,
    },
    /// Delete a project and everything in it (project admins).
    Delete {
        /// Project id or name.
        #[arg(value_name = "ID|NAME")]
        target: String,
    },
    /// Remember a project for later commands (saved in cli.json, per server).
    Activate {
        /// Project id or name.
        #[arg(value_name = "ID|NAME")]
        target: String,
    },
}

/// `--signup`: the sign-up modes of a project.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SignUpArg {
    Inherit,
    Closed,
    Invite,
    Open,
    Domains,
}

impl From<SignUpArg> for SignUpMode {
    fn from(a: SignUpArg) -> Self {
        match a {
            SignUpArg::Inherit => Self::Inherit,
            SignUpArg::Closed => Self::Closed,
            SignUpArg::Invite => Self::Invite,
            SignUpArg::Open => Self::Open,
            SignUpArg::Domains => Self::Domains,
        }
    }
}

/// Runs a project command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: ProjectCommand) -> Result<()> {
    let client = ctx.client().await?;
    match cmd {
        ProjectCommand::List => {
            let list = client.list_projects().await?;
            if ctx.json() {
                return ctx.print_json(&list);
            }
            // The marker is a convenience: an unreadable cli.json must not break listing.
            let active = ctx.active_project(&client).ok().flatten().map(|a| a.id);
            let mut table = Table::new(["", "ID", "NAME", "SYSTEM", "CREATED"]);
            for p in &list.projects {
                let marker = if Some(p.id) == active { "*" } else { "" };
                table.row([marker, &p.id.to_string(), &p.name, yes_no(p.is_system), &p.created_at]);
            }
            ctx.print(&table.render())
        }
        ProjectCommand::Create { name, activate } => {
            let project = client.create_project(&ProjectInput { name }).await?;
            if activate {
                save_active(ctx, &client, &project)?;
            }
            show(ctx, &project)?;
            if activate && !ctx.json() {
                ctx.line(&format!("Active project is now {}.", project.name))?;
            }
            Ok(())
        }
        ProjectCommand::Get { target } => {
            let id = match target {
                Some(target) => resolve_project(&client, &target).await?,
                None => ctx.project_id(&client).await?,
            };
            let project = client.get_project(id).await?;
            let settings = client.project_settings(id).await?;
            show_with_settings(ctx, &project, &settings)
        }
        ProjectCommand::Update {
            target,
            name,
            signup,
            signup_domains,
            require_second_factor,
        } => {
            let id = match target {
                Some(target) => resolve_project(&client, &target).await?,
                None => ctx.project_id(&client).await?,
            };
            let project = match name {
                Some(name) => client.update_project(id, &ProjectInput { name }).await?,
                None => client.get_project(id).await?,
            };
            let mut settings = client.project_settings(id).await?;
            if signup.is_some() || !signup_domains.is_empty() || require_second_factor.is_some() {
                if let Some(mode) = signup {
                    settings.signup = mode.into();
                    // Domains belong to `domains` only: another mode drops the old list.
                    settings.signup_domains.clear();
                }
                if !signup_domains.is_empty() {
                    settings.signup_domains = signup_domains;
                }
                if let Some(required) = require_second_factor {
                    settings.require_second_factor = required;
                }
                settings = client.put_project_settings(id, &settings).await?;
            }
            show_with_settings(ctx, &project, &settings)
        }
        ProjectCommand::Delete { target } => {
            let id = resolve_project(&client, &target).await?;
            client.delete_project(id).await?;
            // Forget it if it was the active project, so later commands fail with a clear hint.
            // The project is gone either way, so a config problem is only worth a warning.
            if let Err(err) = forget_active(ctx, id) {
                warn(&format!("could not update the CLI config: {err:#}"));
            }
            if !ctx.json() {
                ctx.line(&format!("Deleted project {id}."))?;
            }
            Ok(())
        }
        ProjectCommand::Activate { target } => {
            let id = resolve_project(&client, &target).await?;
            // Fetch it so a typo or a project you cannot see is refused now, not later.
            let project = client.get_project(id).await?;
            save_active(ctx, &client, &project)?;
            if ctx.json() {
                ctx.print_json(&project)
            } else {
                ctx.line(&format!("Active project is now {} ({}).", project.name, project.id))
            }
        }
    }
}

fn save_active(ctx: &Ctx<'_>, client: &gatehouse_client::Client, project: &Project) -> Result<()> {
    let path = ctx.config_path()?;
    let mut saved = config::load(&path)?;
    saved.active_project = Some(ActiveProject {
        id: project.id,
        name: project.name.clone(),
        server: client.base_url().to_string(),
    });
    config::save(&path, &saved)
}

fn forget_active(ctx: &Ctx<'_>, id: uuid::Uuid) -> Result<()> {
    let path = ctx.config_path()?;
    let mut saved = config::load(&path)?;
    if saved.active_project.as_ref().is_some_and(|a| a.id == id) {
        saved.active_project = None;
        config::save(&path, &saved)?;
    }
    Ok(())
}

fn show(ctx: &mut Ctx<'_>, project: &Project) -> Result<()> {
    if ctx.json() {
        return ctx.print_json(project);
    }
    ctx.print(&fields(&[
        ("ID", project.id.to_string()),
        ("Name", project.name.clone()),
        ("System", yes_no(project.is_system).to_owned()),
        ("Created", project.created_at.clone()),
        ("Updated", project.updated_at.clone()),
    ]))
}

/// A project with how people sign in to its apps (`project get`, `project update`).
fn show_with_settings(ctx: &mut Ctx<'_>, project: &Project, settings: &ProjectSettings) -> Result<()> {
    if ctx.json() {
        let mut value = serde_json::to_value(project)?;
        value["settings"] = serde_json::to_value(settings)?;
        return ctx.print_json(&value);
    }
    show(ctx, project)?;
    let signup = match settings.signup {
        SignUpMode::Domains => format!("domains ({})", settings.signup_domains.join(", ")),
        mode => mode.as_str().to_owned(),
    };
    ctx.print(&fields(&[
        ("Sign-up", signup),
        (
            "Second factor",
            if settings.require_second_factor {
                "required"
            } else {
                "optional"
            }
            .to_owned(),
        ),
    ]))
}
