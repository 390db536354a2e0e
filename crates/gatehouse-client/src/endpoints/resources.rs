//! API resources of a project (SPEC §5.7).

use reqwest::Method;
use uuid::Uuid;

use gatehouse_types::{ApiResource, DeleteResourceQuery, ResourceInput, ResourceList};

use crate::{Client, Error};

fn list_path(project: &str) -> [&str; 4] {
    ["accounts", "projects", project, "resources"]
}

fn one_path<'a>(project: &'a str, resource: &'a str) -> [&'a str; 5] {
    ["accounts", "projects", project, "resources", resource]
}

impl Client {
    /// `POST …/resources` → 201.
    pub async fn create_resource(&self, project_id: Uuid, input: &ResourceInput) -> Result<ApiResource, Error> {
        let p = project_id.to_string();
        self.with_body(Method::POST, &list_path(&p), input).await
    }

    /// `GET …/resources`.
    pub async fn list_resources(&self, project_id: Uuid) -> Result<ResourceList, Error> {
        let p = project_id.to_string();
        self.get(&list_path(&p)).await
    }

    /// `GET …/resources/{resource_id}`.
    pub async fn get_resource(&self, project_id: Uuid, resource_id: Uuid) -> Result<ApiResource, Error> {
        let (p, r) = (project_id.to_string(), resource_id.to_string());
        self.get(&one_path(&p, &r)).await
    }

    /// `PUT …/resources/{resource_id}`: replaces the resource's settings.
    pub async fn update_resource(
        &self,
        project_id: Uuid,
        resource_id: Uuid,
        input: &ResourceInput,
    ) -> Result<ApiResource, Error> {
        let (p, r) = (project_id.to_string(), resource_id.to_string());
        self.with_body(Method::PUT, &one_path(&p, &r), input).await
    }

    /// `DELETE …/resources/{resource_id}?force=`; `force` is needed while clients use it.
    pub async fn delete_resource(&self, project_id: Uuid, resource_id: Uuid, force: bool) -> Result<(), Error> {
        let (p, r) = (project_id.to_string(), resource_id.to_string());
        let request = self
            .request(Method::DELETE, &one_path(&p, &r))?
            .query(&DeleteResourceQuery { force });
        self.send_empty(request).await
    }
}
