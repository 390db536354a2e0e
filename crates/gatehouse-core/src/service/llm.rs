//! The LLM proxy gate's use cases (SPEC §8): a project's provider configuration (the key sealed
//! under the project's data key, write-only, every change audited) and the admission of a
//! proxied request: who is calling, whether they may, and with which upstream and key it goes.

use std::collections::BTreeMap;

use serde_json::json;

use super::Gatehouse;
use crate::access::Principal;
use crate::crypto::RowAad;
use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::llm::limits::LimitHit;
use crate::llm::usage::Usage;
use crate::llm::{LlmCaller, Provider, ProviderConfig, UsageRow, check_llm_grant};
use crate::participant::Unverified;
use crate::secret::SecretString;

/// Longest provider key and base URL accepted.
const MAX_KEY_CHARS: usize = 1024;
const MAX_URL_CHARS: usize = 2048;

/// The scope a person's access token needs to call the gate.
pub const LLM_PROXY_SCOPE: &str = "llm_proxy";

fn aad(project: ProjectId, provider: Provider, version: i64) -> RowAad {
    RowAad::new("llm_provider", &project.to_string(), "", "", provider.as_str(), version)
}

/// A provider configuration as the gate uses it: where to, and the key opened.
pub(super) struct OpenProvider {
    base_url: String,
    api_key: SecretString,
}

/// What the gate knows of a request before it forwards it.
pub struct LlmRequest<'a> {
    pub provider: Provider,
    /// The bearer value (`Authorization: Bearer`, or `x-api-key` on the Anthropic route).
    pub credential: &'a str,
    /// `Meshagent-Project-Id` (or `Gatehouse-Project-Id`): required with a person's token.
    pub project_header: Option<&'a str>,
    /// The body's `model`, when it names one.
    pub model: Option<&'a str>,
}

/// The longest period one usage report covers, in minutes (31 days), and the most stored rows
/// it reads.
const MAX_REPORT_MINUTES: i64 = 31 * 24 * 60;
const MAX_REPORT_ROWS: u32 = 200_000;
/// The last second a usage report may name: 9999-12-31T23:59:59Z.
const LAST_SECOND: i64 = 253_402_300_799;

/// What a usage report adds up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageGroup {
    Minute,
    Caller,
    Provider,
    Model,
}

impl UsageGroup {
    /// `minute`, `caller`, `provider` or `model`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "minute" => Some(Self::Minute),
            "caller" => Some(Self::Caller),
            "provider" => Some(Self::Provider),
            "model" => Some(Self::Model),
            _ => None,
        }
    }
}

/// One line of a usage report: the grouped-by values and the sums.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageSummary {
    pub minute: Option<i64>,
    pub caller: Option<(String, String)>,
    pub provider: Option<Provider>,
    pub model: Option<String>,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A request the gate lets through: whose it is and where it goes, with which key.
#[derive(Debug)]
pub struct LlmAdmission {
    pub project_id: ProjectId,
    pub caller: LlmCaller,
    pub base_url: String,
    pub api_key: SecretString,
    /// The project has limits: the answer's tokens count against them.
    limited: bool,
}

/// The gate's decision on a caller it may let through: go, or wait for a limit's window to end.
#[derive(Debug)]
pub enum LlmVerdict {
    Admitted(LlmAdmission),
    Limited(LimitHit),
}

