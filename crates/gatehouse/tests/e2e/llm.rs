//! `gatehouse llm keys` and `gatehouse llm usage` against a server whose LLM gate forwards to the
//! test kit's mock upstream.

use gatehouse_testkit::llm_upstream::{COMPLETION_TOKENS, LlmUpstream, PROMPT_TOKENS};
use serde_json::json;

use crate::{Gatehouse, assert_fails_with, backends};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_keys_are_set_shown_and_deleted_and_usage_is_reported() {
    for backend in backends() {
        let gh = Gatehouse::start_with(&backend, |c| c.allow_insecure_upstreams = true).await;
        let up = LlmUpstream::start().await;
        let (_, key) = gh.project_with_key("Agents").await;
        let secret = "sk-proj-cli-5e2b8d1f9a";
        let file = gh.file("openai.key");
        std::fs::write(&file, format!("{secret}\n")).unwrap();
        assert_fails_with(
            gh.run_as(&key, &format!("llm keys set openai --key-file {}.missing", file))
                .await,
            "openai.key.missing",
        );
        let line = format!("llm keys set openai --key-file {file} --base-url {}", up.openai_base());
        let set = gh.run_as(&key, &format!("-o json {line}")).await.expect("llm keys set");
        assert!(!set.contains(secret), "{set}");
        let shown = gh.json_as(&key, "llm keys show openai").await;
        assert_eq!(
            (&shown["api_key_set"], &shown["base_url"]),
            (&json!(true), &json!(up.openai_base()))
        );
        let table = gh.run_as(&key, "llm keys show anthropic").await.expect("llm keys show");
        assert!(
            table.contains("not set") && table.contains("https://api.anthropic.com"),
            "{table}"
        );

        let res = gh
            .http
            .post(format!("{}/openai/v1/chat/completions", gh.base))
            .bearer_auth(&key)
            .json(&json!({ "model": "gpt-4o", "messages": [] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(up.keys(), [secret]);
        let usage = gh.json_as(&key, "llm usage --group-by provider,model").await;
        assert_eq!(
            usage["rows"],
            json!([{ "provider": "openai", "model": "gpt-4o", "requests": 1, "input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS }])
        );
        let table = gh.run_as(&key, "llm usage --group-by model").await.expect("llm usage");
        assert!(
            table.contains("gpt-4o") && table.contains(&PROMPT_TOKENS.to_string()),
            "{table}"
        );

        assert_eq!(
            gh.run_as(&key, "llm keys delete openai")
                .await
                .expect("llm keys delete"),
            "deleted\n"
        );
        assert_eq!(gh.json_as(&key, "llm keys show openai").await["api_key_set"], false);
        gh.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_limits_are_shown_and_changed_one_by_one_by_admins() {
    for backend in backends() {
        let gh = Gatehouse::start_with(&backend, |c| c.allow_insecure_upstreams = true).await;
        let (_, key) = gh.project_with_key("Agents").await;
        let shown = gh.json_as(&key, "llm limits show").await;
        assert_eq!(
            shown["project"],
            json!({ "requests_per_minute": null, "tokens_per_day": null })
        );
        assert_fails_with(gh.run_as(&key, "llm limits set --caller-rpm 60").await, "project admin");
        let (code, message) = gh
            .run("llm limits set --caller-rpm lots")
            .await
            .expect_err("a usage error");
        assert_eq!(code, 2, "{message}");
        assert!(message.contains("neither a whole number nor none"), "{message}");
        let set = gh
            .json("llm limits set --project-rpm 600 --project-tpd 2000000 --caller-rpm 60")
            .await;
        assert_eq!(
            (&set["project"], &set["per_caller"]),
            (
                &json!({ "requests_per_minute": 600, "tokens_per_day": 2_000_000 }),
                &json!({ "requests_per_minute": 60, "tokens_per_day": null })
            )
        );
        gh.json("llm limits set --project-tpd none --caller-tpd 5000").await;
        let table = gh.run_as(&key, "llm limits show").await.expect("llm limits show");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        for (line, words) in [
            (lines[1], ["the project", "600", "unlimited"]),
            (lines[2], ["each caller", "60", "5000"]),
        ] {
            assert!(words.iter().all(|w| line.contains(w)), "{table}");
        }
        gh.stop().await;
    }
}
