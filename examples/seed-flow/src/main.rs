//! `seed-flow`: serves the example app backend on a loopback port. See the README beside
//! `Cargo.toml` for the steps to run it against `gatehouse serve`.

use anyhow::Context as _;
use clap::Parser;
use seed_flow::Settings;

/// An app backend that signs users in through Gatehouse, decides which room they may enter, and
/// mints their participant token for it.
#[derive(Parser)]
#[command(name = "seed-flow")]
struct Args {
    /// Gatehouse's public URL (its issuer).
    #[arg(long, env = "GATEHOUSE_URL", default_value = "http://127.0.0.1:8080")]
    issuer: String,
    /// The app's OAuth client id.
    #[arg(long, env = "SEED_FLOW_CLIENT_ID")]
    client_id: String,
    /// The app's OAuth client secret (prefer the variable: arguments are visible to other users).
    #[arg(long, env = "SEED_FLOW_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// The project whose rooms users enter; the API key must be one of its keys.
    #[arg(long, env = "SEED_FLOW_PROJECT_ID")]
    project_id: uuid::Uuid,
    /// An API key of the project, to mint participant tokens (prefer the variable).
    #[arg(long, env = "SEED_FLOW_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Address to serve on; `/callback` on it must be a redirect URI of the client.
    #[arg(long, env = "SEED_FLOW_LISTEN", default_value = "127.0.0.1:3000")]
    listen: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let public_url = format!("http://{}", listener.local_addr()?);
    let app = seed_flow::app(Settings {
        issuer: args.issuer,
        client_id: args.client_id,
        client_secret: args.client_secret,
        public_url: public_url.clone(),
        project_id: args.project_id,
        api_key: args.api_key,
    })
    .await?;
    eprintln!(
        "Open {public_url}/login to sign in; each decision is printed here as one JSON line (without the token)."
    );
    axum::serve(listener, app).await.context("serving")
}
