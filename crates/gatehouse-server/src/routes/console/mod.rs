//! The web console (SPEC §10): server-rendered pages at `/console` from compile-time checked,
//! auto-escaping templates (`templates/console/`), one stylesheet and one small script served
//! by the binary. Every action runs as the signed-in person through the same core use cases as
//! REST, so permissions and audit are the same.

pub(crate) mod account;
pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod clients;
pub(crate) mod clients_edit;
pub(crate) mod clients_form;
pub(crate) mod clients_history;
pub(crate) mod external_oauth;
pub(crate) mod forms;
pub(crate) mod layout;
pub(crate) mod members;
pub(crate) mod projects;
pub(crate) mod resources;
pub(crate) mod rooms;
pub(crate) mod secrets;
pub(crate) mod session;
pub(crate) mod settings;

use std::sync::Arc;

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};

use crate::routes::web::{asset, see_other};
use crate::state::AppState;

/// The one stylesheet of the console and of every sign-in, consent and account page.
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
        .route(
            "/console/projects/{project_id}/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route(
            "/console/projects/{project_id}/api-keys/{id}/revoke",
            get(api_keys::confirm_revoke).post(api_keys::revoke),
        )
        .route(
            "/console/projects/{project_id}/members",
            get(members::list).post(members::add),
        )
        .route(
            "/console/projects/{project_id}/members/{user_id}",
            get(members::show).post(members::update),
        )
        .route(
            "/console/projects/{project_id}/members/{user_id}/remove",
            get(members::confirm_remove).post(members::remove),
        )
        .route(
            "/console/projects/{project_id}/members/invitations/{id}/withdraw",
            post(members::withdraw),
        )
        .route(
            "/console/projects/{project_id}/secrets",
            get(secrets::list).post(secrets::create),
        )
        .route(
            "/console/projects/{project_id}/secrets/{id}",
            get(secrets::show).post(secrets::update),
        )
        .route(
            "/console/projects/{project_id}/secrets/{id}/delete",
            get(secrets::confirm_delete).post(secrets::delete),
        )
        .route(
            "/console/projects/{project_id}/resources",
            get(resources::list).post(resources::create),
        )
        .route("/console/projects/{project_id}/resources/new", get(resources::new))
        .route(
            "/console/projects/{project_id}/resources/{id}",
            get(resources::show).post(resources::update),
        )
        .route(
            "/console/projects/{project_id}/resources/{id}/delete",
            get(resources::confirm_delete).post(resources::delete),
        )
        .route(
            "/console/projects/{project_id}/settings",
            get(settings::show).post(settings::rename),
        )
        .route("/console/projects/{project_id}/settings/delete", post(settings::delete))
        .route(
            "/console/projects/{project_id}/settings/sign-in",
            post(settings::sign_in),
        )
        .route("/console/projects/{project_id}/audit", get(audit::list))
        .route("/console/account", get(account::show))
        .route("/console/account/password", post(account::change_password))
        .route("/console/account/sessions/{id}/end", post(account::end_session))
        .route(
            "/console/projects/{project_id}/rooms",
            get(rooms::list).post(rooms::create),
        )
        .route("/console/projects/{project_id}/rooms/grants", post(rooms::grant))
        .route(
            "/console/projects/{project_id}/rooms/{room}/delete",
            get(rooms::confirm_delete).post(rooms::delete),
        )
        .route(
            "/console/projects/{project_id}/rooms/{room}/grants/{user_id}/revoke",
            get(rooms::confirm_revoke).post(rooms::revoke),
        )
        .route(
            "/console/projects/{project_id}/external-oauth",
            get(external_oauth::list).post(external_oauth::create),
        )
        .route(
            "/console/projects/{project_id}/external-oauth/{id}",
            get(external_oauth::show).post(external_oauth::update),
        )
        .route(
            "/console/projects/{project_id}/external-oauth/{id}/delete",
            get(external_oauth::confirm_delete).post(external_oauth::delete),
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
