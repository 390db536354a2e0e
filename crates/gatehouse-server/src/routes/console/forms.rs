//! What the project pages (API keys, members, rooms, external OAuth, secrets, audit, settings)
//! and the account page share: a posted form is checked for this browser's CSRF token before
//! anything else (403, nothing changes), the project is loaded as the person sees it (404 when
//! it is not theirs), and a refused field keeps what was typed and shows its message next to it.

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gatehouse_core::Error;
use gatehouse_core::time::Timestamp;

use super::layout::{self, ProjectPage, Shell};
use super::session::Console;
use crate::extract::Form;
use crate::state::AppState;

/// A project page's context as the signed-in person sees it.
pub async fn project(
    console: &Console,
    state: &AppState,
    project_id: &str,
    section: &'static str,
    title: &str,
) -> Result<ProjectPage, Response> {
    ProjectPage::load(console, state, project_id, section, title).await
}

/// A posted form of a project page: the CSRF token first, then the project.
pub async fn posted(
    console: &Console,
    state: &AppState,
    (headers, body): (&HeaderMap, &[u8]),
    project_id: &str,
    section: &'static str,
    title: &str,
) -> Result<(Form, ProjectPage), Response> {
    let form = console.form(state, headers, body)?;
    let ctx = project(console, state, project_id, section, title).await?;
    Ok((form, ctx))
}

/// A form as it is shown: empty, or again with what was typed and the message of the refused
/// field. Password and secret fields are never filled back in.
#[derive(Default)]
pub struct FormState {
    typed: Vec<(String, String)>,
    error: Option<(String, String)>,
}

impl FormState {
    /// The form again after `field` was refused with `message`.
    pub fn refused(form: &Form, field: &str, message: impl Into<String>) -> Self {
        Self {
            typed: form.pairs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            error: Some((field.to_owned(), message.into())),
        }
    }

    /// The form with these starting values.
    pub fn with(values: &[(&str, &str)]) -> Self {
        Self {
            typed: values.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            error: None,
        }
    }

    /// Sets `field` to `value` (a value the form shows that was not posted with it).
    pub fn set(&mut self, field: &str, value: &str) {
        self.typed.retain(|(k, _)| k != field);
        self.typed.push((field.to_owned(), value.to_owned()));
    }

    /// What was typed in `field`.
    pub fn value(&self, field: &str) -> &str {
        self.typed
            .iter()
            .find(|(k, _)| k == field)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether the checkbox `field` was ticked.
    pub fn on(&self, field: &str) -> bool {
        self.typed.iter().any(|(k, _)| k == field)
    }

    /// The message of `field`, if the form was refused for it.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    /// Whether the form was refused (its page answers 400).
    pub fn status(&self) -> StatusCode {
        if self.error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        }
    }
}

/// The field and message of a use case's refusal of input, or the refusal itself for the error
/// page. `fields` maps the core's field names to the form's; other fields are reported on the
/// form's first field.
pub fn refusal(e: Error, fields: &[(&str, &str)]) -> Result<(String, String), Error> {
    match e {
        Error::Invalid { field, reason } => {
            let known = fields.iter().find(|(core, _)| *core == field).or(fields.first());
            Ok((known.map_or(field, |(_, f)| (*f).to_owned()), reason))
        }
        other => Err(other),
    }
}

/// The error page for a refusal that is not about one field.
pub async fn failed(console: &Console, state: &AppState, e: Error) -> Response {
    layout::error(console, state, e).await
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage<'a> {
    shell: Shell,
    question: &'a str,
    action: &'a str,
    button: &'a str,
    back: &'a str,
}

/// A confirmation page (the dialog without JavaScript): `question`, a `button` posting to
/// `action`, and Cancel back to `back`.
pub fn confirm(
    console: &Console,
    ctx: ProjectPage,
    question: &str,
    action: &str,
    button: &str,
    back: &str,
) -> Response {
    let page = ConfirmPage {
        shell: ctx.shell,
        question,
        action,
        button,
        back,
    };
    console.page(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "console/once.html")]
struct OncePage<'a> {
    shell: Shell,
    what: &'a str,
    value: &'a str,
    back: &'a str,
}

/// A value shown once, in the answer to the POST that made it: never in a URL, a cookie or a
/// redirect, and the page is `no-store`.
pub fn show_once(console: &Console, mut shell: Shell, title: &str, what: &str, value: &str, back: &str) -> Response {
    shell.title = title.to_owned();
    let page = OncePage {
        shell,
        what,
        value,
        back,
    };
    console.page(StatusCode::CREATED, &page)
}

/// A time as the pages show it.
pub fn when(t: Timestamp) -> String {
    super::clients_history::when(t)
}
