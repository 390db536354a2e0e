//! Configuration as plain data: defaults → TOML file → `GATEHOUSE_*` environment → command-line
//! flags (SPEC §2). Secret settings also accept `GATEHOUSE_<NAME>_FILE`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use figment::Figment;
use figment::providers::{Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

use gatehouse_core::outbound::{Allowed, OutboundPolicy};
use gatehouse_core::people::SignUpPolicy;

use crate::Overrides;

/// Every setting of `gatehouse serve`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: String,
    /// Where the embedded database and the master key file live.
    pub data_dir: PathBuf,
    /// `sqlite:…` or `postgres://…`; defaults to `<data_dir>/gatehouse.db`.
    pub database_url: Option<String>,
    /// Public base URL; defaults to `http://<listen>`.
    pub issuer: Option<String>,
    /// Master key file; defaults to `<data_dir>/master.key`, created (mode 0600) if missing.
    pub master_key_file: Option<PathBuf>,
    /// The master key itself (base64 or hex), instead of a file.
    pub master_key: Option<String>,
    /// The master key being replaced, during a rotation (`keys rotate-master`): what it wrapped
    /// is still readable until re-wrapped.
    pub previous_master_key_file: Option<PathBuf>,
    /// The previous master key itself, instead of a file.
    pub previous_master_key: Option<String>,
    /// `text` (default) or `json`.
    pub log_format: String,
    /// Write first-start credentials here as JSON (mode 0600).
    pub bootstrap_file: Option<PathBuf>,
    /// Email of the first admin (default `admin@localhost`... see [`Config::admin_email`]).
    pub admin_email: Option<String>,
    /// File holding the first admin's password; generated when absent.
    pub admin_password_file: Option<PathBuf>,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// How long a browser sign-in session lasts, in seconds (default 14 days).
    pub session_ttl_secs: i64,
    /// Scheduled signing-key rotation period, in days (SPEC §5.3, default 30).
    pub key_rotation_days: i64,
    /// `Cache-Control: max-age` of the JWKS in seconds; new keys are published this long before they sign.
    pub jwks_max_age_secs: i64,
    /// Algorithm of access tokens: `ES256` (default), `EdDSA` or `RS256`.
    pub access_token_alg: String,
    /// Seconds between keep-alive pings on room sockets (default 10, at most 15); a socket silent
    /// for two periods is dropped, so a dead participant is gone within 30 s.
    pub room_keepalive_secs: u64,
    /// Let the room secrets broker call third-party providers over plain http on loopback
    /// addresses (SPEC §9.6); for local testing only.
    pub allow_insecure_upstreams: bool,
    /// How long one call to a third-party provider may take, in seconds (default 10, 1–60).
    pub upstream_timeout_secs: u64,
    /// How long the LLM proxy gate waits for an upstream's answer to start, and then between two
    /// of its chunks, in seconds (default 300, 1–3600): 504 when the answer does not start.
    pub llm_timeout_secs: u64,
    /// Hosts (`idp.corp.example`) and networks (`10.20.0.0/16`, `fd00::/8`, or one address) that
    /// outbound calls may reach although the outbound policy refuses non-public addresses
    /// ([`gatehouse_core::outbound`]). The environment gives it comma-separated.
    pub outbound_allow: Vec<String>,
    /// Host names answered with these addresses instead of DNS, for tests and embedding; never
    /// read from the file or the environment. The addresses still pass the outbound policy.
    #[serde(skip)]
    pub resolve_overrides: BTreeMap<String, Vec<IpAddr>>,
    /// How long a client may take to send a request's headers, from its first byte (or, on a new
    /// connection, from the connect), in seconds (default 10, 1–300).
    pub header_read_timeout_secs: u64,
    /// How long a kept-alive connection may wait for its next request, in seconds (default 75,
    /// 1–3600).
    pub idle_timeout_secs: u64,
    /// Most connections open at once, room sockets included; beyond it new connections wait in
    /// the listen queue. Default 10,000, or less when the open-file limit is lower.
    pub max_connections: usize,
    /// Where sign-up, reset and invitation mail goes: `smtps://user@host:465`,
    /// `smtp://host:587?tls=required`, or plain `smtp://` to a loopback address. Unset: each
    /// message is written to a file under `<data_dir>/mail/`.
    pub smtp_url: Option<String>,
    /// The password of the `smtp_url` user (also `GATEHOUSE_SMTP_PASSWORD_FILE`).
    pub smtp_password: Option<String>,
    /// The sender of mail (`Name <address>` or an address).
    pub smtp_from: String,
    /// Who may sign up at `/signup`: `closed` (default), `invite`, `open` or `domains`.
    pub signup: String,
    /// The email domains that may sign up with `signup = "domains"`. The environment gives them
    /// comma-separated.
    pub signup_domains: Vec<String>,
    /// Upstream identity providers for "Continue with …" (config file only: `[[identity_providers]]`).
    pub identity_providers: Vec<crate::identity_providers::IdentityProviderSettings>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|u| redact_url(u)))
            .field("issuer", &self.issuer)
            .field("master_key_file", &self.master_key_file)
            .field("master_key", &self.master_key.as_ref().map(|_| "[redacted]"))
            .field("previous_master_key_file", &self.previous_master_key_file)
            .field(
                "previous_master_key",
                &self.previous_master_key.as_ref().map(|_| "[redacted]"),
            )
            .field("log_format", &self.log_format)
            .field("smtp_url", &self.smtp_url)
            .field("smtp_password", &self.smtp_password.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("gatehouse-data"),
            database_url: None,
            issuer: None,
            master_key_file: None,
            master_key: None,
            previous_master_key_file: None,
            previous_master_key: None,
            log_format: "text".into(),
            bootstrap_file: None,
            admin_email: None,
            admin_password_file: None,
            max_body_bytes: 256 * 1024,
            session_ttl_secs: 14 * 86_400,
            key_rotation_days: 30,
            jwks_max_age_secs: 300,
            access_token_alg: "ES256".into(),
            room_keepalive_secs: 10,
            allow_insecure_upstreams: false,
            upstream_timeout_secs: 10,
            llm_timeout_secs: 300,
            outbound_allow: Vec::new(),
            resolve_overrides: BTreeMap::new(),
            header_read_timeout_secs: 10,
            idle_timeout_secs: 75,
            max_connections: connections_the_fd_limit_allows()
                .map_or(DEFAULT_MAX_CONNECTIONS, |allowed| allowed.min(DEFAULT_MAX_CONNECTIONS)),
            smtp_url: None,
            smtp_password: None,
            smtp_from: "Gatehouse <gatehouse@localhost>".into(),
            signup: "closed".into(),
            signup_domains: Vec::new(),
            identity_providers: Vec::new(),
        }
    }
}

