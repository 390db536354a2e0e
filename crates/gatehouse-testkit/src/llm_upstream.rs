//! A small real LLM upstream on port 0 speaking the OpenAI (chat completions, models) and
//! Anthropic (messages) APIs, streamed and not, with fixed token counts. It records the key each
//! request carried, and can hold its answers back (a slow upstream) or pace a stream (the second
//! chunk waits until the test releases it), so tests of the LLM proxy gate and the benchmark
//! share one upstream.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

/// The tokens every answer reports: prompt (input) and completion (output).
pub const PROMPT_TOKENS: u64 = 11;
pub const COMPLETION_TOKENS: u64 = 7;
/// The text every answer carries, in two chunks when streamed.
pub const TEXT: [&str; 2] = ["Hello", " from the mock"];

struct Recorded {
    /// Whether requests are recorded at all.
    record: bool,
    /// The credential of each request (Bearer value or `x-api-key`).
    keys: Mutex<Vec<String>>,
    /// The headers and JSON body of each request.
    requests: Mutex<Vec<(HeaderMap, Value)>>,
    /// How long answers wait before their head is sent, in milliseconds.
    head_delay_ms: AtomicU64,
    /// When set, each stream's second chunk waits for a permit.
    paced: AtomicBool,
    release: Semaphore,
    /// Chunks of streamed answers sent so far.
    chunks_sent: AtomicUsize,
}

/// The running upstream.
pub struct LlmUpstream {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
    rec: Arc<Recorded>,
    task: tokio::task::JoinHandle<()>,
}

impl LlmUpstream {
    /// Starts the upstream on a loopback port.
    pub async fn start() -> Self {
        Self::start_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind")).await
    }

    /// Starts the upstream on `listener`.
    pub async fn start_on(listener: tokio::net::TcpListener) -> Self {
        Self::serve(listener, true).await
    }

    /// Starts the upstream on `listener`, keeping nothing of the requests: for load, where a
    /// record growing with every request would make each cost more than the last.
    pub async fn unrecorded(listener: tokio::net::TcpListener) -> Self {
        Self::serve(listener, false).await
    }

