//! The LLM proxy gate's provider configuration (whether a key is set, never the key), usage and
//! limits.

use gatehouse_core::llm::limits::{LimitsConfig, LlmLimits, Rates};
use gatehouse_core::llm::{Provider, ProviderConfig};
use gatehouse_core::service::UsageSummary;
use gatehouse_core::time::Timestamp;
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

fn provider_name(p: Provider) -> t::LlmProviderName {
    match p {
        Provider::OpenAi => t::LlmProviderName::Openai,
        Provider::Anthropic => t::LlmProviderName::Anthropic,
    }
}

/// One line of a usage report.
pub fn llm_usage_row_dto(u: UsageSummary) -> t::LlmUsageRow {
    let (caller_kind, caller_id) = u.caller.unzip();
    t::LlmUsageRow {
        minute: u
            .minute
            .map(|m| Timestamp::from_millis(m.saturating_mul(60_000)).rfc3339()),
        caller_kind,
        caller_id,
        provider: u.provider.map(provider_name),
        model: u.model,
        requests: u.requests,
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
    }
}

fn rates(r: t::LlmRates) -> Rates {
    Rates {
        requests_per_minute: r.requests_per_minute,
        tokens_per_day: r.tokens_per_day,
    }
}

fn rates_dto(r: Rates) -> t::LlmRates {
    t::LlmRates {
        requests_per_minute: r.requests_per_minute,
        tokens_per_day: r.tokens_per_day,
    }
}

/// The domain limits of a `PUT …/llm/limits` body.
pub fn llm_limits(input: t::LlmLimitsInput) -> LlmLimits {
    LlmLimits {
        project: rates(input.project),
        per_caller: rates(input.per_caller),
    }
}

/// A project's limits, all unlimited when none were set.
pub fn llm_limits_dto(config: Option<&LimitsConfig>) -> t::LlmLimits {
    let limits = config.map(|c| c.limits).unwrap_or_default();
    t::LlmLimits {
        project: rates_dto(limits.project),
        per_caller: rates_dto(limits.per_caller),
        updated_at: config.map(|c| c.updated_at.rfc3339()),
    }
}
