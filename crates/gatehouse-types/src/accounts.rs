//! Projects, users, members and API keys (SPEC §3).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use uuid::Uuid;

use crate::secret::SecretString;

/// A project (tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    /// The system project holds the official clients and the server-admin key.
    pub is_system: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /accounts/projects` and `PUT /accounts/projects/{project_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    /// 1–200 characters.
    #[schema(schema_with = crate::text::name)]
    pub name: String,
}

/// Who may sign up from a project's apps and invitations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignUpMode {
    /// The server's `signup` setting.
    Inherit,
    Closed,
    Invite,
    Open,
    Domains,
}

impl SignUpMode {
    /// The mode's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inherit => "inherit",
            Self::Closed => "closed",
            Self::Invite => "invite",
            Self::Open => "open",
            Self::Domains => "domains",
        }
    }
}

/// `GET, PUT /accounts/projects/{project_id}/settings`: how people sign in to the project's apps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSettings {
    /// Sign-up reached from an authorization request of the project's clients, and through the
    /// project's invitations.
    pub signup: SignUpMode,
    /// With `signup = domains`: 1–100 email domains (`corp.example`); empty otherwise.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub signup_domains: Vec<String>,
    /// Signing in to any client of the project needs a second factor (an authenticator app code
    /// or a passkey).
    #[serde(default)]
    pub require_second_factor: bool,
}

/// `GET /accounts/projects`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProjectList {
    pub projects: Vec<Project>,
}

/// `GET /accounts/projects/{project_id}/role`: the caller's rights in a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoleInfo {
    /// `admin`, `developer`, `member` or `none`.
    pub role: String,
    pub is_admin: bool,
    pub is_developer: bool,
    pub can_create_rooms: bool,
    pub can_use_llm_proxy: bool,
}

/// A user account as seen through the API (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: String,
}

/// `POST /accounts/users` (server admins only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(schema_with = crate::text::email)]
    pub email: String,
    #[schema(schema_with = crate::text::name)]
    pub name: String,
    /// 12–1024 characters.
    #[schema(schema_with = crate::text::password)]
    pub password: SecretString,
}

/// A project member and their rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub is_developer: bool,
    pub can_create_rooms: bool,
    pub can_use_llm_proxy: bool,
}

/// `GET /accounts/projects/{project_id}/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberList {
    pub users: Vec<Member>,
}

/// `POST /accounts/projects/{project_id}/users`: add a user by id or email.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::text::email_ref)]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_admin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_developer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_create_rooms: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_use_llm_proxy: Option<bool>,
}

/// A pending invitation to a project: `202` from `POST /accounts/projects/{project_id}/users`
/// by email (the same whether or not the address has an account), and the items of
/// `GET /accounts/projects/{project_id}/invitations`. The person becomes a member with these
/// rights when they accept on their account page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    /// Always `pending`: accepted, declined and withdrawn invitations are gone.
    pub status: String,
    pub is_admin: bool,
    pub is_developer: bool,
    pub can_create_rooms: bool,
    pub can_use_llm_proxy: bool,
    pub created_at: String,
    pub expires_at: String,
}

/// The answer of `POST /accounts/projects/{project_id}/users`: a member added at once (`201`,
/// server admins adding an existing account) or a pending invitation (`202`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Added {
    Member(Member),
    Invitation(Invitation),
}

/// `GET /accounts/projects/{project_id}/invitations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvitationList {
    pub invitations: Vec<Invitation>,
}

/// `PUT /accounts/projects/{project_id}/users/{user_id}`: change a member's rights.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_admin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_developer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_create_rooms: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_use_llm_proxy: Option<bool>,
}

/// `POST /accounts/projects/{project_id}/api-keys`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// 1–200 characters.
    #[schema(schema_with = crate::text::name)]
    pub name: String,
    /// At most 1000 characters; tabs and line breaks are kept.
    #[serde(default)]
    #[schema(schema_with = crate::text::description)]
    pub description: String,
}

/// An API key as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The create response: the only place the key's `value` is ever shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedApiKey {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_at: String,
    /// `ma-…`; shown once.
    #[schema(value_type = String)]
    pub value: SecretString,
}

/// `GET /accounts/projects/{project_id}/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKey>,
}