    async fn serve(listener: tokio::net::TcpListener, record: bool) -> Self {
        let rec = Arc::new(Recorded {
            record,
            keys: Mutex::default(),
            requests: Mutex::default(),
            head_delay_ms: AtomicU64::new(0),
            paced: AtomicBool::new(false),
            release: Semaphore::new(0),
            chunks_sent: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(models))
            .route("/v1/messages", post(messages))
            .with_state(rec.clone());
        let base = format!("http://{}", listener.local_addr().expect("address"));
        // As the providers' servers do: a stream's small chunks go out as they are written.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self { base, rec, task }
    }

    /// The base URL as the OpenAI SDK writes it (with `/v1`).
    pub fn openai_base(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// Every credential received so far, in order.
    pub fn keys(&self) -> Vec<String> {
        self.rec.keys.lock().unwrap().clone()
    }

    /// The headers and JSON body of every request so far.
    pub fn requests(&self) -> Vec<(HeaderMap, Value)> {
        self.rec.requests.lock().unwrap().clone()
    }

    /// Answers wait `delay` before they start.
    pub fn delay_answers(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.rec.head_delay_ms.store(ms, Ordering::SeqCst);
    }

    /// From now on each stream's second chunk waits for [`LlmUpstream::release`].
    pub fn pace(&self) {
        self.rec.paced.store(true, Ordering::SeqCst);
    }

    /// Lets one held chunk go.
    pub fn release(&self) {
        self.rec.release.add_permits(1);
    }

    /// Chunks of streamed answers sent so far.
    pub fn chunks_sent(&self) -> usize {
        self.rec.chunks_sent.load(Ordering::SeqCst)
    }
}

impl Drop for LlmUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Records the request and waits the configured delay.
async fn receive(rec: &Recorded, headers: &HeaderMap, body: &Bytes) -> Value {
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .unwrap_or_default()
        .to_owned();
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if rec.record {
        rec.keys.lock().unwrap().push(key);
        rec.requests.lock().unwrap().push((headers.clone(), json.clone()));
    }
    let delay = rec.head_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    json
}

/// A server-sent event stream of `events` (`(event name, data)`); when paced, the event at
/// `hold` (the second text chunk) waits for a release.
fn sse(rec: Arc<Recorded>, events: Vec<(Option<&'static str>, String)>, hold: usize) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    tokio::spawn(async move {
        for (i, (event, data)) in events.into_iter().enumerate() {
            if i == hold && rec.paced.load(Ordering::SeqCst) {
                rec.release.acquire().await.expect("semaphore").forget();
            }
            let frame = match event {
                Some(e) => format!("event: {e}\ndata: {data}\n\n"),
                None => format!("data: {data}\n\n"),
            };
            if tx.send(Bytes::from(frame)).await.is_err() {
                return;
            }
            rec.chunks_sent.fetch_add(1, Ordering::SeqCst);
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::convert::Infallible>(b), rx))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(body))
        .unwrap()
}

fn model(req: &Value) -> String {
    req["model"].as_str().unwrap_or("mock-model").to_owned()
}

async fn chat(State(rec): State<Arc<Recorded>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = receive(&rec, &headers, &body).await;
    let model = model(&req);
    let usage = json!({
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    });
    if req["stream"] != true {
        return axum::Json(json!({
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": TEXT.concat() }, "finish_reason": "stop" }],
            "usage": usage,
        }))
        .into_response();
    }
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        })
        .to_string()
    };
    let mut events = vec![
        (None, chunk(json!({ "role": "assistant", "content": "" }), Value::Null)),
        (None, chunk(json!({ "content": TEXT[0] }), Value::Null)),
        (None, chunk(json!({ "content": TEXT[1] }), Value::Null)),
        (None, chunk(json!({}), json!("stop"))),
    ];
    if req["stream_options"]["include_usage"] == true {
        let last = json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [], "usage": usage,
        });
        events.push((None, last.to_string()));
    }
    events.push((None, "[DONE]".to_owned()));
    sse(rec, events, 2)
}

async fn models(State(rec): State<Arc<Recorded>>, headers: HeaderMap) -> Response {
    receive(&rec, &headers, &Bytes::new()).await;
    axum::Json(json!({ "object": "list", "data": [{ "id": "mock-model", "object": "model", "created": 1, "owned_by": "mock" }] }))
        .into_response()
}

async fn messages(State(rec): State<Arc<Recorded>>, headers: HeaderMap, body: Bytes) -> Response {
    let req = receive(&rec, &headers, &body).await;
    if headers.get("anthropic-version").is_none() {
        let e = json!({ "type": "error", "error": { "type": "invalid_request_error", "message": "anthropic-version header is required" } });
        return (StatusCode::BAD_REQUEST, axum::Json(e)).into_response();
    }
    let model = model(&req);
    if req["stream"] != true {
        return axum::Json(json!({
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
            "content": [{ "type": "text", "text": TEXT.concat() }],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": { "input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS },
        }))
        .into_response();
    }
    let delta = |text: &str| {
        json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": text } })
            .to_string()
    };
    let start = json!({ "type": "message_start", "message": {
        "id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": null, "stop_sequence": null,
        "usage": { "input_tokens": PROMPT_TOKENS, "output_tokens": 1 },
    }});
    let block = json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } });
    let events = vec![
        (Some("message_start"), start.to_string()),
        (Some("content_block_start"), block.to_string()),
        (Some("content_block_delta"), delta(TEXT[0])),
        (Some("content_block_delta"), delta(TEXT[1])),
        (Some("content_block_stop"), json!({ "type": "content_block_stop", "index": 0 }).to_string()),
        (
            Some("message_delta"),
            json!({ "type": "message_delta", "delta": { "stop_reason": "end_turn", "stop_sequence": null }, "usage": { "output_tokens": COMPLETION_TOKENS } }).to_string(),
        ),
        (Some("message_stop"), json!({ "type": "message_stop" }).to_string()),
    ];
    sse(rec, events, 3)
}
