//! Projects, roles, members, users and API keys (SPEC §3).

use reqwest::Method;
use uuid::Uuid;

use gatehouse_types::{
    AddMember, Added, ApiKeyList, CreateApiKey, CreateUser, CreatedApiKey, Member, MemberList, Project, ProjectInput,
    ProjectList, ProjectSettings, RoleInfo, UpdateMember, User,
};

use crate::{Client, Error};

impl Client {
    /// `POST /accounts/projects`.
    pub async fn create_project(&self, input: &ProjectInput) -> Result<Project, Error> {
        self.with_body(Method::POST, &["accounts", "projects"], input).await
    }

    /// `GET /accounts/projects`: the projects the caller belongs to.
    pub async fn list_projects(&self) -> Result<ProjectList, Error> {
        self.get(&["accounts", "projects"]).await
    }

    /// `GET /accounts/projects/{project_id}`.
    pub async fn get_project(&self, project_id: Uuid) -> Result<Project, Error> {
        let p = project_id.to_string();
        self.get(&["accounts", "projects", &p]).await
    }

    /// `PUT /accounts/projects/{project_id}` (admins).
    pub async fn update_project(&self, project_id: Uuid, input: &ProjectInput) -> Result<Project, Error> {
        let p = project_id.to_string();
        self.with_body(Method::PUT, &["accounts", "projects", &p], input).await
    }

    /// `GET /accounts/projects/{project_id}/settings`: how people sign in to its apps.
    pub async fn project_settings(&self, project_id: Uuid) -> Result<ProjectSettings, Error> {
        let p = project_id.to_string();
        self.get(&["accounts", "projects", &p, "settings"]).await
    }

    /// `PUT /accounts/projects/{project_id}/settings` (admins).
    pub async fn put_project_settings(
        &self,
        project_id: Uuid,
        settings: &ProjectSettings,
    ) -> Result<ProjectSettings, Error> {
        let p = project_id.to_string();
        self.with_body(Method::PUT, &["accounts", "projects", &p, "settings"], settings)
            .await
    }

    /// `DELETE /accounts/projects/{project_id}` (admins).
    pub async fn delete_project(&self, project_id: Uuid) -> Result<(), Error> {
        let p = project_id.to_string();
        self.delete(&["accounts", "projects", &p]).await
    }

    /// `GET /accounts/projects/{project_id}/role`: the caller's rights in the project.
    pub async fn project_role(&self, project_id: Uuid) -> Result<RoleInfo, Error> {
        let p = project_id.to_string();
        self.get(&["accounts", "projects", &p, "role"]).await
    }

    /// `POST /accounts/projects/{project_id}/users`: invite a person by email, or (server
    /// admins) add an existing account at once.
    pub async fn add_member(&self, project_id: Uuid, input: &AddMember) -> Result<Added, Error> {
        let p = project_id.to_string();
        self.with_body(Method::POST, &["accounts", "projects", &p, "users"], input)
            .await
    }

    /// `GET /accounts/projects/{project_id}/users`.
    pub async fn list_members(&self, project_id: Uuid) -> Result<MemberList, Error> {
        let p = project_id.to_string();
        self.get(&["accounts", "projects", &p, "users"]).await
    }

    /// `PUT /accounts/projects/{project_id}/users/{user_id}`.
    pub async fn update_member(&self, project_id: Uuid, user_id: Uuid, input: &UpdateMember) -> Result<Member, Error> {
        let (p, u) = (project_id.to_string(), user_id.to_string());
        self.with_body(Method::PUT, &["accounts", "projects", &p, "users", &u], input)
            .await
    }

    /// `DELETE /accounts/projects/{project_id}/users/{user_id}`.
    pub async fn remove_member(&self, project_id: Uuid, user_id: Uuid) -> Result<(), Error> {
        let (p, u) = (project_id.to_string(), user_id.to_string());
        self.delete(&["accounts", "projects", &p, "users", &u]).await
    }

    /// `POST /accounts/users` (server admins).
    pub async fn create_user(&self, input: &CreateUser) -> Result<User, Error> {
        self.with_body(Method::POST, &["accounts", "users"], input).await
    }

    /// `GET /accounts/profiles/me`: the signed-in user.
    pub async fn me(&self) -> Result<User, Error> {
        self.get(&["accounts", "profiles", "me"]).await
    }

    /// `POST /accounts/projects/{project_id}/api-keys`. The response holds the key's value, which
    /// is never shown again.
    pub async fn create_api_key(&self, project_id: Uuid, input: &CreateApiKey) -> Result<CreatedApiKey, Error> {
        let p = project_id.to_string();
        self.with_body(Method::POST, &["accounts", "projects", &p, "api-keys"], input)
            .await
    }

    /// `GET /accounts/projects/{project_id}/api-keys`.
    pub async fn list_api_keys(&self, project_id: Uuid) -> Result<ApiKeyList, Error> {
        let p = project_id.to_string();
        self.get(&["accounts", "projects", &p, "api-keys"]).await
    }

    /// `DELETE /accounts/projects/{project_id}/api-keys/{key_id}`: revokes the key at once.
    pub async fn delete_api_key(&self, project_id: Uuid, key_id: Uuid) -> Result<(), Error> {
        let (p, k) = (project_id.to_string(), key_id.to_string());
        self.delete(&["accounts", "projects", &p, "api-keys", &k]).await
    }
}
