//! The LLM proxy gate's policy (SPEC §8): the two providers and where a proxied request goes,
//! the provider configuration a project stores, who called, the model allow-list of a
//! participant token's `llm` grant, usage ([`usage`] reads it; [`Tally`] adds it up per
//! minute until it is written) and limits ([`limits`]).

pub mod limits;
pub mod usage;

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::ids::{ApiKeyId, ProjectId, UserId};
use crate::model::Sealed;
use crate::time::Timestamp;

/// An LLM API Gatehouse proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    OpenAi,
    Anthropic,
}

impl Provider {
    /// Both, in the order lists show them.
    pub const ALL: [Self; 2] = [Self::OpenAi, Self::Anthropic];

    /// The wire name: `openai` or `anthropic`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "openai" => Some(Self::OpenAi),
            "anthropic" => Some(Self::Anthropic),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }

    /// The provider's public API, written as its SDK writes its base URL: OpenAI's includes the
    /// version, Anthropic's does not.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::OpenAi => "https://api.openai.com/v1",
            Self::Anthropic => "https://api.anthropic.com",
        }
    }

    /// Where `/{provider}/v1/{path}?{query}` goes: `{base_url}/{path}` for OpenAI,
    /// `{base_url}/v1/{path}` for Anthropic.
    pub fn upstream_url(self, base_url: &str, path: &str, query: Option<&str>) -> String {
        let base = base_url.trim_end_matches('/');
        let path = path.trim_start_matches('/');
        let mut url = match self {
            Self::OpenAi => format!("{base}/{path}"),
            Self::Anthropic => format!("{base}/v1/{path}"),
        };
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(q);
        }
        url
    }
}

/// A project's configuration of one provider: the upstream base URL and the sealed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub project_id: ProjectId,
    pub provider: Provider,
    pub base_url: String,
    pub key: Sealed,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// Who is calling the gate; usage and limits are counted per caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LlmCaller {
    /// A participant token, by its participant name (and the API key that signed it).
    Participant { name: String, api_key_id: ApiKeyId },
    /// A project API key.
    ApiKey { id: ApiKeyId },
    /// A person's access token with the `llm_proxy` scope.
    User { id: UserId },
}

impl LlmCaller {
    /// `(kind, id)` as usage records and audit entries name it.
    pub fn key(&self) -> (&'static str, String) {
        match self {
            Self::Participant { name, .. } => ("participant", name.clone()),
            Self::ApiKey { id } => ("api_key", id.to_string()),
            Self::User { id } => ("user", id.to_string()),
        }
    }
}

/// One minute of one caller's use of one model, as stored and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub project_id: ProjectId,
    /// Minutes since the epoch.
    pub minute: i64,
    /// `participant`, `api_key` or `user` ([`LlmCaller::key`]).
    pub caller_kind: String,
    pub caller_id: String,
    pub provider: Provider,
    /// The model the request named (empty when it named none).
    pub model: String,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

