//! `gatehouse token -i spec.yaml`: a participant token from a spec file (SPEC §6.3). With an API
//! key it is signed here, as the SDKs do, without asking the server; a signed-in user's token is
//! minted by the server instead.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use gatehouse_core::api_key::ApiKeyValue;
use gatehouse_core::participant::ParticipantClaims;
use gatehouse_core::time::{Clock as _, SystemClock};
use gatehouse_types::{CreateParticipantToken, ParticipantToken};
use serde::Deserialize;

use crate::context::{Ctx, read_input};

/// `gatehouse token` arguments.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The spec: YAML with `version: v1`, `kind: ParticipantToken`, `identity`, and optionally
    /// `room`, `role` (user, agent or tool) and `api` (an ApiScope). '-' reads standard input.
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub input: PathBuf,
    /// Lifetime in seconds, 1 to 30 days.
    #[arg(long, default_value_t = 3600)]
    pub ttl: u32,
}

/// The spec file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSpec {
    version: String,
    kind: String,
    identity: String,
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    api: Option<serde_json::Value>,
}

fn parse_spec(text: &str, ttl: u32) -> Result<CreateParticipantToken> {
    let spec: TokenSpec = yaml_serde::from_str(text).context("reading the token spec")?;
    if spec.version != "v1" || spec.kind != "ParticipantToken" {
        bail!("the spec must say `version: v1` and `kind: ParticipantToken`");
    }
    Ok(CreateParticipantToken {
        name: spec.identity,
        room_name: spec.room,
        role: spec.role,
        api: spec.api,
        grants: None,
        ttl_seconds: Some(ttl),
    })
}

/// The API key to sign participant tokens with here, when the credential is one (`ma-…`);
/// `None` for a user's access token, whose tokens the server mints.
pub(super) fn signing_key(ctx: &Ctx<'_>) -> Result<Option<ApiKeyValue>> {
    let Some(k) = &ctx.global().api_key else {
        return Ok(None);
    };
    if !k.expose_secret().starts_with("ma-") {
        return Ok(None);
    }
    let key = ApiKeyValue::parse(k.expose_secret()).map_err(|_| anyhow!("--api-key is not a valid API key"))?;
    if let Some(p) = &ctx.global().project
        && *p != key.project_id.to_string()
    {
        bail!(
            "the API key signs for its own project {}, not {p:?}; leave out --project",
            key.project_id
        );
    }
    Ok(Some(key))
}

/// Prints a participant token for the spec.
pub async fn run(ctx: &mut Ctx<'_>, args: TokenArgs) -> Result<()> {
    let request = parse_spec(&read_input(&args.input)?, args.ttl)?;
    let token = match signing_key(ctx)? {
        Some(key) => {
            let claims = ParticipantClaims::from_request(request, SystemClock.now())?;
            claims.sign(key.id, key.project_id, key.secret.expose_secret().as_bytes())?
        }
        None => {
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            client.mint_participant_token(project, &request).await?.token
        }
    };
    if ctx.json() {
        return ctx.print_json(&ParticipantToken { token });
    }
    ctx.line(&token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_reads_its_api_scope_as_given() {
        let spec = "version: v1\nkind: ParticipantToken\nidentity: agent-7\nroom: lobby\nrole: agent\napi:\n  secrets:\n    request_oauth_token:\n      - endpoint: https://accounts.example.com/*\n        client_id: abc\n  llm: {}\n";
        let req = parse_spec(spec, 60).unwrap();
        assert_eq!(req.name, "agent-7");
        assert_eq!(
            (req.room_name.as_deref(), req.role.as_deref()),
            (Some("lobby"), Some("agent"))
        );
        assert_eq!(
            req.api.unwrap(),
            serde_json::json!({ "secrets": { "request_oauth_token": [{ "endpoint": "https://accounts.example.com/*", "client_id": "abc" }] }, "llm": {} })
        );
        assert_eq!(req.ttl_seconds, Some(60));
    }

    #[test]
    fn specs_of_another_kind_or_with_unknown_fields_are_refused() {
        for bad in [
            "version: v2\nkind: ParticipantToken\nidentity: a\n",
            "version: v1\nkind: ServiceToken\nidentity: a\n",
            "version: v1\nkind: ParticipantToken\nidentity: a\ncolour: red\n",
            "version: v1\nkind: ParticipantToken\n",
            "- not a mapping\n",
        ] {
            assert!(parse_spec(bad, 60).is_err(), "{bad}");
        }
    }
}
