//! `/openai/v1/{*path}` and `/anthropic/v1/{*path}` (SPEC §8): one code path for both routes
//! and every caller. The caller's credential is checked by core ([`Gatehouse::admit_llm`]) and
//! replaced by the project's provider key; the request goes through the one outbound client
//! ([`crate::upstream`]) with an allow-list of headers, and the answer streams back chunk by chunk
//! as it arrives: no buffering, no compression, hop-by-hop headers dropped.
//!
//! [`Gatehouse::admit_llm`]: gatehouse_core::Gatehouse::admit_llm

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::llm::Provider;
use gatehouse_core::llm::limits::{LimitHit, Measure};
use gatehouse_core::llm::usage::UsageMeter;
use gatehouse_core::service::{LlmRequest, LlmVerdict};
use http_body_util::BodyExt as _;
use serde_json::Value;

use tokio::sync::Semaphore;

use super::stream::{Counters, MAX_DRAINS, Pump};
use crate::error::ApiError;
use crate::extract::bearer;
use crate::state::AppState;
use crate::upstream::{ForwardError, HttpUpstream};

/// How long the caller may take to send its request body.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest one proxied exchange may last, streamed answer included.
const MAX_EXCHANGE: Duration = Duration::from_secs(3600);

/// What the gate needs besides core: the outbound client, its bounds and counters.
pub struct Gate {
    /// The outbound client, its timeout the longest wait for an answer to start.
    upstream: HttpUpstream,
    /// The longest request body.
    max_body: usize,
    /// The longest wait between two chunks of an answer.
    idle: Duration,
    /// Permits to read answers whose callers went away.
    drains: Arc<Semaphore>,
    pub counters: Arc<Counters>,
}

impl Gate {
    pub fn new(upstream: HttpUpstream, max_body: usize, idle: Duration) -> Self {
        Self {
            upstream,
            max_body,
            idle,
            drains: Arc::new(Semaphore::new(MAX_DRAINS)),
            counters: Arc::default(),
        }
    }
}

/// `/openai/v1/{*path}`.
pub async fn openai(State(s): State<Arc<AppState>>, req: Request) -> Response {
    proxy(&s, Provider::OpenAi, req)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `/anthropic/v1/{*path}`.
pub async fn anthropic(State(s): State<Arc<AppState>>, req: Request) -> Response {
    proxy(&s, Provider::Anthropic, req)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn proxy(s: &AppState, provider: Provider, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let prefix = format!("/{}/v1/", provider.as_str());
    let path = parts.uri.path().strip_prefix(&prefix).unwrap_or_default().to_owned();
    if !plain_path(&path) {
        return Err(ApiError::bad_request("the path may not contain . or .. segments"));
    }
    let credential = credential(provider, &parts.headers)?;
    let project_header = ["meshagent-project-id", "gatehouse-project-id"]
        .iter()
        .find_map(|h| parts.headers.get(*h))
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request("the project header is not text"))
        })
        .transpose()?;
    let mut body = read_body(body, s.llm.max_body).await?;
    let peek = Peek::of(&body);
    let model = peek.model.as_ref().and_then(Value::as_str).map(str::to_owned);
    let verdict =
        s.gh.admit_llm(LlmRequest {
            provider,
            credential,
            project_header,
            model: model.as_deref(),
        })
        .await?;
    let admission = match verdict {
        LlmVerdict::Admitted(a) => a,
        LlmVerdict::Limited(hit) => return Ok(limited(provider, &hit)),
    };
    // An OpenAI chat stream reports usage only when asked: ask, and keep that chunk from a
    // caller that did not.
    let mut json: Option<Value> =
        (provider == Provider::OpenAi && path == "chat/completions" && peek.stream == Some(Value::Bool(true)))
            .then(|| serde_json::from_slice(&body).ok())
            .flatten();
    let strip = ask_for_usage(json.as_mut());
    if strip && let Some(j) = &json {
        let encoded = serde_json::to_vec(j).map_err(|_| ApiError::bad_request("the body could not be re-encoded"))?;
        body = Bytes::from(encoded);
    }
    let url = provider.upstream_url(&admission.base_url, &path, parts.uri.query());
    let mut headers = forwarded_headers(&parts.headers);
    let (name, value) = match provider {
        Provider::OpenAi => (
            header::AUTHORIZATION,
            format!("Bearer {}", admission.api_key.expose_secret()),
        ),
        Provider::Anthropic => (
            HeaderName::from_static("x-api-key"),
            admission.api_key.expose_secret().to_owned(),
        ),
    };
    let mut value = HeaderValue::from_str(&value).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            "the provider key is not a valid header value",
        )
    })?;
    value.set_sensitive(true);
    headers.insert(name, value);
    let resp = s
        .llm
        .upstream
        .forward(parts.method, &url, headers, body, MAX_EXCHANGE)
        .await
        .map_err(|e| match e {
            ForwardError::Down(why) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                format!("the {} upstream could not be reached: {why}", provider.as_str()),
            ),
            ForwardError::Slow(after) => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                format!(
                    "the {} upstream did not answer within {} s",
                    provider.as_str(),
                    after.as_secs_f32()
                ),
            ),
        })?;
    let stream = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    let gh = s.gh.clone();
    let pump = Pump {
        meter: UsageMeter::new(stream, strip),
        idle: s.llm.idle,
        drains: s.llm.drains.clone(),
        counters: s.llm.counters.clone(),
        provider,
        done: Box::new(move |usage| gh.record_llm_usage(&admission, provider, model.as_deref(), usage)),
    };
    Ok(answer(resp, pump))
}

