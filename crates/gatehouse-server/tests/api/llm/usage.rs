//! Usage counted from the upstream's own numbers: answers streamed and not, on both providers,
//! a caller that goes away mid-stream, the report's groupings and the Prometheus counters.

use std::time::Duration;

use gatehouse_testkit::llm_upstream::{COMPLETION_TOKENS, PROMPT_TOKENS, TEXT};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Gate, VERSION, chat, message};
use crate::backends;

/// `GET …/llm/usage?{query}`'s rows.
async fn usage(g: &Gate, query: &str) -> Vec<Value> {
    let path = format!("/accounts/projects/{}/llm/usage?{query}", g.project);
    let (st, r) = g.s.call_as(&g.key, Method::GET, &path, None).await;
    assert_eq!(st, 200, "{r}");
    r["rows"].as_array().unwrap().clone()
}

/// The text of a streamed answer.
async fn streamed(g: &Gate, path: &str, headers: &[(&str, &str)], body: &Value) -> String {
    let res = g.post(path, headers, body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_the_upstreams_own_count_streamed_or_not_on_both_providers() {
    for backend in backends() {
        let g = Gate::start(backend, |_| {}).await;
        let auth = format!("Bearer {}", g.key);
        let openai = [("authorization", auth.as_str())];
        let anthropic = [("x-api-key", g.key.as_str()), VERSION];
        assert_eq!(
            g.call("/openai/v1/chat/completions", &openai, &chat("gpt-4o", false))
                .await
                .0,
            200
        );
        let text = streamed(&g, "/openai/v1/chat/completions", &openai, &chat("gpt-4o", true)).await;
        assert!(text.contains(TEXT[1]) && text.ends_with("data: [DONE]\n\n"), "{text}");
        assert!(
            !text.contains("\"usage\""),
            "the usage chunk the gate asked for stays with the gate: {text}"
        );
        let asked =
            json!({ "model": "gpt-4o", "stream": true, "stream_options": { "include_usage": true }, "messages": [] });
        let text = streamed(&g, "/openai/v1/chat/completions", &openai, &asked).await;
        assert!(
            text.contains("\"usage\""),
            "a caller that asked for usage gets it: {text}"
        );
        let sent = g.up.requests();
        assert!(
            sent[1].1["stream_options"]["include_usage"] == true,
            "the gate asked the upstream for usage"
        );
        assert_eq!(
            g.call("/anthropic/v1/messages", &anthropic, &message("claude-3", false))
                .await
                .0,
            200
        );
        let text = streamed(&g, "/anthropic/v1/messages", &anthropic, &message("claude-3", true)).await;
        assert!(text.contains("message_delta"), "{text}");
        let rows = usage(&g, "group_by=provider,model").await;
        let expect = |provider: &str, model: &str, requests: u64| {
            json!({
                "provider": provider, "model": model, "requests": requests,
                "input_tokens": requests * PROMPT_TOKENS, "output_tokens": requests * COMPLETION_TOKENS,
            })
        };
        assert_eq!(
            rows,
            [expect("openai", "gpt-4o", 3), expect("anthropic", "claude-3", 2)]
        );
        // A period outside the calendar, backwards or longer than 31 days is refused, naming it.
        for (query, field) in [
            ("to=253402300800", "to"),
            ("from=-1", "from"),
            ("from=100&to=50", "to"),
            ("from=0&to=2678460", "to"),
            ("group_by=week", "group_by"),
        ] {
            let path = format!("/accounts/projects/{}/llm/usage?{query}", g.project);
            let (st, r) = g.s.call_as(&g.key, Method::GET, &path, None).await;
            assert_eq!(st, 400, "{query}: {r}");
            assert!(r["message"].as_str().unwrap().starts_with(field), "{query}: {r}");
        }
        let rows = usage(&g, "group_by=caller").await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0]["caller_kind"], "api_key");
        let key_id = gatehouse_core::api_key::ApiKeyValue::parse(&g.key)
            .unwrap()
            .id
            .to_string();
        assert_eq!(rows[0]["caller_id"].as_str(), Some(key_id.as_str()));
        let metrics =
            g.s.http
                .get(format!("{}/metrics", g.s.base))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
        assert!(
            metrics.contains(&format!(
                "gatehouse_llm_tokens_total{{provider=\"openai\",kind=\"input\"}} {}",
                3 * PROMPT_TOKENS
            )),
            "{metrics}"
        );
        assert!(
            metrics.contains("gatehouse_llm_requests_total{provider=\"anthropic\"} 2"),
            "{metrics}"
        );
        g.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_leaves_mid_stream_is_still_counted_in_full() {
    for backend in backends() {
        let g = Gate::start(backend, |_| {}).await;
        g.up.pace();
        let anthropic = [("x-api-key", g.key.as_str()), VERSION];
        let mut res = g
            .post("/anthropic/v1/messages", &anthropic, &message("claude-3", true))
            .send()
            .await
            .unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), res.chunk())
            .await
            .unwrap()
            .unwrap();
        assert!(first.is_some());
        drop(res);
        g.up.release();
        let mut rows = Vec::new();
        for _ in 0..50 {
            rows = usage(&g, "group_by=provider").await;
            if !rows.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            rows,
            [
                json!({ "provider": "anthropic", "requests": 1, "input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS })
            ],
            "the answer was read to its end after the caller left"
        );
        g.stop().await;
    }
}
