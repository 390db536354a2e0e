//! `gatehouse oauth2 …`: a room's third-party OAuth credentials through the room secrets broker
//! (SPEC §7): list and delete them, ask a participant for consent, read a stored token.
//!
//! The commands act as a participant of the room. With an API key, a short-lived participant
//! token with the `secrets` grant is signed here for `--as`; a signed-in user connects with their
//! own room grant (and identity).

use anyhow::Result;
use clap::{ArgGroup, Args, Subcommand};
use gatehouse_client::{Client, Credential};
use gatehouse_core::participant::ParticipantClaims;
use gatehouse_core::time::{Clock as _, SystemClock};
use gatehouse_types::{
    CreateParticipantToken, DeleteRoomSecret, GetOfflineOAuthToken, OAuthClientConfig, RequestOAuthToken,
};
use serde_json::json;
use uuid::Uuid;

use super::token::signing_key;
use crate::context::Ctx;
use crate::output::{Table, or_dash, yes_no};

/// `gatehouse oauth2` commands.
#[derive(Debug, Subcommand)]
pub enum OAuth2Command {
    /// Credentials you own in the room, and those delegated to you.
    List {
        #[command(flatten)]
        room: RoomArgs,
    },
    /// Delete a credential (it is also revoked at the provider when possible).
    Delete {
        #[command(flatten)]
        room: RoomArgs,
        /// The credential's id, from `oauth2 list`.
        #[arg(long)]
        id: Uuid,
        /// Only if it is delegated to this identity.
        #[arg(long)]
        delegated_to: Option<String>,
    },
    /// Ask a participant of the room for consent and print the access token (a stored
    /// credential that covers the request is used without asking).
    Request {
        #[command(flatten)]
        room: RoomArgs,
        /// The participant who must consent (`participant_id` from the room's participants).
        #[arg(long)]
        from_participant_id: Uuid,
        #[command(flatten)]
        provider: ProviderArgs,
        /// Where the provider sends the participant back (their app's OAuth callback).
        #[arg(long)]
        redirect_uri: String,
        /// Seconds to wait for the answer, 1–900 [server default: 300].
        #[arg(long)]
        timeout: Option<u64>,
        /// Delegate the new credential to this identity instead of yourself.
        #[arg(long)]
        delegate_to: Option<String>,
    },
    /// Print a stored access token, refreshed if it was about to expire; never prompts.
    Get {
        #[command(flatten)]
        room: RoomArgs,
        #[command(flatten)]
        provider: ProviderArgs,
        /// Whose credential [default: your own].
        #[arg(long, alias = "participant-name")]
        delegated_by: Option<String>,
        /// Only the credential delegated to this identity.
        #[arg(long)]
        delegated_to: Option<String>,
    },
}

/// The room, and who to act as.
#[derive(Debug, Args)]
pub struct RoomArgs {
    /// The room.
    #[arg(long)]
    pub room: String,
    /// The identity to act as when signing with an API key (a signed-in user acts as themselves).
    #[arg(long = "as", value_name = "IDENTITY", default_value = "gatehouse-cli")]
    pub identity: String,
}

/// The provider: an external OAuth registration, or its settings inline.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("provider").required(true).args(["registration_id", "client_id"])))]
pub struct ProviderArgs {
    /// An external OAuth registration of the project or the room.
    #[arg(long)]
    pub registration_id: Option<Uuid>,
    /// The client id at the provider.
    #[arg(long, requires_all = ["authorization_endpoint", "token_endpoint"])]
    pub client_id: Option<String>,
    /// The provider's authorization endpoint (where the participant signs in).
    #[arg(long, value_name = "URL")]
    pub authorization_endpoint: Option<String>,
    /// The provider's token endpoint.
    #[arg(long, value_name = "URL")]
    pub token_endpoint: Option<String>,
    /// The provider's revocation endpoint (RFC 7009): deleting the credential revokes it there.
    #[arg(long, value_name = "URL")]
    pub revocation_endpoint: Option<String>,
    /// The provider's issuer, checked against the `iss` of its answers (RFC 9207).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// The client secret, when the provider needs one (kept encrypted, for refreshes).
    #[arg(long, env = "GATEHOUSE_OAUTH2_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Scopes, comma-separated or the flag repeated.
    #[arg(long, value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Run the flow without PKCE (only for providers that refuse it).
    #[arg(long)]
    pub no_pkce: bool,
}

