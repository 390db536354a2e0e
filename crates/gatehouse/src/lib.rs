//! The `gatehouse` command: `serve`, `migrate` and `keys` work on the server and its storage;
//! every other command is a client of the REST API through `gatehouse-client` (SPEC §11),
//! authenticated with an API key or the sign-in of `auth login`.
//!
//! `main.rs` only parses arguments and reports errors; the commands live here so that tests can
//! run them in-process: parse a [`Cli`] with `Cli::try_parse_from` and call [`run_with_output`]
//! with a buffer.

pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod credentials;
pub mod device_flow;
pub mod output;

use std::fmt;
use std::io::Write;

pub use cli::Cli;

use cli::Command;
use context::Ctx;

/// Runs one command, printing results to standard output.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout();
    run_with_output(cli, &mut stdout).await
}

/// Runs one command, printing results to `out`. Warnings and one-time-secret notices still go
/// to standard error.
pub async fn run_with_output(cli: Cli, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let Cli { global, command } = cli;
    let mut ctx = Ctx::new(&global, out);
    match command {
        Command::Serve(args) => commands::serve::serve(args).await,
        Command::Migrate(args) => commands::serve::migrate(args).await,
        Command::Keys(cmd) => commands::keys::run(&mut ctx, cmd).await,
        Command::Auth(cmd) => commands::auth::run(&mut ctx, cmd).await,
        Command::Project(cmd) => commands::project::run(&mut ctx, cmd).await,
        Command::User(cmd) => commands::user::run(&mut ctx, cmd).await,
        Command::Client(cmd) => commands::client::run(&mut ctx, cmd).await,
        Command::ApiKey(cmd) => commands::api_key::run(&mut ctx, cmd).await,
        Command::Resource(cmd) => commands::resource::run(&mut ctx, cmd).await,
        Command::Idp(cmd) => commands::idp::run(&mut ctx, cmd).await,
        Command::Room(cmd) => commands::room::run(&mut ctx, cmd).await,
        Command::Oauth2(cmd) => commands::oauth2::run(&mut ctx, cmd).await,
        Command::Token(args) => commands::token::run(&mut ctx, args).await,
        Command::Secret(cmd) => commands::secret::run(&mut ctx, cmd).await,
        Command::Audit(cmd) => commands::audit::run(&mut ctx, cmd).await,
        Command::Llm(cmd) => commands::llm::run(&mut ctx, cmd).await,
    }
}

/// The process exit code for a failed command: 2 for usage errors (as clap uses), else 1.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if error.chain().any(|e| e.is::<UsageError>()) {
        2
    } else {
        1
    }
}

/// Whether the failure is only that stdout was closed early (`gatehouse client list | head`).
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A command line that parsed but does not make sense (`client update` with nothing to change,
/// mutually exclusive inputs clap cannot express). Exits with code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_with_two_and_others_with_one() {
        let usage = anyhow::Error::from(UsageError::new("nothing to update"));
        assert_eq!(exit_code(&usage), 2);
        assert_eq!(exit_code(&usage.context("client update")), 2);
        assert_eq!(exit_code(&anyhow::anyhow!("boom")), 1);
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let err = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe)).context("writing output");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
