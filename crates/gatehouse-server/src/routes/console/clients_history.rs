//! A client's history in its page: its audit entries, newest first, with the field-level
//! before and after of each change (the audit record never holds a secret value), and the
//! "Last used" text of the list and the form.

use gatehouse_core::model::AuditRecord;
use gatehouse_core::time::Timestamp;
use serde_json::Value;

use super::session::Console;

/// How many entries the page shows.
pub const SHOWN: u32 = 50;

/// One changed field.
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// One audit entry.
pub struct Entry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub summary: String,
    pub changes: Vec<Change>,
}

/// A time as people read it: `2026-12-07 14:03 UTC`.
pub fn when(t: Timestamp) -> String {
    let text = t.rfc3339();
    format!("{} UTC", text.get(..16).unwrap_or(&text).replace('T', " "))
}

/// "Never" or the time of the last use.
pub fn last_used(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "Never".to_owned(), when)
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) if s.is_empty() => "(empty)".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "(none)".into(),
        Value::Array(a) => a.iter().map(show).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

impl Entry {
    /// The entry of `r` as `console`'s person reads it.
    pub fn of(r: &AuditRecord, console: &Console) -> Self {
        let actor = if r.actor_type == "user" && r.actor_id == console.user.id.to_string() {
            format!("{} (you)", console.user.email)
        } else {
            format!("{} {}", r.actor_type.replace('_', " "), r.actor_id)
        };
        let changes = r
            .details
            .get("changes")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(field, c)| Change {
                        field: field.clone(),
                        before: show(c.get("before").unwrap_or(&Value::Null)),
                        after: show(c.get("after").unwrap_or(&Value::Null)),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let summary = match r.action.as_str() {
            "client.create" => "Created".to_owned(),
            "client.secret.rotate" => {
                let grace = r.details.get("grace_seconds").and_then(Value::as_u64).unwrap_or(0);
                format!("New secret set; the previous one stays valid for {grace} s")
            }
            "client.update" => match r.details.get("fields").and_then(Value::as_array) {
                Some(f) => format!("Fields sent: {}", f.iter().map(show).collect::<Vec<_>>().join(", ")),
                None => "Updated".to_owned(),
            },
            other => other.to_owned(),
        };
        Self {
            at: when(r.at),
            actor,
            action: r.action.clone(),
            summary,
            changes,
        }
    }
}
