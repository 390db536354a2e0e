//! The LLM proxy gate's limits (SPEC §8): a project's requests per minute and tokens per day,
//! for the project and for each caller, set by project admins (audited) and cached on every
//! node; and the flush that writes this node's counts and reads every node's totals, so that
//! nodes on one database share the limits within one flush interval.

use serde_json::json;

use super::Gatehouse;
use crate::access::Principal;
use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::llm::limits::{LimitsConfig, LlmLimits, Measure};

impl Gatehouse {
    /// Replaces a project's limits (project admins).
    pub async fn put_llm_limits(&self, who: &Principal, project: ProjectId, limits: LlmLimits) -> Result<LimitsConfig> {
        self.access(who, project).await?.require_admin()?;
        limits.check()?;
        let current = self.store.get_llm_limits(project).await?;
        let config = LimitsConfig {
            project_id: project,
            limits,
            updated_at: self.clock.now(),
            version: current.as_ref().map_or(1, |c| c.version + 1),
        };
        let rates = |r: &crate::llm::limits::Rates| json!({ "requests_per_minute": r.requests_per_minute, "tokens_per_day": r.tokens_per_day });
        let audit = self.audit(
            who,
            project,
            "llm_limits.put",
            ("llm_limits", project.to_string()),
            json!({ "project": rates(&limits.project), "per_caller": rates(&limits.per_caller) }),
        );
        if !self.store.put_llm_limits(&config, &audit).await? {
            return Err(Error::Conflict("the limits changed concurrently; retry".into()));
        }
        self.invalidate(crate::ports::Invalidation::Llm {
            project: project.uuid(),
        })
        .await;
        Ok(config)
    }

    /// A project's limits, if any were set (any member).
    pub async fn get_llm_limits(&self, who: &Principal, project: ProjectId) -> Result<Option<LimitsConfig>> {
        self.access(who, project).await?;
        self.store.get_llm_limits(project).await
    }

    /// A project's limits from memory when cached (dropped on every node when they change).
    pub(super) async fn llm_limits_of(&self, project: ProjectId) -> Result<LlmLimits> {
        let now = self.clock.now();
        if let Some(cached) = self.llm_limits.get(&project, now) {
            return Ok(*cached);
        }
        let ticket = self.llm_limits.ticket();
        let limits = self
            .store
            .get_llm_limits(project)
            .await?
            .map(|c| c.limits)
            .unwrap_or_default();
        self.llm_limits
            .insert(ticket, project, std::sync::Arc::new(limits), now);
        Ok(limits)
    }

    /// Writes this node's counts since the last flush and takes every node's totals of the
    /// current windows as the counts the limits are checked against.
    pub(super) async fn flush_llm_limit_counts(&self) -> Result<()> {
        let rows = self.llm_counts.take_pending();
        if !rows.is_empty()
            && let Err(e) = self.store.add_llm_limit_counts(&rows).await
        {
            self.llm_counts.restore(&rows);
            return Err(e);
        }
        let now = self.clock.now();
        let totals = self
            .store
            .current_llm_limit_counts(Measure::Requests.window(now), Measure::Tokens.window(now))
            .await?;
        self.llm_counts.share(totals, now);
        Ok(())
    }
}
