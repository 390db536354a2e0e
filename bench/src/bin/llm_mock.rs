//! The LLM gate benchmark's processes besides the gate, so that `llm_gate` can pin each to a CPU
//! and read its CPU time:
//! - `llm_mock 127.0.0.1:PORT`: `gatehouse-testkit`'s mock of the OpenAI and Anthropic APIs,
//!   keeping no record of the requests, so that each costs the same as the last.
//! - `llm_mock 127.0.0.1:PORT forward http://UPSTREAM`: the floor of any proxy built on the
//!   gate's parts (axum, reqwest): a bare forwarder that sends each request on with a fixed key
//!   and streams the answer back, checking and counting nothing.
//!
//! Each on a one-thread runtime: one core's worth.

use std::sync::Arc;

use anyhow::Context as _;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_testkit::llm_upstream::LlmUpstream;
use http_body_util::BodyExt as _;

struct Forward {
    http: reqwest::Client,
    upstream: String,
}

async fn forward(State(f): State<Arc<Forward>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(http_body_util::Collected::to_bytes) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut out = f
        .http
        .request(parts.method, format!("{}{}", f.upstream, parts.uri.path()))
        .bearer_auth("sk-bench-upstream")
        .body(body);
    if let Some(t) = parts.headers.get(header::CONTENT_TYPE) {
        out = out.header(header::CONTENT_TYPE, t);
    }
    let Ok(resp) = out.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut answer = Response::builder().status(resp.status());
    if let Some(t) = resp.headers().get(header::CONTENT_TYPE) {
        answer = answer.header(header::CONTENT_TYPE, t);
    }
    let chunks = futures::stream::unfold(resp, |mut r| async move {
        match r.chunk().await {
            Ok(Some(c)) => Some((Ok::<Bytes, reqwest::Error>(c), r)),
            _ => None,
        }
    });
    answer
        .body(Body::from_stream(chunks))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args
        .next()
        .context("usage: llm_mock 127.0.0.1:PORT [forward http://UPSTREAM]")?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    match (args.next().as_deref(), args.next()) {
        (None, _) => {
            let _upstream = LlmUpstream::unrecorded(listener).await;
            // Stopped by the benchmark's SIGTERM.
            std::future::pending::<()>().await;
        }
        (Some("forward"), Some(upstream)) => {
            let state = Arc::new(Forward {
                http: reqwest::Client::new(),
                upstream,
            });
            let app = axum::Router::new()
                .route("/v1/{*path}", axum::routing::any(forward))
                .with_state(state);
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app).await?;
        }
        _ => anyhow::bail!("usage: llm_mock 127.0.0.1:PORT [forward http://UPSTREAM]"),
    }
    Ok(())
}
