//! Forwarding a request as it is, for the LLM proxy gate (SPEC §8): the same client, outbound
//! policy and resolver as every other outbound call, with the answer handed back unread so that
//! it can stream. The wait for the answer to start is bounded by the client's timeout; the
//! whole exchange by `total`.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, Response};

use super::HttpUpstream;
use gatehouse_core::ports::UpstreamError;

/// Why a forwarded request got no answer.
#[derive(Debug)]
pub(crate) enum ForwardError {
    /// Refused by the outbound policy, unreachable, or the connection failed.
    Down(String),
    /// No answer started within the client's timeout.
    Slow(Duration),
}

impl HttpUpstream {
    /// Sends `method url` with `headers` and `body`; the answer's head, its body unread.
    pub(crate) async fn forward(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: axum::body::Bytes,
        total: Duration,
    ) -> Result<Response, ForwardError> {
        if let Err(why) = self.policy.check_url(url) {
            return Err(ForwardError::Down(why));
        }
        let send = self
            .http
            .request(method, url)
            .headers(headers)
            .body(body)
            .timeout(total)
            .send();
        match tokio::time::timeout(self.timeout, send).await {
            Err(_) => Err(ForwardError::Slow(self.timeout)),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) if e.is_timeout() => Err(ForwardError::Slow(self.timeout)),
            Ok(Err(e)) => Err(ForwardError::Down(match self.failure(&e) {
                UpstreamError::Refused(why) | UpstreamError::Transient(why) => why,
                UpstreamError::Rejected { error, .. } => error,
            })),
        }
    }
}
