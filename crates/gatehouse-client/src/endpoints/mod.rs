//! One method per REST endpoint, grouped by resource, and the OAuth endpoints of a native client.

mod accounts;
mod identity_providers;
mod llm;
mod oauth;
mod oauth_clients;
mod project_data;
mod resources;
mod room_secrets;
mod rooms;

pub use oauth::DEVICE_CODE_GRANT;