impl Gatehouse {
    /// Sets a provider's key and base URL (the provider's public API when `None`) for a project
    /// (developers). `http` base URLs only reach loopback with `--allow-insecure-upstreams`.
    pub async fn put_llm_provider(
        &self,
        who: &Principal,
        project: ProjectId,
        provider: Provider,
        api_key: &SecretString,
        base_url: Option<&str>,
    ) -> Result<ProviderConfig> {
        self.access(who, project).await?.require_developer()?;
        let key = api_key.expose_secret();
        // Sent as a header value: printable ASCII, no spaces.
        if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "api_key",
                format!("must be 1 to {MAX_KEY_CHARS} printable ASCII characters without spaces"),
            ));
        }

        let base_url = base_url.unwrap_or(provider.default_base_url()).trim_end_matches('/');
        check_base_url(base_url)?;
        self.broker.upstream.resolve_endpoint("base_url", base_url).await?;
        let current = self.store.get_llm_provider(project, provider).await?;
        let now = self.clock.now();
        let version = current.as_ref().map_or(1, |c| c.version + 1);
        let sealed = self
            .seal(project, &aad(project, provider, version), key.as_bytes())
            .await?;
        let config = ProviderConfig {
            project_id: project,
            provider,
            base_url: base_url.to_owned(),
            key: sealed,
            created_at: current.as_ref().map_or(now, |c| c.created_at),
            updated_at: now,
            version,
        };
        let audit = self.audit(
            who,
            project,
            "llm_provider.put",
            ("llm_provider", provider.as_str().to_owned()),
            json!({ "base_url": base_url }),
        );
        if !self.store.put_llm_provider(&config, &audit).await? {
            return Err(Error::Conflict(
                "the provider configuration changed concurrently; retry".into(),
            ));
        }
        self.invalidate_llm(project).await;
        Ok(config)
    }

    /// A provider's configuration, if the project has one (any member; the key never leaves).
    pub async fn get_llm_provider(
        &self,
        who: &Principal,
        project: ProjectId,
        provider: Provider,
    ) -> Result<Option<ProviderConfig>> {
        self.access(who, project).await?;
        self.store.get_llm_provider(project, provider).await
    }

    /// Removes a provider's configuration (developers).
    pub async fn delete_llm_provider(&self, who: &Principal, project: ProjectId, provider: Provider) -> Result<()> {
        self.access(who, project).await?.require_developer()?;
        let audit = self.audit(
            who,
            project,
            "llm_provider.delete",
            ("llm_provider", provider.as_str().to_owned()),
            json!({}),
        );
        if self.store.delete_llm_provider(project, provider, &audit).await? {
            self.invalidate_llm(project).await;
            Ok(())
        } else {
            Err(Error::NotFound("llm provider"))
        }
    }

    /// Decides a proxied request (SPEC §8): the caller is a participant token whose `api` grant
    /// has `llm` (and allows the model), an API key of the project, or a person's access token
    /// with the `llm_proxy` scope, the project header and `can_use_llm_proxy` (or admin) there.
    /// Refusals are `Unauthorized` or `Forbidden` and name the condition that failed; a caller
    /// who may call but has reached a limit of the project's is [`LlmVerdict::Limited`].
    pub async fn admit_llm(&self, req: LlmRequest<'_>) -> Result<LlmVerdict> {
        let (project_id, caller) = self.llm_caller(&req).await?;
        let config = self.open_llm_provider(project_id, req.provider).await?;
        let config = config.as_ref().as_ref().ok_or_else(|| {
            Error::Conflict(format!(
                "the project has no {0} provider key; set one with PUT /accounts/projects/{project_id}/llm/providers/{0}",
                req.provider.as_str()
            ))
        })?;
        let limits = self.llm_limits_of(project_id).await?;
        if limits.any()
            && let Err(hit) = self
                .llm_counts
                .admit(project_id, &caller.key(), &limits, self.clock.now())
        {
            return Ok(LlmVerdict::Limited(hit));
        }
        Ok(LlmVerdict::Admitted(LlmAdmission {
            project_id,
            caller,
            base_url: config.base_url.clone(),
            api_key: config.api_key.clone(),
            limited: limits.any(),
        }))
    }

    /// A project's provider configuration with its key opened, from memory when cached
    /// (dropped on every node when it changes).
    async fn open_llm_provider(
        &self,
        project: ProjectId,
        provider: Provider,
    ) -> Result<std::sync::Arc<Option<OpenProvider>>> {
        let now = self.clock.now();
        if let Some(cached) = self.llm_providers.get(&(project, provider), now) {
            return Ok(cached);
        }
        let ticket = self.llm_providers.ticket();
        let open = match self.store.get_llm_provider(project, provider).await? {
            Some(config) => {
                let key = self
                    .open_sealed(project, &aad(project, provider, config.version), &config.key)
                    .await?;
                Some(OpenProvider {
                    base_url: config.base_url,
                    api_key: SecretString::new(String::from_utf8(key).map_err(Error::unexpected)?),
                })
            }
            None => None,
        };
        let open = std::sync::Arc::new(open);
        self.llm_providers
            .insert(ticket, (project, provider), open.clone(), now);
        Ok(open)
    }

    /// Drops what this and every other node cached of a project's gate configuration.
    async fn invalidate_llm(&self, project: ProjectId) {
        self.invalidate(crate::ports::Invalidation::Llm {
            project: project.uuid(),
        })
        .await;
    }

    /// Counts an answered request and the usage its upstream reported (none: the request only).
    pub fn record_llm_usage(&self, a: &LlmAdmission, provider: Provider, model: Option<&str>, usage: Option<Usage>) {
        let model = model.unwrap_or_default();
        let at = self.clock.now();
        let usage = usage.unwrap_or_default();
        if a.limited {
            let tokens = usage.input_tokens.saturating_add(usage.output_tokens);
            self.llm_counts.add_tokens(a.project_id, &a.caller.key(), tokens, at);
        }
        self.llm_usage.add(a.project_id, &a.caller, provider, model, at, usage);
    }

    /// Writes the usage and the limits' counts counted on this node since the last write, and
    /// reads every node's totals of the limits' current windows.
    pub async fn flush_llm_usage(&self) -> Result<()> {
        let _one = self.llm_flush.lock().await;
        let rows = self.llm_usage.take();
        if !rows.is_empty()
            && let Err(e) = self.store.add_llm_usage(&rows).await
        {
            self.llm_usage.restore(rows);
            return Err(e);
        }
        self.flush_llm_limit_counts().await
    }

    /// A project's usage from `from` to `to` (seconds since the epoch; by default the last day,
    /// whole minutes), added up by `groups` (any member). Returns the period and the lines.
    pub async fn llm_usage_report(
        &self,
        who: &Principal,
        project: ProjectId,
        from: Option<i64>,
        to: Option<i64>,
        groups: &[UsageGroup],
    ) -> Result<(i64, i64, Vec<UsageSummary>)> {
        self.access(who, project).await?;
        for (field, value) in [("from", from), ("to", to)] {
            if value.is_some_and(|v| !(0..=LAST_SECOND).contains(&v)) {
                return Err(Error::invalid(
                    field,
                    "must be seconds since the epoch, up to the end of year 9999",
                ));
            }
        }
        let to = to.unwrap_or_else(|| self.clock.now().secs());
        let from = from.unwrap_or(to - 86_400).max(0);
        let minutes = (from.div_euclid(60), to.div_euclid(60) + 1);
        if to < from || minutes.1 - minutes.0 > MAX_REPORT_MINUTES {
            return Err(Error::invalid(
                "to",
                "must not be before from, and at most 31 days later",
            ));
        }
        self.flush_llm_usage().await?;
        let rows = self
            .store
            .list_llm_usage(project, minutes.0, minutes.1, MAX_REPORT_ROWS)
            .await?;
        Ok((from, to, summarise(rows, groups)))
    }

    async fn llm_caller(&self, req: &LlmRequest<'_>) -> Result<(ProjectId, LlmCaller)> {
        let header = req.project_header.map(|h| {
            uuid::Uuid::try_parse(h.trim())
                .map(ProjectId::from_uuid)
                .map_err(|_| Error::Forbidden("the Meshagent-Project-Id header is not a project id".into()))
        });
        if req.credential.starts_with("ma-") {
            let Principal::ApiKey { id, project_id, .. } = self.authenticate_api_key(req.credential).await? else {
                return Err(Error::Unauthorized("not an API key".into()));
            };
            if let Some(h) = header
                && h? != project_id
            {
                return Err(Error::Forbidden(
                    "the Meshagent-Project-Id header names another project than the API key's".into(),
                ));
            }
            return Ok((project_id, LlmCaller::ApiKey { id }));
        }
        if Unverified::read(req.credential).is_ok() {
            let token = self.validate_participant_token(req.credential).await?;
            check_llm_grant(token.claims.api_scope(), req.provider, req.model).map_err(Error::Forbidden)?;
            let caller = LlmCaller::Participant {
                name: token.claims.name,
                api_key_id: token.api_key_id,
            };
            return Ok((token.project_id, caller));
        }
        let claims = self.validate_access_token(req.credential).await.map_err(|_| {
            Error::Unauthorized("the credential is not a valid API key, participant token or access token".into())
        })?;
        let user = claims
            .user()
            .ok_or_else(|| Error::Forbidden("client credentials tokens cannot use the LLM proxy".into()))?;
        if !claims.scopes().contains(LLM_PROXY_SCOPE) {
            return Err(Error::Forbidden("the access token lacks the llm_proxy scope".into()));
        }
        let project = header.ok_or_else(|| {
            Error::Forbidden("an access token needs the Meshagent-Project-Id header naming the project".into())
        })??;
        let server_admin = self
            .store
            .get_member(ProjectId::SYSTEM, user)
            .await?
            .is_some_and(|f| f.is_admin);
        let who = Principal::User {
            id: user,
            read_only: false,
            server_admin,
        };
        let access = self.access(&who, project).await.map_err(|e| match e {
            Error::NotFound(_) => Error::Forbidden("the user is not a member of the project".into()),
            e => e,
        })?;
        if !(access.flags.is_admin || access.flags.can_use_llm_proxy) {
            return Err(Error::Forbidden(
                "the user lacks can_use_llm_proxy in the project".into(),
            ));
        }
        Ok((project, LlmCaller::User { id: user }))
    }
}