/// The connection cap where the open-file limit does not call for less.
const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// File descriptors kept for everything but client connections: the database pool, SQLite's
/// files, calls to third-party providers, the log.
const RESERVED_FDS: usize = 128;

/// How many client connections the process's open-file limit (`RLIMIT_NOFILE`, soft) leaves room
/// for, read from `/proc/self/limits`; `None` where that file does not exist (not Linux) or says
/// "unlimited".
pub fn connections_the_fd_limit_allows() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let soft = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse::<usize>()
        .ok()?;
    Some(soft.saturating_sub(RESERVED_FDS).max(16))
}

/// Settings whose value may come from a file named by `GATEHOUSE_<NAME>_FILE`.
const SECRET_SETTINGS: &[&str] = &["DATABASE_URL", "MASTER_KEY", "PREVIOUS_MASTER_KEY", "SMTP_PASSWORD"];

impl Config {
    /// Layers the sources; `env` is the process environment (a parameter so tests need not touch it).
    pub fn load(overrides: &Overrides, env: &[(String, String)]) -> anyhow::Result<(Self, Vec<String>)> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let from_env = env
            .iter()
            .find(|(k, _)| k == "GATEHOUSE_CONFIG")
            .map(|(_, v)| PathBuf::from(v));
        if let Some(path) = overrides.config_file.clone().or(from_env) {
            anyhow::ensure!(path.exists(), "config file {} does not exist", path.display());
            figment = figment.merge(Toml::file(&path));
        }
        let defaults = serde_json::to_value(Config::default())?;
        let known: Vec<String> = defaults
            .as_object()
            .map(|m| m.keys().map(|k| k.to_uppercase()).collect())
            .unwrap_or_default();
        let mut unknown = Vec::new();
        let mut vars: Vec<(String, String)> = Vec::new();
        for (k, v) in env {
            let Some(name) = k.strip_prefix("GATEHOUSE_") else {
                continue;
            };
            if known.iter().any(|n| n == name) {
                vars.push((name.to_owned(), v.clone()));
            } else if let Some(base) = name.strip_suffix("_FILE").filter(|b| SECRET_SETTINGS.contains(b)) {
                let contents = std::fs::read_to_string(v).with_context(|| format!("reading {k}"))?;
                vars.push((base.to_owned(), contents.trim().to_owned()));
            } else if !is_client_variable(name) {
                unknown.push(k.clone());
            }
        }
        for (name, value) in vars {
            // Variables are text; switches and numbers are read as what their setting holds.
            let key = name.to_lowercase();
            match defaults.get(&key) {
                Some(serde_json::Value::Bool(_)) => {
                    let on = value
                        .trim()
                        .parse::<bool>()
                        .map_err(|_| anyhow::anyhow!("GATEHOUSE_{name} must be true or false"))?;
                    figment = figment.merge((key, on));
                }
                Some(serde_json::Value::Number(_)) => {
                    let n = value
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| anyhow::anyhow!("GATEHOUSE_{name} must be a whole number"))?;
                    figment = figment.merge((key, n));
                }
                Some(serde_json::Value::Array(_)) => {
                    let items: Vec<&str> = value.split(',').map(str::trim).filter(|i| !i.is_empty()).collect();
                    figment = figment.merge((key, items));
                }
                _ => figment = figment.merge((key, value)),
            }
        }
        figment = figment.merge(Serialized::globals(OverrideLayer::from(overrides)));
        let config: Config = figment.extract().context("invalid configuration")?;
        anyhow::ensure!(
            matches!(config.log_format.as_str(), "text" | "json"),
            "log_format must be text or json"
        );
        anyhow::ensure!(
            gatehouse_core::jose::SigningAlg::parse(&config.access_token_alg).is_some(),
            "access_token_alg must be ES256, EdDSA or RS256"
        );
        anyhow::ensure!(config.session_ttl_secs >= 60, "session_ttl_secs must be at least 60");
        anyhow::ensure!(config.key_rotation_days >= 1, "key_rotation_days must be at least 1");
        within("room_keepalive_secs", config.room_keepalive_secs, 1..=15)?;
        within("upstream_timeout_secs", config.upstream_timeout_secs, 1..=60)?;
        within("llm_timeout_secs", config.llm_timeout_secs, 1..=3600)?;
        within("header_read_timeout_secs", config.header_read_timeout_secs, 1..=300)?;
        within("idle_timeout_secs", config.idle_timeout_secs, 1..=3600)?;
        within("max_connections", config.max_connections, 1..=1_000_000)?;
        within("jwks_max_age_secs", config.jwks_max_age_secs, 0..=86_400)?;
        config.outbound_policy()?;
        config.signup_policy()?;
        crate::identity_providers::resolve_all(&config.identity_providers)?;
        Ok((config, unknown))
    }

    /// The authorization server's settings for `issuer`.
    pub fn provider(&self, issuer: &str) -> anyhow::Result<gatehouse_core::service::ProviderConfig> {
        let mut p = gatehouse_core::service::ProviderConfig::new(issuer);
        p.session_ttl_secs = self.session_ttl_secs;
        p.key_rotation_secs = self.key_rotation_days * 86_400;
        p.jwks_max_age_secs = self.jwks_max_age_secs;
        p.access_token_alg = gatehouse_core::jose::SigningAlg::parse(&self.access_token_alg)
            .unwrap_or(gatehouse_core::jose::SigningAlg::Es256);
        p.signup = self.signup_policy().unwrap_or_default();
        p.identity_providers = crate::identity_providers::resolve_all(&self.identity_providers)?;
        Ok(p)
    }

    /// Who may sign up, as `signup` and `signup_domains` say.
    pub fn signup_policy(&self) -> anyhow::Result<SignUpPolicy> {
        SignUpPolicy::parse(&self.signup, &self.signup_domains).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The policy of calls made on someone's behalf: loopback only with
    /// `allow_insecure_upstreams`, other non-public addresses only where `outbound_allow` names them.
    pub fn outbound_policy(&self) -> anyhow::Result<OutboundPolicy> {
        let allowed = self
            .outbound_allow
            .iter()
            .map(|entry| entry.parse::<Allowed>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|why| anyhow::anyhow!("outbound_allow: {why}"))?;
        Ok(OutboundPolicy::new(self.allow_insecure_upstreams, allowed))
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("gatehouse.db").display()))
    }

    /// The public base URL, without a trailing slash.
    pub fn issuer(&self, bound: &str) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The master key file path.
    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// The first admin's email.
    pub fn admin_email(&self) -> String {
        self.admin_email
            .clone()
            .unwrap_or_else(|| "admin@gatehouse.localhost".into())
    }
}

