//! Who is calling and what they may do in a project (SPEC §3 "Who may do what", §4.6).

use crate::error::{Error, Result};
use crate::ids::{ApiKeyId, ProjectId, UserId};

/// An authenticated caller of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A project API key: a developer of its own project. The bootstrap key of the system project
    /// is a server admin: an admin of every project, and may create projects and users.
    ApiKey {
        id: ApiKeyId,
        project_id: ProjectId,
        server_admin: bool,
    },
    /// A signed-in user acting through a Gatehouse access token.
    User {
        id: UserId,
        /// `gatehouse_api.read_only` tokens may read but never change.
        read_only: bool,
        server_admin: bool,
    },
}

impl Principal {
    /// `(type, id)` as recorded in the audit log.
    pub fn actor(&self) -> (&'static str, String) {
        match self {
            Self::ApiKey { id, .. } => ("api_key", id.to_string()),
            Self::User { id, .. } => ("user", id.to_string()),
        }
    }

    /// Whether this caller administers the whole server.
    pub fn is_server_admin(&self) -> bool {
        match self {
            Self::ApiKey { server_admin, .. } | Self::User { server_admin, .. } => *server_admin,
        }
    }
}

/// A user's flags in one project (SPEC §1 Membership).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberFlags {
    pub is_admin: bool,
    pub is_developer: bool,
    pub can_create_rooms: bool,
    pub can_use_llm_proxy: bool,
}

impl MemberFlags {
    /// Every right: project admins.
    pub const ALL: Self = Self {
        is_admin: true,
        is_developer: true,
        can_create_rooms: true,
        can_use_llm_proxy: true,
    };
}

/// The effective rights of a caller in one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub project_id: ProjectId,
    pub flags: MemberFlags,
    /// Read-only credentials may read whatever the flags allow but change nothing.
    pub read_only: bool,
}

/// Coarse role names returned by `GET …/role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Developer,
    Member,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Developer => "developer",
            Self::Member => "member",
        }
    }
}

impl Access {
    /// Full rights in `project_id` (server admins, project admins).
    pub fn admin(project_id: ProjectId) -> Self {
        Self {
            project_id,
            flags: MemberFlags::ALL,
            read_only: false,
        }
    }

    /// The coarse role.
    pub fn role(&self) -> Role {
        if self.flags.is_admin {
            Role::Admin
        } else if self.flags.is_developer {
            Role::Developer
        } else {
            Role::Member
        }
    }

    /// Project admins only (members, API keys management, project settings).
    pub fn require_admin(&self) -> Result<()> {
        self.require_writable()?;
        if self.flags.is_admin {
            Ok(())
        } else {
            Err(Error::Forbidden("project admin rights required".into()))
        }
    }

    /// Developers and admins: OAuth clients, registrations, rooms, project secrets.
    pub fn require_developer(&self) -> Result<()> {
        self.require_writable()?;
        self.require_developer_read()
    }

    /// Reads that reveal secret material (e.g. a project secret's data) need developer rights
    /// even through a read-only credential.
    pub fn require_developer_read(&self) -> Result<()> {
        if self.flags.is_admin || self.flags.is_developer {
            Ok(())
        } else {
            Err(Error::Forbidden("project developer rights required".into()))
        }
    }

    /// Creating rooms: developers, admins, and members with `can_create_rooms`.
    pub fn require_room_creation(&self) -> Result<()> {
        self.require_writable()?;
        if self.flags.is_admin || self.flags.is_developer || self.flags.can_create_rooms {
            Ok(())
        } else {
            Err(Error::Forbidden("creating rooms requires can_create_rooms".into()))
        }
    }

    /// `llm_proxy` clients need `can_use_llm_proxy` or admin (SPEC §4.2).
    pub fn require_llm_proxy(&self) -> Result<()> {
        if self.flags.is_admin || self.flags.can_use_llm_proxy {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "managing a client with the llm_proxy scope requires can_use_llm_proxy".into(),
            ))
        }
    }

    fn require_writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::Forbidden("this credential is read-only".into()))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(flags: MemberFlags, read_only: bool) -> Access {
        Access {
            project_id: ProjectId::from_uuid(uuid::Uuid::nil()),
            flags,
            read_only,
        }
    }

    #[test]
    fn members_can_read_but_not_change() {
        let a = access(MemberFlags::default(), false);
        assert_eq!(a.role(), Role::Member);
        assert!(a.require_developer().is_err());
        assert!(a.require_admin().is_err());
    }

    #[test]
    fn developers_manage_clients_but_not_members() {
        let a = access(
            MemberFlags {
                is_developer: true,
                ..Default::default()
            },
            false,
        );
        assert!(a.require_developer().is_ok());
        assert!(a.require_admin().is_err());
        assert!(a.require_llm_proxy().is_err());
        assert!(a.require_room_creation().is_ok());
    }

    #[test]
    fn members_create_rooms_only_with_the_flag() {
        let plain = access(MemberFlags::default(), false);
        assert!(plain.require_room_creation().is_err());
        let flags = MemberFlags {
            can_create_rooms: true,
            ..Default::default()
        };
        assert!(access(flags, false).require_room_creation().is_ok());
        assert!(access(flags, true).require_room_creation().is_err());
    }

    #[test]
    fn read_only_credentials_change_nothing_even_for_admins() {
        let mut a = Access::admin(ProjectId::from_uuid(uuid::Uuid::nil()));
        a.read_only = true;
        assert!(a.require_developer().is_err());
        assert!(a.require_admin().is_err());
        assert!(a.require_developer_read().is_ok());
    }
}
