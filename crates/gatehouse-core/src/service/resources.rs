//! API resources' use cases (SPEC §5.7): registering a project's audiences and their scopes, and
//! the cached per-project view the token endpoint reads.

use std::sync::Arc;

use gatehouse_types::ResourceInput;
use serde_json::json;

use super::Gatehouse;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, ResourceId, new_row_id};
use crate::ports::Invalidation;
use crate::resources::{ApiResource, MAX_RESOURCES};

impl Gatehouse {
    /// Registers a resource (developers).
    pub async fn create_resource(
        &self,
        who: &crate::access::Principal,
        project: ProjectId,
        input: &ResourceInput,
    ) -> Result<ApiResource> {
        self.access(who, project).await?.require_developer()?;
        let existing = self.store.list_resources(project).await?;
        if existing.len() >= MAX_RESOURCES {
            return Err(Error::Conflict(format!(
                "a project holds at most {MAX_RESOURCES} resources"
            )));
        }
        let now = self.clock.now();
        let mut r = ApiResource::new(ResourceId::from_uuid(new_row_id()), project, now);
        r.apply(input)?;
        check_unique(&existing, &r)?;
        let audit = self.audit(
            who,
            project,
            "resource.create",
            ("resource", r.id.to_string()),
            json!({ "identifier": r.identifier, "name": r.name }),
        );
        self.store.insert_resource(&r, &audit).await?;
        self.invalidate(Invalidation::Resources {
            project: project.uuid(),
        })
        .await;
        Ok(r)
    }

    /// Every resource of the project, oldest first.
    pub async fn list_resources(&self, who: &crate::access::Principal, project: ProjectId) -> Result<Vec<ApiResource>> {
        self.access(who, project).await?;
        self.store.list_resources(project).await
    }

    /// One resource of the project.
    pub async fn get_resource(
        &self,
        who: &crate::access::Principal,
        project: ProjectId,
        id: ResourceId,
    ) -> Result<ApiResource> {
        self.access(who, project).await?;
        find(self.store.list_resources(project).await?, id)
    }

    /// Replaces a resource's settings (developers). Tokens already issued keep their audience.
    pub async fn update_resource(
        &self,
        who: &crate::access::Principal,
        project: ProjectId,
        id: ResourceId,
        input: &ResourceInput,
    ) -> Result<ApiResource> {
        self.access(who, project).await?.require_developer()?;
        let existing = self.store.list_resources(project).await?;
        let current = find(existing.clone(), id)?;
        let mut next = ApiResource {
            updated_at: self.clock.now(),
            version: current.version + 1,
            ..current.clone()
        };
        next.apply(input)?;
        check_unique(&existing, &next)?;
        let audit = self.audit(
            who,
            project,
            "resource.update",
            ("resource", id.to_string()),
            json!({ "identifier": next.identifier, "name": next.name, "scopes": next.scopes.iter().map(|s| &s.name).collect::<Vec<_>>() }),
        );
        if !self.store.update_resource(&next, &audit).await? {
            return Err(Error::Conflict("the resource changed concurrently; retry".into()));
        }
        self.invalidate(Invalidation::Resources {
            project: project.uuid(),
        })
        .await;
        Ok(next)
    }

    /// Deletes a resource (developers); one that clients still use needs `force`.
    pub async fn delete_resource(
        &self,
        who: &crate::access::Principal,
        project: ProjectId,
        id: ResourceId,
        force: bool,
    ) -> Result<()> {
        self.access(who, project).await?.require_developer()?;
        let r = find(self.store.list_resources(project).await?, id)?;
        let users = self.clients_using(&r).await?;
        if !users.is_empty() && !force {
            return Err(Error::Conflict(format!(
                "clients use this resource ({}); delete it with force=true",
                users.join(", ")
            )));
        }
        let audit = self.audit(
            who,
            project,
            "resource.delete",
            ("resource", id.to_string()),
            json!({ "identifier": r.identifier, "forced": !users.is_empty() }),
        );
        if !self.store.delete_resource(project, id, &audit).await? {
            return Err(Error::NotFound("resource"));
        }
        self.invalidate(Invalidation::Resources {
            project: project.uuid(),
        })
        .await;
        Ok(())
    }

    /// The project's resources as the token endpoint sees them: cached, dropped on every node
    /// when one changes.
    pub(crate) async fn project_resources(&self, project: ProjectId) -> Result<Arc<Vec<ApiResource>>> {
        let now = self.clock.now();
        if let Some(r) = self.resources.get(&project, now) {
            return Ok(r);
        }
        let ticket = self.resources.ticket();
        let r = Arc::new(self.store.list_resources(project).await?);
        self.resources.insert(ticket, project, r.clone(), now);
        Ok(r)
    }

    /// A resource by project and id, for its public metadata document (RFC 9728 §2).
    pub async fn published_resource(&self, project: ProjectId, id: ResourceId) -> Result<ApiResource> {
        let all = self.project_resources(project).await?;
        all.iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or(Error::NotFound("resource"))
    }

    /// Ids of the clients of the resource's project that hold one of its scopes, have it as
    /// their default resource or may exchange tokens for it (first 20).
    async fn clients_using(&self, r: &ApiResource) -> Result<Vec<String>> {
        let clients = self.store.list_client_settings(r.project_id).await?;
        Ok(clients
            .into_iter()
            .filter(|(_, s)| {
                s.default_resource.as_deref() == Some(r.identifier.as_str())
                    || s.scope.iter().any(|sc| r.defines(sc))
                    || s.token_exchange_resources.contains(&r.identifier)
            })
            .map(|(id, _)| id.to_string())
            .take(20)
            .collect())
    }
}

fn find(resources: Vec<ApiResource>, id: ResourceId) -> Result<ApiResource> {
    resources
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(Error::NotFound("resource"))
}

/// The identifier and every scope name of `s` are unique within the project.
fn check_unique(existing: &[ApiResource], s: &ApiResource) -> Result<()> {
    for other in existing.iter().filter(|o| o.id != s.id) {
        if other.identifier == s.identifier {
            return Err(Error::invalid(
                "identifier",
                format!("{:?} is already the identifier of {:?}", s.identifier, other.name),
            ));
        }
        if let Some(dup) = s.scopes.iter().find(|sc| other.defines(&sc.name)) {
            return Err(Error::invalid(
                "scopes",
                format!("{:?} is already a scope of {:?}", dup.name, other.name),
            ));
        }
    }
    Ok(())
}
