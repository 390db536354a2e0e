//! The command line: global options and the command tree (clap derive).
//!
//! Argument structs of each resource live next to their handlers in [`crate::commands`]; this
//! module only assembles the tree. No subcommand may reuse the name of a global option
//! (`server`, `api_key`, `project`, `output`, `cli_config`): clap would silently let the
//! subcommand's argument shadow the global one.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use gatehouse_client::Credential;

use crate::commands::{
    api_key::ApiKeyCommand, audit::AuditCommand, auth::AuthCommand, client::ClientCommand, keys::KeysCommand,
    llm::LlmCommand, oauth2::OAuth2Command, project::ProjectCommand, room::RoomCommand, secret::SecretCommand,
    serve::MigrateArgs, serve::ServeArgs, token::TokenArgs, user::UserCommand,
};

/// Help heading of the options every command accepts.
const GLOBAL: &str = "Global options";

/// Default server URL when neither `--server` nor `GATEHOUSE_URL` is given.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Gatehouse: identity, OAuth and room secrets server, and its command-line client.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every client command understands.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Base URL of the Gatehouse server.
    #[arg(long, global = true, env = "GATEHOUSE_URL", default_value = DEFAULT_SERVER, value_name = "URL", help_heading = GLOBAL)]
    pub server: String,

    /// Project API key (or user access token) sent as the bearer credential [default: the
    /// sign-in saved by `gatehouse auth login`].
    #[arg(
        long,
        global = true,
        env = "GATEHOUSE_API_KEY",
        hide_env_values = true,
        value_name = "KEY",
        help_heading = GLOBAL
    )]
    pub api_key: Option<Credential>,

    /// Project to act on, by id or name [default: the one saved by `project activate`].
    #[arg(long, global = true, env = "GATEHOUSE_PROJECT", value_name = "ID|NAME", help_heading = GLOBAL)]
    pub project: Option<String>,

    /// Output format: aligned tables for people, JSON for scripts.
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table, help_heading = GLOBAL)]
    pub output: OutputFormat,

    /// CLI settings file; `auth login` keeps its tokens in credentials.json beside it
    /// [default: $XDG_CONFIG_HOME/gatehouse/cli.json or ~/.config/gatehouse/cli.json].
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub cli_config: Option<PathBuf>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Column-aligned tables and key/value listings.
    Table,
    /// The API's JSON body, pretty-printed.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (OAuth/OIDC, REST API, rooms, console) on one port.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(MigrateArgs),
    /// Signing keys of the server's tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign in to a server as a user (device authorization), sign out, and show who you are.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Projects (tenants) you belong to, and the active project.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// OAuth clients of the project.
    #[command(subcommand)]
    Client(ClientCommand),
    /// API keys of the project.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// API resources of the project: the audiences and scopes of its own APIs.
    #[command(subcommand)]
    Resource(crate::commands::resource::ResourceCommand),
    /// Upstream identity providers for "Continue with …" on the sign-in page (server admins).
    #[command(subcommand)]
    Idp(crate::commands::idp::IdpCommand),
    /// Rooms of the project, room grants, and connecting to a room as yourself.
    #[command(subcommand)]
    Room(RoomCommand),
    /// Third-party OAuth credentials of a room: ask a participant for consent, read stored
    /// tokens, list and delete them (the room secrets broker).
    #[command(subcommand)]
    Oauth2(OAuth2Command),
    /// Mint a participant token from a spec file: signed locally with an API key, or by the
    /// server for a signed-in user.
    Token(TokenArgs),
    /// Project secrets: environment variable sets and registry credentials.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// The project's audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The LLM proxy gate: provider keys and usage.
    #[command(subcommand)]
    Llm(LlmCommand),
    /// People of the project: invitations.
    #[command(subcommand)]
    User(UserCommand),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_work_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "gatehouse",
            "client",
            "list",
            "--server",
            "https://gate.example",
            "-o",
            "json",
            "--project",
            "demo",
        ])
        .expect("parses");
        assert_eq!(cli.global.server, "https://gate.example");
        assert_eq!(cli.global.output, OutputFormat::Json);
        assert_eq!(cli.global.project.as_deref(), Some("demo"));
    }

    #[test]
    fn api_key_never_appears_in_debug_output() {
        let cli = Cli::try_parse_from(["gatehouse", "--api-key", "ma-very-secret", "project", "list"]).expect("parses");
        assert!(!format!("{cli:?}").contains("very-secret"));
    }

    #[test]
    fn unknown_subcommand_is_a_usage_error() {
        let err = Cli::try_parse_from(["gatehouse", "frobnicate"]).expect_err("usage error");
        assert_eq!(err.exit_code(), 2);
    }
}
