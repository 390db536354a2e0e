//! The console's page shell and what every console page shares: the header with the project
//! switcher, the project navigation, flash messages, and the response helpers that give each
//! page its CSP, `Cache-Control: no-store` and error pages (404 for anything not visible).

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::Error;
use gatehouse_core::access::Access;
use gatehouse_core::ids::ProjectId;
use gatehouse_core::model::Project;

use super::session::Console;
use crate::routes::web::{cookie, secured, see_other};
use crate::state::AppState;

/// The pages' own policy: the login pages' (`routes/web.rs`), plus `connect-src 'self'` for
/// search as you type.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The project pages, in navigation order: (path segment, label).
pub const SECTIONS: [(&str, &str); 9] = [
    ("clients", "OAuth clients"),
    ("resources", "API resources"),
    ("api-keys", "API keys"),
    ("members", "Members"),
    ("rooms", "Rooms"),
    ("external-oauth", "External OAuth"),
    ("secrets", "Secrets"),
    ("audit", "Audit log"),
    ("settings", "Settings"),
];

/// A project in the switcher.
pub struct ProjectLink {
    pub id: String,
    pub name: String,
    pub current: bool,
}

/// A link of the project navigation.
pub struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// What the shell around every console page shows.
pub struct Shell {
    pub title: String,
    pub user_name: String,
    pub csrf: String,
    pub flash: Option<String>,
    pub projects: Vec<ProjectLink>,
    /// The project whose page this is: (id, name).
    pub project: Option<(String, String)>,
    /// The current [`SECTIONS`] entry, or `"account"`.
    pub section: &'static str,
}

impl Shell {
    /// The shell of a page outside any project.
    pub async fn new(console: &Console, state: &AppState, title: &str, section: &'static str) -> Self {
        let projects = state.gh.list_projects(&console.who).await.unwrap_or_default();
        Self {
            title: title.to_owned(),
            user_name: if console.user.name.is_empty() {
                console.user.email.clone()
            } else {
                console.user.name.clone()
            },
            csrf: console.csrf(state),
            flash: console.flash.clone(),
            projects: projects
                .into_iter()
                .map(|p| ProjectLink {
                    id: p.id.to_string(),
                    name: p.name,
                    current: false,
                })
                .collect(),
            project: None,
            section,
        }
    }

    /// The links of the project navigation.
    pub fn nav(&self) -> Vec<NavItem> {
        let Some((id, _)) = &self.project else {
            return Vec::new();
        };
        SECTIONS
            .iter()
            .map(|(path, label)| NavItem {
                href: format!("/console/projects/{id}/{path}"),
                label,
                current: *path == self.section,
            })
            .collect()
    }
}

/// A project page's context: the shell, the project and the person's rights in it.
pub struct ProjectPage {
    pub shell: Shell,
    pub project: Project,
    pub access: Access,
}

impl ProjectPage {
    /// The project named in the path as the signed-in person sees it; 404 when it is not visible
    /// to them (never 403: whether another project exists does not leak).
    pub async fn load(
        console: &Console,
        state: &AppState,
        project_id: &str,
        section: &'static str,
        title: &str,
    ) -> Result<Self, Response> {
        let id = uuid::Uuid::try_parse(project_id)
            .map(ProjectId::from_uuid)
            .map_err(|_| not_found(console, state))?;
        let project = state.gh.get_project(&console.who, id).await;
        let access = state.gh.access(&console.who, id).await;
        let (project, access) = match (project, access) {
            (Ok(p), Ok(a)) => (p, a),
            (Err(e), _) | (_, Err(e)) => return Err(error(console, state, e).await),
        };
        let mut shell = Shell::new(console, state, title, section).await;
        for p in &mut shell.projects {
            p.current = p.id == project_id;
        }
        shell.project = Some((project.id.to_string(), project.name.clone()));
        Ok(Self { shell, project, access })
    }

    /// Whether the person may change what developers manage (clients, rooms, registrations…).
    pub fn can_develop(&self) -> bool {
        self.access.require_developer().is_ok()
    }

    /// The path of one of this project's pages.
    pub fn path(&self, rest: &str) -> String {
        format!("/console/projects/{}/{rest}", self.project.id)
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    shell: Shell,
    text: &'a str,
}

#[derive(Template)]
#[template(path = "console/continue.html")]
struct ContinuePage<'a> {
    next: &'a str,
}

/// An HTML response of the console: CSP, `frame-ancestors 'none'`, and never cached.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut res = secured((status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response());
            let h = res.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering a console page failed");
            secured((StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown.").into_response())
        }
    }
}

impl Console {
    /// A console page for this browser: the flash it showed is cleared, the CSRF cookie set.
    pub fn page(&self, status: StatusCode, page: &impl Template) -> Response {
        let mut res = html(status, page);
        if self.flash.is_some() {
            res.headers_mut().append(header::SET_COOKIE, Flash::clear());
        }
        self.browser.finish(res)
    }
}

/// A page saying one thing, in the shell.
pub fn message_page(console: &Console, state: &AppState, status: StatusCode, title: &str, text: &str) -> Response {
    let shell = Shell {
        title: title.to_owned(),
        user_name: console.user.email.clone(),
        csrf: console.csrf(state),
        flash: None,
        projects: Vec::new(),
        project: None,
        section: "",
    };
    console.page(status, &MessagePage { shell, text })
}

/// 404 in the shell.
pub fn not_found(console: &Console, state: &AppState) -> Response {
    message_page(
        console,
        state,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page, or you are not a member of the project it belongs to.",
    )
}

/// The page for a use case's refusal: 404 for anything not visible, 403 for a right the person
/// lacks, 400 for input, 500 (logged) for the rest.
pub async fn error(console: &Console, state: &AppState, e: Error) -> Response {
    let (status, title, text) = match &e {
        Error::NotFound(_) => return not_found(console, state),
        Error::Forbidden(m) => (
            StatusCode::FORBIDDEN,
            "Not allowed",
            format!("You may not do this: {m}."),
        ),
        Error::Invalid { .. } | Error::Conflict(_) => (StatusCode::BAD_REQUEST, "Not done", format!("{e}.")),
        _ => {
            tracing::error!(error = %e, "a console action failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not do this; try again.".to_owned(),
            )
        }
    };
    message_page(console, state, status, title, &text)
}

/// A page that sends the browser on to `next` by itself (no script: `<meta http-equiv=refresh>`).
pub fn continue_page(next: &str) -> Response {
    html(StatusCode::OK, &ContinuePage { next })
}

/// A one-time message for the next page ("Client deleted."), kept in a short-lived cookie.
pub struct Flash;

impl Flash {
    const COOKIE: &str = "gh_console_flash";

    /// The message of the request, if any.
    pub fn read(headers: &HeaderMap) -> Option<String> {
        let raw = URL_SAFE_NO_PAD.decode(cookie(headers, Self::COOKIE)?).ok()?;
        String::from_utf8(raw).ok().filter(|m| m.len() <= 300)
    }

    fn clear() -> HeaderValue {
        HeaderValue::from_static("gh_console_flash=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

/// `303 See Other` to `location` with a message for the page there.
pub fn redirect_with(console: &Console, location: &str, message: &str) -> Response {
    let mut res = see_other(location);
    let value = format!(
        "{}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=60{}",
        Flash::COOKIE,
        URL_SAFE_NO_PAD.encode(message),
        if console.browser.secure { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    console.browser.finish(res)
}
