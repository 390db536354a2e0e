//! Projects, role, members, users and the caller's profile (SPEC §3).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use gatehouse_core::access::MemberFlags;
use gatehouse_core::ids::{InvitationId, ProjectId, UserId};
use gatehouse_core::people::ProjectSettings;
use gatehouse_core::service::accounts::UserRef;
use gatehouse_core::service::people::Added;
use gatehouse_types as t;
use uuid::Uuid;

use crate::dto::{invitation_dto, member_dto, project_dto, project_settings_dto, role_dto, user_dto};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Path};
use crate::state::AppState;

/// Create a project.
#[utoipa::path(post, path = "/accounts/projects", request_body = t::ProjectInput, tag = "projects",
    responses((status = 201, body = t::Project), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn create_project(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Json(body): Json<t::ProjectInput>,
) -> ApiResult<(StatusCode, Json<t::Project>)> {
    let p = s.gh.create_project(&who, &body.name).await?;
    Ok((StatusCode::CREATED, Json(project_dto(&p))))
}

/// Projects the caller belongs to.
#[utoipa::path(get, path = "/accounts/projects", tag = "projects", responses((status = 200, body = t::ProjectList)))]
pub async fn list_projects(State(s): State<Arc<AppState>>, Caller(who): Caller) -> ApiResult<Json<t::ProjectList>> {
    let projects = s.gh.list_projects(&who).await?;
    Ok(Json(t::ProjectList {
        projects: projects.iter().map(project_dto).collect(),
    }))
}

/// One project.
#[utoipa::path(get, path = "/accounts/projects/{project_id}", tag = "projects",
    responses((status = 200, body = t::Project), (status = 404, body = t::ErrorBody)))]
pub async fn get_project(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<t::Project>> {
    Ok(Json(project_dto(
        &s.gh.get_project(&who, ProjectId::from_uuid(id)).await?,
    )))
}

/// Rename a project (admins).
#[utoipa::path(put, path = "/accounts/projects/{project_id}", request_body = t::ProjectInput, tag = "projects",
    responses((status = 200, body = t::Project), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn update_project(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<t::ProjectInput>,
) -> ApiResult<Json<t::Project>> {
    Ok(Json(project_dto(
        &s.gh.rename_project(&who, ProjectId::from_uuid(id), &body.name).await?,
    )))
}

/// How people sign in to the project's apps (any member).
#[utoipa::path(get, path = "/accounts/projects/{project_id}/settings", tag = "projects",
    responses((status = 200, body = t::ProjectSettings), (status = 404, body = t::ErrorBody)))]
pub async fn get_project_settings(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<t::ProjectSettings>> {
    let p = s.gh.get_project(&who, ProjectId::from_uuid(id)).await?;
    Ok(Json(project_settings_dto(&p.settings)))
}

/// Replace how people sign in to the project's apps (admins): its sign-up policy, overriding
/// the server's, and whether a second factor is required.
#[utoipa::path(put, path = "/accounts/projects/{project_id}/settings", request_body = t::ProjectSettings, tag = "projects",
    responses((status = 200, body = t::ProjectSettings), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody)))]
pub async fn put_project_settings(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(body): Json<t::ProjectSettings>,
) -> ApiResult<Json<t::ProjectSettings>> {
    let settings = ProjectSettings::parse(body.signup.as_str(), &body.signup_domains, body.require_second_factor)?;
    let p =
        s.gh.update_project_settings(&who, ProjectId::from_uuid(id), &settings)
            .await?;
    Ok(Json(project_settings_dto(&p.settings)))
}