/// Refuses a setting outside `range`, naming it.
fn within<T: PartialOrd + std::fmt::Display>(
    name: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        range.contains(&value),
        "{name} must be between {} and {}",
        range.start(),
        range.end()
    );
    Ok(())
}

/// Variables the CLI reads; not settings of the server, so not reported as unknown.
fn is_client_variable(name: &str) -> bool {
    matches!(
        name,
        "CONFIG" | "URL" | "API_KEY" | "PROJECT" | "TEST_POSTGRES_URL" | "TEST_BROWSER" | "TEST_SMTP" | "LOG"
    )
}

/// The flags given on the command line, as a figment layer of only the set values.
#[derive(Serialize)]
struct OverrideLayer {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    master_key_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_master_key_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bootstrap_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    admin_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    admin_password_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_insecure_upstreams: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outbound_allow: Option<Vec<String>>,
}

impl From<&Overrides> for OverrideLayer {
    fn from(o: &Overrides) -> Self {
        Self {
            listen: o.listen.clone(),
            data_dir: o.data_dir.clone(),
            database_url: o.database_url.clone(),
            issuer: o.issuer.clone(),
            master_key_file: o.master_key_file.clone(),
            previous_master_key_file: o.previous_master_key_file.clone(),
            log_format: o.log_format.clone(),
            bootstrap_file: o.bootstrap_file.clone(),
            admin_email: o.admin_email.clone(),
            admin_password_file: o.admin_password_file.clone(),
            allow_insecure_upstreams: o.allow_insecure_upstreams,
            outbound_allow: o.outbound_allow.clone(),
        }
    }
}

