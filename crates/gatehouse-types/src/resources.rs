//! API resources of a project (SPEC §5.7): the audiences of access tokens, with their scopes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One scope of a resource; the description is shown on the consent page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceScope {
    /// An RFC 6749 §3.3 scope token, unique within the project.
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = crate::text::description)]
    pub description: String,
}

/// Create or replace an API resource. Absent optional fields take their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    /// The audience: an absolute URI without fragment, unique within the project.
    pub identifier: String,
    #[schema(schema_with = crate::text::name)]
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<ResourceScope>,
    /// Lifetime of access tokens for this resource, 60–86400 seconds; default 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime_secs: Option<u32>,
    /// `ES256` (default), `RS256` or `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<String>,
    /// `jwt` (RFC 9068, default) or `opaque` (introspection only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_format: Option<String>,
}

/// An API resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiResource {
    pub id: Uuid,
    pub project_id: Uuid,
    pub identifier: String,
    pub name: String,
    pub scopes: Vec<ResourceScope>,
    pub access_token_lifetime_secs: u32,
    pub signing_alg: String,
    pub token_format: String,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET …/resources`: every resource of the project (at most 100), oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResourceList {
    pub resources: Vec<ApiResource>,
}

/// Query of `DELETE …/resources/{resource_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteResourceQuery {
    /// Required to delete a resource whose scopes or identifier clients still use.
    #[serde(default)]
    pub force: bool,
}
