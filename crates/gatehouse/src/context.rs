//! What every client command needs: the API client (API key or saved sign-in), the project it
//! acts on, and where to print.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow};
use gatehouse_client::Client;
use serde::Serialize;
use uuid::Uuid;

use crate::UsageError;
use crate::cli::{GlobalArgs, OutputFormat};
use crate::config::{self, ActiveProject};
use crate::credentials;

/// Shared state of one command run.
pub struct Ctx<'a> {
    global: &'a GlobalArgs,
    out: &'a mut (dyn Write + Send),
}

impl<'a> Ctx<'a> {
    pub fn new(global: &'a GlobalArgs, out: &'a mut (dyn Write + Send)) -> Self {
        Self { global, out }
    }

    /// The global options.
    pub fn global(&self) -> &GlobalArgs {
        self.global
    }

    /// Whether `-o json` was asked for.
    pub fn json(&self) -> bool {
        self.global.output == OutputFormat::Json
    }

    /// An authenticated client for `--server`: with the API key when one is given, else with
    /// the access token of `gatehouse auth login`, refreshed first when it is about to expire.
    /// Fails early, with a hint, when there is neither.
    pub async fn client(&self) -> Result<Client> {
        let server = &self.global.server;
        if let Some(credential) = &self.global.api_key {
            return Ok(Client::new(server, Some(credential.clone()))?);
        }
        let anonymous = Client::new(server, None)?;
        let token = credentials::access_token(&anonymous, &self.credentials_path()?, credentials::now()).await?;
        let token = token.ok_or_else(|| {
            anyhow!(
                "not signed in to {}: run `gatehouse auth login`, or pass --api-key or set GATEHOUSE_API_KEY",
                anonymous.base_url()
            )
        })?;
        Ok(Client::new(server, Some(token))?)
    }

    /// Path of `cli.json` (`--cli-config`, else the XDG default).
    pub fn config_path(&self) -> Result<PathBuf> {
        match &self.global.cli_config {
            Some(path) => Ok(path.clone()),
            None => config::default_path(),
        }
    }

    /// Path of `credentials.json`: beside `cli.json`.
    pub fn credentials_path(&self) -> Result<PathBuf> {
        Ok(credentials::path_beside(&self.config_path()?))
    }

    /// The saved active project, when it was activated against this same server.
    pub fn active_project(&self, client: &Client) -> Result<Option<ActiveProject>> {
        let saved = config::load(&self.config_path()?)?.active_project;
        match saved {
            Some(active) if active.server != client.base_url().as_str() => Err(anyhow!(
                "the active project {} ({}) was activated on {}, not {}; pass --project or run `gatehouse project activate` again",
                active.name,
                active.id,
                active.server,
                client.base_url()
            )),
            other => Ok(other),
        }
    }

    /// The project to act on: `--project`/`GATEHOUSE_PROJECT`, else the saved active project.
    pub async fn project_id(&self, client: &Client) -> Result<Uuid> {
        if let Some(given) = &self.global.project {
            return resolve_project(client, given).await;
        }
        match self.active_project(client)? {
            Some(active) => Ok(active.id),
            None => Err(UsageError::new(
                "no project selected: pass --project, set GATEHOUSE_PROJECT, or run `gatehouse project activate <ID|NAME>`",
            )
            .into()),
        }
    }

    /// Prints `value` as pretty JSON.
    pub fn print_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        writeln!(self.out, "{text}").context("writing output")
    }

    /// Prints text as is (tables and listings end in their own newline).
    pub fn print(&mut self, text: &str) -> Result<()> {
        self.out.write_all(text.as_bytes()).context("writing output")
    }

    /// Prints one line.
    pub fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}").context("writing output")
    }

    /// Pushes what was printed so far to the reader (before a long wait).
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().context("writing output")
    }

    /// Writes raw bytes (a `--out -` export).
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).context("writing output")?;
        self.out.flush().context("writing output")
    }
}

/// Warns on stderr, so that stdout stays clean for `-o json` and pipes.
pub fn warn(text: &str) {
    eprintln!("warning: {text}");
}

/// A project given by id, or by exact name among the caller's projects.
pub async fn resolve_project(client: &Client, given: &str) -> Result<Uuid> {
    if let Ok(id) = given.parse::<Uuid>() {
        return Ok(id);
    }
    let projects = client.list_projects().await?.projects;
    let mut matches = projects.iter().filter(|p| p.name == given);
    match (matches.next(), matches.next()) {
        (Some(project), None) => Ok(project.id),
        (Some(_), Some(_)) => Err(anyhow!("more than one project is named {given:?}; use its id")),
        (None, _) => Err(anyhow!("no project named {given:?} (see `gatehouse project list`)")),
    }
}

/// Reads a whole file, or standard input for `-`.
pub fn read_input(path: &std::path::Path) -> Result<String> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    }
}

/// Reads a one-value secret file (or stdin), dropping the trailing line break editors add.
pub fn read_secret_file(path: &std::path::Path) -> Result<String> {
    let text = read_input(path)?;
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Err(anyhow!("{} is empty", path.display()));
    }
    Ok(value.to_owned())
}
