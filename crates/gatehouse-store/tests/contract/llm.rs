//! The LLM proxy gate: provider configuration replaced in place with its version, usage added
//! up per minute, caller, provider and model, read by project and period, and limits with the
//! counts they are checked against.

use gatehouse_core::Error;
use gatehouse_core::llm::limits::{LimitCount, LlmLimits, MAX_TOKENS_PER_DAY, Measure, Rates};
use gatehouse_core::llm::{Provider, UsageRow};
use gatehouse_core::model::AuditRecord;
use gatehouse_core::secret::SecretString;
use gatehouse_core::time::Timestamp;

use super::{bootstrapped, databases};

#[tokio::test]
async fn provider_configuration_is_replaced_in_place_and_deleted() {
    for db in databases().await {
        let (gh, admin, _) = bootstrapped(db.store()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let key = SecretString::new("sk-contract-1");
        let first = gh
            .put_llm_provider(&admin, p, Provider::OpenAi, &key, Some("https://llm.example/v1/"))
            .await
            .unwrap();
        assert_eq!((first.version, first.base_url.as_str()), (1, "https://llm.example/v1"));
        let second = gh
            .put_llm_provider(&admin, p, Provider::OpenAi, &key, None)
            .await
            .unwrap();
        assert_eq!((second.version, second.created_at), (2, first.created_at));
        let stored = gh.get_llm_provider(&admin, p, Provider::OpenAi).await.unwrap().unwrap();
        assert_eq!(stored, second);
        assert!(
            gh.get_llm_provider(&admin, p, Provider::Anthropic)
                .await
                .unwrap()
                .is_none()
        );
        gh.delete_llm_provider(&admin, p, Provider::OpenAi).await.unwrap();
        assert!(
            gh.get_llm_provider(&admin, p, Provider::OpenAi)
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            gh.delete_llm_provider(&admin, p, Provider::OpenAi).await,
            Err(Error::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn usage_rows_add_up_and_are_read_by_project_and_period() {
    for db in databases().await {
        let store = db.store();
        let (gh, admin, _) = bootstrapped(store.clone()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let q = gh.create_project(&admin, "Q").await.unwrap().id;
        let row = |project, minute, requests| UsageRow {
            project_id: project,
            minute,
            caller_kind: "participant".into(),
            caller_id: "agent".into(),
            provider: Provider::Anthropic,
            model: "claude".into(),
            requests,
            input_tokens: 10 * requests,
            output_tokens: 3 * requests,
        };
        store.add_llm_usage(&[row(p, 100, 1), row(q, 100, 5)]).await.unwrap();
        store.add_llm_usage(&[row(p, 100, 2), row(p, 101, 4)]).await.unwrap();
        assert_eq!(
            store.list_llm_usage(p, 0, 200, 100).await.unwrap(),
            [row(p, 100, 3), row(p, 101, 4)],
            "rows of one minute add up; other projects stay apart"
        );
        assert_eq!(store.list_llm_usage(p, 101, 102, 100).await.unwrap(), [row(p, 101, 4)]);
        assert_eq!(
            store.list_llm_usage(p, 0, 200, 1).await.unwrap().len(),
            1,
            "the limit holds"
        );
    }
}

#[tokio::test]
async fn limits_are_replaced_by_version_and_counts_add_up_per_window_until_it_ends() {
    for db in databases().await {
        let store = db.store();
        let (gh, admin, _) = bootstrapped(store.clone()).await;
        let p = gh.create_project(&admin, "P").await.unwrap().id;
        let limits = LlmLimits {
            project: Rates {
                requests_per_minute: Some(600),
                tokens_per_day: None,
            },
            per_caller: Rates {
                requests_per_minute: None,
                tokens_per_day: Some(MAX_TOKENS_PER_DAY),
            },
        };
        let first = gh.put_llm_limits(&admin, p, limits).await.unwrap();
        assert_eq!(first.version, 1);
        assert_eq!(store.get_llm_limits(p).await.unwrap(), Some(first.clone()));
        let second = gh.put_llm_limits(&admin, p, LlmLimits::default()).await.unwrap();
        assert_eq!((second.version, second.limits), (2, LlmLimits::default()));
        let audit = AuditRecord {
            id: uuid::Uuid::now_v7(),
            project_id: p,
            at: Timestamp::from_millis(1_700_000_000_000),
            actor_type: "test".into(),
            actor_id: "t".into(),
            action: "llm_limits.put".into(),
            target_type: "llm_limits".into(),
            target_id: p.to_string(),
            details: serde_json::json!({}),
        };
        assert!(
            !store.put_llm_limits(&first, &audit).await.unwrap(),
            "a writer that read version 1 changes nothing"
        );
        assert_eq!(store.get_llm_limits(p).await.unwrap(), Some(second));

        let count = |caller: &str, measure, window, count| LimitCount {
            project_id: p,
            caller_kind: if caller.is_empty() {
                String::new()
            } else {
                "api_key".into()
            },
            caller_id: caller.into(),
            measure,
            window,
            count,
        };
        store
            .add_llm_limit_counts(&[count("", Measure::Requests, 60, 2), count("k", Measure::Tokens, 0, 5)])
            .await
            .unwrap();
        store
            .add_llm_limit_counts(&[
                count("", Measure::Requests, 60, 3),
                count("", Measure::Requests, 120, 1),
            ])
            .await
            .unwrap();
        let mut current = store.current_llm_limit_counts(60, 0).await.unwrap();
        current.sort_by_key(|c| (c.window, c.caller_id.clone()));
        assert_eq!(
            current,
            [
                count("k", Measure::Tokens, 0, 5),
                count("", Measure::Requests, 60, 5),
                count("", Measure::Requests, 120, 1),
            ]
        );
        assert_eq!(
            store.current_llm_limit_counts(120, 86_400).await.unwrap(),
            [count("", Measure::Requests, 120, 1)],
            "ended windows are deleted"
        );
        assert_eq!(store.current_llm_limit_counts(0, 0).await.unwrap().len(), 1);
    }
}
