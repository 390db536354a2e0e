//! Projects, users, members, roles, API keys and the audit log.

use gatehouse_core::access::Access;
use gatehouse_core::model::{ApiKeyRecord, AuditRecord, Member, Project, User};
use gatehouse_core::people::{Invitation, ProjectSettings, SignUpPolicy};
use gatehouse_core::secret::Secret;
use gatehouse_core::time::Timestamp;
use gatehouse_types as t;

/// A project.
pub fn project_dto(p: &Project) -> t::Project {
    t::Project {
        id: p.id.uuid(),
        name: p.name.clone(),
        is_system: p.is_system,
        created_at: p.created_at.rfc3339(),
        updated_at: p.updated_at.rfc3339(),
    }
}

/// A project's sign-in settings.
pub fn project_settings_dto(s: &ProjectSettings) -> t::ProjectSettings {
    let signup = match &s.signup {
        None => t::SignUpMode::Inherit,
        Some(SignUpPolicy::Closed) => t::SignUpMode::Closed,
        Some(SignUpPolicy::Invite) => t::SignUpMode::Invite,
        Some(SignUpPolicy::Open) => t::SignUpMode::Open,
        Some(SignUpPolicy::Domains(_)) => t::SignUpMode::Domains,
    };
    t::ProjectSettings {
        signup,
        signup_domains: s.signup_domains().to_vec(),
        require_second_factor: s.require_second_factor,
    }
}

/// A user account.
pub fn user_dto(u: &User) -> t::User {
    t::User {
        id: u.id.uuid(),
        email: u.email.clone(),
        name: u.name.clone(),
        created_at: u.created_at.rfc3339(),
    }
}

/// A member of a project with their rights.
pub fn member_dto(m: &Member) -> t::Member {
    t::Member {
        user_id: m.user.id.uuid(),
        email: m.user.email.clone(),
        name: m.user.name.clone(),
        is_admin: m.flags.is_admin,
        is_developer: m.flags.is_developer,
        can_create_rooms: m.flags.can_create_rooms,
        can_use_llm_proxy: m.flags.can_use_llm_proxy,
    }
}

/// A pending invitation.
pub fn invitation_dto(i: &Invitation) -> t::Invitation {
    t::Invitation {
        id: i.id.uuid(),
        email: i.email.clone(),
        status: "pending".into(),
        is_admin: i.flags.is_admin,
        is_developer: i.flags.is_developer,
        can_create_rooms: i.flags.can_create_rooms,
        can_use_llm_proxy: i.flags.can_use_llm_proxy,
        created_at: i.created_at.rfc3339(),
        expires_at: i.expires_at.rfc3339(),
    }
}

/// The caller's role in a project.
pub fn role_dto(a: &Access) -> t::RoleInfo {
    t::RoleInfo {
        role: a.role().as_str().into(),
        is_admin: a.flags.is_admin,
        is_developer: a.flags.is_developer,
        can_create_rooms: a.flags.can_create_rooms,
        can_use_llm_proxy: a.flags.can_use_llm_proxy,
    }
}

/// A listed API key (never its value).
pub fn api_key_dto(k: &ApiKeyRecord) -> t::ApiKey {
    t::ApiKey {
        id: k.id.uuid(),
        name: k.name.clone(),
        description: k.description.clone(),
        created_at: k.created_at.rfc3339(),
        last_used_at: k.last_used_at.map(Timestamp::rfc3339),
    }
}

/// A new API key with its value, shown only in the answer that creates it.
pub fn created_api_key_dto(k: ApiKeyRecord, value: Secret<String>) -> t::CreatedApiKey {
    t::CreatedApiKey {
        id: k.id.uuid(),
        name: k.name,
        description: k.description,
        created_at: k.created_at.rfc3339(),
        value: value.into(),
    }
}

/// One audit event.
pub fn audit_event_dto(e: &AuditRecord) -> t::AuditEvent {
    t::AuditEvent {
        id: e.id,
        at: e.at.rfc3339(),
        actor_type: e.actor_type.clone(),
        actor_id: e.actor_id.clone(),
        action: e.action.clone(),
        target_type: e.target_type.clone(),
        target_id: e.target_id.clone(),
        details: e.details.clone(),
    }
}