/// A database URL with its password removed, for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Creates `dir` with mode 0700 if it does not exist.
pub fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Creates a new file readable only by its owner (mode 0600); fails if it exists.
pub fn create_private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path).with_context(|| format!("creating {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let (c, unknown) = Config::load(&Overrides::default(), &[]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert!(c.database_url().starts_with("sqlite://gatehouse-data/"));
        assert_eq!(c.master_key_path(), PathBuf::from("gatehouse-data/master.key"));
        assert!(unknown.is_empty());
    }

    #[test]
    fn switches_are_read_from_the_environment() {
        let load = |v: &str| {
            Config::load(
                &Overrides::default(),
                &env(&[("GATEHOUSE_ALLOW_INSECURE_UPSTREAMS", v)]),
            )
        };
        assert!(load("true").unwrap().0.allow_insecure_upstreams);
        assert!(!load("false").unwrap().0.allow_insecure_upstreams);
        let refused = load("yes").unwrap_err().to_string();
        assert!(
            refused.contains("GATEHOUSE_ALLOW_INSECURE_UPSTREAMS must be true or false"),
            "{refused}"
        );
        let timeout = Config::load(&Overrides::default(), &env(&[("GATEHOUSE_UPSTREAM_TIMEOUT_SECS", "3")]));
        assert_eq!(timeout.unwrap().0.upstream_timeout_secs, 3);
    }

    #[test]
    fn the_outbound_allow_list_comes_from_toml_env_or_flags_and_is_checked() {
        let dir = std::env::temp_dir().join(format!("gh-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml = dir.join("gatehouse.toml");
        std::fs::write(&toml, "outbound_allow = [\"10.20.0.0/16\", \"idp.corp.example\"]\n").unwrap();
        let from_file = Overrides {
            config_file: Some(toml.clone()),
            ..Default::default()
        };
        let (c, _) = Config::load(&from_file, &[]).unwrap();
        assert_eq!(c.outbound_allow, ["10.20.0.0/16", "idp.corp.example"]);
        assert!(c.outbound_policy().unwrap().check_url("https://10.20.3.4/t").is_ok());
        assert!(c.outbound_policy().unwrap().check_url("https://10.21.3.4/t").is_err());

        let (c, _) = Config::load(
            &from_file,
            &env(&[("GATEHOUSE_OUTBOUND_ALLOW", " fd00::/8, 169.254.169.254 ,")]),
        )
        .unwrap();
        assert_eq!(
            c.outbound_allow,
            ["fd00::/8", "169.254.169.254"],
            "the environment replaces the file"
        );
        let flags = Overrides {
            outbound_allow: Some(vec!["idp.other.example".into()]),
            ..from_file
        };
        let (c, _) = Config::load(&flags, &env(&[("GATEHOUSE_OUTBOUND_ALLOW", "fd00::/8")])).unwrap();
        assert_eq!(c.outbound_allow, ["idp.other.example"], "flags replace both");

        let refused = Config::load(
            &Overrides::default(),
            &env(&[("GATEHOUSE_OUTBOUND_ALLOW", "10.0.0.1/8")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            refused.contains("outbound_allow") && refused.contains("10.0.0.1/8"),
            "{refused}"
        );
        assert_eq!(Config::default().outbound_allow, Vec::<String>::new());
        std::fs::write(&toml, "resolve_overrides = { \"x.example\" = [\"10.0.0.1\"] }\n").unwrap();
        let only_for_embedding = Overrides {
            config_file: Some(toml),
            ..Default::default()
        };
        assert!(Config::load(&only_for_embedding, &[]).is_err(), "not a file setting");
        let (c, unknown) = Config::load(&Overrides::default(), &env(&[("GATEHOUSE_RESOLVE_OVERRIDES", "x")])).unwrap();
        assert!(c.resolve_overrides.is_empty());
        assert_eq!(unknown, ["GATEHOUSE_RESOLVE_OVERRIDES"], "nor an environment one");
    }

    #[test]
    fn connection_limits_are_read_and_bounded() {
        let load = |pairs: &[(&str, &str)]| Config::load(&Overrides::default(), &env(pairs));
        let (c, _) = load(&[
            ("GATEHOUSE_MAX_CONNECTIONS", "20"),
            ("GATEHOUSE_HEADER_READ_TIMEOUT_SECS", "5"),
            ("GATEHOUSE_IDLE_TIMEOUT_SECS", "30"),
        ])
        .unwrap();
        assert_eq!(
            (c.max_connections, c.header_read_timeout_secs, c.idle_timeout_secs),
            (20, 5, 30)
        );
        assert!(load(&[("GATEHOUSE_MAX_CONNECTIONS", "0")]).is_err());
        assert!(load(&[("GATEHOUSE_HEADER_READ_TIMEOUT_SECS", "0")]).is_err());
        assert!(load(&[("GATEHOUSE_IDLE_TIMEOUT_SECS", "0")]).is_err());
        let default = Config::default().max_connections;
        assert!((16..=DEFAULT_MAX_CONNECTIONS).contains(&default), "{default}");
        if let Some(allowed) = connections_the_fd_limit_allows() {
            assert!(default <= allowed);
        }
    }

    #[test]
    fn env_overrides_toml_and_flags_override_env() {
        let dir = std::env::temp_dir().join(format!("gh-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml = dir.join("gatehouse.toml");
        std::fs::write(
            &toml,
            "listen = \"0.0.0.0:1\"\nlog_format = \"json\"\nissuer = \"https://toml.example\"\n",
        )
        .unwrap();
        let o = Overrides {
            config_file: Some(toml),
            issuer: Some("https://flag.example".into()),
            ..Default::default()
        };
        let (c, _) = Config::load(
            &o,
            &env(&[
                ("GATEHOUSE_LISTEN", "127.0.0.1:2"),
                ("GATEHOUSE_ISSUER", "https://env.example"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:2");
        assert_eq!(c.log_format, "json");
        assert_eq!(c.issuer.as_deref(), Some("https://flag.example"));
    }

    #[test]
    fn secret_settings_are_read_from_file_variables() {
        let path = std::env::temp_dir().join(format!("gh-db-url-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, "postgres://u:pw@db/x\n").unwrap();
        let (c, _) = Config::load(
            &Overrides::default(),
            &env(&[("GATEHOUSE_DATABASE_URL_FILE", path.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(c.database_url.as_deref(), Some("postgres://u:pw@db/x"));
        assert!(!format!("{c:?}").contains(":pw@"));
    }

    #[test]
    fn mail_and_sign_up_settings_are_read_and_checked() {
        let path = std::env::temp_dir().join(format!("gh-smtp-pw-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, "smtp-hunter2\n").unwrap();
        let (c, unknown) = Config::load(
            &Overrides::default(),
            &env(&[
                ("GATEHOUSE_SMTP_URL", "smtps://mailer@smtp.example.com:465"),
                ("GATEHOUSE_SMTP_PASSWORD_FILE", path.to_str().unwrap()),
                ("GATEHOUSE_SIGNUP", "domains"),
                ("GATEHOUSE_SIGNUP_DOMAINS", "corp.example, example.org"),
            ]),
        )
        .unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(c.smtp_password.as_deref(), Some("smtp-hunter2"));
        assert!(!format!("{c:?}").contains("smtp-hunter2"));
        assert_eq!(
            c.provider("https://id.example").unwrap().signup,
            SignUpPolicy::Domains(vec!["corp.example".into(), "example.org".into()])
        );
        assert_eq!(
            Config::default().provider("https://id.example").unwrap().signup,
            SignUpPolicy::Closed
        );
        let refused = |pairs: &[(&str, &str)]| {
            Config::load(&Overrides::default(), &env(pairs))
                .unwrap_err()
                .to_string()
        };
        assert!(refused(&[("GATEHOUSE_SIGNUP", "maybe")]).contains("signup"));
        assert!(refused(&[("GATEHOUSE_SIGNUP", "domains")]).contains("signup_domains"));
    }

    #[test]
    fn unknown_variables_are_reported_and_bad_values_refused() {
        let (_, unknown) = Config::load(
            &Overrides::default(),
            &env(&[("GATEHOUSE_LISTNE", "x"), ("GATEHOUSE_URL", "y")]),
        )
        .unwrap();
        assert_eq!(unknown, ["GATEHOUSE_LISTNE"]);
        let (c, unknown) = Config::load(
            &Overrides::default(),
            &env(&[("GATEHOUSE_MASTER_KEY_FILE", "/no/such/master.key")]),
        )
        .unwrap();
        assert_eq!(
            c.master_key_file,
            Some(PathBuf::from("/no/such/master.key")),
            "a path, not a file to read"
        );
        assert!(c.master_key.is_none() && unknown.is_empty());
        assert!(Config::load(&Overrides::default(), &env(&[("GATEHOUSE_LOG_FORMAT", "xml")])).is_err());
    }
}
