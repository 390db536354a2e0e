//! The proxied routes: each caller type with the project's key put in its place, every refusal
//! naming its condition, streams passed on chunk by chunk, and the bounds (body size, a down or
//! slow upstream).

use std::time::{Duration, Instant};

use gatehouse_testkit::llm_upstream::TEXT;
use reqwest::Method;
use serde_json::json;

use super::{ANTHROPIC_KEY, Gate, OPENAI_KEY, VERSION, chat, message};
use crate::backends;

const CHAT: &str = "/openai/v1/chat/completions";
const MESSAGES: &str = "/anthropic/v1/messages";
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_type_reaches_the_upstream_with_the_project_key_only() {
    for backend in backends() {
        let g = Gate::start(backend, |_| {}).await;
        let bearer = |t: &str| format!("Bearer {t}");
        // An API key, on both routes, as each SDK sends it.
        let (st, r) = g
            .call(CHAT, &[("authorization", &bearer(&g.key))], &chat("gpt-4o", false))
            .await;
        assert_eq!(
            (st, r["choices"][0]["message"]["content"].as_str()),
            (200, Some(TEXT.concat().as_str())),
            "{r}"
        );
        let (st, r) = g
            .call(MESSAGES, &[("x-api-key", &g.key), VERSION], &message("claude-3", false))
            .await;
        assert_eq!(
            (st, r["content"][0]["text"].as_str()),
            (200, Some(TEXT.concat().as_str())),
            "{r}"
        );
        // A participant token with an llm grant.
        let agent = g.participant("agent-7", json!({ "llm": {} })).await;
        let (st, r) = g
            .call(CHAT, &[("authorization", &bearer(&agent))], &chat("gpt-4o", false))
            .await;
        assert_eq!(st, 200, "{r}");
        // A person's token with llm_proxy, the project header and can_use_llm_proxy.
        let person = g
            .member_tokens(json!({ "can_use_llm_proxy": true }), &["openid llm_proxy"])
            .await
            .remove(0);
        let (st, r) = g
            .call(
                MESSAGES,
                &[
                    ("authorization", &bearer(&person)),
                    ("meshagent-project-id", &g.project),
                    VERSION,
                ],
                &message("claude-3", false),
            )
            .await;
        assert_eq!(st, 200, "{r}");
        let (st, r) = g
            .call(
                CHAT,
                &[
                    ("authorization", &bearer(&person)),
                    ("gatehouse-project-id", &g.project),
                ],
                &chat("gpt-4o", false),
            )
            .await;
        assert_eq!(st, 200, "the Gatehouse-Project-Id spelling: {r}");
        assert_eq!(
            g.up.keys(),
            [OPENAI_KEY, ANTHROPIC_KEY, OPENAI_KEY, ANTHROPIC_KEY, OPENAI_KEY]
        );
        for (headers, _) in g.up.requests() {
            for dropped in [
                "cookie",
                "meshagent-project-id",
                "gatehouse-project-id",
                "accept-encoding",
            ] {
                assert!(headers.get(dropped).is_none(), "{dropped} reached the upstream");
            }
        }
        g.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_names_the_condition_that_failed() {
    for backend in backends() {
        let g = Gate::start(backend, |_| {}).await;
        let bearer = |t: &str| format!("Bearer {t}");
        let refused = |(st, e): (u16, serde_json::Value), status: u16, words: &str| {
            assert_eq!(st, status, "{e}");
            let m = e["message"].as_str().unwrap_or_default();
            assert!(m.contains(words), "{words:?} not in {e}");
            assert!(!e.to_string().contains(OPENAI_KEY) && !e.to_string().contains(ANTHROPIC_KEY));
        };
        refused(g.call(CHAT, &[], &chat("m", false)).await, 401, "missing Authorization");
        refused(
            g.call(CHAT, &[("x-api-key", &g.key)], &chat("m", false)).await,
            401,
            "missing Authorization",
        );
        refused(
            g.call(CHAT, &[("authorization", "Bearer nonsense")], &chat("m", false))
                .await,
            401,
            "not a valid",
        );
        let plain = g.participant("no-llm", json!({ "messaging": {} })).await;
        refused(
            g.call(CHAT, &[("authorization", &bearer(&plain))], &chat("m", false))
                .await,
            403,
            "no llm member",
        );
        let narrow = g
            .participant("narrow", json!({ "llm": { "models": ["openai/gpt-4o-mini*"] } }))
            .await;
        refused(
            g.call(CHAT, &[("authorization", &bearer(&narrow))], &chat("o1", false))
                .await,
            403,
            "openai/o1 is not allowed",
        );
        let (st, _) = g
            .call(
                CHAT,
                &[("authorization", &bearer(&narrow))],
                &chat("gpt-4o-mini-2024", false),
            )
            .await;
        assert_eq!(st, 200, "an allowed model passes");
        let tokens = g
            .member_tokens(json!({}), &["openid gatehouse_api", "openid llm_proxy"])
            .await;
        let (no_scope, person) = (&tokens[0], &tokens[1]);
        let project = ("meshagent-project-id", g.project.as_str());
        refused(
            g.call(
                CHAT,
                &[("authorization", &bearer(no_scope)), project],
                &chat("m", false),
            )
            .await,
            403,
            "llm_proxy scope",
        );
        refused(
            g.call(CHAT, &[("authorization", &bearer(person))], &chat("m", false))
                .await,
            403,
            "Meshagent-Project-Id header",
        );
        refused(
            g.call(CHAT, &[("authorization", &bearer(person)), project], &chat("m", false))
                .await,
            403,
            "can_use_llm_proxy",
        );
        let (other, _) = g.s.project("Elsewhere").await;
        refused(
            g.call(
                CHAT,
                &[("authorization", &bearer(person)), ("meshagent-project-id", &other)],
                &chat("m", false),
            )
            .await,
            403,
            "not a member",
        );
        assert_eq!(g.up.keys().len(), 1, "only the allowed model reached the upstream");
        let path = format!("/accounts/projects/{}/llm/providers/anthropic", g.project);
        assert_eq!(g.s.call_as(&g.key, Method::DELETE, &path, None).await.0, 204);
        refused(
            g.call(MESSAGES, &[("x-api-key", &g.key), VERSION], &message("claude-3", false))
                .await,
            409,
            "no anthropic provider key",
        );
        g.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_reach_the_caller_before_the_upstream_sends_its_next_chunk() {
    for backend in backends() {
        let g = Gate::start(backend, |_| {}).await;
        g.up.pace();
        for (path, body, headers, held_at) in [
            (
                CHAT,
                chat("gpt-4o", true),
                vec![("authorization", format!("Bearer {}", g.key))],
                2,
            ),
            (
                MESSAGES,
                message("claude-3", true),
                vec![("x-api-key", g.key.clone()), (VERSION.0, VERSION.1.to_owned())],
                3,
            ),
        ] {
            let before = g.up.chunks_sent();
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut res = g.post(path, &headers, &body).send().await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["x-accel-buffering"], "no");
            assert!(
                res.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/event-stream")
            );
            assert!(res.headers().get("content-encoding").is_none());
            let mut seen = String::new();
            while !seen.contains(TEXT[0]) {
                let chunk = tokio::time::timeout(Duration::from_secs(5), res.chunk())
                    .await
                    .expect("the first chunks arrive while the upstream holds the next")
                    .unwrap()
                    .expect("more body");
                seen.push_str(std::str::from_utf8(&chunk).unwrap());
            }
            assert_eq!(
                g.up.chunks_sent() - before,
                held_at,
                "the upstream has not sent the next chunk yet"
            );
            assert!(!seen.contains(TEXT[1]));
            g.up.release();
            while let Some(chunk) = res.chunk().await.unwrap() {
                seen.push_str(std::str::from_utf8(&chunk).unwrap());
            }
            assert!(seen.contains(TEXT[1]), "{seen}");
        }
        g.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_and_down_or_slow_upstreams_502_or_504() {
    for backend in backends() {
        let g = Gate::start(backend, |c| c.llm_timeout_secs = 1).await;
        let auth = format!("Bearer {}", g.key);
        let big = json!({ "model": "gpt-4o", "messages": [{ "role": "user", "content": "x".repeat(70 * 1024) }] });
        let (st, e) = g.call(CHAT, &[("authorization", &auth)], &big).await;
        assert_eq!(st, 413, "{e}");
        g.up.delay_answers(Duration::from_secs(3));
        let started = Instant::now();
        let (st, e) = g.call(CHAT, &[("authorization", &auth)], &chat("gpt-4o", false)).await;
        assert_eq!((st, e["error"].as_str()), (504, Some("upstream_timeout")), "{e}");
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "{:?}",
            started.elapsed()
        );
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let (st, r) = g
            .put_provider(
                "openai",
                json!({ "api_key": OPENAI_KEY, "base_url": format!("http://{closed}/v1") }),
            )
            .await;
        assert_eq!(st, 200, "{r}");
        let (st, e) = g.call(CHAT, &[("authorization", &auth)], &chat("gpt-4o", false)).await;
        assert_eq!((st, e["error"].as_str()), (502, Some("upstream_unavailable")), "{e}");
        assert!(!e.to_string().contains(OPENAI_KEY));
        g.stop().await;
    }
}
