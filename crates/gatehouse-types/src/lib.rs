//! Wire shapes of the Gatehouse REST API (SPEC §3, §4, §6.3, §6.5, §7.6, §9.7).
//!
//! Request bodies reject unknown fields (`deny_unknown_fields`) so that a typo never passes silently
//! (SPEC §4.2). Response bodies are plain data. Timestamps are RFC 3339 strings in UTC.

mod accounts;
mod audit;
mod clients;
mod external_oauth;
mod identity_providers;
mod llm;
mod oauth;
mod participants;
mod resources;
mod room_secrets;
mod rooms;
pub mod secret;
mod secrets;
pub mod text;

pub use accounts::*;
pub use audit::*;
pub use clients::*;
pub use external_oauth::*;
pub use identity_providers::*;
pub use llm::*;
pub use oauth::*;
pub use participants::*;
pub use resources::*;
pub use room_secrets::*;
pub use rooms::*;
pub use secrets::*;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Error body of every REST endpoint (SPEC §3): a stable machine code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code: `invalid_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `payload_too_large`, `unsupported_media_type`, `internal_error`.
    pub error: String,
    /// Human-readable detail; names the offending field for validation errors.
    pub message: String,
}

/// The body of an operation that takes no fields: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

/// Query of paginated list endpoints: `count` (1–1000, default 100), `offset`, `filter`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size, 1–1000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub count: Option<u32>,
    /// Rows to skip (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    pub offset: Option<u64>,
    /// Case-insensitive substring filter, at most 200 characters without control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub filter: Option<String>,
}
