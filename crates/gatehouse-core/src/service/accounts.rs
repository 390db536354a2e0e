//! Projects, users and members (SPEC §3).

use serde_json::json;

use super::Gatehouse;
use super::people::Added;
use crate::access::{Access, MemberFlags, Principal};
use crate::error::{Error, Result};
use crate::ids::{ProjectId, UserId, new_row_id};
use crate::model::{Member, Project, User};
use crate::people::ProjectSettings;
use crate::ports::Invalidation;
use crate::secret::SecretString;
use crate::text::{MAX_EMAIL, check_email, check_email_ref, check_name};

/// How a member to add is named.
#[derive(Debug, Clone)]
pub enum UserRef {
    Id(UserId),
    Email(String),
}

impl Gatehouse {
    /// Creates a project. Users become its admin; server-admin keys may create projects too.
    pub async fn create_project(&self, who: &Principal, name: &str) -> Result<Project> {
        check_name("name", name, 200)?;
        let creator = match who {
            Principal::User { read_only: true, .. } => {
                return Err(Error::Forbidden("this credential is read-only".into()));
            }
            Principal::User { id, .. } => Some((*id, MemberFlags::ALL)),
            Principal::ApiKey { server_admin: true, .. } => None,
            Principal::ApiKey { .. } => {
                return Err(Error::Forbidden(
                    "only server-admin API keys may create projects".into(),
                ));
            }
        };
        let now = self.clock.now();
        let project = Project {
            id: ProjectId::from_uuid(new_row_id()),
            name: name.to_owned(),
            is_system: false,
            settings: ProjectSettings::default(),
            created_at: now,
            updated_at: now,
        };
        let audit = self.audit(
            who,
            project.id,
            "project.create",
            ("project", project.id.to_string()),
            json!({ "name": name }),
        );
        self.store.insert_project(&project, creator, &audit).await?;
        Ok(project)
    }

    /// The projects the caller belongs to (every project for server admins).
    pub async fn list_projects(&self, who: &Principal) -> Result<Vec<Project>> {
        match who {
            _ if who.is_server_admin() => self.store.list_projects(None).await,
            Principal::User { id, .. } => self.store.list_projects(Some(*id)).await,
            Principal::ApiKey { project_id, .. } => {
                Ok(self.store.get_project(*project_id).await?.into_iter().collect())
            }
        }
    }

    /// One project the caller can see.
    pub async fn get_project(&self, who: &Principal, id: ProjectId) -> Result<Project> {
        self.access(who, id).await?;
        self.store.get_project(id).await?.ok_or(Error::NotFound("project"))
    }

    /// Renames a project (admins).
    pub async fn rename_project(&self, who: &Principal, id: ProjectId, name: &str) -> Result<Project> {
        self.access(who, id).await?.require_admin()?;
        check_name("name", name, 200)?;
        let audit = self.audit(
            who,
            id,
            "project.update",
            ("project", id.to_string()),
            json!({ "name": name }),
        );
        if !self.store.rename_project(id, name, self.clock.now(), &audit).await? {
            return Err(Error::NotFound("project"));
        }
        self.store.get_project(id).await?.ok_or(Error::NotFound("project"))
    }

    /// Replaces how people sign in to a project's apps (admins): its sign-up policy and whether
    /// a second factor is required.
    pub async fn update_project_settings(
        &self,
        who: &Principal,
        id: ProjectId,
        settings: &ProjectSettings,
    ) -> Result<Project> {
        self.access(who, id).await?.require_admin()?;
        let audit = self.audit(
            who,
            id,
            "project.settings",
            ("project", id.to_string()),
            json!({
                "signup": settings.signup_name(),
                "signup_domains": settings.signup_domains(),
                "require_second_factor": settings.require_second_factor,
            }),
        );
        if !self
            .store
            .update_project_settings(id, settings, self.clock.now(), &audit)
            .await?
        {
            return Err(Error::NotFound("project"));
        }
        self.store.get_project(id).await?.ok_or(Error::NotFound("project"))
    }

    /// Deletes a project and everything in it (admins; never the system project).
    pub async fn delete_project(&self, who: &Principal, id: ProjectId) -> Result<()> {
        self.access(who, id).await?.require_admin()?;
        let project = self.store.get_project(id).await?.ok_or(Error::NotFound("project"))?;
        if project.is_system {
            return Err(Error::Conflict("the system project cannot be deleted".into()));
        }
        let audit = self.audit(
            who,
            id,
            "project.delete",
            ("project", id.to_string()),
            json!({ "name": project.name }),
        );
        if !self.store.delete_project(id, &audit).await? {
            return Err(Error::NotFound("project"));
        }
        self.invalidate(Invalidation::Project { id: id.uuid() }).await;
        Ok(())
    }

    /// The caller's rights in a project.
    pub async fn role(&self, who: &Principal, id: ProjectId) -> Result<Access> {
        self.access(who, id).await
    }

    /// Creates a user with a password (server admins only).
    pub async fn create_user(&self, who: &Principal, email: &str, name: &str, password: &SecretString) -> Result<User> {
        if !who.is_server_admin() || matches!(who, Principal::User { read_only: true, .. }) {
            return Err(Error::Forbidden("only server admins may create users".into()));
        }
        let user = self.new_user(email, name, password).await?;
        let audit = self.audit(
            who,
            ProjectId::SYSTEM,
            "user.create",
            ("user", user.id.to_string()),
            json!({ "email": user.email }),
        );
        self.store.insert_user(&user, &audit).await?;
        Ok(user)
    }

