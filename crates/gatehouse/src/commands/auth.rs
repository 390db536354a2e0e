//! `gatehouse auth …`: sign in with the device authorization grant (RFC 8628) as the official
//! `gatehouse-cli` client, sign out, and show who the CLI acts as (SPEC §11).
//!
//! The tokens go to `credentials.json` (see [`crate::credentials`]); every other command uses
//! them when no API key is given. Only the user code and URLs are ever printed, never a token.

use std::io::Write as _;

use anyhow::{Context as _, Result, anyhow};
use base64::Engine as _;
use clap::Subcommand;
use gatehouse_client::types::{DeviceAuthorizationResponse, User};
use gatehouse_client::{Client, Credential};
use serde::Serialize;
use uuid::Uuid;

use crate::context::{Ctx, warn};
use crate::credentials::{self, CLIENT_ID, SCOPE, StoredTokens};
use crate::device_flow::{self, DevicePoll, TokioSleeper};
use crate::output::{clean, fields};

/// Sign-in commands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign in through the browser with a one-time code (device authorization), and save the
    /// tokens for later commands.
    Login,
    /// Revoke the saved sign-in at the server and forget it.
    Logout,
    /// Show the signed-in user (or the project of the API key in use).
    Whoami,
}

/// What `auth login -o json` prints: never a token.
#[derive(Debug, Serialize)]
struct LoginResult<'a> {
    server: &'a str,
    scope: &'a str,
    /// Seconds since the Unix epoch.
    expires_at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a User>,
}

/// What `auth whoami -o json` prints for an API key.
#[derive(Debug, Serialize)]
struct ApiKeyIdentity {
    api_key_id: Uuid,
    project: gatehouse_client::types::Project,
}

/// Runs an auth command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: AuthCommand) -> Result<()> {
    match cmd {
        AuthCommand::Login => login(ctx).await,
        AuthCommand::Logout => logout(ctx).await,
        AuthCommand::Whoami => whoami(ctx).await,
    }
}

async fn login(ctx: &mut Ctx<'_>) -> Result<()> {
    let client = Client::new(&ctx.global().server, None)?;
    let server = client.base_url().to_string();
    let started = client
        .device_authorization(CLIENT_ID, SCOPE)
        .await
        .context("starting the sign-in")?;
    show_instructions(ctx, &started)?;

    let state = DevicePoll::new(started.interval, started.expires_in);
    let tokens = device_flow::poll(state, &mut TokioSleeper, || {
        client.device_token(CLIENT_ID, started.device_code.expose_secret())
    })
    .await?;
    let stored = StoredTokens::from_response(CLIENT_ID, tokens, credentials::now(), None);
    let signed_in = Client::new(&server, Some(Credential::new(stored.access_token.clone())))?;
    let (scope, expires_at) = (stored.scope.clone(), stored.expires_at);
    let path = ctx.credentials_path()?;
    let replaced = credentials::load(&path)?.servers.remove(&server);
    credentials::store(&path, &server, stored)?;
    // Signing in again replaces an older sign-in; its tokens are no longer needed anywhere.
    if let Some(old) = replaced
        && let Some(refresh) = &old.refresh_token
        && let Err(err) = client
            .revoke_refresh_token(&old.client_id, refresh.expose_secret())
            .await
    {
        warn(&format!("the previous sign-in could not be revoked: {err}"));
    }

    // The tokens are saved; the profile is only for the greeting.
    let user = match signed_in.me().await {
        Ok(user) => Some(user),
        Err(err) => {
            warn(&format!("signed in, but the profile could not be read: {err}"));
            None
        }
    };
    if ctx.json() {
        return ctx.print_json(&LoginResult {
            server: &server,
            scope: &scope,
            expires_at,
            user: user.as_ref(),
        });
    }
    match user {
        Some(user) => ctx.line(&format!(
            "Signed in to {} as {} <{}>.",
            clean(&server),
            clean(&user.name),
            clean(&user.email)
        )),
        None => ctx.line(&format!("Signed in to {}.", clean(&server))),
    }
}