/// The grouped-by values of a report line: minute, caller, provider, model.
type SummaryKey = (Option<i64>, Option<(String, String)>, Option<Provider>, Option<String>);

/// Adds rows up by the values of `groups`, in the order of those values.
fn summarise(rows: Vec<UsageRow>, groups: &[UsageGroup]) -> Vec<UsageSummary> {
    let mut sums: BTreeMap<SummaryKey, [u64; 3]> = BTreeMap::new();
    for r in rows {
        let has = |g| groups.contains(&g);
        let key = (
            has(UsageGroup::Minute).then_some(r.minute),
            has(UsageGroup::Caller).then(|| (r.caller_kind.clone(), r.caller_id.clone())),
            has(UsageGroup::Provider).then_some(r.provider),
            has(UsageGroup::Model).then(|| r.model.clone()),
        );
        let s = sums.entry(key).or_default();
        s[0] += r.requests;
        s[1] += r.input_tokens;
        s[2] += r.output_tokens;
    }
    sums.into_iter()
        .map(
            |((minute, caller, provider, model), [requests, input_tokens, output_tokens])| UsageSummary {
                minute,
                caller,
                provider,
                model,
                requests,
                input_tokens,
                output_tokens,
            },
        )
        .collect()
}

/// A base URL is an absolute URL without credentials, query or fragment.
fn check_base_url(base_url: &str) -> Result<()> {
    if base_url.len() > MAX_URL_CHARS {
        return Err(Error::invalid(
            "base_url",
            format!("is longer than {MAX_URL_CHARS} characters"),
        ));
    }
    let url = url::Url::parse(base_url).map_err(|_| Error::invalid("base_url", "must be an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(
            "base_url",
            "must have no credentials, query or fragment",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_carry_no_credentials_query_or_fragment() {
        assert!(check_base_url("https://api.openai.com/v1").is_ok());
        for bad in [
            "api.openai.com",
            "https://u:p@api.openai.com/v1",
            "https://api.openai.com/v1?x=1",
            "https://api.openai.com/v1#f",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }
}
