//! The router: one module per resource; every route is also listed in [`crate::openapi`].

pub(crate) mod accounts;
pub(crate) mod api_keys;
pub(crate) mod clients;
pub(crate) mod external_oauth;
pub(crate) mod secrets;
pub(crate) mod system;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

use accounts::*;

/// Every route of the server.
pub fn router() -> Router<Arc<AppState>> {
    let ext = get(external_oauth::list).post(external_oauth::create);
    let ext_one = axum::routing::put(external_oauth::update).delete(external_oauth::delete);
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        .route("/accounts/projects", get(list_projects).post(create_project))
        .route(
            "/accounts/projects/{project_id}",
            get(get_project).put(update_project).delete(delete_project),
        )
        .route("/accounts/projects/{project_id}/role", get(role))
        .route(
            "/accounts/projects/{project_id}/users",
            get(list_members).post(add_member),
        )
        .route(
            "/accounts/projects/{project_id}/users/{user_id}",
            axum::routing::put(update_member).delete(remove_member),
        )
        .route("/accounts/users", post(create_user))
        .route("/accounts/profiles/me", get(profile))
        .route(
            "/accounts/projects/{project_id}/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route(
            "/accounts/projects/{project_id}/api-keys/{key_id}",
            axum::routing::delete(api_keys::revoke),
        )
        .route(
            "/accounts/projects/{project_id}/oauth/clients",
            get(clients::list).post(clients::create),
        )
        .route(
            "/accounts/projects/{project_id}/oauth/clients/export",
            get(clients::export),
        )
        .route(
            "/accounts/projects/{project_id}/oauth/clients/{client_id}",
            get(clients::get).put(clients::update).delete(clients::delete),
        )
        .route(
            "/accounts/projects/{project_id}/oauth/clients/{client_id}/secret",
            post(clients::rotate_secret),
        )
        .route("/accounts/projects/{project_id}/external-oauth", ext.clone())
        .route(
            "/accounts/projects/{project_id}/external-oauth/{registration_id}",
            ext_one.clone(),
        )
        .route("/accounts/projects/{project_id}/rooms/{room_name}/external-oauth", ext)
        .route(
            "/accounts/projects/{project_id}/rooms/{room_name}/external-oauth/{registration_id}",
            ext_one,
        )
        .route(
            "/accounts/projects/{project_id}/secrets",
            get(secrets::list).post(secrets::create),
        )
        .route(
            "/accounts/projects/{project_id}/secrets/{secret_id}",
            get(secrets::get).put(secrets::update).delete(secrets::delete),
        )
        .route("/accounts/projects/{project_id}/audit", get(system::audit))
}
