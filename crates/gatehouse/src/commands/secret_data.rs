//! The data of a project secret (SPEC §7.6): building it from flags and files, and decoding it.
//!
//! `keys` data is a JSON object of environment variables; `docker` data is
//! `{server, username, password, email}`. Both travel base64-encoded (standard alphabet, padded)
//! in `data_base64`. Error messages name lines and keys, never values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use clap::{Args, ValueEnum};
use gatehouse_client::types::secret::SecretString;
use serde::{Deserialize, Serialize};

use crate::UsageError;
use crate::context::{read_input, read_secret_file};

/// The two kinds of project secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SecretKind {
    /// Environment variables (`--from-env-file` or `--data`).
    Keys,
    /// Container registry credentials (`--registry`, `--username`, `--password-file`, `--email`).
    Docker,
}

impl SecretKind {
    /// The wire value of `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keys => "keys",
            Self::Docker => "docker",
        }
    }
}

/// Where a secret's data comes from. `keys` and `docker` flags are exclusive.
#[derive(Debug, Clone, Default, Args)]
pub struct SecretDataArgs {
    /// keys: read `NAME=value` lines from a dotenv-style file (`-` = stdin).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["data", "registry", "username", "password_file", "email"])]
    pub from_env_file: Option<PathBuf>,
    /// keys: a JSON object of variables, `@FILE` to read it from a file, or `-` for stdin.
    #[arg(long, value_name = "JSON", conflicts_with_all = ["registry", "username", "password_file", "email"])]
    pub data: Option<String>,
    /// docker: the registry server, e.g. `ghcr.io` (the data's `server` field; `--server` is
    /// the Gatehouse URL).
    #[arg(long, value_name = "HOST")]
    pub registry: Option<String>,
    /// docker: registry user name.
    #[arg(long)]
    pub username: Option<String>,
    /// docker: file holding the registry password or token (`-` = stdin).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// docker: email of the registry account.
    #[arg(long)]
    pub email: Option<String>,
}

impl SecretDataArgs {
    /// The kind these flags describe, if any data flag is given.
    fn implied_kind(&self) -> Option<SecretKind> {
        if self.from_env_file.is_some() || self.data.is_some() {
            Some(SecretKind::Keys)
        } else if self.registry.is_some()
            || self.username.is_some()
            || self.password_file.is_some()
            || self.email.is_some()
        {
            Some(SecretKind::Docker)
        } else {
            None
        }
    }
}

/// Registry credentials, the `docker` data shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerCredential {
    pub server: String,
    pub username: String,
    pub password: SecretString,
    #[serde(default)]
    pub email: String,
}

/// The kind to send: `--type` if given, else implied by the data flags; they must agree.
pub fn resolve_kind(given: Option<SecretKind>, args: &SecretDataArgs) -> Result<Option<SecretKind>, UsageError> {
    match (given, args.implied_kind()) {
        (Some(kind), Some(implied)) if kind != implied => Err(UsageError::new(format!(
            "--type {} does not match the data flags given (they describe a {} secret)",
            kind.as_str(),
            implied.as_str()
        ))),
        (given, implied) => Ok(given.or(implied)),
    }
}

/// Reads and checks the data of a `kind` secret, returned as the JSON bytes to encode.
pub fn load_data(kind: SecretKind, args: &SecretDataArgs) -> Result<Vec<u8>> {
    match kind {
        SecretKind::Keys => {
            let vars = match (&args.from_env_file, &args.data) {
                (Some(path), _) => {
                    parse_env_file(&read_input(path)?).with_context(|| format!("reading {}", path.display()))?
                }
                (None, Some(data)) => {
                    let text = match data.strip_prefix('@') {
                        Some(path) => read_input(Path::new(path))?,
                        None if data == "-" => read_input(Path::new("-"))?,
                        None => data.clone(),
                    };
                    parse_json_map(&text).context("--data")?
                }
                (None, None) => {
                    return Err(UsageError::new("a keys secret needs --from-env-file FILE or --data JSON").into());
                }
            };
            Ok(serde_json::to_vec(&vars)?)
        }
        SecretKind::Docker => {
            let (Some(server), Some(username), Some(password_file)) =
                (&args.registry, &args.username, &args.password_file)
            else {
                return Err(UsageError::new("a docker secret needs --registry, --username and --password-file").into());
            };
            let credential = DockerCredential {
                server: server.clone(),
                username: username.clone(),
                password: read_secret_file(password_file)?.into(),
                email: args.email.clone().unwrap_or_default(),
            };
            Ok(serde_json::to_vec(&credential)?)
        }
    }
}

/// Parses dotenv-style text: `NAME=value` lines, `#` comments, optional `export `, values
/// optionally in `'single'` (literal) or `"double"` quotes (`\n \r \t \" \\` escapes).
/// A later assignment of the same name wins, as in a shell.
pub fn parse_env_file(text: &str) -> Result<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let n = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((name, value)) = line.split_once('=') else {
            bail!("line {n}: expected NAME=value");
        };
        let name = name.trim();
        check_name(name).with_context(|| format!("line {n}"))?;
        let value = parse_env_value(value.trim_start()).with_context(|| format!("line {n} ({name})"))?;
        vars.insert(name.to_owned(), value);
    }
    if vars.is_empty() {
        bail!("no variables found");
    }
    Ok(vars)
}

fn parse_env_value(value: &str) -> Result<String> {
    let (parsed, rest) = if let Some(body) = value.strip_prefix('\'') {
        let end = body.find('\'').ok_or_else(|| anyhow!("unterminated single quote"))?;
        (body[..end].to_owned(), &body[end + 1..])
    } else if let Some(body) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some(other @ ('"' | '\\' | '$')) => out.push(other),
                    Some(other) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        let end = end.ok_or_else(|| anyhow!("unterminated double quote"))?;
        (out, &body[end..])
    } else {
        // Unquoted: a `#` after whitespace starts a comment.
        let cut = value
            .char_indices()
            .find(|&(i, c)| c == '#' && value[..i].ends_with([' ', '\t']))
            .map_or(value.len(), |(i, _)| i);
        (value[..cut].trim_end().to_owned(), "")
    };
    let rest = rest.trim_start();
    if !rest.is_empty() && !rest.starts_with('#') {
        bail!("unexpected text after the closing quote");
    }
    Ok(parsed)
}

/// Parses a JSON object of environment variables; every value must be a string.
pub fn parse_json_map(text: &str) -> Result<BTreeMap<String, String>> {
    let value: serde_json::Value = serde_json::from_str(text).context("invalid JSON")?;
    let serde_json::Value::Object(map) = value else {
        bail!("expected a JSON object of NAME: \"value\" pairs");
    };
    let mut vars = BTreeMap::new();
    for (name, value) in map {
        check_name(&name)?;
        let serde_json::Value::String(value) = value else {
            bail!("the value of {name} must be a string");
        };
        vars.insert(name, value);
    }
    if vars.is_empty() {
        bail!("no variables found");
    }
    Ok(vars)
}

/// Environment variable names: `[A-Za-z_][A-Za-z0-9_]*`.
fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(anyhow!("{name:?} is not a valid variable name"))
    }
}

/// `data_base64` of a request body.
pub fn encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes `data_base64`, accepting either alphabet, padded or not.
pub fn decode(data_base64: &str) -> Result<Vec<u8>> {
    let text = data_base64.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| anyhow!("the secret's data is not valid base64"))
}

#[cfg(test)]
#[path = "secret_data_tests.rs"]
mod tests;
