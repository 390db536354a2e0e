//! The OpenAPI 3.1 document of the REST API, generated from the handlers' `#[utoipa::path]`
//! annotations and the wire types, so it cannot drift from the code. Path parameters come from
//! the handlers' `Path<…>` arguments; the answers that the extractors give on their own (a
//! missing credential, a malformed body, query or id) are added here to every operation that
//! uses them, and each annotation lists the answers of its use case.

use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};

use crate::routes::accounts::*;
use crate::routes::identity_providers;
use crate::routes::system;
use crate::routes::{
    api_keys, clients, external_oauth, llm, participants, resources, room_channel, room_secrets, rooms, secrets,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse REST API", description = "Projects, API keys, participant tokens, rooms and room grants, room secrets and the third-party OAuth broker, the OAuth client registry, external OAuth registrations, upstream identity providers, project secrets, API resources, the LLM proxy gate's provider keys and the audit log."),
    paths(
        system::healthz, system::readyz,
        create_project, list_projects, get_project, update_project, delete_project, get_project_settings, put_project_settings, role,
        list_members, add_member, update_member, remove_member, list_invitations, revoke_invitation, create_user, profile,
        api_keys::create, api_keys::list, api_keys::revoke,
        participants::create, participants::validate,
        rooms::create, rooms::list, rooms::get, rooms::delete, rooms::put_grant, rooms::list_grants, rooms::delete_grant, rooms::connect,
        room_channel::join, room_channel::participants, room_secrets::list, room_secrets::list_post, room_secrets::delete, room_secrets::request_oauth_token,
        room_secrets::get_offline_oauth_token, room_secrets::provide_oauth_authorization, room_secrets::reject_oauth_authorization,
        clients::create, clients::list, clients::get, clients::update, clients::delete, clients::rotate_secret, clients::export,
        external_oauth::create, external_oauth::list, external_oauth::update, external_oauth::delete,
        secrets::create, secrets::list, secrets::get, secrets::update, secrets::delete,
        resources::create, resources::list, resources::get, resources::update, resources::delete,
        llm::put_provider, llm::get_provider, llm::delete_provider, llm::usage, llm::put_limits, llm::get_limits,
        system::audit,
        identity_providers::list, identity_providers::create, identity_providers::get, identity_providers::update, identity_providers::delete,
    ),
    // The body of the `secrets.request_oauth_token` event (SPEC §7.3), sent on the room channel.
    components(schemas(gatehouse_types::ConsentPrompt, gatehouse_types::ErrorBody)),
    modifiers(&Credentials, &ExtractorAnswers, &RoomNames),
    security(("bearer" = [])),
)]
struct ApiDoc;

/// The credentials: `bearer` for the REST API (the default), and the participant token of the
/// room entry points, as `Authorization: Bearer` or `?token=` (SPEC §6.4).
struct Credentials;

impl utoipa::Modify for Credentials {
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
        components.add_security_scheme(
            "participant",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A participant token granting the room"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "participant_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "A participant token granting the room, when it cannot be sent as Bearer",
            ))),
        );
    }
}

/// The answers of the extractors (`crate::extract`), added to each operation that uses one
/// unless its annotation already describes the status: 401 without a valid credential, 400, 413
/// and 415 for a JSON body, 400 for a query, 404 for a path naming nothing.
struct ExtractorAnswers;

impl utoipa::Modify for ExtractorAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        operations(doc).for_each(add_extractor_answers);
    }
}

/// Every operation of the document.
fn operations(doc: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

fn add_extractor_answers(op: &mut Operation) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let (query, path) = (has(ParameterIn::Query), has(ParameterIn::Path));
    // An operation without its own `security` takes the document's: the bearer credential.
    let secured = op.security.as_ref().is_none_or(|s| !s.is_empty());
    let mut answers = Vec::new();
    if secured {
        answers.push(("401", "no valid credential (with a WWW-Authenticate challenge)"));
    }
    if op.request_body.is_some() {
        answers.push((
            "400",
            "a malformed body or a field that breaks a rule, named in the message",
        ));
        answers.push(("413", "a body larger than max_body_bytes"));
        answers.push(("415", "a body that is not JSON in UTF-8"));
    }
    if query {
        answers.push((
            "400",
            "a malformed query or a value that breaks a rule, named in the message",
        ));
    }
    if path {
        answers.push(("404", "nothing of that id (a malformed id names nothing)"));
    }
    add_answers(op, &answers);
}

/// Adds each `(status, description)` with the error body, unless the operation describes the
/// status already.
fn add_answers(op: &mut Operation, answers: &[(&str, &str)]) {
    for &(status, description) in answers {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .into()
        });
    }
}

/// A `room_name` parameter, in a path or a query, names a room: the handlers take it as a string
/// and the use case parses it, so its rule (SPEC §1) and the 400 for a name that breaks it are
/// stated here for every operation.
struct RoomNames;

impl utoipa::Modify for RoomNames {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for op in operations(doc) {
            let mut in_path = false;
            for parameter in op.parameters.iter_mut().flatten().filter(|p| p.name == "room_name") {
                parameter.schema = Some(gatehouse_types::text::room_name().into());
                in_path |= parameter.parameter_in == ParameterIn::Path;
            }
            if in_path {
                add_answers(op, &[("400", "a malformed room name")]);
            }
        }
    }
}

/// `GET /openapi.json`: the document, generated from the handlers' annotations. It lives here
/// rather than with the other system routes, which the document lists.
pub async fn serve() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
