//! The tokens of `gatehouse auth login` (`credentials.json`, beside `cli.json`), per server, and
//! how a command turns them into a fresh access token.
//!
//! The file holds refresh tokens, so it is only ever written whole with
//! [`config::write_private_atomic`]: created with mode 0600, then renamed into place. Refresh
//! tokens rotate on every use (SPEC §5.2), so the new one is saved before the access token it
//! came with is used; losing it would sign the user out.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow};
use gatehouse_client::types::TokenResponse;
use gatehouse_client::types::secret::SecretString;
use gatehouse_client::{Client, Credential};
use serde::{Deserialize, Serialize};

use crate::config;
use crate::context::warn;

/// Name of the credentials file, in the directory of `cli.json`.
pub const FILE_NAME: &str = "credentials.json";

/// The official public client of the CLI (SPEC §4.7): auth method `none`, device code and
/// refresh token grants.
pub const CLIENT_ID: &str = "gatehouse-cli";

/// What `auth login` asks for: an identity, a refresh token, and the management API.
pub const SCOPE: &str = "openid profile email offline_access gatehouse_api";

/// An access token this close to its expiry is refreshed before use, so that it cannot expire
/// between the check and the request (or on a clock a little behind the server's).
pub const REFRESH_MARGIN_SECS: u64 = 60;

/// Contents of `credentials.json`: one sign-in per server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Keyed by the server's normalised base URL (`Client::base_url`).
    #[serde(default)]
    pub servers: BTreeMap<String, StoredTokens>,
}

/// The tokens of one sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The client the tokens were issued to; refreshes and revocation name it.
    pub client_id: String,
    pub access_token: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretString>,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// The scopes granted.
    pub scope: String,
}

impl StoredTokens {
    /// The tokens of a token response received at `now`. A response without a refresh token
    /// keeps `previous_refresh` (a server that does not rotate).
    pub fn from_response(
        client_id: &str,
        response: TokenResponse,
        now: u64,
        previous_refresh: Option<SecretString>,
    ) -> Self {
        Self {
            client_id: client_id.to_owned(),
            access_token: response.access_token,
            refresh_token: response.refresh_token.or(previous_refresh),
            expires_at: now.saturating_add(response.expires_in),
            scope: response.scope,
        }
    }

    /// Whether the access token must be refreshed before it is used at `now`.
    pub fn needs_refresh(&self, now: u64) -> bool {
        now.saturating_add(REFRESH_MARGIN_SECS) >= self.expires_at
    }
}

/// Seconds since the Unix epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `credentials.json` in the directory of the CLI settings file `cli_config`.
pub fn path_beside(cli_config: &Path) -> PathBuf {
    match cli_config.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(FILE_NAME),
        _ => PathBuf::from(FILE_NAME),
    }
}

/// Reads `path`; a missing file means signed in nowhere. Warns when the file is readable by
/// other users (it was not written by this CLI, or its mode was changed).
pub fn load(path: &Path) -> Result<Credentials> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::default()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
            warn(&format!(
                "{} is readable by other users; run `chmod 600` on it",
                path.display()
            ));
        }
    }
    serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))
}

