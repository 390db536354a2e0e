//! Maps domain values to the wire types of gatehouse-types, in one place.
//!
//! Core's use cases take and return domain values; handlers turn them into the JSON bodies of the
//! REST API and the OAuth endpoints with the functions here, one per shape, named after what they
//! produce (`client_dto` gives an `OAuthClient`). A function borrows its value, or takes it by
//! value when the wire shape can take its strings over instead of copying them (the token
//! response: the token endpoint is a hot path). The few request bodies that core takes as domain
//! values are turned into them here as well (`grant_request`).

mod accounts;
mod broker;
mod clients;
mod identity_providers;
mod llm;
mod oauth;
mod resources;
mod rooms;
mod secrets;

pub use accounts::{
    api_key_dto, audit_event_dto, created_api_key_dto, invitation_dto, member_dto, project_dto, project_settings_dto,
    role_dto, user_dto,
};
pub use broker::{oauth_token_dto, offline_token_dto, room_secret_list_dto};
pub use clients::client_dto;
pub use identity_providers::identity_provider_dto;
pub use llm::{llm_limits, llm_limits_dto, llm_provider, llm_provider_dto, llm_usage_row_dto};
pub use oauth::{device_authorization_dto, token_dto};
pub use resources::resource_dto;
pub use rooms::{grant_request, participant_dto, room_connection_dto, room_dto, room_grant_dto};
pub use secrets::{project_secret_dto, registration_dto};
