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
    /// Printable ASCII without spaces, as provider keys are.
    #[schema(value_type = String, min_length = 1, max_length = 1024, pattern = "^[!-~]+$")]
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

/// `GET …/llm/usage`: the period and what to add up by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LlmUsageQuery {
    /// Start, in seconds since the epoch (default: a day before `to`).
    #[param(minimum = 0, maximum = 253_402_300_799_i64)]
    pub from: Option<i64>,
    /// End, in seconds since the epoch (default: now); after `from`, at most 31 days later.
    #[param(minimum = 0, maximum = 253_402_300_799_i64)]
    pub to: Option<i64>,
    /// Comma-separated: `minute`, `caller`, `provider`, `model` (default `provider,model`).
    #[param(pattern = "^(minute|caller|provider|model)(,(minute|caller|provider|model))*$")]
    pub group_by: Option<String>,
}

/// One line of a usage report: the values grouped by (others absent) and the sums, counted
/// from the upstreams' own numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LlmUsageRow {
    /// The minute's start (RFC 3339), when grouped by minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minute: Option<String>,
    /// `participant`, `api_key` or `user`, when grouped by caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_kind: Option<String>,
    /// The participant's name, the API key's id or the user's id, when grouped by caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<LlmProviderName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// `GET …/llm/usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LlmUsage {
    pub from: i64,
    pub to: i64,
    pub rows: Vec<LlmUsageRow>,
}

/// Requests per minute and tokens per day (input and output, as the upstreams report them);
/// `null` is unlimited, `0` refuses every request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmRates {
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub requests_per_minute: Option<u64>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_u64)]
    pub tokens_per_day: Option<u64>,
}

/// `PUT …/llm/limits`: the whole project's rates and each caller's (every participant name, API
/// key and user counted apart). An absent member is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmLimitsInput {
    #[serde(default, deserialize_with = "rates_object")]
    pub project: LlmRates,
    #[serde(default, deserialize_with = "rates_object")]
    pub per_caller: LlmRates,
}

/// Reads rates from a JSON object only: serde would also read a struct from an array of its
/// fields, which the document does not allow.
fn rates_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LlmRates, D::Error> {
    struct Rates;
    impl<'de> serde::de::Visitor<'de> for Rates {
        type Value = LlmRates;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<LlmRates, A::Error> {
            // The fields are read through `map`, so errors keep their path.
            LlmRates::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(Rates)
}

/// A project's limits; all `null` when none were set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LlmLimits {
    pub project: LlmRates,
    pub per_caller: LlmRates,
    /// When the limits last changed; absent when none were set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_read_from_objects_only() {
        let refused = serde_json::from_str::<LlmLimitsInput>(r#"{"project": [null, null]}"#).unwrap_err();
        assert!(refused.to_string().contains("expected an object"), "{refused}");
        assert!(serde_json::from_str::<LlmLimitsInput>(r#"{"per_caller": {"tokens_per_day": "x"}}"#).is_err());
        assert!(serde_json::from_str::<LlmLimitsInput>(r#"{"project": {"other": 1}}"#).is_err());
        let read: LlmLimitsInput =
            serde_json::from_str(r#"{"project": {"requests_per_minute": 5}, "per_caller": {}}"#).unwrap();
        assert_eq!(read.project.requests_per_minute, Some(5));
        assert_eq!(read.per_caller, LlmRates::default());
    }
}
