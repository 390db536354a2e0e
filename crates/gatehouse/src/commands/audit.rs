//! `gatehouse audit list`: the project's audit log, newest first (SPEC §9.7).

use anyhow::Result;
use clap::Subcommand;

use crate::context::Ctx;
use crate::output::Table;

/// Audit log commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest first.
    List {
        /// Events per page, 1–1000 [server default: 100].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
        count: Option<u32>,
        /// Events to skip.
        #[arg(long)]
        offset: Option<u64>,
    },
}

/// Runs an audit command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: AuditCommand) -> Result<()> {
    let client = ctx.client().await?;
    let project = ctx.project_id(&client).await?;
    match cmd {
        AuditCommand::List { count, offset } => {
            let list = client.list_audit(project, count, offset).await?;
            if ctx.json() {
                return ctx.print_json(&list);
            }
            let mut table = Table::new(["TIME", "ACTOR", "ACTION", "TARGET"]);
            for e in &list.events {
                table.row([
                    e.at.clone(),
                    format!("{}:{}", e.actor_type, e.actor_id),
                    e.action.clone(),
                    format!("{}:{}", e.target_type, e.target_id),
                ]);
            }
            ctx.print(&table.render())?;
            let shown = offset.unwrap_or(0) + table.len() as u64;
            if shown < list.total {
                ctx.line(&format!(
                    "({} of {} events; use --offset {shown} for more)",
                    table.len(),
                    list.total
                ))?;
            }
            Ok(())
        }
    }
}
