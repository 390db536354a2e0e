//! Prometheus metrics: request counts and latency histograms by route and status, rendered in
//! the text exposition format at `/metrics`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use tower::{Layer, Service};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request metrics by route template, then by (method, status). Recording a request allocates
/// only the first time its route is seen.
#[derive(Debug, Default)]
pub struct Metrics(Mutex<HashMap<String, RouteSeries>>);

/// One route's series by (method, status).
type RouteSeries = BTreeMap<(&'static str, u16), Series>;

impl Metrics {
    fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let by_route = match map.get_mut(route) {
            Some(r) => r,
            None => map.entry(route.to_owned()).or_default(),
        };
        let s = by_route.entry((method, status)).or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let map: BTreeMap<_, _> = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .flat_map(|(r, series)| series.iter().map(move |((m, st), s)| ((*m, r.clone(), *st), s.clone())))
            .collect();
        let mut out = String::new();
        out.push_str("# HELP gatehouse_http_requests_total HTTP requests by route and status.\n# TYPE gatehouse_http_requests_total counter\n");
        for ((m, r, st), s) in &map {
            let _ = writeln!(
                out,
                "gatehouse_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{st}\"}} {}",
                escape(r),
                s.count
            );
        }
        out.push_str("# HELP gatehouse_http_request_duration_seconds HTTP request latency by route and status.\n# TYPE gatehouse_http_request_duration_seconds histogram\n");
        for ((m, r, st), s) in &map {
            let labels = format!("method=\"{m}\",route=\"{}\",status=\"{st}\"", escape(r));
            for (le, n) in BUCKETS.iter().zip(s.buckets) {
                let _ = writeln!(
                    out,
                    "gatehouse_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(out, "gatehouse_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(
                out,
                "gatehouse_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Methods are a fixed set of labels: any other token would add a series per distinct value.
fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Middleware recording every request under its route template (never the raw path, which
/// would carry ids and let cardinality grow without bound). A layer of its own rather than
/// `axum::middleware::from_fn`, which boxes a clone of the route and its future per request.
#[derive(Clone)]
pub struct Record(pub Arc<Metrics>);

impl<S> Layer<S> for Record {
    type Service = Recorded<S>;

    fn layer(&self, inner: S) -> Recorded<S> {
        Recorded {
            inner,
            metrics: self.0.clone(),
        }
    }
}

/// A route's service wrapped by [`Record`].
#[derive(Clone)]
pub struct Recorded<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S: Service<Request, Response = Response>> Service<Request> for Recorded<S> {
    type Response = Response;
    type Error = S::Error;
    type Future = Recording<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let method = method_label(req.method());
        // `MatchedPath` is an `Arc<str>` inside: cloning it does not allocate.
        let route = req.extensions().get::<MatchedPath>().cloned();
        Recording {
            start: Instant::now(),
            inner: self.inner.call(req),
            metrics: self.metrics.clone(),
            method,
            route,
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's response on its way out, observed when it is ready.
    pub struct Recording<F> {
        #[pin]
        inner: F,
        metrics: Arc<Metrics>,
        method: &'static str,
        route: Option<MatchedPath>,
        start: Instant,
    }
}

impl<F: Future<Output = Result<Response, E>>, E> Future for Recording<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = ready!(this.inner.poll(cx));
        if let Ok(r) = &res {
            this.metrics.observe(
                this.method,
                this.route.as_ref().map_or("unmatched", MatchedPath::as_str),
                r.status().as_u16(),
                this.start.elapsed().as_secs_f64(),
            );
        }
        Poll::Ready(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labelled_by_route_and_status() {
        let m = Metrics::default();
        m.observe("GET", "/x/{id}", 200, 0.002);
        m.observe("GET", "/x/{id}", 200, 0.2);
        let text = m.render();
        assert!(text.contains("gatehouse_http_requests_total{method=\"GET\",route=\"/x/{id}\",status=\"200\"} 2"));
        assert!(text.contains("le=\"0.0025\"} 1"));
        assert!(text.contains("le=\"0.25\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }

    #[test]
    fn unknown_methods_share_one_label() {
        for (m, label) in [
            ("GET", "GET"),
            ("DELETE", "DELETE"),
            ("BREW", "other"),
            ("WHEN", "other"),
        ] {
            assert_eq!(
                method_label(&axum::http::Method::from_bytes(m.as_bytes()).unwrap()),
                label
            );
        }
    }
}
