//! The accept loop and each connection's life: HTTP/1.1 served by hyper with WebSocket upgrades,
//! a cap on open connections, and the two timeouts that keep silent or slow clients (slowloris)
//! from holding connections for ever: one for a request's headers, one for a kept-alive
//! connection waiting for its next request.
//!
//! At the cap the loop stops accepting: new connections wait in the kernel's listen queue until
//! one closes, and the limit is logged once per burst. An upgraded connection (a room socket)
//! leaves both timers behind, the room channel's own keep-alive governs it, but it keeps its
//! place under the cap until it closes.
//!
//! hyper's own `header_read_timeout` is not used: it also runs while a kept-alive connection
//! waits for its next request, so one setting would be both timeouts. Instead each connection
//! notes when a request's head starts (its first bytes), when the head is complete (the service
//! is called) and when the response is done (its body is dropped), and the connection's task
//! checks the deadline that follows from them with one timer. Per request that costs a few relaxed
//! atomic stores, two clock reads and one reference count, and no timer registration.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// How many connections one server holds, and how long a connection may wait for a request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From a request's first byte (or, for a new connection, from its accept) to its last header.
    pub header_read: Duration,
    /// From a response's end to the next request's first byte on a kept-alive connection.
    pub idle: Duration,
    /// Open connections, upgraded ones included.
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `stop` turns true, then stops accepting, lets every
/// connection finish its request in flight and returns when all have closed.
pub async fn serve<S>(listener: TcpListener, app: S, limits: Limits, mut stop: watch::Receiver<bool>)
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Each connection's shutdown signal: dropping its sender asks it to finish and close.
    let open: Arc<Mutex<HashMap<u64, oneshot::Sender<()>>>> = Arc::default();
    // Every connection task holds a receiver; the sender sees them all gone.
    let (all_closed, closed) = watch::channel(());
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.header_read_timeout(None);
    let mut saturation = Saturation::default();
    let mut next_id = 0_u64;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                saturation.reached(limits.max_connections);
                tokio::select! {
                    p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                    _ = stopped(&mut stop) => break,
                }
            }
        };
        saturation.check_relief(permits.available_permits(), limits.max_connections);
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        // Without it, a streamed answer's small chunks (server-sent events, the LLM gate's
        // streams) wait for the peer's delayed ACK of the previous write: ~40 ms each.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "setting TCP_NODELAY failed");
        }
        next_id += 1;
        let id = next_id;
        let (stop_tx, stop_rx) = oneshot::channel();
        open.lock().expect("not poisoned").insert(id, stop_tx);
        let connection = Connection {
            stream,
            peer,
            permit,
            app: app.clone(),
            builder: builder.clone(),
            limits,
        };
        let (open, closed) = (open.clone(), closed.clone());
        tokio::spawn(async move {
            connection.run(stop_rx).await;
            open.lock().expect("not poisoned").remove(&id);
            drop(closed);
        });
    }
    drop(listener);
    drop(closed);
    // Dropping the senders tells each connection to finish its request in flight and close.
    open.lock().expect("not poisoned").clear();
    all_closed.closed().await;
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// An accepted connection, before it is served.
struct Connection<S> {
    stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    app: S,
    builder: hyper::server::conn::http1::Builder,
    limits: Limits,
}

impl<S> Connection<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    /// Serves requests until the client closes, a timeout passes, or shutdown (`stop`) lets the
    /// request in flight finish.
    async fn run(self, mut stop: oneshot::Receiver<()>) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            stream: self.stream,
            activity: activity.clone(),
            _permit: self.permit,
        });
        let service = PerConnection {
            app: self.app,
            activity: activity.clone(),
            peer: self.peer,
        };
        let mut conn = pin!(self.builder.serve_connection(io, service).with_upgrades());
        let limits = self.limits;
        // A phase's deadline is at least `step` after it starts: checking at least once per
        // `step` catches every phase change in time, without a timer change per request.
        let step = limits.header_read.min(limits.idle);
        let mut timer = pin!(tokio::time::sleep(step));
        let mut stopping = false;
        loop {
            tokio::select! {
                biased;
                ended = conn.as_mut() => {
                    if let Err(e) = ended {
                        tracing::debug!(error = %e, peer = %self.peer, "connection ended with an error");
                    }
                    return;
                }
                _ = &mut stop, if !stopping => {
                    // Nothing to finish before a first request: hyper would wait for the rest
                    // of a half-sent head.
                    if activity.phase.load(Relaxed) == FIRST {
                        return;
                    }
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
                () = timer.as_mut() => {
                    let now = Instant::now();
                    match activity.deadline(&limits) {
                        Some(deadline) if deadline <= now => {
                            tracing::debug!(peer = %self.peer, "closed a connection that sent no complete request in time");
                            return;
                        }
                        deadline => {
                            let next = now + step;
                            timer.as_mut().reset(deadline.map_or(next, |d| d.min(next)));
                        }
                    }
                }
            }
        }
    }
}

