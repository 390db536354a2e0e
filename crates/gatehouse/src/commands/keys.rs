//! `gatehouse keys rotate`: schedules the next signing key of every algorithm (SPEC §5.3);
//! `gatehouse keys rotate-master`: re-wraps what the master key wraps under a new one (SPEC §7.5).
//!
//! Like `migrate`, these work on the database directly (with the master key), not through the
//! REST API, so they take the same storage flags.

use std::io::IsTerminal as _;

use anyhow::Result;
use clap::{Args, Subcommand};
use gatehouse_server::ScheduledKey;
use serde::Serialize;

use crate::commands::serve::StorageArgs;
use crate::context::Ctx;
use crate::output::Table;

/// Signing key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Promote every algorithm's published *next* key to sign from one JWKS cache period on,
    /// and publish new *next* keys. Running servers pick the change up by themselves.
    Rotate(RotateArgs),
    /// Re-wrap every data key, signing key and the keyed-hash key still wrapped by the previous
    /// master key (`--previous-master-key-file`) under the master key (`--master-key-file`, the
    /// new one), while servers keep running. Run it once every node has both keys configured.
    RotateMaster(RotateArgs),
}

/// What `rotate-master` did, as `-o json` prints it.
#[derive(Debug, Serialize)]
struct RewrapReport {
    /// Fingerprint of the master key everything is now wrapped by.
    master_key: String,
    rewrapped: u64,
    already_current: u64,
}

/// Flags of `gatehouse keys rotate`: where the configuration and the data are.
#[derive(Debug, Clone, Default, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// One scheduled key as `-o json` prints it.
#[derive(Debug, Serialize)]
struct KeyRow<'a> {
    alg: &'a str,
    kid: &'a str,
    /// RFC 3339.
    activate_at: &'a str,
}

/// Runs a keys command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Rotate(args) => {
            let scheduled = gatehouse_server::run_keys_rotate(args.storage.into()).await?;
            print_scheduled(ctx, &scheduled)
        }
        KeysCommand::RotateMaster(args) => {
            let (master_key, done) =
                gatehouse_server::run_keys_rotate_master(args.storage.into(), progress_bar()).await?;
            let report = RewrapReport {
                master_key,
                rewrapped: done.rewrapped,
                already_current: done.current,
            };
            if ctx.json() {
                return ctx.print_json(&report);
            }
            ctx.line(&format!(
                "Re-wrapped {} value(s) under master key {} ({} already were). Once every node runs with the new key, remove the previous one from their configuration.",
                report.rewrapped, report.master_key, report.already_current
            ))
        }
    }
}

/// Progress on standard error: a bar on a terminal, a line per tenth otherwise.
fn progress_bar() -> impl FnMut(u64, u64) {
    const WIDTH: u64 = 30;
    let terminal = std::io::stderr().is_terminal();
    let mut tenths_shown = 0;
    move |done, total| {
        if terminal {
            let filled = (done * WIDTH / total.max(1)) as usize;
            let empty = WIDTH as usize - filled;
            eprint!(
                "\rRe-wrapping [{}{}] {done}/{total}",
                "#".repeat(filled),
                " ".repeat(empty)
            );
            if done == total {
                eprintln!();
            }
        } else if done == total || done * 10 / total.max(1) > tenths_shown {
            tenths_shown = done * 10 / total.max(1);
            eprintln!("re-wrapped {done}/{total}");
        }
    }
}

fn print_scheduled(ctx: &mut Ctx<'_>, scheduled: &[ScheduledKey]) -> Result<()> {
    if ctx.json() {
        let rows: Vec<KeyRow<'_>> = scheduled
            .iter()
            .map(|k| KeyRow {
                alg: &k.alg,
                kid: &k.kid,
                activate_at: &k.activate_at,
            })
            .collect();
        return ctx.print_json(&rows);
    }
    let mut table = Table::new(["ALG", "KID", "SIGNS FROM"]);
    for k in scheduled {
        table.row([&k.alg, &k.kid, &k.activate_at]);
    }
    ctx.print(&table.render())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    #[test]
    fn rotate_takes_the_storage_flags_of_migrate() {
        let cli = Cli::try_parse_from([
            "gatehouse",
            "keys",
            "rotate",
            "--config=c.toml",
            "--data-dir=d",
            "--database-url=sqlite://x.db",
            "--master-key-file=k",
        ])
        .expect("parses");
        let Command::Keys(KeysCommand::Rotate(args)) = cli.command else {
            panic!("expected keys rotate");
        };
        let o: gatehouse_server::Overrides = args.storage.into();
        assert_eq!(o.database_url.as_deref(), Some("sqlite://x.db"));
        assert_eq!(o.data_dir, Some("d".into()));
        assert_eq!(o.master_key_file, Some("k".into()));
        assert_eq!(o.config_file, Some("c.toml".into()));
        assert!(Cli::try_parse_from(["gatehouse", "keys", "rotate", "--listen", "x"]).is_err());
    }

    #[test]
    fn scheduled_keys_print_as_a_table_or_json() {
        let keys = [ScheduledKey {
            alg: "ES256".into(),
            kid: "k1".into(),
            activate_at: "2030-01-01T00:00:00Z".into(),
        }];
        for (format, expected) in [
            ("table", "ALG    KID  SIGNS FROM\nES256  k1   2030-01-01T00:00:00Z\n"),
            (
                "json",
                "[\n  {\n    \"alg\": \"ES256\",\n    \"kid\": \"k1\",\n    \"activate_at\": \"2030-01-01T00:00:00Z\"\n  }\n]\n",
            ),
        ] {
            let cli = Cli::try_parse_from(["gatehouse", "-o", format, "keys", "rotate"]).expect("parses");
            let mut out = Vec::new();
            let mut ctx = Ctx::new(&cli.global, &mut out);
            print_scheduled(&mut ctx, &keys).expect("prints");
            assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
        }
    }
}
