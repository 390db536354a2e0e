//! `gatehouse user …`: people of the active project. `invite` sends an invitation by email (the
//! person becomes a member when they accept it on their account page); a server admin's
//! invitation of an existing account adds it at once.

use anyhow::Result;
use clap::Subcommand;
use gatehouse_types::{AddMember, Added};

use crate::context::Ctx;
use crate::output::{fields, yes_no};

/// User commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Invite a person to the project by email, with the rights they get when they accept.
    Invite {
        /// Their email address; they need no account yet.
        email: String,
        /// Make them a project admin.
        #[arg(long)]
        admin: bool,
        /// Let them manage clients, rooms, registrations and secrets.
        #[arg(long)]
        developer: bool,
        /// Let them create rooms.
        #[arg(long)]
        create_rooms: bool,
        /// Let them use the LLM proxy.
        #[arg(long)]
        llm_proxy: bool,
    },
}

/// Runs a user command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: UserCommand) -> Result<()> {
    let client = ctx.client().await?;
    let UserCommand::Invite {
        email,
        admin,
        developer,
        create_rooms,
        llm_proxy,
    } = cmd;
    let project = ctx.project_id(&client).await?;
    let input = AddMember {
        email: Some(email),
        is_admin: Some(admin),
        is_developer: Some(developer),
        can_create_rooms: Some(create_rooms),
        can_use_llm_proxy: Some(llm_proxy),
        ..AddMember::default()
    };
    let added = client.add_member(project, &input).await?;
    if ctx.json() {
        return ctx.print_json(&added);
    }
    match added {
        Added::Invitation(i) => {
            ctx.print(&fields(&[
                ("Invitation", i.id.to_string()),
                ("Email", i.email.clone()),
                ("Status", i.status.clone()),
                ("Admin", yes_no(i.is_admin).to_owned()),
                ("Developer", yes_no(i.is_developer).to_owned()),
                ("Expires", i.expires_at.clone()),
            ]))?;
            ctx.line(&format!(
                "{} becomes a member on accepting the invitation (mailed, and on their account page).",
                i.email
            ))
        }
        Added::Member(m) => ctx.line(&format!("{} ({}) is a member now.", m.email, m.user_id)),
    }
}