    /// A validated, hashed user record (not yet stored).
    pub(crate) async fn new_user(&self, email: &str, name: &str, password: &SecretString) -> Result<User> {
        let email = check_email("email", email)?;
        check_name("name", name, 200)?;
        let now = self.clock.now();
        Ok(User {
            id: UserId::from_uuid(new_row_id()),
            email: email.to_owned(),
            name: name.to_owned(),
            password_hash: self.passwords.hash(self.rng.as_ref(), password).await?.into(),
            email_verified_at: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// The signed-in user's own profile.
    pub async fn profile(&self, who: &Principal) -> Result<User> {
        match who {
            Principal::User { id, .. } => self.store.get_user(*id).await?.ok_or(Error::NotFound("user")),
            Principal::ApiKey { .. } => Err(Error::Forbidden("API keys have no user profile".into())),
        }
    }

    /// Members of a project (any member may read).
    pub async fn list_members(&self, who: &Principal, project: ProjectId) -> Result<Vec<Member>> {
        self.access(who, project).await?;
        self.store.list_members(project).await
    }

    /// Adds a person to a project (admins). By email, they are invited and become a member when
    /// they accept, with the same answer whether or not the address has an account; a server
    /// admin adds an existing account at once (by email or id).
    pub async fn add_member(
        &self,
        who: &Principal,
        project: ProjectId,
        user: UserRef,
        flags: MemberFlags,
    ) -> Result<Added> {
        self.access(who, project).await?.require_admin()?;
        let found = match (&user, who.is_server_admin()) {
            (UserRef::Id(id), true) => self.store.get_user(*id).await?,
            (UserRef::Email(e), true) => {
                let e = check_email_ref("email", e, MAX_EMAIL)?;
                self.store.find_user_by_email(e).await?
            }
            (UserRef::Id(_), false) => {
                return Err(Error::invalid(
                    "user_id",
                    "only server admins add people by id; invite them by email",
                ));
            }
            (UserRef::Email(_), false) => None,
        };
        let user = match (found, user) {
            (Some(user), _) => user,
            (None, UserRef::Email(e)) => {
                let project = self
                    .store
                    .get_project(project)
                    .await?
                    .ok_or(Error::NotFound("project"))?;
                return Ok(Added::Invited(self.invite(who, &project, &e, flags).await?));
            }
            // The user is named in the body, not the URL: an unknown one is a refused field, not
            // a missing resource.
            (None, UserRef::Id(_)) => return Err(Error::invalid("user_id", "names no user on this server")),
        };
        if self.store.get_member(project, user.id).await?.is_some() {
            return Err(Error::Conflict(
                "the user is already a member; change their rights with PUT".into(),
            ));
        }
        let audit = self.audit(
            who,
            project,
            "member.add",
            ("user", user.id.to_string()),
            flags_json(flags),
        );
        self.store.put_member(project, user.id, flags, &audit).await?;
        Ok(Added::Member(Member { user, flags }))
    }

    /// Changes a member's flags; absent flags keep their value (admins).
    pub async fn update_member(
        &self,
        who: &Principal,
        project: ProjectId,
        user: UserId,
        change: impl FnOnce(MemberFlags) -> MemberFlags,
    ) -> Result<Member> {
        self.access(who, project).await?.require_admin()?;
        let current = self
            .store
            .get_member(project, user)
            .await?
            .ok_or(Error::NotFound("member"))?;
        let flags = change(current);
        if current.is_admin && !flags.is_admin {
            self.keep_an_admin(project, user).await?;
        }
        let record = self.store.get_user(user).await?.ok_or(Error::NotFound("member"))?;
        let audit = self.audit(
            who,
            project,
            "member.update",
            ("user", user.to_string()),
            flags_json(flags),
        );
        self.store.put_member(project, user, flags, &audit).await?;
        Ok(Member { user: record, flags })
    }

    /// Removes a member (admins).
    pub async fn remove_member(&self, who: &Principal, project: ProjectId, user: UserId) -> Result<()> {
        self.access(who, project).await?.require_admin()?;
        if self.store.get_member(project, user).await?.is_some_and(|f| f.is_admin) {
            self.keep_an_admin(project, user).await?;
        }
        let audit = self.audit(who, project, "member.remove", ("user", user.to_string()), json!({}));
        if self.store.delete_member(project, user, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("member"))
        }
    }
}

fn flags_json(f: MemberFlags) -> serde_json::Value {
    json!({
        "is_admin": f.is_admin,
        "is_developer": f.is_developer,
        "can_create_rooms": f.can_create_rooms,
        "can_use_llm_proxy": f.can_use_llm_proxy,
    })
}

impl Gatehouse {
    /// Refuses to leave a project without an admin when `leaving` stops being one.
    async fn keep_an_admin(&self, project: ProjectId, leaving: UserId) -> Result<()> {
        let others = self.store.list_members(project).await?;
        if others.iter().any(|m| m.flags.is_admin && m.user.id != leaving) {
            Ok(())
        } else {
            Err(Error::Conflict("a project keeps at least one admin".into()))
        }
    }
}
