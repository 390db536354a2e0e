//! `gatehouse llm keys set|show|delete`, `gatehouse llm usage` and `gatehouse llm limits
//! show|set`: the LLM proxy gate's provider keys, the usage the upstreams reported, and the
//! project's limits (SPEC §8).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use gatehouse_types::{
    LlmLimits, LlmLimitsInput, LlmProvider, LlmProviderInput, LlmProviderName, LlmRates, LlmUsageQuery,
};

use crate::context::{Ctx, read_secret_file};
use crate::output::Table;

/// LLM proxy gate commands.
#[derive(Debug, Subcommand)]
pub enum LlmCommand {
    /// Provider keys: set one (write-only), show whether one is set, delete one.
    #[command(subcommand)]
    Keys(LlmKeysCommand),
    /// Usage counted from the upstreams' own numbers.
    Usage {
        /// Start, in seconds since the epoch [default: a day before --to].
        #[arg(long)]
        from: Option<i64>,
        /// End, in seconds since the epoch [default: now].
        #[arg(long)]
        to: Option<i64>,
        /// Comma-separated: minute, caller, provider, model.
        #[arg(long, default_value = "provider,model")]
        group_by: String,
    },
    /// Requests per minute and tokens per day, for the project and for each caller.
    #[command(subcommand)]
    Limits(LlmLimitsCommand),
}

/// Limit commands.
#[derive(Debug, Subcommand)]
pub enum LlmLimitsCommand {
    /// Show the project's limits.
    Show,
    /// Change the limits given (project admins); the others stay as they are.
    Set {
        /// The whole project's requests per minute (`none`: unlimited).
        #[arg(long, value_name = "N|none")]
        project_rpm: Option<Rate>,
        /// The whole project's tokens per day (`none`: unlimited).
        #[arg(long, value_name = "N|none")]
        project_tpd: Option<Rate>,
        /// Each caller's requests per minute (`none`: unlimited).
        #[arg(long, value_name = "N|none")]
        caller_rpm: Option<Rate>,
        /// Each caller's tokens per day (`none`: unlimited).
        #[arg(long, value_name = "N|none")]
        caller_tpd: Option<Rate>,
    },
}

/// A limit on the command line: a number, or `none` for no limit.
#[derive(Debug, Clone, Copy)]
pub struct Rate(Option<u64>);

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "none" {
            return Ok(Self(None));
        }
        s.parse()
            .map(|n| Self(Some(n)))
            .map_err(|_| format!("{s:?} is neither a whole number nor none"))
    }
}

/// Provider key commands.
#[derive(Debug, Subcommand)]
pub enum LlmKeysCommand {
    /// Set a provider's key and base URL.
    Set {
        provider: Provider,
        /// File holding the provider key (`-` for standard input); it never goes on the command line.
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// Upstream base URL as the provider's SDK writes it [default: the provider's public API].
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Show whether a key is set, and the base URL.
    Show { provider: Provider },
    /// Delete a provider's key and base URL.
    Delete { provider: Provider },
}

/// A provider the gate proxies.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Provider {
    Openai,
    Anthropic,
}

impl From<Provider> for LlmProviderName {
    fn from(p: Provider) -> Self {
        match p {
            Provider::Openai => Self::Openai,
            Provider::Anthropic => Self::Anthropic,
        }
    }
}

/// Runs an LLM command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: LlmCommand) -> Result<()> {
    // The key file is read before the credential, so a usage mistake is reported as such.
    let key = match &cmd {
        LlmCommand::Keys(LlmKeysCommand::Set { key_file, .. }) => Some(read_secret_file(key_file)?),
        _ => None,
    };
    let client = ctx.client().await?;
    let project = ctx.project_id(&client).await?;
    match cmd {
        LlmCommand::Keys(LlmKeysCommand::Set { provider, base_url, .. }) => {
            let input = LlmProviderInput {
                api_key: key.unwrap_or_default().into(),
                base_url,
            };
            let p = client.put_llm_provider(project, provider.into(), &input).await?;
            show(ctx, &p)
        }
        LlmCommand::Keys(LlmKeysCommand::Show { provider }) => {
            let p = client.get_llm_provider(project, provider.into()).await?;
            show(ctx, &p)
        }
        LlmCommand::Keys(LlmKeysCommand::Delete { provider }) => {
            client.delete_llm_provider(project, provider.into()).await?;
            ctx.line("deleted")
        }
        LlmCommand::Usage { from, to, group_by } => {
            let query = LlmUsageQuery {
                from,
                to,
                group_by: Some(group_by),
            };
            let usage = client.llm_usage(project, &query).await?;
            if ctx.json() {
                return ctx.print_json(&usage);
            }
            let mut table = Table::new(["MINUTE", "CALLER", "PROVIDER", "MODEL", "REQUESTS", "INPUT", "OUTPUT"]);
            for r in &usage.rows {
                let caller = match (&r.caller_kind, &r.caller_id) {
                    (Some(kind), Some(id)) => format!("{kind}:{id}"),
                    _ => String::new(),
                };
                let provider = r.provider.map(|p| format!("{p:?}").to_lowercase()).unwrap_or_default();
                table.row([
                    r.minute.clone().unwrap_or_default(),
                    caller,
                    provider,
                    r.model.clone().unwrap_or_default(),
                    r.requests.to_string(),
                    r.input_tokens.to_string(),
                    r.output_tokens.to_string(),
                ]);
            }
            ctx.print(&table.render())
        }
        LlmCommand::Limits(LlmLimitsCommand::Show) => {
            let limits = client.get_llm_limits(project).await?;
            show_limits(ctx, &limits)
        }
        LlmCommand::Limits(LlmLimitsCommand::Set {
            project_rpm,
            project_tpd,
            caller_rpm,
            caller_tpd,
        }) => {
            let current = client.get_llm_limits(project).await?;
            let change = |now: Option<u64>, given: Option<Rate>| given.map_or(now, |r| r.0);
            let input = LlmLimitsInput {
                project: LlmRates {
                    requests_per_minute: change(current.project.requests_per_minute, project_rpm),
                    tokens_per_day: change(current.project.tokens_per_day, project_tpd),
                },
                per_caller: LlmRates {
                    requests_per_minute: change(current.per_caller.requests_per_minute, caller_rpm),
                    tokens_per_day: change(current.per_caller.tokens_per_day, caller_tpd),
                },
            };
            let limits = client.put_llm_limits(project, &input).await?;
            show_limits(ctx, &limits)
        }
    }
}

fn show_limits(ctx: &mut Ctx<'_>, l: &LlmLimits) -> Result<()> {
    if ctx.json() {
        return ctx.print_json(l);
    }
    let rate = |r: Option<u64>| r.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
    let mut table = Table::new(["FOR", "REQUESTS PER MINUTE", "TOKENS PER DAY"]);
    for (whom, r) in [("the project", &l.project), ("each caller", &l.per_caller)] {
        table.row([whom.to_owned(), rate(r.requests_per_minute), rate(r.tokens_per_day)]);
    }
    ctx.print(&table.render())
}

fn show(ctx: &mut Ctx<'_>, p: &LlmProvider) -> Result<()> {
    if ctx.json() {
        return ctx.print_json(p);
    }
    let mut table = Table::new(["PROVIDER", "KEY", "BASE URL", "UPDATED"]);
    table.row([
        format!("{:?}", p.provider).to_lowercase(),
        if p.api_key_set { "set" } else { "not set" }.to_owned(),
        p.base_url.clone(),
        p.updated_at.clone().unwrap_or_default(),
    ]);
    ctx.print(&table.render())
}
