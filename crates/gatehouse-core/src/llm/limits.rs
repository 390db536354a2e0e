//! Limits of the LLM proxy gate (SPEC §8): requests per minute and tokens per day, for the whole
//! project and for each caller. [`Counters`] holds the counts of the current windows in memory,
//! so a check costs no storage round trip: what this node counted since its last flush
//! (`pending`) plus the total storage held at that flush, every node's counts included
//! (`shared`). Windows are fixed: the clock's minute for requests, the UTC day for tokens.
//!
//! A request counts when it is admitted; its tokens count when its answer has reported them, so
//! the request that reaches a token limit may pass it by its own tokens.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::time::Timestamp;

/// The highest limits accepted: far above any real use, low enough never to overflow a count.
pub const MAX_REQUESTS_PER_MINUTE: u64 = 10_000_000;
pub const MAX_TOKENS_PER_DAY: u64 = 1_000_000_000_000;

/// One subject's rates; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    pub requests_per_minute: Option<u64>,
    pub tokens_per_day: Option<u64>,
}

impl Rates {
    fn limit(&self, measure: Measure) -> Option<u64> {
        match measure {
            Measure::Requests => self.requests_per_minute,
            Measure::Tokens => self.tokens_per_day,
        }
    }

    /// Each rate at most its maximum; `Invalid` names `{field}.{rate}`.
    fn check(&self, field: &str) -> Result<()> {
        for (name, value, max) in [
            ("requests_per_minute", self.requests_per_minute, MAX_REQUESTS_PER_MINUTE),
            ("tokens_per_day", self.tokens_per_day, MAX_TOKENS_PER_DAY),
        ] {
            if value.is_some_and(|v| v > max) {
                return Err(Error::invalid(
                    format!("{field}.{name}"),
                    format!("must be between 0 and {max}, or null for no limit"),
                ));
            }
        }
        Ok(())
    }
}

/// A project's limits: the whole project's, and each caller's (participant name, API key, user).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LlmLimits {
    pub project: Rates,
    pub per_caller: Rates,
}

impl LlmLimits {
    /// Whether any rate is set.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }

    /// Every rate within its bounds; `Invalid` names the field (`per_caller.tokens_per_day`).
    pub fn check(&self) -> Result<()> {
        self.project.check("project")?;
        self.per_caller.check("per_caller")
    }
}

/// A project's stored limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    pub project_id: ProjectId,
    pub limits: LlmLimits,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// What a limit counts, and over which window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Requests admitted, per minute.
    Requests,
    /// Input and output tokens reported, per UTC day.
    Tokens,
}

impl Measure {
    pub const ALL: [Self; 2] = [Self::Requests, Self::Tokens];

    /// The window's length in seconds.
    pub fn period_secs(self) -> i64 {
        match self {
            Self::Requests => 60,
            Self::Tokens => 86_400,
        }
    }

    /// The start (seconds since the epoch) of the window holding `at`.
    pub fn window(self, at: Timestamp) -> i64 {
        let p = self.period_secs();
        at.millis().div_euclid(1000).div_euclid(p) * p
    }

    /// `requests` or `tokens`, as storage names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requests => "requests",
            Self::Tokens => "tokens",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }

    fn rate(self) -> &'static str {
        match self {
            Self::Requests => "requests per minute",
            Self::Tokens => "tokens per day",
        }
    }
}

/// Whose limit: the project's, or the caller's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Project,
    Caller,
}

/// A limit that refused a request, as the caller is told of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitHit {
    pub scope: Scope,
    pub measure: Measure,
    pub limit: u64,
    /// Seconds until the window that refused it ends.
    pub retry_after_secs: u64,
}

impl LimitHit {
    /// Which limit, its value and when to retry; nothing of the counts.
    pub fn message(&self) -> String {
        let whose = match self.scope {
            Scope::Project => "the project's",
            Scope::Caller => "this caller's",
        };
        format!(
            "rate limit reached: {whose} {} limit of {}; retry in {} s",
            self.measure.rate(),
            self.limit,
            self.retry_after_secs
        )
    }
}

