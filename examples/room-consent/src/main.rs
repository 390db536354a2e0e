//! `room-consent`: joins a room as a person and serves their consent page on a loopback port.
//! See the README beside `Cargo.toml` for the steps to run it against `gatehouse serve`.

use anyhow::{Context as _, bail};
use clap::Parser;
use room_consent::Settings;

/// Variable holding the project's API key. It is read from the environment only, so that it
/// does not show in the process list.
const API_KEY_VAR: &str = "ROOM_CONSENT_API_KEY";

/// A participant's consent page for the room secrets broker: joins a room as a person, shows
/// each request for their access to a provider, and answers it through the provider's sign-in.
#[derive(Parser)]
#[command(
    name = "room-consent",
    after_help = "The project's API key is read from the ROOM_CONSENT_API_KEY variable (never a flag)."
)]
struct Args {
    /// Gatehouse's URL (plain http: the example's WebSocket client has no TLS).
    #[arg(long, env = "GATEHOUSE_URL", default_value = "http://127.0.0.1:8080")]
    gatehouse_url: String,
    /// The project whose room to join; ROOM_CONSENT_API_KEY must be one of its API keys.
    #[arg(long, env = "ROOM_CONSENT_PROJECT_ID")]
    project_id: uuid::Uuid,
    /// The room to join.
    #[arg(long, env = "ROOM_CONSENT_ROOM")]
    room: String,
    /// The identity to join as: the person whose consent agents ask for.
    #[arg(long, env = "ROOM_CONSENT_IDENTITY")]
    identity: String,
    /// Address to serve on; `http://<listen>/callback` is the redirect URI the provider must know.
    #[arg(long, env = "ROOM_CONSENT_LISTEN", default_value = "127.0.0.1:3001")]
    listen: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let api_key = match std::env::var(API_KEY_VAR) {
        Ok(key) if !key.trim().is_empty() => key.trim().to_owned(),
        _ => bail!("set {API_KEY_VAR} to an API key of project {}", args.project_id),
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let public_url = format!("http://{}", listener.local_addr()?);
    let (router, connection) = room_consent::start(Settings {
        gatehouse_url: args.gatehouse_url,
        project_id: args.project_id,
        api_key,
        room: args.room,
        identity: args.identity,
        public_url: public_url.clone(),
    })
    .await?;
    eprintln!(
        "Open {public_url}/ to answer consent requests; agents must ask with redirect_uri {public_url}/callback. \
         Each prompt and answer is printed here as one JSON line."
    );
    tokio::select! {
        served = axum::serve(listener, router) => served.context("serving"),
        _ = connection => bail!("the room connection task stopped"),
    }
}