/// Tells the user where to go and which code to enter: on stdout, or on stderr with `-o json`
/// so that stdout stays one JSON document.
fn show_instructions(ctx: &mut Ctx<'_>, started: &DeviceAuthorizationResponse) -> Result<()> {
    let minutes = started.expires_in.div_ceil(60);
    let text = format!(
        "To sign in, open {} in a browser and enter the code:\n\n    {}\n\n\
         Or open this link, which carries the code:\n    {}\n\n\
         Waiting for approval (the code expires in {minutes} minute{})…\n",
        clean(&started.verification_uri),
        clean(started.user_code.expose_secret()),
        clean(started.verification_uri_complete.expose_secret()),
        if minutes == 1 { "" } else { "s" },
    );
    if ctx.json() {
        let mut stderr = std::io::stderr();
        stderr.write_all(text.as_bytes()).context("writing to stderr")
    } else {
        ctx.print(&text)?;
        ctx.flush()
    }
}

async fn logout(ctx: &mut Ctx<'_>) -> Result<()> {
    let client = Client::new(&ctx.global().server, None)?;
    let server = client.base_url().to_string();
    let path = ctx.credentials_path()?;
    let mut saved = credentials::load(&path)?;
    let Some(tokens) = saved.servers.remove(&server) else {
        if !ctx.json() {
            ctx.line(&format!("Not signed in to {}.", clean(&server)))?;
        }
        return Ok(());
    };
    // Revoke first; forget the tokens whatever the answer, so a dead server cannot keep the
    // user signed in, but say so when the server may still honour them.
    let revoked = match &tokens.refresh_token {
        Some(refresh) => {
            client
                .revoke_refresh_token(&tokens.client_id, refresh.expose_secret())
                .await
        }
        None => Ok(()),
    };
    credentials::save(&path, &saved)?;
    revoked.map_err(|e| {
        anyhow!("signed out locally, but {server} did not confirm the revocation of the refresh token: {e}")
    })?;
    if !ctx.json() {
        ctx.line(&format!("Signed out of {}.", clean(&server)))?;
    }
    Ok(())
}

async fn whoami(ctx: &mut Ctx<'_>) -> Result<()> {
    let client = ctx.client().await?;
    if let Some((key_id, project_id)) = ctx.global().api_key.as_ref().and_then(api_key_ids) {
        // An API key acts for a project, not a user (SPEC §3): show that project.
        let project = client.get_project(project_id).await?;
        if ctx.json() {
            return ctx.print_json(&ApiKeyIdentity {
                api_key_id: key_id,
                project,
            });
        }
        return ctx.print(&fields(&[
            ("Server", client.base_url().to_string()),
            ("API key", key_id.to_string()),
            ("Project", format!("{} ({})", project.name, project.id)),
        ]));
    }
    let user = client.me().await?;
    if ctx.json() {
        return ctx.print_json(&user);
    }
    ctx.print(&fields(&[
        ("Server", client.base_url().to_string()),
        ("Name", user.name.clone()),
        ("Email", user.email.clone()),
        ("User ID", user.id.to_string()),
    ]))
}

/// The key id and project id an API key carries: `ma-<b64(kid)>-<b64(project_id)>-<secret>`,
/// each id its 16 bytes in URL-safe base64 without padding, `-` written as `.` (SPEC §3).
fn api_key_ids(credential: &Credential) -> Option<(Uuid, Uuid)> {
    let rest = credential.expose_secret().strip_prefix("ma-")?;
    let mut parts = rest.splitn(3, '-');
    let (kid, project, _secret) = (parts.next()?, parts.next()?, parts.next()?);
    let decode = |part: &str| {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.replace('.', "-"))
            .ok()?;
        Uuid::from_slice(&bytes).ok()
    };
    Some((decode(kid)?, decode(project)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(id: Uuid) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(id.as_bytes())
            .replace('-', ".")
    }

    #[test]
    fn an_api_key_names_its_id_and_project() {
        // Bytes chosen so that the base64 contains `-`, written as `.`.
        let kid = Uuid::from_bytes([0xfb; 16]);
        let project = Uuid::new_v4();
        let key = Credential::new(format!("ma-{}-{}-se-cr-et", b64(kid), b64(project)));
        assert!(b64(kid).contains('.'));
        assert_eq!(api_key_ids(&key), Some((kid, project)));
    }

    #[test]
    fn an_access_token_is_not_an_api_key() {
        assert_eq!(api_key_ids(&Credential::new("eyJhbGciOiJFUzI1NiJ9.e30.sig")), None);
        assert_eq!(api_key_ids(&Credential::new("ma-short")), None);
    }
}
