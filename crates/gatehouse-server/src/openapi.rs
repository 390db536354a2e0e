//! The OpenAPI 3.1 document of the REST API, generated from the handlers' `#[utoipa::path]`
//! annotations and the wire types, so it cannot drift from the code.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::accounts::*;
use crate::routes::system;
use crate::routes::{api_keys, clients, external_oauth, participants, room_channel, room_secrets, rooms, secrets};

#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse REST API", description = "Projects, API keys, participant tokens, rooms and room grants, room secrets and the third-party OAuth broker, the OAuth client registry, external OAuth registrations, project secrets and the audit log."),
    paths(
        system::healthz, system::readyz,
        create_project, list_projects, get_project, update_project, delete_project, role,
        list_members, add_member, update_member, remove_member, create_user, profile,
        api_keys::create, api_keys::list, api_keys::revoke,
        participants::create, participants::validate,
        rooms::create, rooms::list, rooms::get, rooms::delete, rooms::put_grant, rooms::list_grants, rooms::delete_grant, rooms::connect,
        room_channel::join, room_channel::participants, room_secrets::list, room_secrets::list_post, room_secrets::delete, room_secrets::request_oauth_token,
        room_secrets::get_offline_oauth_token, room_secrets::provide_oauth_authorization, room_secrets::reject_oauth_authorization,
        clients::create, clients::list, clients::get, clients::update, clients::delete, clients::rotate_secret, clients::export,
        external_oauth::create, external_oauth::list, external_oauth::update, external_oauth::delete,
        secrets::create, secrets::list, secrets::get, secrets::update, secrets::delete,
        system::audit,
    ),
    // The body of the `secrets.request_oauth_token` event (SPEC §7.3), sent on the room channel.
    components(schemas(gatehouse_types::ConsentPrompt)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A project API key (ma-…) or a user access token with the gatehouse_api or gatehouse_api.read_only scope"))
                    .build(),
            ),
        );
    }
}

/// `GET /openapi.json`: the document, generated from the handlers' annotations. It lives here
/// rather than with the other system routes, which the document lists.
pub async fn serve() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
