//! `serve` and `migrate`: hand the flags given on the command line to the server crate.
//!
//! The server layers its settings itself (defaults → TOML → `GATEHOUSE_*` environment, with
//! `*_FILE` variants → flags, SPEC §2), so these flags deliberately do not read the environment:
//! only what the user typed becomes an override.

use std::path::PathBuf;

use clap::Args;
use gatehouse_server::Overrides;

/// Settings `serve` and `migrate` share: where the configuration and the data are.
#[derive(Debug, Clone, Default, Args)]
pub struct StorageArgs {
    /// TOML configuration file (also GATEHOUSE_CONFIG).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded database and generated files (also GATEHOUSE_DATA_DIR)
    /// [server default: ./gatehouse-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL, `sqlite://…` or `postgres://…` (also GATEHOUSE_DATABASE_URL).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// File holding the 256-bit master key (also GATEHOUSE_MASTER_KEY_FILE).
    #[arg(long, value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
    /// File holding the master key being replaced, while `keys rotate-master` re-wraps what it
    /// wrapped (also GATEHOUSE_PREVIOUS_MASTER_KEY_FILE).
    #[arg(long, value_name = "FILE")]
    pub previous_master_key_file: Option<PathBuf>,
}

/// Flags of `gatehouse serve`. Each overrides the TOML file and the environment.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Address and port to listen on (also GATEHOUSE_LISTEN) [server default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Public base URL; every URL the server prints or puts in tokens derives from it
    /// (also GATEHOUSE_ISSUER).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Log format, `text` or `json` (also GATEHOUSE_LOG_FORMAT).
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// At first start, write the admin credentials and bootstrap API key to this file as JSON,
    /// mode 0600 (also GATEHOUSE_BOOTSTRAP_FILE).
    #[arg(long, value_name = "FILE")]
    pub bootstrap_file: Option<PathBuf>,
    /// Email of the first admin user (also GATEHOUSE_ADMIN_EMAIL).
    #[arg(long, value_name = "EMAIL")]
    pub admin_email: Option<String>,
    /// File holding the first admin's password (also GATEHOUSE_ADMIN_PASSWORD_FILE).
    #[arg(long, value_name = "FILE")]
    pub admin_password_file: Option<PathBuf>,
    /// Let the room secrets broker call third-party providers over plain http on loopback
    /// addresses, for local testing (also GATEHOUSE_ALLOW_INSECURE_UPSTREAMS).
    #[arg(long)]
    pub allow_insecure_upstreams: bool,
    /// A host or network (CIDR) that outbound calls may reach although it is not public, such as
    /// an identity provider on the internal network; repeatable or comma-separated, replacing the
    /// configured list (also GATEHOUSE_OUTBOUND_ALLOW, comma-separated).
    #[arg(long, value_name = "HOST|CIDR", value_delimiter = ',')]
    pub outbound_allow: Vec<String>,
}

/// Flags of `gatehouse migrate`.
#[derive(Debug, Clone, Default, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
}

impl From<ServeArgs> for Overrides {
    fn from(args: ServeArgs) -> Self {
        let ServeArgs {
            storage,
            listen,
            issuer,
            log_format,
            bootstrap_file,
            admin_email,
            admin_password_file,
            allow_insecure_upstreams,
            outbound_allow,
        } = args;
        Self {
            listen,
            issuer,
            log_format,
            bootstrap_file,
            admin_email,
            admin_password_file,
            allow_insecure_upstreams: allow_insecure_upstreams.then_some(true),
            outbound_allow: (!outbound_allow.is_empty()).then_some(outbound_allow),
            ..storage.into()
        }
    }
}

impl From<MigrateArgs> for Overrides {
    fn from(args: MigrateArgs) -> Self {
        args.storage.into()
    }
}

impl From<StorageArgs> for Overrides {
    fn from(args: StorageArgs) -> Self {
        Self {
            config_file: args.config,
            data_dir: args.data_dir,
            database_url: args.database_url,
            master_key_file: args.master_key_file,
            previous_master_key_file: args.previous_master_key_file,
            ..Self::default()
        }
    }
}

/// `gatehouse serve`: runs until SIGTERM/SIGINT.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    gatehouse_server::run_serve(args.into()).await
}

/// `gatehouse migrate`.
pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    gatehouse_server::run_migrate(args.into()).await
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn serve_overrides(args: &[&str]) -> Overrides {
        let cli = Cli::try_parse_from(args).expect("parses");
        match cli.command {
            Command::Serve(args) => args.into(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn only_given_flags_become_overrides() {
        let o = serve_overrides(&["gatehouse", "serve", "--listen", "0.0.0.0:9000"]);
        assert_eq!(o.listen.as_deref(), Some("0.0.0.0:9000"));
        assert!(o.config_file.is_none() && o.data_dir.is_none() && o.database_url.is_none());
        assert!(o.issuer.is_none() && o.log_format.is_none() && o.bootstrap_file.is_none());
        assert!(o.allow_insecure_upstreams.is_none() && o.outbound_allow.is_none());
    }

    #[test]
    fn every_serve_flag_reaches_the_server() {
        let o = serve_overrides(&[
            "gatehouse",
            "serve",
            "--config=c.toml",
            "--listen=l",
            "--data-dir=d",
            "--database-url=postgres://x",
            "--issuer=https://i",
            "--master-key-file=k",
            "--log-format=json",
            "--bootstrap-file=b.json",
            "--admin-email=a@example.com",
            "--admin-password-file=p",
            "--allow-insecure-upstreams",
            "--outbound-allow=10.20.0.0/16",
            "--outbound-allow",
            "idp.corp.example,fd00::/8",
        ]);
        assert_eq!(o.config_file, Some(PathBuf::from("c.toml")));
        assert_eq!(o.listen.as_deref(), Some("l"));
        assert_eq!(o.data_dir, Some(PathBuf::from("d")));
        assert_eq!(o.database_url.as_deref(), Some("postgres://x"));
        assert_eq!(o.issuer.as_deref(), Some("https://i"));
        assert_eq!(o.master_key_file, Some(PathBuf::from("k")));
        assert_eq!(o.log_format.as_deref(), Some("json"));
        assert_eq!(o.bootstrap_file, Some(PathBuf::from("b.json")));
        assert_eq!(o.admin_email.as_deref(), Some("a@example.com"));
        assert_eq!(o.admin_password_file, Some(PathBuf::from("p")));
        assert_eq!(o.allow_insecure_upstreams, Some(true));
        assert_eq!(
            o.outbound_allow.as_deref(),
            Some(&["10.20.0.0/16".to_owned(), "idp.corp.example".into(), "fd00::/8".into()][..])
        );
    }

    #[test]
    fn migrate_takes_only_storage_flags() {
        let cli = Cli::try_parse_from(["gatehouse", "migrate", "--database-url", "sqlite://x.db"]).expect("parses");
        let Command::Migrate(args) = cli.command else {
            panic!("expected migrate");
        };
        let o: Overrides = args.into();
        assert_eq!(o.database_url.as_deref(), Some("sqlite://x.db"));
        assert!(
            Cli::try_parse_from(["gatehouse", "migrate", "--listen", "x"]).is_err(),
            "--listen is not a migrate flag"
        );
    }
}