/// One subject's count in one window, as storage holds it. A project's own count has an empty
/// caller kind and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitCount {
    pub project_id: ProjectId,
    pub caller_kind: String,
    pub caller_id: String,
    pub measure: Measure,
    /// The window's start, in seconds since the epoch.
    pub window: i64,
    pub count: u64,
}

type CountKey = (ProjectId, String, String, Measure, i64);

#[derive(Debug, Default, Clone, Copy)]
struct Count {
    /// Every node's count as storage held it at the last flush (this node's flushed part included).
    shared: u64,
    /// This node's count since then.
    pending: u64,
}

/// The counts of the current windows, per project and caller.
#[derive(Debug, Default)]
pub struct Counters(Mutex<HashMap<CountKey, Count>>);

fn key(project: ProjectId, caller: Option<&(&'static str, String)>, measure: Measure, window: i64) -> CountKey {
    let (kind, id) = caller.map_or(("", String::new()), |(k, id)| (*k, id.clone()));
    (project, kind.to_owned(), id, measure, window)
}

impl Counters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CountKey, Count>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks every limit of `limits` for a request of `caller` (`(kind, id)`) at `now`, and
    /// counts the request when none is reached. Of several limits reached, the one that lasts
    /// longest is named.
    pub fn admit(
        &self,
        project: ProjectId,
        caller: &(&'static str, String),
        limits: &LlmLimits,
        now: Timestamp,
    ) -> std::result::Result<(), LimitHit> {
        let mut map = self.lock();
        let mut hit: Option<LimitHit> = None;
        for measure in Measure::ALL {
            let window = measure.window(now);
            for (scope, rates, subject) in [
                (Scope::Project, &limits.project, None),
                (Scope::Caller, &limits.per_caller, Some(caller)),
            ] {
                let Some(limit) = rates.limit(measure) else {
                    continue;
                };
                let used = map
                    .get(&key(project, subject, measure, window))
                    .map_or(0, |c| c.shared + c.pending);
                if used >= limit {
                    let end_ms = (window + measure.period_secs()) * 1000;
                    let retry_after_secs = u64::try_from((end_ms - now.millis() + 999) / 1000).unwrap_or(1).max(1);
                    if hit.is_none_or(|h| h.retry_after_secs < retry_after_secs) {
                        hit = Some(LimitHit {
                            scope,
                            measure,
                            limit,
                            retry_after_secs,
                        });
                    }
                }
            }
        }
        if let Some(hit) = hit {
            return Err(hit);
        }
        let window = Measure::Requests.window(now);
        for subject in [None, Some(caller)] {
            map.entry(key(project, subject, Measure::Requests, window))
                .or_default()
                .pending += 1;
        }
        Ok(())
    }

    /// Counts the tokens an answer of `caller` reported at `now`.
    pub fn add_tokens(&self, project: ProjectId, caller: &(&'static str, String), tokens: u64, now: Timestamp) {
        if tokens == 0 {
            return;
        }
        let window = Measure::Tokens.window(now);
        let mut map = self.lock();
        for subject in [None, Some(caller)] {
            let c = map.entry(key(project, subject, Measure::Tokens, window)).or_default();
            c.pending = c.pending.saturating_add(tokens);
        }
    }

    /// What this node counted since the last flush, to be written; counted as shared meanwhile.
    pub fn take_pending(&self) -> Vec<LimitCount> {
        let mut map = self.lock();
        map.iter_mut()
            .filter(|(_, c)| c.pending > 0)
            .map(|((project_id, kind, id, measure, window), c)| {
                let count = std::mem::take(&mut c.pending);
                c.shared += count;
                LimitCount {
                    project_id: *project_id,
                    caller_kind: kind.clone(),
                    caller_id: id.clone(),
                    measure: *measure,
                    window: *window,
                    count,
                }
            })
            .collect()
    }

    /// Puts counts back that could not be written.
    pub fn restore(&self, rows: &[LimitCount]) {
        let mut map = self.lock();
        for r in rows {
            let c = map
                .entry((
                    r.project_id,
                    r.caller_kind.clone(),
                    r.caller_id.clone(),
                    r.measure,
                    r.window,
                ))
                .or_default();
            c.shared = c.shared.saturating_sub(r.count);
            c.pending += r.count;
        }
    }

    /// Takes storage's totals of the current windows as the shared counts, and forgets the
    /// windows that ended before `now`.
    pub fn share(&self, totals: Vec<LimitCount>, now: Timestamp) {
        let mut map = self.lock();
        for r in totals {
            map.entry((r.project_id, r.caller_kind, r.caller_id, r.measure, r.window))
                .or_default()
                .shared = r.count;
        }
        map.retain(|(_, _, _, measure, window), c| *window >= measure.window(now) || c.pending > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_millis(secs * 1000)
    }

    fn limits(project: Rates, per_caller: Rates) -> LlmLimits {
        LlmLimits { project, per_caller }
    }

    const RPM_2: Rates = Rates {
        requests_per_minute: Some(2),
        tokens_per_day: None,
    };

    #[test]
    fn a_caller_reaches_its_request_limit_until_the_minute_ends() {
        let c = Counters::default();
        let p = ProjectId::from_uuid(uuid::Uuid::new_v4());
        let (a, b) = (("participant", "a".to_owned()), ("participant", "b".to_owned()));
        let l = limits(Rates::default(), RPM_2);
        assert!(c.admit(p, &a, &l, at(600)).is_ok());
        assert!(c.admit(p, &a, &l, at(610)).is_ok());
        let hit = c.admit(p, &a, &l, at(619)).unwrap_err();
        assert_eq!(
            (hit.scope, hit.measure, hit.limit, hit.retry_after_secs),
            (Scope::Caller, Measure::Requests, 2, 41)
        );
        assert!(c.admit(p, &b, &l, at(619)).is_ok(), "another caller has its own count");
        assert!(c.admit(p, &a, &l, at(660)).is_ok(), "a new minute");
    }

    #[test]
    fn tokens_count_for_the_project_and_the_caller_until_the_day_ends() {
        let c = Counters::default();
        let p = ProjectId::from_uuid(uuid::Uuid::new_v4());
        let a = ("api_key", "k".to_owned());
        let l = limits(
            Rates {
                requests_per_minute: None,
                tokens_per_day: Some(100),
            },
            Rates::default(),
        );
        assert!(c.admit(p, &a, &l, at(86_400)).is_ok());
        c.add_tokens(p, &a, 100, at(86_401));
        let hit = c.admit(p, &a, &l, at(86_400 + 3600)).unwrap_err();
        assert_eq!(
            (hit.scope, hit.measure, hit.retry_after_secs),
            (Scope::Project, Measure::Tokens, 82_800)
        );
        assert!(
            hit.message().contains("the project's tokens per day limit of 100"),
            "{}",
            hit.message()
        );
        assert!(c.admit(p, &a, &l, at(2 * 86_400)).is_ok());
    }

    #[test]
    fn other_nodes_totals_count_once_flushed_and_failed_writes_are_kept() {
        let c = Counters::default();
        let p = ProjectId::from_uuid(uuid::Uuid::new_v4());
        let a = ("user", "u".to_owned());
        let l = limits(RPM_2, Rates::default());
        assert!(c.admit(p, &a, &l, at(60)).is_ok());
        let rows = c.take_pending();
        assert_eq!(rows.len(), 2, "the project's count and the caller's");
        c.restore(&rows);
        assert_eq!(c.take_pending().len(), 2, "restored counts are written next time");
        // Storage says another node admitted one more of the project's this minute.
        let mut totals = rows.clone();
        totals
            .iter_mut()
            .filter(|r| r.caller_kind.is_empty())
            .for_each(|r| r.count = 2);
        c.share(totals, at(61));
        assert!(c.admit(p, &a, &l, at(62)).is_err());
        c.share(Vec::new(), at(120));
        assert!(c.0.lock().unwrap().is_empty(), "ended windows are forgotten");
    }

    #[test]
    fn rates_above_their_maximum_are_refused_naming_the_field() {
        let l = limits(
            Rates::default(),
            Rates {
                requests_per_minute: Some(1),
                tokens_per_day: Some(MAX_TOKENS_PER_DAY + 1),
            },
        );
        match l.check() {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "per_caller.tokens_per_day"),
            other => panic!("{other:?}"),
        }
        assert!(!LlmLimits::default().any());
        assert!(l.any());
    }
}