/// Delete a project and everything in it (admins).
#[utoipa::path(delete, path = "/accounts/projects/{project_id}", tag = "projects",
    responses((status = 204), (status = 403, body = t::ErrorBody), (status = 404, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn delete_project(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    s.gh.delete_project(&who, ProjectId::from_uuid(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's rights in a project.
#[utoipa::path(get, path = "/accounts/projects/{project_id}/role", tag = "projects",
    responses((status = 200, body = t::RoleInfo), (status = 404, body = t::ErrorBody)))]
pub async fn role(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<t::RoleInfo>> {
    Ok(Json(role_dto(&s.gh.role(&who, ProjectId::from_uuid(id)).await?)))
}

/// Members of a project.
#[utoipa::path(get, path = "/accounts/projects/{project_id}/users", tag = "members", responses((status = 200, body = t::MemberList)))]
pub async fn list_members(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<t::MemberList>> {
    let members = s.gh.list_members(&who, ProjectId::from_uuid(id)).await?;
    Ok(Json(t::MemberList {
        users: members.iter().map(member_dto).collect(),
    }))
}

/// Add a person to a project (admins). By email this invites them: `202` with the pending
/// invitation, the same whether or not the address has an account; membership starts when they
/// accept. A server admin adds an existing account at once (`201` with the member), by email or
/// `user_id`.
#[utoipa::path(post, path = "/accounts/projects/{project_id}/users", request_body = t::AddMember, tag = "members",
    responses((status = 201, body = t::Member), (status = 202, body = t::Invitation), (status = 400, body = t::ErrorBody), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn add_member(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
    Json(b): Json<t::AddMember>,
) -> ApiResult<Response> {
    let user = match (b.user_id, b.email) {
        (Some(id), None) => UserRef::Id(UserId::from_uuid(id)),
        (None, Some(email)) => UserRef::Email(email),
        _ => return Err(ApiError::bad_request("give exactly one of user_id and email")),
    };
    let flags = MemberFlags {
        is_admin: b.is_admin.unwrap_or(false),
        is_developer: b.is_developer.unwrap_or(false),
        can_create_rooms: b.can_create_rooms.unwrap_or(false),
        can_use_llm_proxy: b.can_use_llm_proxy.unwrap_or(false),
    };
    Ok(
        match s.gh.add_member(&who, ProjectId::from_uuid(id), user, flags).await? {
            Added::Member(m) => (StatusCode::CREATED, Json(member_dto(&m))).into_response(),
            Added::Invited(i) => (StatusCode::ACCEPTED, Json(invitation_dto(&i))).into_response(),
        },
    )
}

/// A project's pending invitations (any member).
#[utoipa::path(get, path = "/accounts/projects/{project_id}/invitations", tag = "members",
    responses((status = 200, body = t::InvitationList), (status = 404, body = t::ErrorBody)))]
pub async fn list_invitations(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<t::InvitationList>> {
    let list = s.gh.list_invitations(&who, ProjectId::from_uuid(id)).await?;
    Ok(Json(t::InvitationList {
        invitations: list.iter().map(invitation_dto).collect(),
    }))
}

/// Withdraw a pending invitation (admins).
#[utoipa::path(delete, path = "/accounts/projects/{project_id}/invitations/{invitation_id}", tag = "members",
    responses((status = 204), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody)))]
pub async fn revoke_invitation(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, invitation)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    s.gh.revoke_invitation(&who, ProjectId::from_uuid(id), InvitationId::from_uuid(invitation))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change a member's rights (admins).
#[utoipa::path(put, path = "/accounts/projects/{project_id}/users/{user_id}", request_body = t::UpdateMember, tag = "members",
    responses((status = 200, body = t::Member), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn update_member(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, user)): Path<(Uuid, Uuid)>,
    Json(b): Json<t::UpdateMember>,
) -> ApiResult<Json<t::Member>> {
    let m =
        s.gh.update_member(&who, ProjectId::from_uuid(id), UserId::from_uuid(user), |f| {
            MemberFlags {
                is_admin: b.is_admin.unwrap_or(f.is_admin),
                is_developer: b.is_developer.unwrap_or(f.is_developer),
                can_create_rooms: b.can_create_rooms.unwrap_or(f.can_create_rooms),
                can_use_llm_proxy: b.can_use_llm_proxy.unwrap_or(f.can_use_llm_proxy),
            }
        })
        .await?;
    Ok(Json(member_dto(&m)))
}

/// Remove a member (admins).
#[utoipa::path(delete, path = "/accounts/projects/{project_id}/users/{user_id}", tag = "members",
    responses((status = 204), (status = 404, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn remove_member(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Path((id, user)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    s.gh.remove_member(&who, ProjectId::from_uuid(id), UserId::from_uuid(user))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a user (server admins).
#[utoipa::path(post, path = "/accounts/users", request_body = t::CreateUser, tag = "users",
    responses((status = 201, body = t::User), (status = 400, body = t::ErrorBody), (status = 403, body = t::ErrorBody), (status = 409, body = t::ErrorBody)))]
pub async fn create_user(
    State(s): State<Arc<AppState>>,
    Caller(who): Caller,
    Json(b): Json<t::CreateUser>,
) -> ApiResult<(StatusCode, Json<t::User>)> {
    let u = s.gh.create_user(&who, &b.email, &b.name, &b.password).await?;
    Ok((StatusCode::CREATED, Json(user_dto(&u))))
}

/// The signed-in user's profile.
#[utoipa::path(get, path = "/accounts/profiles/me", tag = "users", responses((status = 200, body = t::User), (status = 403, body = t::ErrorBody)))]
pub async fn profile(State(s): State<Arc<AppState>>, Caller(who): Caller) -> ApiResult<Json<t::User>> {
    Ok(Json(user_dto(&s.gh.profile(&who).await?)))
}
