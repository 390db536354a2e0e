//! The LLM proxy gate's provider configuration: whether a key is set, never the key.

use gatehouse_core::llm::{Provider, ProviderConfig};
use gatehouse_types as t;

/// The domain provider of a wire name.
pub fn llm_provider(name: t::LlmProviderName) -> Provider {
    match name {
        t::LlmProviderName::Openai => Provider::OpenAi,
        t::LlmProviderName::Anthropic => Provider::Anthropic,
    }
}

/// A provider's configuration, or its defaults when the project has none.
pub fn llm_provider_dto(name: t::LlmProviderName, config: Option<&ProviderConfig>) -> t::LlmProvider {
    t::LlmProvider {
        provider: name,
        api_key_set: config.is_some(),
        base_url: config.map_or_else(
            || llm_provider(name).default_base_url().to_owned(),
            |c| c.base_url.clone(),
        ),
        updated_at: config.map(|c| c.updated_at.rfc3339()),
    }
}
