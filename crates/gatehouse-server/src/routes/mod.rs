//! The router: one module per resource. Every REST route is also listed in [`crate::openapi`]; the
//! OAuth/OIDC endpoints are described by discovery instead (RFC 8414).

pub(crate) mod accounts;
pub(crate) mod api_keys;
pub(crate) mod clients;
pub(crate) mod console;
pub(crate) mod external_oauth;
pub(crate) mod identity_providers;
pub(crate) mod llm;
pub(crate) mod oauth;
pub(crate) mod pages;
pub(crate) mod participants;
pub(crate) mod resources;
pub(crate) mod room_channel;
pub(crate) mod room_sdk;
pub(crate) mod room_secrets;
pub(crate) mod rooms;
pub(crate) mod secrets;
pub(crate) mod system;
pub(crate) mod web;

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
        .merge(provider_routes())
        .merge(console::console_routes())
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(crate::openapi::serve))
        .route("/accounts/projects", get(list_projects).post(create_project))
        .route(
            "/accounts/projects/{project_id}",
            get(get_project).put(update_project).delete(delete_project),
        )
        .route(
            "/accounts/projects/{project_id}/settings",
            get(get_project_settings).put(put_project_settings),
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
        .route("/accounts/projects/{project_id}/invitations", get(list_invitations))
        .route(
            "/accounts/projects/{project_id}/invitations/{invitation_id}",
            axum::routing::delete(revoke_invitation),
        )
        .route(
            "/accounts/projects/{project_id}/participant-tokens",
            post(participants::create),
        )
        .route("/api/participant-token/validate", post(participants::validate))
        .route(
            "/accounts/projects/{project_id}/rooms",
            get(rooms::list).post(rooms::create),
        )
        .route(
            "/accounts/projects/{project_id}/rooms/{room_name}",
            get(rooms::get).delete(rooms::delete),
        )
        .route(
            "/accounts/projects/{project_id}/rooms/{room_name}/connect",
            post(rooms::connect),
        )
        .route(
            "/accounts/projects/{project_id}/room-grants",
            get(rooms::list_grants).post(rooms::put_grant),
        )
        .route(
            "/accounts/projects/{project_id}/room-grants/{room_name}/{user_id}",
            axum::routing::delete(rooms::delete_grant),
        )
        .route("/rooms/{room_name}", get(room_channel::join))
        .route("/rooms/{room_name}/participants", get(room_channel::participants))
        .route("/rooms/{room_name}/secrets", get(room_secrets::list))
        .route("/accounts/users", post(create_user))
        .route(
            "/accounts/identity-providers",
            get(identity_providers::list).post(identity_providers::create),
        )
        .route(
            "/accounts/identity-providers/{id}",
            get(identity_providers::get)
                .patch(identity_providers::update)
                .delete(identity_providers::delete),
        )
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
        .route(
            "/accounts/projects/{project_id}/resources",
            get(resources::list).post(resources::create),
        )
        .route(
            "/accounts/projects/{project_id}/resources/{resource_id}",
            get(resources::get).put(resources::update).delete(resources::delete),
        )
        .route("/accounts/projects/{project_id}/audit", get(system::audit))
        .route(
            "/accounts/projects/{project_id}/llm/providers/{provider}",
            get(llm::get_provider)
                .put(llm::put_provider)
                .delete(llm::delete_provider),
        )
        .route("/accounts/projects/{project_id}/llm/usage", get(llm::usage))
        .route(
            "/accounts/projects/{project_id}/llm/limits",
            get(llm::get_limits).put(llm::put_limits),
        )
}

/// The LLM proxy gate: answers stream for as long as the upstream sends, so these routes have
/// no request timeout; the gate bounds the body read and the upstream's silences itself.
pub fn llm_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/openai/v1/{*path}", axum::routing::any(llm::proxy::openai))
        .route("/anthropic/v1/{*path}", axum::routing::any(llm::proxy::anthropic))
}

