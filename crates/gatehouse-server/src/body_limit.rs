//! Refusing a declared body that is too large: 413 at once, then a lingering drain.
//!
//! The extractors' limit counts bytes as they arrive, so a client that declares a large body and
//! sends none would hold its request until the request timeout. [`DeclaredLengthLimit`] answers
//! 413 as soon as the headers say `Content-Length` is above the limit. Closing the connection
//! right after that answer would lose it: a client still writing its body gets a TCP reset, and
//! the reset discards the 413 before the client reads it. So the body is read and thrown away in
//! the background, at most [`LINGER_BYTES`] for at most [`LINGER_TIME`] (nginx's lingering close),
//! and HTTP/1 connections close once it is done.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, Version, header};
use axum::response::{IntoResponse as _, Response};
use futures::StreamExt as _;
use futures::future::Either;

use crate::error::ApiError;

/// How much of a refused body is read and discarded before the connection closes.
const LINGER_BYTES: usize = 16 * 1024 * 1024;
/// How long a refused body is read at most.
const LINGER_TIME: Duration = Duration::from_secs(5);

/// The service that refuses over-long declared bodies in front of `inner`.
#[derive(Clone)]
pub(crate) struct DeclaredLengthLimit<S> {
    inner: S,
    max: u64,
}

impl<S> DeclaredLengthLimit<S> {
    pub(crate) fn new(inner: S, max_body: usize) -> Self {
        Self {
            inner,
            max: u64::try_from(max_body).unwrap_or(u64::MAX),
        }
    }
}

impl<S> tower::Service<Request<Body>> for DeclaredLengthLimit<S>
where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_none_or(|n| n <= self.max) {
            return Either::Right(self.inner.call(req));
        }
        let http1 = req.version() <= Version::HTTP_11;
        tokio::spawn(linger(req.into_body()));
        let mut refused = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        )
        .into_response();
        if http1 {
            refused
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Either::Left(ready(Ok(refused)))
    }
}

/// Reads and discards a refused body, within the lingering limits.
async fn linger(body: Body) {
    let mut chunks = body.into_data_stream();
    let drain = async {
        let mut read = 0usize;
        while let Some(Ok(chunk)) = chunks.next().await {
            read = read.saturating_add(chunk.len());
            if read > LINGER_BYTES {
                break;
            }
        }
    };
    // Whether it ended, hit the limit or timed out, the connection closes next.
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}
