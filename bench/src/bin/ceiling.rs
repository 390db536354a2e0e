//! The ceiling of the server load benchmarks: a bare axum handler answering `GET /` with fixed
//! JSON, on the same runtime setup as `gatehouse serve`. Whatever the authorization server does
//! per request costs throughput relative to this.
//!
//! `ceiling 127.0.0.1:PORT` (started by `oauth_load`, pinned like the server).

use axum::Json;
use axum::routing::get;
use serde::Serialize;

#[derive(Serialize)]
struct Fixed {
    status: &'static str,
    service: &'static str,
    version: u32,
}

async fn fixed() -> Json<Fixed> {
    Json(Fixed {
        status: "ok",
        service: "ceiling",
        version: 1,
    })
}

fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8089".into());
    gatehouse_server::runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        axum::serve(listener, axum::Router::new().route("/", get(fixed))).await?;
        Ok(())
    })
}
