//! The LLM proxy gate (SPEC §8): provider keys, usage and limits.

use reqwest::Method;
use uuid::Uuid;

use gatehouse_types::{
    LlmLimits, LlmLimitsInput, LlmProvider, LlmProviderInput, LlmProviderName, LlmUsage, LlmUsageQuery,
};

use crate::{Client, Error};

fn name(p: LlmProviderName) -> &'static str {
    match p {
        LlmProviderName::Openai => "openai",
        LlmProviderName::Anthropic => "anthropic",
    }
}

impl Client {
    /// `PUT /accounts/projects/{project_id}/llm/providers/{provider}`: the key (write-only) and
    /// base URL.
    pub async fn put_llm_provider(
        &self,
        project_id: Uuid,
        provider: LlmProviderName,
        input: &LlmProviderInput,
    ) -> Result<LlmProvider, Error> {
        let p = project_id.to_string();
        let path = ["accounts", "projects", &p, "llm", "providers", name(provider)];
        self.with_body(Method::PUT, &path, input).await
    }

    /// `GET …/llm/providers/{provider}`: whether a key is set, and the base URL.
    pub async fn get_llm_provider(&self, project_id: Uuid, provider: LlmProviderName) -> Result<LlmProvider, Error> {
        let p = project_id.to_string();
        self.get(&["accounts", "projects", &p, "llm", "providers", name(provider)])
            .await
    }

    /// `DELETE …/llm/providers/{provider}`.
    pub async fn delete_llm_provider(&self, project_id: Uuid, provider: LlmProviderName) -> Result<(), Error> {
        let p = project_id.to_string();
        self.delete(&["accounts", "projects", &p, "llm", "providers", name(provider)])
            .await
    }

    /// `GET …/llm/usage?from=&to=&group_by=`.
    pub async fn llm_usage(&self, project_id: Uuid, query: &LlmUsageQuery) -> Result<LlmUsage, Error> {
        let p = project_id.to_string();
        let request = self
            .request(Method::GET, &["accounts", "projects", &p, "llm", "usage"])?
            .query(query);
        self.send_json(request).await
    }

    /// `PUT …/llm/limits`: replaces the project's limits (project admins).
    pub async fn put_llm_limits(&self, project_id: Uuid, input: &LlmLimitsInput) -> Result<LlmLimits, Error> {
        let p = project_id.to_string();
        self.with_body(Method::PUT, &["accounts", "projects", &p, "llm", "limits"], input)
            .await
    }

    /// `GET …/llm/limits`.
    pub async fn get_llm_limits(&self, project_id: Uuid) -> Result<LlmLimits, Error> {
        let p = project_id.to_string();
        self.get(&["accounts", "projects", &p, "llm", "limits"]).await
    }
}
