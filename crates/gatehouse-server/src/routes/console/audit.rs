//! `…/audit`: the project's audit log, newest first, paged, filtered by actor (email or id,
//! any part) and action (any part, e.g. `client` or `member.add`) with a plain GET form.
//! Developers and admins read it. Unfiltered pages come straight from storage; a filtered view
//! searches the newest [`SCAN_LIMIT`] entries and says so.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use gatehouse_core::ids::ProjectId;
use gatehouse_core::model::AuditRecord;
use gatehouse_core::ports::Page;

use super::forms::{self, Answer, Stop, when};
use super::layout::Shell;
use super::session::Console;
use crate::extract::{Form, Path};
use crate::state::AppState;

const SECTION: &str = "audit";
const PAGE_SIZE: u32 = 50;
/// How many of the newest entries a filtered view searches.
const SCAN_LIMIT: u64 = 5000;
/// Entries read from storage at a time while searching.
const SCAN_BATCH: u32 = 500;

struct Row {
    at: String,
    actor: String,
    action: String,
    target: String,
    details: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    shell: Shell,
    base: String,
    can_read: bool,
    actor: String,
    action: String,
    rows: Vec<Row>,
    total: u64,
    first: u64,
    last: u64,
    scanned: bool,
    scan_limit: u64,
    previous: Option<String>,
    next: Option<String>,
}

/// The filter of the page's query.
struct Filter {
    actor: String,
    action: String,
    offset: u64,
}

impl Filter {
    fn parse(query: Option<&str>) -> Self {
        let f = Form::parse(query.unwrap_or_default().as_bytes());
        let text = |n: &str| f.get(n).unwrap_or("").trim().to_owned();
        Self {
            actor: text("actor"),
            action: text("action"),
            offset: f.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0),
        }
    }

    fn is_empty(&self) -> bool {
        self.actor.is_empty() && self.action.is_empty()
    }

    fn link(&self, base: &str, offset: u64) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("actor", &self.actor), ("action", &self.action)] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if offset > 0 {
            q.append_pair("offset", &offset.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{q}")
        }
    }

    fn matches(&self, r: &AuditRecord, actor: &str) -> bool {
        let has = |text: &str, part: &str| part.is_empty() || text.to_lowercase().contains(&part.to_lowercase());
        has(&r.action, &self.action) && (has(actor, &self.actor) || has(&r.actor_id, &self.actor))
    }
}

/// The actor as people read it: a member's email, or the type and id.
fn actor_text(r: &AuditRecord, emails: &HashMap<String, String>) -> String {
    match (r.actor_type.as_str(), emails.get(&r.actor_id)) {
        ("user", Some(email)) => email.clone(),
        (kind, _) => format!("{} {}", kind.replace('_', " "), r.actor_id),
    }
}

/// The page of entries `filter` asks for, and how many match: straight from storage without a
/// filter, else searched among the newest [`SCAN_LIMIT`].
async fn entries(
    console: &Console,
    state: &AppState,
    project: ProjectId,
    filter: &Filter,
    emails: &HashMap<String, String>,
) -> Result<(Vec<AuditRecord>, u64), Stop> {
    let read = |offset, count| async move {
        forms::ok(
            console,
            state,
            state.gh.list_audit(&console.who, project, Page { offset, count }).await,
        )
        .await
    };
    if filter.is_empty() {
        return read(filter.offset, PAGE_SIZE).await;
    }
    let mut matched = Vec::new();
    let mut offset = 0;
    while offset < SCAN_LIMIT {
        let (batch, _) = read(offset, SCAN_BATCH).await?;
        let done = batch.len() < SCAN_BATCH as usize;
        offset += batch.len() as u64;
        matched.extend(batch.into_iter().filter(|r| filter.matches(r, &actor_text(r, emails))));
        if done {
            break;
        }
    }
    let total = matched.len() as u64;
    let skip = usize::try_from(filter.offset).unwrap_or(usize::MAX);
    Ok((matched.into_iter().skip(skip).take(PAGE_SIZE as usize).collect(), total))
}

/// `GET …/audit?actor=…&action=…&offset=…`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let ctx = forms::project(&console, &state, &project_id, SECTION, "Audit log").await?;
    let filter = Filter::parse(query.as_deref());
    let base = ctx.path(SECTION);
    let can_read = ctx.access.require_developer_read().is_ok();
    let mut emails: HashMap<String, String> = state
        .gh
        .list_members(&console.who, ctx.project.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.user.id.to_string(), m.user.email))
        .collect();
    emails.insert(console.user.id.to_string(), console.user.email.clone());
    let (records, total) = if can_read {
        entries(&console, &state, ctx.project.id, &filter, &emails).await?
    } else {
        (Vec::new(), 0)
    };
    let shown = records.len() as u64;
    let page = AuditPage {
        rows: records
            .iter()
            .map(|r| Row {
                at: when(r.at),
                actor: actor_text(r, &emails),
                action: r.action.clone(),
                target: format!("{} {}", r.target_type, r.target_id),
                details: if r.details.as_object().is_some_and(|m| m.is_empty()) {
                    String::new()
                } else {
                    r.details.to_string()
                },
            })
            .collect(),
        total,
        first: if shown == 0 { 0 } else { filter.offset + 1 },
        last: filter.offset + shown,
        scanned: !filter.is_empty(),
        scan_limit: SCAN_LIMIT,
        previous: (filter.offset > 0).then(|| filter.link(&base, filter.offset.saturating_sub(PAGE_SIZE.into()))),
        next: (filter.offset + shown < total).then(|| filter.link(&base, filter.offset + shown)),
        can_read,
        actor: filter.actor,
        action: filter.action,
        base,
        shell: ctx.shell,
    };
    Ok(console.page(StatusCode::OK, &page))
}
