//! Provider configuration: the key write-only, sealed at rest and audited; base URLs checked.

use reqwest::Method;
use serde_json::json;

use super::{ANTHROPIC_KEY, Gate, OPENAI_KEY};
use crate::nodes::within_a_second;
use crate::{TestServer, backends, contains};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_keys_are_write_only_sealed_and_audited() {
    for backend in backends() {
        let g = Gate::start(backend, |_| {}).await;
        let path = |p: &str| format!("/accounts/projects/{}/llm/providers/{p}", g.project);
        let (st, r) = g.s.call_as(&g.key, Method::GET, &path("openai"), None).await;
        assert_eq!(
            (st, &r["api_key_set"], &r["base_url"]),
            (200, &json!(true), &json!(g.up.openai_base())),
            "{r}"
        );
        assert!(r.get("api_key").is_none() && !r.to_string().contains(OPENAI_KEY), "{r}");
        let db = g.s.database_bytes().await;
        assert!(
            !contains(&db, OPENAI_KEY) && !contains(&db, ANTHROPIC_KEY),
            "provider keys are sealed at rest"
        );
        let (st, _) = g.s.call_as(&g.key, Method::DELETE, &path("anthropic"), None).await;
        assert_eq!(st, 204);
        let (st, r) = g.s.call_as(&g.key, Method::GET, &path("anthropic"), None).await;
        assert_eq!(
            (st, &r["api_key_set"], &r["base_url"]),
            (200, &json!(false), &json!("https://api.anthropic.com")),
            "without a configuration GET shows the default: {r}"
        );
        let (st, _) = g.s.call_as(&g.key, Method::DELETE, &path("anthropic"), None).await;
        assert_eq!(st, 404);
        let (st, _) = g.s.call_as(&g.key, Method::GET, &path("mistral"), None).await;
        assert_eq!(st, 404, "only openai and anthropic exist");
        let actions = g.s.audit_actions(&g.key, &g.project).await;
        assert_eq!(
            actions
                .iter()
                .filter(|a| a.starts_with("llm_provider."))
                .collect::<Vec<_>>(),
            ["llm_provider.delete", "llm_provider.put", "llm_provider.put"]
        );
        let (_, audit) =
            g.s.call_as(
                &g.key,
                Method::GET,
                &format!("/accounts/projects/{}/audit", g.project),
                None,
            )
            .await;
        assert!(!audit.to_string().contains(OPENAI_KEY), "the audit log holds no key");
        g.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_urls_follow_the_outbound_policy_and_keys_their_rules() {
    for backend in backends() {
        let s = TestServer::spawn(backend).await;
        let (p, key) = s.project("Strict").await;
        let path = format!("/accounts/projects/{p}/llm/providers/openai");
        let put = |body| s.call_as(&key, Method::PUT, &path, Some(body));
        let (st, e) = put(json!({ "api_key": "sk-1", "base_url": "http://127.0.0.1:9/v1" })).await;
        assert_eq!(st, 400, "{e}");
        assert!(e["message"].as_str().unwrap().contains("base_url"), "{e}");
        let (st, e) = put(json!({ "api_key": "sk-1", "base_url": "https://10.0.0.7/v1" })).await;
        assert_eq!(st, 400, "a private address: {e}");
        let (st, e) = put(json!({ "api_key": "sk 1" })).await;
        assert!(st == 400 && e["message"].as_str().unwrap().contains("api_key"), "{e}");
        let (st, r) = put(json!({ "api_key": "sk-1" })).await;
        assert_eq!((st, &r["base_url"]), (200, &json!("https://api.openai.com/v1")), "{r}");
        let (other, _) = s.project("Other").await;
        let (st, _) = s
            .call_as(
                &key,
                Method::GET,
                &format!("/accounts/projects/{other}/llm/providers/openai"),
                None,
            )
            .await;
        assert_eq!(st, 404, "another project is not visible");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_key_is_used_by_the_next_request_here_and_on_another_node_within_a_second() {
    for backend in backends() {
        let g = Gate::start(backend, |_| {}).await;
        let other = g.second_node().await;
        // Both nodes cache the configuration by using it.
        assert_eq!(g.chat_on(&g.s).await.0, 200);
        if let Some(b) = &other {
            assert_eq!(g.chat_on(b).await.0, 200);
        }
        let rotated = "sk-proj-rotated-5b1c9e7a3d";
        let body = json!({ "api_key": rotated, "base_url": g.up.openai_base() });
        assert_eq!(g.put_provider("openai", body).await.0, 200);
        assert_eq!(g.chat_on(&g.s).await.0, 200);
        assert_eq!(
            g.up.keys().last().map(String::as_str),
            Some(rotated),
            "the next request here"
        );
        if let Some(b) = &other {
            within_a_second("node B forwarding with the new key", async || {
                g.chat_on(b).await.0 == 200 && g.up.keys().last().map(String::as_str) == Some(rotated)
            })
            .await;
        }
        let path = format!("/accounts/projects/{}/llm/providers/openai", g.project);
        assert_eq!(g.s.call_as(&g.key, Method::DELETE, &path, None).await.0, 204);
        assert_eq!(
            g.chat_on(&g.s).await.0,
            409,
            "a removed key is gone for the next request"
        );
        if let Some(b) = other {
            within_a_second("node B seeing the key removed", async || g.chat_on(&b).await.0 == 409).await;
            b.stop().await;
        }
        g.stop().await;
    }
}
