//! `…/audit`: the project's audit log, newest first, paged, filtered by actor (a member's email,
//! or any actor's id) and action (one action such as `member.add`, or a family such as `client`)
//! with a plain GET form. Developers and admins read it; the filter runs in storage.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use gatehouse_core::Error;
use gatehouse_core::ids::ProjectId;
use gatehouse_core::model::AuditRecord;
use gatehouse_core::ports::{AuditFilter, Page};

use super::forms::{self, Answer, Stop, when};
use super::layout::Shell;
use super::session::Console;
use crate::extract::{Form, Path};
use crate::state::AppState;

const SECTION: &str = "audit";
const PAGE_SIZE: u32 = 50;

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
    /// Why the actor or action typed cannot filter, shown next to that field.
    actor_error: Option<String>,
    action_error: Option<String>,
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
}

/// The actor as people read it: a member's email, or the type and id.
fn actor_text(r: &AuditRecord, emails: &HashMap<String, String>) -> String {
    match (r.actor_type.as_str(), emails.get(&r.actor_id)) {
        ("user", Some(email)) => email.clone(),
        (kind, _) => format!("{} {}", kind.replace('_', " "), r.actor_id),
    }
}

/// The store filter the typed actor and action stand for. A member's email becomes their user
/// id; anything else is taken as an actor id. `Err` names the field that cannot filter.
fn store_filter(filter: &Filter, emails: &HashMap<String, String>) -> Result<AuditFilter, (&'static str, String)> {
    let actor_id = match filter.actor.as_str() {
        "" => None,
        typed if typed.contains('@') => Some(
            emails
                .iter()
                .find(|(_, email)| email.eq_ignore_ascii_case(typed))
                .map(|(id, _)| id.clone())
                .ok_or(("actor", format!("No member of this project has the email {typed}.")))?,
        ),
        id => Some(id.to_owned()),
    };
    let action = (!filter.action.is_empty()).then(|| filter.action.to_lowercase());
    Ok(AuditFilter { actor_id, action })
}

/// The page of entries `filter` asks for, and how many it selects; a filter the core refuses
/// is shown next to its field.
async fn entries(
    console: &Console,
    state: &AppState,
    project: ProjectId,
    filter: &Filter,
    emails: &HashMap<String, String>,
) -> Result<Result<(Vec<AuditRecord>, u64), (&'static str, String)>, Stop> {
    let wanted = match store_filter(filter, emails) {
        Ok(f) => f,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let page = Page {
        offset: filter.offset,
        count: PAGE_SIZE,
    };
    match state.gh.list_audit(&console.who, project, &wanted, page).await {
        Err(Error::Invalid { field, reason }) if field == "action" || field == "actor" => {
            let field = if field == "action" { "action" } else { "actor" };
            Ok(Err((field, format!("The {field} {reason}."))))
        }
        result => forms::ok(console, state, result).await.map(Ok),
    }
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
    let (mut actor_error, mut action_error) = (None, None);
    let (records, total) = if can_read {
        match entries(&console, &state, ctx.project.id, &filter, &emails).await? {
            Ok(found) => found,
            Err(("action", message)) => {
                action_error = Some(message);
                (Vec::new(), 0)
            }
            Err((_, message)) => {
                actor_error = Some(message);
                (Vec::new(), 0)
            }
        }
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
        actor_error,
        action_error,
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
