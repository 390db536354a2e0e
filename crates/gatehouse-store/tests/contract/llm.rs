//! The LLM proxy gate: provider configuration replaced in place with its version, and usage
//! added up per minute, caller, provider and model, read by project and period.

use gatehouse_core::Error;
use gatehouse_core::llm::{Provider, UsageRow};
use gatehouse_core::secret::SecretString;

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
