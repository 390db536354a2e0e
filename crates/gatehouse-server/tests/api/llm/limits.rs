//! Limits (SPEC §8): each of the project's and each caller's requests per minute and tokens per
//! day refuses with 429, `Retry-After` and the provider's own error shape, on both routes,
//! streamed or not; windows end with the clock; callers and projects are counted apart; the
//! limits' REST API refuses bad bodies and non-admins and is audited; two nodes on one
//! PostgreSQL database share the counts within one flush.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_testkit::ShiftedClock;
use gatehouse_testkit::llm_upstream::{COMPLETION_TOKENS, PROMPT_TOKENS};
use reqwest::Method;
use serde_json::{Value, json};

use super::{ANTHROPIC_KEY, Gate, OPENAI_KEY, VERSION, chat, message};
use crate::{TestServer, backends};

/// One answer's tokens.
const TOKENS: u64 = PROMPT_TOKENS + COMPLETION_TOKENS;

/// A route of the gate, streamed or not.
#[derive(Debug, Clone, Copy)]
struct Route {
    provider: &'static str,
    stream: bool,
}

const ROUTES: [Route; 4] = [
    Route {
        provider: "openai",
        stream: false,
    },
    Route {
        provider: "openai",
        stream: true,
    },
    Route {
        provider: "anthropic",
        stream: false,
    },
    Route {
        provider: "anthropic",
        stream: true,
    },
];

/// An answer of the gate, read to its end.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

/// Calls `route` on `node` with `key`, as that provider's SDK sends its credential.
async fn ask(node: &TestServer, route: Route, key: &str) -> Answer {
    let auth = format!("Bearer {key}");
    let req = if route.provider == "openai" {
        super::post_to(
            node,
            "/openai/v1/chat/completions",
            &[("authorization", &auth)],
            &chat("gpt-4o", route.stream),
        )
    } else {
        super::post_to(
            node,
            "/anthropic/v1/messages",
            &[("x-api-key", key), VERSION],
            &message("claude-3", route.stream),
        )
    };
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        retry_after,
        body,
    }
}