type TallyKey = (ProjectId, i64, &'static str, String, Provider, String);

/// Usage added up in memory, per minute, caller, provider and model, until it is written.
#[derive(Debug, Default)]
pub struct Tally(Mutex<HashMap<TallyKey, [u64; 3]>>);

impl Tally {
    /// Counts one answered request at `at` and the tokens it reported.
    pub fn add(
        &self,
        project: ProjectId,
        caller: &LlmCaller,
        provider: Provider,
        model: &str,
        at: Timestamp,
        usage: usage::Usage,
    ) {
        let (kind, id) = caller.key();
        let key = (project, at.secs().div_euclid(60), kind, id, provider, model.to_owned());
        self.bump(key, [1, usage.input_tokens, usage.output_tokens]);
    }

    fn bump(&self, key: TallyKey, by: [u64; 3]) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let counts = map.entry(key).or_default();
        for (c, n) in counts.iter_mut().zip(by) {
            *c += n;
        }
    }

    /// Everything counted so far, leaving the tally empty.
    pub fn take(&self) -> Vec<UsageRow> {
        let map = std::mem::take(&mut *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        map.into_iter()
            .map(
                |((project_id, minute, kind, caller_id, provider, model), [requests, input_tokens, output_tokens])| {
                    UsageRow {
                        project_id,
                        minute,
                        caller_kind: kind.to_owned(),
                        caller_id,
                        provider,
                        model,
                        requests,
                        input_tokens,
                        output_tokens,
                    }
                },
            )
            .collect()
    }

    /// Puts rows back that could not be written, to be written with the next ones.
    pub fn restore(&self, rows: Vec<UsageRow>) {
        for r in rows {
            let kind = match r.caller_kind.as_str() {
                "participant" => "participant",
                "api_key" => "api_key",
                _ => "user",
            };
            let key = (r.project_id, r.minute, kind, r.caller_id, r.provider, r.model);
            self.bump(key, [r.requests, r.input_tokens, r.output_tokens]);
        }
    }
}

/// Whether the `llm` member of a participant's `ApiScope` lets it use `model` of `provider`.
/// `{"llm": {}}` (no `models`) allows every model; `{"llm": {"models": ["openai/gpt-4o*"]}}`
/// allows a request whose `provider/model` equals an entry, or starts with the part of an entry
/// before its trailing `*`. With a list, a request that names no model is refused. `Err` says why.
pub fn check_llm_grant(
    scope: Option<&Map<String, Value>>,
    provider: Provider,
    model: Option<&str>,
) -> Result<(), String> {
    let Some(grant) = scope.and_then(|s| s.get("llm")) else {
        return Err("the participant token's api grant has no llm member".into());
    };
    let Some(patterns) = grant.get("models").filter(|m| !m.is_null()) else {
        return Ok(());
    };
    let Some(patterns) = patterns.as_array() else {
        return Err("the llm grant's models is not a list".into());
    };
    let Some(model) = model else {
        return Err("the llm grant lists models and the request names none".into());
    };
    let wanted = format!("{}/{model}", provider.as_str());
    let allowed = patterns
        .iter()
        .filter_map(Value::as_str)
        .any(|p| match p.strip_suffix('*') {
            Some(prefix) => wanted.starts_with(prefix),
            None => wanted == p,
        });
    if allowed {
        Ok(())
    } else {
        Err(format!("the model {wanted} is not allowed by the llm grant"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn each_provider_joins_its_base_url_as_its_sdk_does() {
        let o = Provider::OpenAi;
        assert_eq!(
            o.upstream_url(o.default_base_url(), "chat/completions", None),
            "https://api.openai.com/v1/chat/completions"
        );
        let a = Provider::Anthropic;
        assert_eq!(
            a.upstream_url("http://127.0.0.1:9/", "messages", Some("beta=true")),
            "http://127.0.0.1:9/v1/messages?beta=true"
        );
    }

    #[test]
    fn an_llm_grant_without_models_allows_every_model() {
        assert!(check_llm_grant(Some(&scope(json!({"llm": {}}))), Provider::OpenAi, Some("gpt-4o")).is_ok());
        assert!(check_llm_grant(Some(&scope(json!({"llm": {}}))), Provider::OpenAi, None).is_ok());
    }

    #[test]
    fn a_token_without_an_llm_grant_is_refused() {
        let e = check_llm_grant(Some(&scope(json!({"messaging": {}}))), Provider::OpenAi, Some("m")).unwrap_err();
        assert!(e.contains("no llm member"), "{e}");
        assert!(check_llm_grant(None, Provider::OpenAi, Some("m")).is_err());
    }

    #[test]
    fn model_patterns_match_provider_and_model_prefix() {
        let s = scope(json!({"llm": {"models": ["openai/gpt-4o*", "anthropic/claude-3-haiku"]}}));
        assert!(check_llm_grant(Some(&s), Provider::OpenAi, Some("gpt-4o-mini")).is_ok());
        assert!(check_llm_grant(Some(&s), Provider::Anthropic, Some("claude-3-haiku")).is_ok());
        assert!(check_llm_grant(Some(&s), Provider::Anthropic, Some("claude-3-haiku-2")).is_err());
        assert!(check_llm_grant(Some(&s), Provider::Anthropic, Some("gpt-4o")).is_err());
        let e = check_llm_grant(Some(&s), Provider::OpenAi, Some("o1")).unwrap_err();
        assert!(e.contains("openai/o1 is not allowed"), "{e}");
        assert!(check_llm_grant(Some(&s), Provider::OpenAi, None).is_err());
    }
}
