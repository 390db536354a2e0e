//! The load generator of the server benchmarks: keep-alive HTTP/1 connections on hyper's
//! low-level client, one task per connection, each repeating its [`Operation`] as soon as the
//! previous one is answered (a closed loop). Throughput counts the operations that complete in a
//! fixed window after a warm-up; the latency percentiles are over the same operations, and the
//! CPU time the server (and everything else) used in the window comes with them.
//!
//! Run it on a current-thread runtime pinned to its own core, so the generator's cost is one
//! core and never steals time from the server it measures.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::cpu::{Sample, Usage};

/// One keep-alive HTTP/1 connection.
pub struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

/// A response read to the end.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// This reply if it has `status`, else an error quoting the start of the body.
    pub fn expect(self, status: StatusCode, what: &str) -> anyhow::Result<Self> {
        if self.status == status {
            return Ok(self);
        }
        let body = String::from_utf8_lossy(&self.body[..self.body.len().min(300)]).into_owned();
        anyhow::bail!("{what}: expected {status}, got {}: {body}", self.status)
    }

    /// A header as text.
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the body contains `needle` (a cheap sanity check of a successful answer).
    pub fn body_contains(&self, needle: &[u8]) -> bool {
        self.body.windows(needle.len()).any(|w| w == needle)
    }
}

impl Conn {
    /// Connects to `addr` (Nagle off, as every HTTP client does).
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes; errors surface in `send`.
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            host: HeaderValue::from_str(&addr.to_string())?,
        })
    }

    /// A request builder with the `Host` header the low-level client does not add itself.
    pub fn request(&self, method: Method, path_and_query: &str) -> hyper::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(header::HOST, self.host.clone())
    }

    /// A form post (`application/x-www-form-urlencoded`) with extra headers.
    pub fn form(
        &self,
        path: &str,
        headers: &[(header::HeaderName, &HeaderValue)],
        body: String,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut b = self
            .request(Method::POST, path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in headers {
            b = b.header(name, *value);
        }
        Ok(b.body(Full::new(Bytes::from(body)))?)
    }

    /// Sends `req` and reads the whole response.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> anyhow::Result<Reply> {
        self.sender.ready().await.context("connection closed")?;
        let res = self.sender.send_request(req).await?;
        let (parts, body) = res.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// What one connection repeats; it keeps its own state between runs (a refresh-token chain).
pub trait Operation: Send + 'static {
    /// HTTP requests one run makes.
    fn requests(&self) -> u64 {
        1
    }

    /// Runs once; an error stops this connection.
    fn run(&mut self, conn: &mut Conn) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// How long to warm up and to measure.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub warmup: Duration,
    pub measure: Duration,
}

/// Connections opened and paired with their operations, ready to start.
pub struct Prepared<O> {
    workers: Vec<(O, Conn)>,
}

/// The figures of one load run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Operations completed in the window.
    pub ops: u64,
    /// HTTP requests of those operations.
    pub requests: u64,
    pub window: Duration,
    /// Latency of each operation in the window, in microseconds, sorted.
    latencies: Vec<u32>,
    /// Connections stopped by an error, and the first error.
    pub failed_connections: usize,
    pub first_error: Option<String>,
    /// CPU time used during the window.
    pub cpu: Usage,
}

impl Outcome {
    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.window.as_secs_f64()
    }

    /// HTTP requests per second.
    pub fn requests_per_sec(&self) -> f64 {
        self.requests as f64 / self.window.as_secs_f64()
    }

    /// Server CPU time per HTTP request, in microseconds.
    pub fn server_us_per_request(&self) -> f64 {
        self.cpu.server.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }

    /// The `p`-quantile (0–1) of the operation latency.
    pub fn latency(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        Duration::from_micros(u64::from(self.latencies[i]))
    }
}

/// Opens one connection per operation.
pub async fn prepare<O: Operation>(addr: SocketAddr, ops: Vec<O>) -> anyhow::Result<Prepared<O>> {
    let mut workers = Vec::with_capacity(ops.len());
    for op in ops {
        workers.push((op, Conn::open(addr).await?));
    }
    Ok(Prepared { workers })
}

struct Worker {
    ops: u64,
    latencies: Vec<u32>,
    error: Option<String>,
}

impl<O: Operation> Prepared<O> {
    /// Runs every connection until the window closes, reading the CPU use of the process `server`
    /// (and of the machine) at the window's edges.
    pub async fn run(self, window: Window, server: Option<u32>) -> anyhow::Result<Outcome> {
        let from = Instant::now() + window.warmup;
        let until = from + window.measure;
        let probe = tokio::spawn(async move {
            tokio::time::sleep_until(from.into()).await;
            let start = Sample::now(server);
            tokio::time::sleep_until(until.into()).await;
            Sample::now(server).since(&start)
        });
        let per_request = self.workers.first().map_or(1, |(op, _)| op.requests());
        let tasks: Vec<_> = self
            .workers
            .into_iter()
            .map(|(mut op, mut conn)| {
                tokio::spawn(async move {
                    let mut w = Worker {
                        ops: 0,
                        latencies: Vec::with_capacity(16 * 1024),
                        error: None,
                    };
                    loop {
                        let t0 = Instant::now();
                        if t0 >= until {
                            break;
                        }
                        if let Err(e) = op.run(&mut conn).await {
                            w.error = Some(format!("{e:#}"));
                            break;
                        }
                        let t1 = Instant::now();
                        if t1 >= from && t1 < until {
                            w.ops += 1;
                            w.latencies
                                .push(u32::try_from((t1 - t0).as_micros()).unwrap_or(u32::MAX));
                        }
                    }
                    w
                })
            })
            .collect();
        let mut out = Outcome {
            ops: 0,
            requests: 0,
            window: window.measure,
            latencies: Vec::new(),
            failed_connections: 0,
            first_error: None,
            cpu: Usage::default(),
        };
        for t in tasks {
            let w = t.await?;
            out.ops += w.ops;
            out.latencies.extend(w.latencies);
            if let Some(e) = w.error {
                out.failed_connections += 1;
                out.first_error.get_or_insert(e);
            }
        }
        out.requests = out.ops * per_request;
        out.cpu = probe.await?;
        out.latencies.sort_unstable();
        Ok(out)
    }
}
