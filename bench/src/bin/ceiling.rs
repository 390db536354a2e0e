//! The ceilings of the server load benchmarks, on the same runtime setup as `gatehouse serve`:
//! - `GET /`: a bare axum handler answering fixed JSON. Whatever the authorization server does
//!   per request costs throughput relative to this.
//! - `POST /es256`: a bare axum handler that reads the request's body and signs one ES256
//!   access token (the same signer and claims of the same size as Gatehouse's), answered as a
//!   token response. It takes the request a client sends to the token endpoint (a form body and
//!   a Basic header) and checks nothing. No token endpoint that signs a fresh ES256 token per
//!   request can answer faster on this machine at this moment: the floor that client
//!   credentials are measured against.
//!
//! `ceiling 127.0.0.1:PORT` (started by `oauth_load`, pinned like the server).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use gatehouse_core::jose::{SigningAlg, SigningKey};
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

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u32,
}

async fn es256(
    State(signer): State<Arc<(SigningKey, serde_json::Value)>>,
    _form: Bytes,
) -> Result<Json<TokenResponse>, StatusCode> {
    let (key, claims) = &*signer;
    let access_token = key
        .sign("at+jwt", claims)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: 3600,
    }))
}

fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8089".into());
    let (key, _) = SigningKey::generate("ceiling".into(), SigningAlg::Es256)?;
    let signer = Arc::new((key, gatehouse_bench::sample_access_claims()));
    gatehouse_server::runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let app = axum::Router::new()
            .route("/", get(fixed))
            .route("/es256", post(es256))
            .with_state(signer);
        axum::serve(listener, app).await?;
        Ok(())
    })
}