/// Routes whose answer may wait for a person: `secrets.request_oauth_token` over REST waits up
/// to its timeout (at most 15 minutes) for the participant's consent.
pub fn waiting_routes() -> Router<Arc<AppState>> {
    let secrets = |op: &str| format!("/rooms/{{room_name}}/secrets/{op}");
    Router::new()
        .route(&secrets("list"), post(room_secrets::list_post))
        .route(&secrets("delete"), post(room_secrets::delete))
        .route(&secrets("request_oauth_token"), post(room_secrets::request_oauth_token))
        .route(
            &secrets("get_offline_oauth_token"),
            post(room_secrets::get_offline_oauth_token),
        )
        .route(
            &secrets("provide_oauth_authorization"),
            post(room_secrets::provide_oauth_authorization),
        )
        .route(
            &secrets("reject_oauth_authorization"),
            post(room_secrets::reject_oauth_authorization),
        )
}

/// The authorization server: protocol endpoints and the sign-in pages.
fn provider_routes() -> Router<Arc<AppState>> {
    use oauth::{authorize, discovery, token};
    use pages::{account, device, reset, signup};
    let config = get(discovery::configuration).options(discovery::configuration);
    Router::new()
        .route("/.well-known/openid-configuration", config.clone())
        .route("/.well-known/oauth-authorization-server", config)
        .route("/oauth/jwks", get(discovery::jwks).options(discovery::jwks))
        .route(
            "/.well-known/oauth-protected-resource/{project_id}/{resource_id}",
            get(discovery::protected_resource),
        )
        .route("/oauth/authorize", get(authorize::authorize).post(authorize::authorize))
        .route("/oauth/token", post(token::token).options(token::token))
        .route("/oauth/device_authorization", post(token::device_authorization))
        .route(
            "/oauth/userinfo",
            get(token::userinfo).post(token::userinfo).options(token::userinfo),
        )
        .route("/oauth/revoke", post(token::revoke).options(token::revoke))
        .route("/oauth/introspect", post(token::introspect))
        .route("/oauth/logout", get(pages::logout).post(pages::logout))
        .route("/logout", get(pages::logout).post(pages::logout))
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/login/second", post(pages::second_step::submit))
        .route("/account/two-step", get(pages::factors::two_step))
        .route("/account/totp", post(pages::factors::start_totp))
        .route("/account/totp/confirm", post(pages::factors::confirm_totp))
        .route("/account/totp/remove", post(pages::factors::remove_totp))
        .route("/account/passkeys", post(pages::passkeys::register))
        .route("/account/passkeys/options", post(pages::passkeys::register_options))
        .route("/account/passkeys/{passkey_id}/remove", post(pages::passkeys::remove))
        .route("/login/passkey", post(pages::passkeys::sign_in))
        .route("/login/passkey/options", post(pages::passkeys::sign_in_options))
        .route("/login/second/passkey", post(pages::passkeys::second_step))
        .route(
            "/login/second/passkey/options",
            post(pages::passkeys::second_step_options),
        )
        .route("/assets/passkeys.js", get(pages::passkeys::script))
        .route("/consent", post(authorize::consent))
        .route("/device", get(device::device_page).post(device::device_lookup))
        .route("/device/confirm", post(device::device_confirm))
        .route("/account", get(account::show))
        .route("/account/password", post(account::change_password))
        .route("/account/sessions/{session_id}/revoke", post(account::revoke_session))
        .route(
            "/account/invitations/{invitation_id}/{answer}",
            post(account::answer_invitation),
        )
        .route("/signup", get(signup::show).post(signup::submit))
        .route("/signup/verify", get(signup::verify_page).post(signup::verify))
        .route("/reset", get(reset::show).post(reset::submit))
        .route("/reset/confirm", get(reset::confirm_page).post(reset::confirm))
        .route(
            "/account/identities/{identity_id}/remove",
            post(pages::upstream::remove),
        )
        .route("/login/with/{provider}", get(pages::upstream::start))
        .route("/login/with/{provider}/callback", get(pages::upstream::callback))
        .route("/assets/form_post.js", get(web::form_post_script))
}
