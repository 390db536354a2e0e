//! `resource-server`: serves the example orders API on a loopback port. See the README beside
//! `Cargo.toml` for the steps to run it against `gatehouse serve`.

use anyhow::Context as _;
use clap::Parser;
use resource_server::{ResourceServer, Settings};

/// An orders API that accepts Gatehouse access tokens for its resource identifier.
#[derive(Parser)]
#[command(name = "resource-server")]
struct Args {
    /// Gatehouse's public URL (its issuer).
    #[arg(long, env = "GATEHOUSE_URL", default_value = "http://127.0.0.1:8080")]
    issuer: String,
    /// This API's resource identifier at Gatehouse (the `aud` of its tokens).
    #[arg(long, env = "RESOURCE_SERVER_RESOURCE", default_value = "https://orders.example")]
    resource: String,
    /// Address to serve on.
    #[arg(long, env = "RESOURCE_SERVER_LISTEN", default_value = "127.0.0.1:4000")]
    listen: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = ResourceServer::discover(Settings {
        issuer: args.issuer,
        resource: args.resource,
    })
    .await?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    eprintln!(
        "Serving GET and POST http://{0}/orders and http://{0}{1}",
        listener.local_addr()?,
        server.metadata_path()
    );
    axum::serve(listener, server.router()).await.context("serving")
}
