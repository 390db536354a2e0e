//! What the project pages (API keys, members, rooms, external OAuth, secrets, audit, settings)
//! and the account page share: a posted form is checked for this browser's CSRF token before
//! anything else (403, nothing changes), the project is loaded as the person sees it (404 when
//! it is not theirs), and a refused field keeps what was typed and shows its message next to it.

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::Error;
use gatehouse_core::time::Timestamp;

use super::layout::{self, ProjectPage, Shell};
use super::session::Console;
use crate::extract::Form;
use crate::state::AppState;

/// What a console handler answers: its page, or the page that stopped it (refused, not found,
/// an error), so that each step can end the handler with `?`.
pub type Answer = Result<Response, Stop>;

/// The page that stopped a handler (a refusal, not found, an error), boxed: a response is large.
pub struct Stop(Box<Response>);

impl IntoResponse for Stop {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for Stop {
    fn from(page: Response) -> Self {
        Self(Box::new(page))
    }
}

/// The value of a use case's result, or the error page of its refusal.
pub async fn ok<T>(console: &Console, state: &AppState, result: Result<T, Error>) -> Result<T, Stop> {
    match result {
        Ok(v) => Ok(v),
        Err(e) => Err(layout::error(console, state, e).await.into()),
    }
}

/// A project page's context as the signed-in person sees it.
pub async fn project(
    console: &Console,
    state: &AppState,
    project_id: &str,
    section: &'static str,
    title: &str,
) -> Result<ProjectPage, Stop> {
    Ok(ProjectPage::load(console, state, project_id, section, title).await?)
}

/// A page of the project that only some may open (a form, a confirmation): 404 for the others,
/// who have no button for it either.
pub async fn project_if(
    console: &Console,
    state: &AppState,
    project_id: &str,
    (section, title): (&'static str, &str),
    allowed: impl Fn(&ProjectPage) -> bool,
) -> Result<ProjectPage, Stop> {
    let ctx = project(console, state, project_id, section, title).await?;
    found(console, state, Some(ctx).filter(|c| allowed(c)))
}

/// A posted form carrying this browser's CSRF token, or the page refusing it (403).
pub fn checked(console: &Console, state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Form, Stop> {
    console.form(state, headers, body).map_err(Stop)
}

/// A posted form of a project page: the CSRF token first, then the project.
pub async fn posted(
    console: &Console,
    state: &AppState,
    (headers, body): (&HeaderMap, &[u8]),
    project_id: &str,
    section: &'static str,
    title: &str,
) -> Result<(Form, ProjectPage), Stop> {
    let form = checked(console, state, headers, body)?;
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

/// The form again with the message of the field a use case refused, or the error page when the
/// refusal is not about input. `fields` maps the core's field names to the form's; other fields
/// are reported on the form's first field.
pub async fn refused(
    console: &Console,
    state: &AppState,
    form: &Form,
    e: Error,
    fields: &[(&str, &str)],
) -> Result<FormState, Stop> {
    match e {
        Error::Invalid { field, reason } => {
            let known = fields.iter().find(|(core, _)| *core == field).or(fields.first());
            let field = known.map_or(field, |(_, f)| (*f).to_owned());
            Ok(FormState::refused(form, &field, reason))
        }
        other => Err(layout::error(console, state, other).await.into()),
    }
}

/// The thing a page is about, or 404: it does not exist, or the person may not act on it (they
/// have no button for it either).
pub fn found<T>(console: &Console, state: &AppState, thing: Option<T>) -> Result<T, Stop> {
    thing.ok_or_else(|| layout::not_found(console, state).into())
}

/// The id in a path, or 404 when it is not one.
pub fn path_id(console: &Console, state: &AppState, id: &str) -> Result<uuid::Uuid, Stop> {
    uuid::Uuid::try_parse(id).map_err(|_| layout::not_found(console, state).into())
}

/// After a change: the list of the page's section with `message`, or the error page.
pub async fn changed<T>(
    console: &Console,
    state: &AppState,
    ctx: &ProjectPage,
    result: Result<T, Error>,
    message: &str,
) -> Answer {
    ok(console, state, result).await?;
    done(console, ctx, message)
}

/// `303 See Other` to the list of the page's section, with `message` for it.
pub fn done(console: &Console, ctx: &ProjectPage, message: &str) -> Answer {
    Ok(layout::redirect_with(console, &ctx.path(ctx.shell.section), message))
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
/// `action`, and Cancel back to the section's list.
pub fn confirm(console: &Console, ctx: ProjectPage, question: &str, action: &str, button: &str) -> Answer {
    let back = ctx.path(ctx.shell.section);
    let page = ConfirmPage {
        shell: ctx.shell,
        question,
        action,
        button,
        back: &back,
    };
    Ok(console.page(StatusCode::OK, &page))
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
/// redirect, and the page is `no-store`. Done goes back to the section's list.
pub fn show_once(console: &Console, ctx: ProjectPage, title: &str, what: &str, value: &str) -> Response {
    let back = ctx.path(ctx.shell.section);
    let mut shell = ctx.shell;
    shell.title = title.to_owned();
    let page = OncePage {
        shell,
        what,
        value,
        back: &back,
    };
    console.page(StatusCode::CREATED, &page)
}

/// A time as the pages show it.
pub fn when(t: Timestamp) -> String {
    super::clients_history::when(t)
}