/// What the gate reads of a request body: the model it names and whether it asks for a stream.
/// The rest is checked and skipped, not built: a prompt can be large.
#[derive(Default, serde::Deserialize)]
struct Peek {
    model: Option<Value>,
    stream: Option<Value>,
}

impl Peek {
    fn of(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_else(|_| {
            // Not an object, or a field given twice: read as a whole, where the last twin
            // counts, as the upstream's parser will read it.
            let whole: Value = serde_json::from_slice(body).unwrap_or_default();
            Self {
                model: whole.get("model").cloned(),
                stream: whole.get("stream").cloned(),
            }
        })
    }
}

/// 429 with `Retry-After`, in the provider's own error shape so that its SDK reads it as a rate
/// limit: which limit, never the counts.
fn limited(provider: Provider, hit: &LimitHit) -> Response {
    let message = hit.message();
    let body = match provider {
        Provider::OpenAi => serde_json::json!({ "error": {
            "message": message,
            "type": match hit.measure { Measure::Requests => "requests", Measure::Tokens => "tokens" },
            "param": null,
            "code": "rate_limit_exceeded",
        }}),
        Provider::Anthropic => serde_json::json!({ "type": "error", "error": {
            "type": "rate_limit_error",
            "message": message,
        }}),
    };
    let mut res = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(hit.retry_after_secs));
    res
}

/// Adds `stream_options.include_usage` to a streamed request that does not ask for usage; true
/// when it did.
fn ask_for_usage(json: Option<&mut Value>) -> bool {
    let Some(Value::Object(req)) = json else {
        return false;
    };
    if req.get("stream") != Some(&Value::Bool(true)) {
        return false;
    }
    let options = req
        .entry("stream_options")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    match options {
        Value::Object(o) if o.get("include_usage") != Some(&Value::Bool(true)) => {
            o.insert("include_usage".into(), Value::Bool(true));
            true
        }
        _ => false,
    }
}

/// Whether `path` stays below the base URL: no `.` or `..` segment, encoded or not, that the
/// upstream URL's normalisation would climb with.
fn plain_path(path: &str) -> bool {
    path.split('/').all(|seg| {
        let decoded = seg.to_ascii_lowercase().replace("%2e", ".");
        decoded != "." && decoded != ".."
    })
}

/// The caller's credential as each SDK sends it: `Authorization: Bearer` on both routes, and
/// `x-api-key` on the Anthropic route.
fn credential(provider: Provider, headers: &HeaderMap) -> Result<&str, ApiError> {
    if let Some(token) = bearer(headers)? {
        return Ok(token);
    }
    if provider == Provider::Anthropic
        && let Some(v) = headers.get("x-api-key")
    {
        return v
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("malformed x-api-key header"));
    }
    Err(ApiError::unauthorized(match provider {
        Provider::OpenAi => "missing Authorization: Bearer credential",
        Provider::Anthropic => "missing credential: send Authorization: Bearer or x-api-key",
    }))
}