impl ProviderArgs {
    fn oauth(self) -> Option<OAuthClientConfig> {
        let ProviderArgs {
            client_id,
            authorization_endpoint,
            token_endpoint,
            revocation_endpoint,
            issuer,
            client_secret,
            scopes,
            no_pkce,
            ..
        } = self;
        Some(OAuthClientConfig {
            client_id: client_id?,
            authorization_endpoint: authorization_endpoint.unwrap_or_default(),
            token_endpoint: token_endpoint.unwrap_or_default(),
            revocation_endpoint,
            issuer,
            client_secret: client_secret.map(Into::into),
            scopes: (!scopes.is_empty()).then_some(scopes),
            no_pkce: no_pkce.then_some(true),
        })
    }
}

/// How long a signed participant token lasts beyond the longest wait.
const TOKEN_MARGIN_SECS: u64 = 120;

/// A client of the room's REST endpoints, authenticated as a participant of `room`.
async fn room_client(ctx: &Ctx<'_>, room: &RoomArgs, wait_secs: u64) -> Result<Client> {
    let token = match signing_key(ctx)? {
        Some(key) => {
            let request = CreateParticipantToken {
                name: room.identity.clone(),
                room_name: Some(room.room.clone()),
                role: Some("agent".into()),
                api: Some(json!({ "secrets": {} })),
                grants: None,
                ttl_seconds: Some(u32::try_from(wait_secs + TOKEN_MARGIN_SECS).unwrap_or(u32::MAX)),
            };
            ParticipantClaims::from_request(request, SystemClock.now())?.sign(
                key.id,
                key.project_id,
                key.secret.expose_secret().as_bytes(),
            )?
        }
        None => {
            let client = ctx.client().await?;
            let project = ctx.project_id(&client).await?;
            client.connect_room(project, &room.room).await?.jwt
        }
    };
    Ok(Client::new(&ctx.global().server, Some(Credential::new(token)))?)
}

/// Runs an `oauth2` command.
pub async fn run(ctx: &mut Ctx<'_>, cmd: OAuth2Command) -> Result<()> {
    match cmd {
        OAuth2Command::List { room } => {
            let list = room_client(ctx, &room, 0).await?.list_room_secrets(&room.room).await?;
            if ctx.json() {
                return ctx.print_json(&list);
            }
            let mut table = Table::new([
                "ID",
                "PROVIDER",
                "CLIENT ID",
                "OWNER",
                "DELEGATED TO",
                "SCOPES",
                "EXPIRES",
                "NEEDS CONSENT",
            ]);
            for s in &list.secrets {
                table.row([
                    s.id.to_string(),
                    s.name.clone(),
                    s.client_id.clone(),
                    s.owner.clone(),
                    or_dash(s.delegated_to.as_deref()),
                    s.scopes.join(" "),
                    or_dash(s.expires_at.as_deref()),
                    yes_no(s.needs_consent).to_owned(),
                ]);
            }
            ctx.print(&table.render())
        }
        OAuth2Command::Delete { room, id, delegated_to } => {
            let input = DeleteRoomSecret { id, delegated_to };
            room_client(ctx, &room, 0)
                .await?
                .delete_room_secret(&room.room, &input)
                .await?;
            if !ctx.json() {
                ctx.line(&format!("Deleted credential {id}."))?;
            }
            Ok(())
        }
        OAuth2Command::Request {
            room,
            from_participant_id,
            provider,
            redirect_uri,
            timeout,
            delegate_to,
        } => {
            let client = room_client(ctx, &room, timeout.unwrap_or(300)).await?;
            let input = RequestOAuthToken {
                registration_id: provider.registration_id,
                oauth: provider.oauth(),
                redirect_uri,
                participant_id: from_participant_id,
                timeout,
                delegate_to,
            };
            let token = client.request_oauth_token(&room.room, &input).await?;
            if ctx.json() {
                return ctx.print_json(&token);
            }
            ctx.line(token.access_token.expose_secret())
        }
        OAuth2Command::Get {
            room,
            provider,
            delegated_by,
            delegated_to,
        } => {
            let client = room_client(ctx, &room, 0).await?;
            let input = GetOfflineOAuthToken {
                registration_id: provider.registration_id,
                oauth: provider.oauth(),
                delegated_by,
                delegated_to,
            };
            let token = client.get_offline_oauth_token(&room.room, &input).await?;
            if ctx.json() {
                return ctx.print_json(&token);
            }
            match token.access_token {
                Some(t) => ctx.line(t.expose_secret()),
                None => ctx.line("No usable token is stored for this provider; `oauth2 request` asks for consent."),
            }
        }
    }
}