/// Writes `credentials` to `path` (mode 0600, atomically), or removes the file when it would
/// hold no sign-in.
pub fn save(path: &Path, credentials: &Credentials) -> Result<()> {
    if credentials.servers.is_empty() {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let mut json = serde_json::to_vec_pretty(credentials)?;
    json.push(b'\n');
    config::write_private_atomic(path, &json)
}

/// Saves the tokens of one server, keeping the other servers' sign-ins.
pub fn store(path: &Path, server: &str, tokens: StoredTokens) -> Result<()> {
    let mut credentials = load(path)?;
    credentials.servers.insert(server.to_owned(), tokens);
    save(path, &credentials)
}

/// A usable access token for the server of `client` (an unauthenticated client), refreshed and
/// saved first when it is expired or about to expire. `None` when not signed in there.
pub async fn access_token(client: &Client, path: &Path, now: u64) -> Result<Option<Credential>> {
    let server = client.base_url().as_str();
    let Some(tokens) = load(path)?.servers.remove(server) else {
        return Ok(None);
    };
    if !tokens.needs_refresh(now) {
        return Ok(Some(Credential::new(tokens.access_token)));
    }
    let signed_out = || anyhow!("the sign-in on {server} has expired or was revoked; run `gatehouse auth login` again");
    let Some(refresh) = tokens.refresh_token.as_ref().map(SecretString::expose_secret) else {
        return Err(signed_out());
    };
    let response = match client.refresh_token(&tokens.client_id, refresh).await {
        Ok(response) => response,
        Err(e) if e.code() == Some("invalid_grant") => return Err(signed_out()),
        Err(e) => return Err(anyhow::Error::from(e).context("refreshing the access token")),
    };
    let fresh = StoredTokens::from_response(&tokens.client_id, response, now, tokens.refresh_token.clone());
    let access = Credential::new(fresh.access_token.clone());
    store(path, server, fresh).context("saving the refreshed tokens")?;
    Ok(Some(access))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(expires_at: u64) -> StoredTokens {
        StoredTokens {
            client_id: CLIENT_ID.into(),
            access_token: "access-secret".into(),
            refresh_token: Some("refresh-secret".into()),
            expires_at,
            scope: SCOPE.into(),
        }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        std::env::temp_dir().join(format!("gatehouse-cred-{tag}-{}-{nanos}", std::process::id()))
    }

    #[test]
    fn a_token_is_refreshed_a_minute_before_it_expires() {
        assert!(!tokens(1_000).needs_refresh(1_000 - REFRESH_MARGIN_SECS - 1));
        assert!(tokens(1_000).needs_refresh(1_000 - REFRESH_MARGIN_SECS));
        assert!(tokens(1_000).needs_refresh(5_000));
    }

    #[test]
    fn stored_tokens_debug_without_the_tokens() {
        let response = TokenResponse {
            access_token: "at-hunter2".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_token: Some("rt-hunter2".into()),
            id_token: None,
            scope: "openid".into(),
            issued_token_type: None,
        };
        let stored = StoredTokens::from_response(CLIENT_ID, response, 100, None);
        let shown = format!("{stored:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("scope: \"openid\""), "{shown}");
    }

    #[test]
    fn a_response_without_a_refresh_token_keeps_the_previous_one() {
        let response = TokenResponse {
            access_token: "a".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_token: None,
            id_token: None,
            scope: "openid".into(),
            issued_token_type: None,
        };
        let stored = StoredTokens::from_response(CLIENT_ID, response.clone(), 100, Some("old".into()));
        assert_eq!(
            (
                stored.expires_at,
                stored.refresh_token.as_ref().map(SecretString::expose_secret)
            ),
            (1_000, Some("old"))
        );
        let rotated = TokenResponse {
            refresh_token: Some("new".into()),
            ..response
        };
        let stored = StoredTokens::from_response(CLIENT_ID, rotated, 100, Some("old".into()));
        assert_eq!(
            stored.refresh_token.as_ref().map(SecretString::expose_secret),
            Some("new")
        );
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let debug = format!("{:?}", tokens(1));
        assert!(!debug.contains("secret"), "{debug}");
    }

    #[test]
    fn the_file_lives_beside_cli_json() {
        assert_eq!(
            path_beside(Path::new("/home/u/.config/gatehouse/cli.json")),
            PathBuf::from("/home/u/.config/gatehouse/credentials.json")
        );
        assert_eq!(path_beside(Path::new("cli.json")), PathBuf::from("credentials.json"));
    }

    #[cfg(unix)]
    #[test]
    fn stored_tokens_are_owner_only_and_the_last_sign_out_removes_the_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_dir("store");
        let path = dir.join("gatehouse").join(FILE_NAME);
        store(&path, "http://a/", tokens(1)).expect("store a");
        store(&path, "http://b/", tokens(2)).expect("store b");
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut saved = load(&path).expect("load");
        assert_eq!(saved.servers.len(), 2);

        saved.servers.remove("http://a/");
        save(&path, &saved).expect("save");
        assert_eq!(
            load(&path).expect("load").servers.keys().collect::<Vec<_>>(),
            ["http://b/"]
        );
        saved.servers.clear();
        save(&path, &saved).expect("save empty");
        assert!(!path.exists(), "no sign-in left, no file");
        save(&path, &saved).expect("removing a missing file is fine");
        let _ = fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_fresh_token_is_used_without_asking_the_server() {
        let dir = temp_dir("fresh");
        let path = dir.join(FILE_NAME);
        // Nothing listens on port 9: a request would fail the test.
        let client = Client::new("http://127.0.0.1:9", None).expect("client");
        store(&path, client.base_url().as_str(), tokens(10_000)).expect("store");
        let token = access_token(&client, &path, 100)
            .await
            .expect("token")
            .expect("signed in");
        assert_eq!(token.expose_secret(), "access-secret");
        let other = Client::new("http://127.0.0.1:10", None).expect("client");
        assert!(access_token(&other, &path, 100).await.expect("no error").is_none());
        let _ = fs::remove_dir_all(dir);
    }
}
