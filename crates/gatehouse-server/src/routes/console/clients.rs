//! The OAuth Clients list of a project (SPEC §10, the OctoMesh seed): columns Client ID, Name,
//! Enabled, URI and Last used; toolbar New Client, Search, Export to Excel, Export to PDF,
//! Refresh; per row Edit, and Delete in a menu behind a confirmation naming the client. Paged,
//! with the total; search is a plain GET form that the script runs as you type.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::clients::Client;
use gatehouse_core::clients::risks::risks;
use gatehouse_core::ids::ProjectId;
use gatehouse_core::ports::Page;

use super::clients_edit::{posted, writable};
use super::clients_history;
use super::layout::{self, ProjectPage, Shell};
use super::session::Console;
use crate::extract::{Form, Path};
use crate::state::AppState;

/// Rows per page unless the link asks otherwise.
const PAGE_SIZE: u32 = 50;

/// One row of the list.
pub struct Row {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub uri: String,
    pub official: bool,
    pub last_used: String,
    /// Reasons the configuration is risky.
    pub risks: Vec<String>,
}

impl Row {
    fn of(c: &Client, state: &AppState) -> Self {
        Self {
            last_used: clients_history::last_used(state.gh.client_last_used(c)),
            risks: risks(&c.settings).into_iter().map(|r| r.reason).collect(),
            id: c.id.to_string(),
            name: c.settings.name.clone(),
            enabled: c.settings.enabled,
            uri: c.settings.client_uri.clone().unwrap_or_default(),
            official: c.official,
        }
    }
}

/// The list's query: `filter`, `offset`, `count`.
struct ListQuery {
    filter: String,
    offset: u64,
    count: u32,
}

impl ListQuery {
    fn parse(query: Option<&str>) -> Self {
        let f = Form::parse(query.unwrap_or_default().as_bytes());
        Self {
            filter: f.get("filter").unwrap_or("").trim().to_owned(),
            offset: f.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0),
            count: f
                .get("count")
                .and_then(|v| v.parse().ok())
                .filter(|c| (1..=1000).contains(c))
                .unwrap_or(PAGE_SIZE),
        }
    }

    /// The query string of this list at `offset`.
    fn at(&self, offset: u64) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if !self.filter.is_empty() {
            q.append_pair("filter", &self.filter);
        }
        if offset > 0 {
            q.append_pair("offset", &offset.to_string());
        }
        if self.count != PAGE_SIZE {
            q.append_pair("count", &self.count.to_string());
        }
        q.finish()
    }
}

#[derive(Template)]
#[template(path = "console/clients.html")]
struct ListPage {
    shell: Shell,
    base: String,
    rows: Vec<Row>,
    filter: String,
    filter_error: Option<String>,
    total: u64,
    first: u64,
    last: u64,
    previous: Option<String>,
    next: Option<String>,
    refresh: String,
    export_query: String,
    can_develop: bool,
}

/// `GET /console/projects/{project_id}/clients`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let ctx = match ProjectPage::load(&console, &state, &project_id, "clients", "OAuth clients").await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let q = ListQuery::parse(query.as_deref());
    let page = Page {
        offset: q.offset,
        count: q.count,
    };
    let filter = (!q.filter.is_empty()).then_some(q.filter.as_str());
    let (clients, total, filter_error) = match state.gh.list_clients(&console.who, ctx.project.id, filter, page).await {
        Ok((c, t)) => (c, t, None),
        Err(gatehouse_core::Error::Invalid { reason, .. }) => (Vec::new(), 0, Some(format!("The search {reason}."))),
        Err(e) => return layout::error(&console, &state, e).await,
    };
    let shown = clients.len() as u64;
    let base = ctx.path("clients");
    let link = |offset: u64| {
        let qs = q.at(offset);
        if qs.is_empty() {
            base.clone()
        } else {
            format!("{base}?{qs}")
        }
    };
    let page = ListPage {
        rows: clients.iter().map(|c| Row::of(c, &state)).collect(),
        filter: q.filter.clone(),
        filter_error,
        total,
        first: if shown == 0 { 0 } else { q.offset + 1 },
        last: q.offset + shown,
        previous: (q.offset > 0).then(|| link(q.offset.saturating_sub(q.count.into()))),
        next: (q.offset + shown < total).then(|| link(q.offset + shown)),
        refresh: link(q.offset),
        export_query: {
            let mut e = url::form_urlencoded::Serializer::new(String::new());
            if !q.filter.is_empty() {
                e.append_pair("filter", &q.filter);
            }
            e.finish()
        },
        can_develop: ctx.can_develop(),
        base,
        shell: ctx.shell,
    };
    console.page(StatusCode::OK, &page)
}

/// `GET …/clients/export?format=xlsx|pdf&filter=…`: the filtered list as a file.
pub async fn export(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Ok(project) = uuid::Uuid::try_parse(&project_id).map(ProjectId::from_uuid) else {
        return layout::not_found(&console, &state);
    };
    let f = Form::parse(query.unwrap_or_default().as_bytes());
    let format = f.get("format").unwrap_or("xlsx");
    let filter = f.get("filter").map(str::trim).filter(|v| !v.is_empty());
    match state.gh.export_clients(&console.who, project, format, filter).await {
        Ok(file) => {
            let disposition = format!("attachment; filename=\"{}\"", file.file_name);
            let res = (
                [
                    (header::CONTENT_TYPE, file.content_type.to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                file.bytes,
            )
                .into_response();
            console.browser.finish(res)
        }
        Err(e) => layout::error(&console, &state, e).await,
    }
}

#[derive(Template)]
#[template(path = "console/client_delete.html")]
struct DeletePage {
    shell: Shell,
    row: Row,
    list: String,
}

/// `GET …/clients/{client_id}/delete`: the confirmation page (the dialog without JavaScript).
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, client_id)): Path<(String, String)>,
) -> Response {
    let ctx = match writable(&console, &state, &project_id, "Delete client").await {
        Ok(c) => c,
        Err(res) => return res,
    };
    match state.gh.get_client(&console.who, ctx.project.id, &client_id).await {
        Ok(c) => {
            let page = DeletePage {
                row: Row::of(&c, &state),
                list: ctx.path("clients"),
                shell: ctx.shell,
            };
            console.page(StatusCode::OK, &page)
        }
        Err(e) => layout::error(&console, &state, e).await,
    }
}

/// `POST …/clients/{client_id}/delete`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    console: Console,
    Path((project_id, client_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let project = match posted(&console, &state, &project_id, "Delete client", &headers, &body).await {
        Ok((_, ctx)) => ctx.project.id,
        Err(res) => return res,
    };
    let name = match state.gh.get_client(&console.who, project, &client_id).await {
        Ok(c) => c.settings.name,
        Err(e) => return layout::error(&console, &state, e).await,
    };
    match state.gh.delete_client(&console.who, project, &client_id, false).await {
        Ok(()) => layout::redirect_with(
            &console,
            &format!("/console/projects/{project}/clients"),
            &format!("Client {name} ({client_id}) deleted."),
        ),
        Err(e) => layout::error(&console, &state, e).await,
    }
}