/// The request body, at most `max` bytes (413 beyond), read within [`BODY_READ_TIMEOUT`].
async fn read_body(body: Body, max: usize) -> Result<Bytes, ApiError> {
    let limited = http_body_util::Limited::new(body, max);
    match tokio::time::timeout(BODY_READ_TIMEOUT, limited.collect()).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body did not arrive in time",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {max} bytes"),
        )),
        Ok(Err(_)) => Err(ApiError::bad_request("the request body could not be read")),
    }
}

/// Whether a caller's header goes upstream: what describes the request and the SDKs' own
/// headers. Credentials, cookies, the project header, hop-by-hop headers and `Accept-Encoding`
/// (the answer must come uncompressed, to be counted and streamed as it is) stay behind.
fn forwarded(name: &HeaderName) -> bool {
    let n = name.as_str();
    matches!(n, "content-type" | "accept" | "user-agent" | "idempotency-key")
        || n.starts_with("x-stainless-")
        || n.starts_with("anthropic-")
        || (n.starts_with("openai-") && n != "openai-organization" && n != "openai-project")
}

fn forwarded_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers.iter().filter(|(n, _)| forwarded(n)) {
        out.append(name.clone(), value.clone());
    }
    out
}

/// Headers of the answer that do not pass: hop-by-hop ones (RFC 9110 §7.6.1), the length (the
/// body is re-framed), and cookies of the upstream's domain.
fn returned(name: &HeaderName, connection: &[String]) -> bool {
    let n = name.as_str();
    !matches!(
        n,
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
            | "set-cookie"
    ) && !connection.iter().any(|c| c == n)
}

/// The upstream's answer, its body passed on chunk by chunk by `pump` as it arrives.
fn answer(resp: reqwest::Response, pump: Pump) -> Response {
    let connection: Vec<String> = resp
        .headers()
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    let mut out = Response::builder();
    if let Some(h) = out.headers_mut() {
        for (name, value) in resp.headers().iter().filter(|(n, _)| returned(n, &connection)) {
            h.append(name.clone(), value.clone());
        }
        // nginx and other proxies in front must not hold the stream back.
        h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    }
    let status = resp.status();
    out.status(status)
        .body(pump.start(resp))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_cookies_and_encodings_do_not_go_upstream() {
        for name in [
            "authorization",
            "x-api-key",
            "cookie",
            "accept-encoding",
            "meshagent-project-id",
            "openai-organization",
            "connection",
        ] {
            assert!(!forwarded(&HeaderName::from_static(name)), "{name}");
        }
        for name in ["content-type", "anthropic-version", "x-stainless-lang", "openai-beta"] {
            assert!(forwarded(&HeaderName::from_static(name)), "{name}");
        }
    }

    #[test]
    fn the_model_and_stream_are_read_as_the_upstream_reads_them() {
        let peek = Peek::of(br#"{"messages":[{"role":"user","content":"hi"}],"model":"a","stream":true}"#);
        assert_eq!((peek.model, peek.stream), (Some("a".into()), Some(Value::Bool(true))));
        // A field twice: the last one, as a JSON parser that keeps the last reads it.
        let peek = Peek::of(br#"{"model":"allowed","model":"other"}"#);
        assert_eq!(peek.model, Some("other".into()));
        for odd in [&b"not json"[..], b"[1]", b""] {
            let peek = Peek::of(odd);
            assert_eq!((peek.model, peek.stream), (None, None));
        }
    }

    #[test]
    fn paths_that_would_climb_out_of_the_base_url_are_refused() {
        assert!(plain_path("chat/completions"));
        assert!(plain_path("files/file-abc/content"));
        for bad in ["../admin", "a/./b", "x/%2E%2e/y", "%2e"] {
            assert!(!plain_path(bad), "{bad}");
        }
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_do_not_come_back() {
        let connection = vec!["x-hop".to_owned()];
        for name in [
            "transfer-encoding",
            "keep-alive",
            "x-hop",
            "set-cookie",
            "content-length",
        ] {
            assert!(!returned(&HeaderName::from_static(name), &connection), "{name}");
        }
        assert!(returned(&HeaderName::from_static("content-type"), &connection));
        assert!(returned(&HeaderName::from_static("x-request-id"), &connection));
    }
}
