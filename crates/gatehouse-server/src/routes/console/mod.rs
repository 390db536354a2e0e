//! The web console (SPEC §10): server-rendered pages at `/console` from compile-time checked,
//! auto-escaping templates (`templates/console/`), one stylesheet and one small script served
//! by the binary. Every action runs as the signed-in person through the same core use cases as
//! REST, so permissions and audit are the same.

pub(crate) mod clients;
pub(crate) mod clients_edit;
pub(crate) mod clients_form;
pub(crate) mod clients_history;
pub(crate) mod layout;
pub(crate) mod projects;
pub(crate) mod session;

use std::sync::Arc;

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};

use crate::routes::web::{asset, see_other};
use crate::state::AppState;

/// The console's stylesheet.
const STYLESHEET: &str = include_str!("../assets/console.css");
/// The console's script: search as you type, list editors, copy buttons, the switcher.
const SCRIPT: &str = include_str!("../assets/console.js");

/// The console's routes, and `/` sending people to it.
pub fn console_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { see_other("/console") }))
        .route("/console", get(projects::index))
        .route("/console/", get(|| async { see_other("/console") }))
        .route("/console/projects", post(projects::create))
        .route("/console/switch", get(projects::switch))
        .route(
            "/console/projects/{project_id}/clients",
            get(clients::list).post(clients_edit::create),
        )
        .route("/console/projects/{project_id}/clients/new", get(clients_edit::new))
        .route(
            "/console/projects/{project_id}/clients/{client_id}",
            get(clients_edit::show).post(clients_edit::update),
        )
        .route(
            "/console/projects/{project_id}/clients/{client_id}/secret",
            post(clients_edit::rotate_secret),
        )
        .route("/console/projects/{project_id}/clients/export", get(clients::export))
        .route(
            "/console/projects/{project_id}/clients/{client_id}/delete",
            get(clients::confirm_delete).post(clients::delete),
        )
        .route("/console/callback", get(session::callback))
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/signed-out", get(session::signed_out))
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}
