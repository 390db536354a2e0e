//! The LLM proxy gate (SPEC §8): a project's provider configuration, write-only for its key.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::secret::SecretString;

/// A provider the gate proxies: `/openai/v1/*` or `/anthropic/v1/*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LlmProviderName {
    Openai,
    Anthropic,
}

/// `PUT …/llm/providers/{provider}`: the provider key (write-only) and the upstream base URL,
/// written as the provider's SDK writes it (OpenAI's includes `/v1`, Anthropic's does not). The
/// provider's public API when absent; `http` only to loopback with `--allow-insecure-upstreams`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmProviderInput {
    #[schema(value_type = String, min_length = 1, max_length = 1024)]
    pub api_key: SecretString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048)]
    pub base_url: Option<String>,
}

/// A provider's configuration as `GET` shows it: whether a key is set, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LlmProvider {
    pub provider: LlmProviderName,
    pub api_key_set: bool,
    /// The configured base URL, or the provider's public API when none is configured.
    pub base_url: String,
    /// When the configuration last changed; absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}
