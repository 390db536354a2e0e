//! External OAuth registrations (SPEC §4.5), project secrets (§7.6), the audit log (§9.7) and
//! the health probes (§2).

use reqwest::Method;
use uuid::Uuid;

use gatehouse_types::{
    AuditList, ExternalOAuthInput, ExternalOAuthList, ExternalOAuthRegistration, ListQuery, ProjectSecret,
    ProjectSecretInfo, ProjectSecretInput, ProjectSecretList,
};

use crate::{Client, Error};

impl Client {
    /// `POST …/external-oauth` → 201, at project scope (`room: None`) or room scope.
    pub async fn create_external_oauth(
        &self,
        project_id: Uuid,
        room: Option<&str>,
        input: &ExternalOAuthInput,
    ) -> Result<ExternalOAuthRegistration, Error> {
        let p = project_id.to_string();
        self.with_body(Method::POST, &external_oauth_path(&p, room, None), input)
            .await
    }

    /// `GET …/external-oauth`, at project scope (`room: None`) or room scope.
    pub async fn list_external_oauth(&self, project_id: Uuid, room: Option<&str>) -> Result<ExternalOAuthList, Error> {
        let p = project_id.to_string();
        self.get(&external_oauth_path(&p, room, None)).await
    }

    /// `PUT …/external-oauth/{registration_id}`: replaces the registration. An absent
    /// `client_secret` keeps the stored one; `""` removes it.
    pub async fn update_external_oauth(
        &self,
        project_id: Uuid,
        room: Option<&str>,
        registration_id: Uuid,
        input: &ExternalOAuthInput,
    ) -> Result<ExternalOAuthRegistration, Error> {
        let (p, r) = (project_id.to_string(), registration_id.to_string());
        self.with_body(Method::PUT, &external_oauth_path(&p, room, Some(&r)), input)
            .await
    }

    /// `DELETE …/external-oauth/{registration_id}`.
    pub async fn delete_external_oauth(
        &self,
        project_id: Uuid,
        room: Option<&str>,
        registration_id: Uuid,
    ) -> Result<(), Error> {
        let (p, r) = (project_id.to_string(), registration_id.to_string());
        self.delete(&external_oauth_path(&p, room, Some(&r))).await
    }

    /// `POST /accounts/projects/{project_id}/secrets` → 201 (metadata only).
    pub async fn create_secret(
        &self,
        project_id: Uuid,
        input: &ProjectSecretInput,
    ) -> Result<ProjectSecretInfo, Error> {
        let p = project_id.to_string();
        self.with_body(Method::POST, &["accounts", "projects", &p, "secrets"], input)
            .await
    }

    /// `GET /accounts/projects/{project_id}/secrets` (metadata only).
    pub async fn list_secrets(&self, project_id: Uuid) -> Result<ProjectSecretList, Error> {
        let p = project_id.to_string();
        self.get(&["accounts", "projects", &p, "secrets"]).await
    }

    /// `GET …/secrets/{secret_id}`: metadata and data (developers and admins).
    pub async fn get_secret(&self, project_id: Uuid, secret_id: Uuid) -> Result<ProjectSecret, Error> {
        let (p, s) = (project_id.to_string(), secret_id.to_string());
        self.get(&["accounts", "projects", &p, "secrets", &s]).await
    }

    /// `PUT …/secrets/{secret_id}`.
    pub async fn update_secret(
        &self,
        project_id: Uuid,
        secret_id: Uuid,
        input: &ProjectSecretInput,
    ) -> Result<ProjectSecretInfo, Error> {
        let (p, s) = (project_id.to_string(), secret_id.to_string());
        self.with_body(Method::PUT, &["accounts", "projects", &p, "secrets", &s], input)
            .await
    }

    /// `DELETE …/secrets/{secret_id}`.
    pub async fn delete_secret(&self, project_id: Uuid, secret_id: Uuid) -> Result<(), Error> {
        let (p, s) = (project_id.to_string(), secret_id.to_string());
        self.delete(&["accounts", "projects", &p, "secrets", &s]).await
    }

    /// `GET /accounts/projects/{project_id}/audit?count=&offset=`, newest first.
    pub async fn list_audit(
        &self,
        project_id: Uuid,
        count: Option<u32>,
        offset: Option<u64>,
    ) -> Result<AuditList, Error> {
        let p = project_id.to_string();
        let query = ListQuery {
            count,
            offset,
            filter: None,
        };
        let request = self
            .request(Method::GET, &["accounts", "projects", &p, "audit"])?
            .query(&query);
        self.send_json(request).await
    }

    /// `GET /healthz`: succeeds while the process serves requests.
    pub async fn healthz(&self) -> Result<(), Error> {
        self.send_empty(self.request(Method::GET, &["healthz"])?).await
    }

    /// `GET /readyz`: succeeds when the server can take traffic (database reachable).
    pub async fn readyz(&self) -> Result<(), Error> {
        self.send_empty(self.request(Method::GET, &["readyz"])?).await
    }
}

/// `…/external-oauth[/{registration_id}]` at project or room scope.
fn external_oauth_path<'a>(project: &'a str, room: Option<&'a str>, registration: Option<&'a str>) -> Vec<&'a str> {
    let mut path = vec!["accounts", "projects", project];
    if let Some(room) = room {
        path.extend(["rooms", room]);
    }
    path.push("external-oauth");
    path.extend(registration);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_oauth_paths_cover_both_scopes() {
        assert_eq!(
            external_oauth_path("p", None, None).join("/"),
            "accounts/projects/p/external-oauth"
        );
        assert_eq!(
            external_oauth_path("p", Some("lobby"), Some("r")).join("/"),
            "accounts/projects/p/rooms/lobby/external-oauth/r"
        );
    }
}
