//! The official OpenAI and Anthropic Python SDKs (`openai`, `anthropic` from PyPI, in the
//! virtual environment `.ci/run` makes at `~/.cache/gatehouse/venv-llm`) call the gate as
//! applications do, with each caller type, streamed and not: `tests/llm/sdks.py`.

use std::path::PathBuf;

use gatehouse_testkit::llm_upstream::TEXT;
use serde_json::{Value, json};

use super::{ANTHROPIC_KEY, Gate, OPENAI_KEY};
use crate::backends;

/// The virtual environment's Python, or `None` (with the reason printed) when it is missing and
/// `GATEHOUSE_TEST_LLM_SDKS` does not demand it.
fn python() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let python = home.join(".cache/gatehouse/venv-llm/bin/python");
    if python.exists() {
        return Some(python);
    }
    let why = format!("{} is missing: .ci/run installs the SDKs there", python.display());
    assert!(std::env::var("GATEHOUSE_TEST_LLM_SDKS").as_deref() != Ok("1"), "{why}");
    eprintln!("skipping the SDK test: {why}");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_sdks_reach_the_upstream_through_the_gate_with_every_caller_type() {
    let Some(python) = python() else { return };
    for backend in backends() {
        let g = Gate::start(backend, |_| {}).await;
        let participant = g
            .participant(
                "sdk-agent",
                json!({ "llm": { "models": ["openai/gpt-4o*", "anthropic/claude-*"] } }),
            )
            .await;
        let person = g
            .member_tokens(json!({ "can_use_llm_proxy": true }), &["openid llm_proxy"])
            .await
            .remove(0);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/llm/sdks.py");
        let env = [
            ("GATE", g.s.base.clone()),
            ("PROJECT", g.project.clone()),
            ("API_KEY", g.key.clone()),
            ("PARTICIPANT", participant.clone()),
            ("USER_TOKEN", person.clone()),
        ];
        let python = python.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(python)
                .arg(script)
                .envs(env)
                .env_remove("OPENAI_API_KEY")
                .env_remove("ANTHROPIC_API_KEY")
                .output()
                .expect("python runs")
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "sdks.py failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("sdks.py prints JSON");
        let results = report["results"].as_array().unwrap();
        assert_eq!(results.len(), 6, "three callers, two providers: {report}");
        for r in results {
            assert_eq!(
                (r["whole"].as_str(), r["streamed"].as_str()),
                (Some(TEXT.concat().as_str()), Some(TEXT.concat().as_str())),
                "{r}"
            );
        }
        let keys = g.up.keys();
        assert_eq!(keys.len(), 12, "every call reached the upstream once");
        assert!(keys.iter().all(|k| k == OPENAI_KEY || k == ANTHROPIC_KEY), "{keys:?}");
        for credential in [&g.key, &participant, &person] {
            assert!(!keys.contains(credential), "a caller's credential reached the upstream");
        }
        g.stop().await;
    }
}