/// Waits until `node` has counted `n` answers in all (the usage of each, its tokens included, is
/// counted before the metrics show it).
async fn answered(node: &TestServer, n: u64) {
    for _ in 0..200 {
        let metrics = node.get_text("/metrics").await;
        let total: u64 = metrics
            .lines()
            .filter(|l| l.starts_with("gatehouse_llm_requests_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        if total >= n {
            assert_eq!(total, n, "more answers than requests admitted");
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the answers were not counted in time");
}

/// Asserts `a` is the 429 of `route`'s provider naming `limit`, with a `Retry-After` in `wait`.
fn assert_limited(a: &Answer, route: Route, limit: &str, wait: std::ops::RangeInclusive<u64>) {
    assert_eq!(a.status, 429, "{route:?}: {a:?}");
    let retry = a.retry_after.expect("Retry-After");
    assert!(wait.contains(&retry), "{route:?}: Retry-After {retry} not in {wait:?}");
    let message = if route.provider == "openai" {
        assert_eq!(a.body["error"]["code"], "rate_limit_exceeded", "{a:?}");
        &a.body["error"]["message"]
    } else {
        assert_eq!(
            (&a.body["type"], &a.body["error"]["type"]),
            (&json!("error"), &json!("rate_limit_error")),
            "{a:?}"
        );
        &a.body["error"]["message"]
    };
    let message = message.as_str().unwrap();
    assert!(message.contains(limit), "{route:?}: {message:?} names {limit:?}");
    assert!(
        !message.contains(OPENAI_KEY) && !message.contains(ANTHROPIC_KEY),
        "{message}"
    );
}

/// Moves `clock` to just after the start of the next UTC day (and so of a minute), leaving a
/// test the whole of both windows.
fn next_day(clock: &ShiftedClock) {
    use gatehouse_core::time::Clock;
    let secs = clock.now().millis().div_euclid(1000);
    clock.advance_secs(86_400 - secs.rem_euclid(86_400) + 1);
}

impl Gate {
    /// `PUT …/llm/limits` as `key`.
    async fn put_limits_as(&self, key: &str, body: Value) -> (u16, Value) {
        let path = format!("/accounts/projects/{}/llm/limits", self.project);
        self.s.call_as(key, Method::PUT, &path, Some(body)).await
    }

    /// Another API key of the project: another caller.
    async fn other_key(&self) -> String {
        let path = format!("/accounts/projects/{}/api-keys", self.project);
        let name = format!("caller-{}", uuid::Uuid::new_v4());
        let k = self.s.created(&path, json!({ "name": name })).await;
        k["value"].as_str().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_limit_answers_429_with_retry_after_on_every_route_until_its_window_ends() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        let g = Gate::start_clocked(backend, |_| {}, clock.clone()).await;
        let other = g.other_key().await;
        let mut admitted = 0;
        // (limits, the refusal's words, answers before it, whether it holds the other caller
        // back, the Retry-After range)
        let cases = [
            (
                json!({ "project": { "requests_per_minute": 2 } }),
                "the project's requests per minute limit of 2",
                2,
                true,
                1..=60,
            ),
            (
                json!({ "per_caller": { "requests_per_minute": 1 } }),
                "this caller's requests per minute limit of 1",
                1,
                false,
                1..=60,
            ),
            (
                json!({ "project": { "tokens_per_day": TOKENS } }),
                &format!("the project's tokens per day limit of {TOKENS}"),
                1,
                true,
                3_600..=86_400,
            ),
            (
                json!({ "per_caller": { "tokens_per_day": TOKENS, "requests_per_minute": 100 } }),
                &format!("this caller's tokens per day limit of {TOKENS}"),
                1,
                false,
                3_600..=86_400,
            ),
        ];
        for (limits, words, allowed, holds_others, wait) in cases {
            let (st, r) = g.put_limits_as(&g.s.admin_key, limits.clone()).await;
            assert_eq!(st, 200, "{r}");
            for route in ROUTES {
                next_day(&clock);
                for _ in 0..allowed {
                    let a = ask(&g.s, route, &g.key).await;
                    assert_eq!(a.status, 200, "{limits} {route:?}: {a:?}");
                    admitted += 1;
                }
                answered(&g.s, admitted).await;
                let a = ask(&g.s, route, &g.key).await;
                assert_limited(&a, route, words, wait.clone());
                let window_ends = a.retry_after.unwrap();
                let a = ask(&g.s, route, &other).await;
                if holds_others {
                    assert_limited(&a, route, words, wait.clone());
                } else {
                    assert_eq!(a.status, 200, "another caller has its own count: {a:?}");
                    admitted += 1;
                    answered(&g.s, admitted).await;
                }
                clock.advance_secs(i64::try_from(window_ends).unwrap());
                let a = ask(&g.s, route, &g.key).await;
                assert_eq!(a.status, 200, "the window ended: {limits} {route:?}: {a:?}");
                admitted += 1;
                answered(&g.s, admitted).await;
            }
        }
        // A participant is a caller of its own, counted by its name.
        next_day(&clock);
        let (st, _) = g
            .put_limits_as(&g.s.admin_key, json!({ "per_caller": { "requests_per_minute": 1 } }))
            .await;
        assert_eq!(st, 200);
        let agent = g.participant("agent", json!({ "llm": {} })).await;
        let route = ROUTES[0];
        assert_eq!(ask(&g.s, route, &agent).await.status, 200);
        let a = ask(&g.s, route, &agent).await;
        assert_limited(&a, route, "this caller's requests per minute limit of 1", 1..=60);
        assert_eq!(ask(&g.s, route, &g.key).await.status, 200);
        g.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_projects_limits_never_apply_to_another() {
    for backend in backends() {
        let g = Gate::start(backend, |_| {}).await;
        let (st, r) = g
            .put_limits_as(&g.s.admin_key, json!({ "project": { "requests_per_minute": 0 } }))
            .await;
        assert_eq!(st, 200, "{r}");
        let (other, other_key) = g.s.project("Other").await;
        let path = format!("/accounts/projects/{other}/llm/providers/openai");
        let body = json!({ "api_key": OPENAI_KEY, "base_url": g.up.openai_base() });
        assert_eq!(g.s.call_as(&other_key, Method::PUT, &path, Some(body)).await.0, 200);
        let route = ROUTES[0];
        assert_limited(
            &ask(&g.s, route, &g.key).await,
            route,
            "the project's requests per minute limit of 0",
            1..=60,
        );
        assert_eq!(ask(&g.s, route, &other_key).await.status, 200);
        let path = format!("/accounts/projects/{other}/llm/limits");
        let (st, r) = g.s.call_as(&other_key, Method::GET, &path, None).await;
        assert_eq!((st, &r["project"]["requests_per_minute"]), (200, &Value::Null), "{r}");
        g.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_set_by_admins_only_checked_field_by_field_and_audited() {
    for backend in backends() {
        let g = Gate::start(backend, |_| {}).await;
        let path = format!("/accounts/projects/{}/llm/limits", g.project);
        let (st, r) = g.s.call_as(&g.key, Method::GET, &path, None).await;
        assert_eq!(st, 200, "{r}");
        assert_eq!(
            r,
            json!({ "project": { "requests_per_minute": null, "tokens_per_day": null },
                    "per_caller": { "requests_per_minute": null, "tokens_per_day": null } })
        );
        for (body, field) in [
            (
                json!({ "project": { "requests_per_minute": -1 } }),
                "project.requests_per_minute",
            ),
            (
                json!({ "project": { "requests_per_minute": 10_000_001 } }),
                "project.requests_per_minute",
            ),
            (
                json!({ "per_caller": { "tokens_per_day": 1_000_000_000_001_u64 } }),
                "per_caller.tokens_per_day",
            ),
            (
                json!({ "per_caller": { "tokens_per_day": "many" } }),
                "per_caller.tokens_per_day",
            ),
            (
                json!({ "per_caller": { "requests_per_minute": 1.5 } }),
                "per_caller.requests_per_minute",
            ),
            (json!({ "project": { "rpm": 5 } }), "rpm"),
            (json!({ "projects": {} }), "projects"),
            (json!({ "project": 5 }), "project"),
        ] {
            let (st, r) = g.put_limits_as(&g.s.admin_key, body.clone()).await;
            assert_eq!(st, 400, "{body}: {r}");
            let m = r["message"].as_str().unwrap();
            assert!(m.contains(field), "{body}: {m:?} names {field}");
        }
        let limits = json!({ "project": { "requests_per_minute": 600, "tokens_per_day": 2_000_000 },
                             "per_caller": { "requests_per_minute": 60, "tokens_per_day": null } });
        let (st, r) = g.put_limits_as(&g.key, limits.clone()).await;
        assert_eq!(st, 403, "a project API key is not an admin: {r}");
        let (st, r) = g.put_limits_as(&g.s.admin_key, limits.clone()).await;
        assert_eq!(st, 200, "{r}");
        assert!(r["updated_at"].is_string(), "{r}");
        let (_, read) = g.s.call_as(&g.key, Method::GET, &path, None).await;
        assert_eq!(
            (&read["project"], &read["per_caller"]),
            (&limits["project"], &limits["per_caller"])
        );
        let (st, _) =
            g.s.call_as(
                &g.key,
                Method::GET,
                &format!("/accounts/projects/{}/llm/limits", uuid::Uuid::new_v4()),
                None,
            )
            .await;
        assert_eq!(st, 404, "another project's limits are not this key's");
        let (_, audit) =
            g.s.call(
                Method::GET,
                &format!("/accounts/projects/{}/audit?action=llm_limits", g.project),
                None,
            )
            .await;
        let events = audit["events"].as_array().unwrap();
        assert_eq!(events.len(), 1, "only the change that was made: {audit}");
        assert_eq!(events[0]["action"], "llm_limits.put");
        assert_eq!(events[0]["details"]["project"], limits["project"], "{audit}");
        g.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_limits_within_one_flush() {
    for backend in backends() {
        let clock = Arc::new(ShiftedClock::default());
        next_day(&clock);
        let g = Gate::start_clocked(backend, |_| {}, clock.clone()).await;
        let Some(b) = g.second_node_on(clock.clone()).await else {
            println!("skipped on SQLite: two nodes need a shared PostgreSQL database");
            g.stop().await;
            continue;
        };
        let (a, route) = (&g.s, ROUTES[0]);
        let limits = json!({ "project": { "requests_per_minute": 3 },
                             "per_caller": { "tokens_per_day": TOKENS } });
        let (st, r) = g.put_limits_as(&g.s.admin_key, limits).await;
        assert_eq!(st, 200, "{r}");
        let mut keys = vec![g.key.clone()];
        for _ in 0..4 {
            keys.push(g.other_key().await);
        }
        let rpm = "the project's requests per minute limit of 3";
        let tpd = format!("this caller's tokens per day limit of {TOKENS}");
        let flush = async || {
            for node in [a, &b, a] {
                node.gatehouse().flush_llm_usage().await.unwrap();
            }
        };
        assert_eq!(ask(a, route, &keys[0]).await.status, 200);
        assert_eq!(ask(&b, route, &keys[1]).await.status, 200);
        answered(a, 1).await;
        answered(&b, 1).await;
        flush().await;
        // Each node has the other's tokens of each caller now.
        assert_limited(&ask(&b, route, &keys[0]).await, route, &tpd, 3_600..=86_400);
        assert_limited(&ask(a, route, &keys[1]).await, route, &tpd, 3_600..=86_400);
        // The project's 2 requests are known to both; a's third is not known to b before the
        // next flush, so b admits one more: the tolerance of one flush interval.
        assert_eq!(ask(a, route, &keys[2]).await.status, 200);
        assert_eq!(ask(&b, route, &keys[3]).await.status, 200);
        assert_limited(&ask(a, route, &keys[4]).await, route, rpm, 1..=60);
        answered(a, 2).await;
        answered(&b, 2).await;
        flush().await;
        assert_limited(&ask(&b, route, &keys[4]).await, route, rpm, 1..=60);
        // The minute ends on both; the day does not.
        clock.advance_secs(60);
        assert_eq!(ask(&b, route, &keys[4]).await.status, 200);
        assert_limited(&ask(&b, route, &keys[0]).await, route, &tpd, 3_600..=86_400);
        next_day(&clock);
        assert_eq!(ask(&b, route, &keys[0]).await.status, 200);
        assert_eq!(ask(a, route, &keys[1]).await.status, 200);
        b.stop().await;
        g.stop().await;
    }
}