/// Waiting for the connection's first request head (timed from the accept).
const FIRST: u8 = 0;
/// A later request's head has started.
const HEAD: u8 = 1;
/// Waiting for the next request, nothing of it received yet.
const IDLE: u8 = 2;
/// A request is being handled or its response written.
const BUSY: u8 = 3;

/// Where a connection is in its request cycle, and since when. Written from the connection's
/// own task (its reads, its service, its response body), read by its timer in the same task.
struct Activity {
    start: Instant,
    phase: AtomicU8,
    /// Milliseconds after `start` at which `phase` began.
    since_ms: AtomicU64,
}

impl Activity {
    /// A new connection waits for its first head, timed from its accept.
    fn new() -> Self {
        Self {
            start: Instant::now(),
            phase: AtomicU8::new(FIRST),
            since_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Bytes arrived: on an idle connection they start the next request's head.
    fn bytes_arrived(&self) {
        if self.phase.load(Relaxed) == IDLE {
            self.since_ms.store(self.now_ms(), Relaxed);
            self.phase.store(HEAD, Relaxed);
        }
    }

    /// The head is complete: no timeout here while the request is handled (the routes have
    /// their own).
    fn request_started(&self) {
        self.phase.store(BUSY, Relaxed);
    }

    /// The response is written: the connection waits for the next request.
    fn response_done(&self) {
        self.since_ms.store(self.now_ms(), Relaxed);
        self.phase.store(IDLE, Relaxed);
    }

    /// When the connection is closed if nothing changes; `None` while a request is handled.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let since = self.start + Duration::from_millis(self.since_ms.load(Relaxed));
        match self.phase.load(Relaxed) {
            FIRST | HEAD => Some(since + limits.header_read),
            IDLE => Some(since + limits.idle),
            _ => None,
        }
    }
}

/// The socket, noting when bytes arrive, and holding the connection's place under the cap for
/// as long as it is open (an upgraded room socket included).
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.bytes_arrived();
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The application as one connection's hyper service: notes the request cycle, and gives the
/// handlers the peer address (`ConnectInfo`) as `axum::serve` did.
#[derive(Clone)]
struct PerConnection<S> {
    app: S,
    activity: Arc<Activity>,
    peer: SocketAddr,
}

impl<S> hyper::service::Service<Request<Incoming>> for PerConnection<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Responding<tower::util::Oneshot<S, Request<Body>>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.activity.request_started();
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(self.peer));
        Responding {
            inner: self.app.clone().oneshot(req),
            activity: Some(self.activity.clone()),
        }
    }
}

pin_project_lite::pin_project! {
    /// The application's response, its body [`Tracked`].
    struct Responding<F> {
        #[pin]
        inner: F,
        activity: Option<Arc<Activity>>,
    }
}

impl<F> Future for Responding<F>
where
    F: Future<Output = Result<Response<Body>, Infallible>>,
{
    type Output = Result<Response<Tracked>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(res) = ready!(this.inner.poll(cx));
        let activity = this.activity.take().expect("polled after completion");
        Poll::Ready(Ok(res.map(|body| Tracked {
            body,
            _done: ResponseDone(activity),
        })))
    }
}

/// A response body that marks the response done when hyper drops it (written, or abandoned).
struct Tracked {
    body: Body,
    _done: ResponseDone,
}

struct ResponseDone(Arc<Activity>);

impl Drop for ResponseDone {
    fn drop(&mut self) {
        self.0.response_done();
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connection cap's log: a warning when it is reached, and a note when a tenth of it is free
/// again, not a line per waiting connection.
#[derive(Default)]
struct Saturation {
    since: Option<Instant>,
    waits: u64,
}

impl Saturation {
    fn reached(&mut self, max: usize) {
        self.waits += 1;
        if self.since.is_none() {
            self.since = Some(Instant::now());
            tracing::warn!(
                max_connections = max,
                "the connection limit is reached: new connections wait in the listen queue until one closes"
            );
        }
    }

    fn check_relief(&mut self, available: usize, max: usize) {
        if let Some(since) = self.since
            && available.saturating_mul(10) >= max
        {
            tracing::info!(
                waits = self.waits,
                seconds = since.elapsed().as_secs(),
                "connections are below the limit again"
            );
            *self = Self::default();
        }
    }
}

/// A failed accept: the client's own failure is skipped; anything else (out of file
/// descriptors) is logged and retried after a pause, as hyper and axum do.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
