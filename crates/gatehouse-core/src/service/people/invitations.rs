//! Project invitations (SPEC §3, §5.4): adding a person by email invites them, with the same
//! answer whether or not the address has an account, and membership starts only when they accept
//! on their account page. An invited address without an account may sign up through the link in
//! the invitation mail, even when sign-up is otherwise by invitation only. Server admins add
//! existing accounts at once.

use serde_json::json;

use super::split_token;
use crate::access::{MemberFlags, Principal};
use crate::error::{Error, Result};
use crate::ids::{InvitationId, ProjectId, new_row_id};
use crate::model::{Member, Project, User};
use crate::people::{INVITATION_TTL_SECS, Invitation};
use crate::rng::random_token;
use crate::secret::ct_eq;
use crate::service::Gatehouse;
use crate::text::check_email;

const INVITATION_DOMAIN: &str = "invitation";

/// What adding a member did.
#[derive(Debug)]
pub enum Added {
    /// A server admin added an existing account: it is a member now.
    Member(Member),
    /// The person is invited; membership starts when they accept.
    Invited(Invitation),
}

impl Gatehouse {
    /// Invites `email` to `project` with `flags` (the caller is a project admin), renewing a
    /// pending invitation of the same address, and mails the invitation.
    pub(crate) async fn invite(
        &self,
        who: &Principal,
        project: &Project,
        email: &str,
        flags: MemberFlags,
    ) -> Result<Invitation> {
        let email = check_email("email", email)?;
        let existing = self.store.find_user_by_email(email).await?;
        if let Some(user) = &existing
            && self.store.get_member(project.id, user.id).await?.is_some()
        {
            return Err(Error::Conflict(
                "the person is already a member; change their rights with PUT".into(),
            ));
        }
        let now = self.clock.now();
        let id = InvitationId::from_uuid(new_row_id());
        let secret = random_token(self.rng.as_ref());
        let invitation = Invitation {
            id,
            project_id: project.id,
            email: email.to_owned(),
            secret_hash: self
                .keys
                .hasher()
                .hash(INVITATION_DOMAIN, &id.to_string(), secret.expose_secret())
                .into(),
            flags,
            created_at: now,
            expires_at: now.plus_secs(INVITATION_TTL_SECS),
        };
        let audit = self.audit(
            who,
            project.id,
            "invitation.create",
            ("invitation", id.to_string()),
            json!({ "email": email }),
        );
        self.store.put_invitation(&invitation, &audit).await?;
        let token = format!("{}.{}", id.uuid().simple(), secret.expose_secret());
        if self.count_mail_to(email).is_ok() {
            let offers_sign_up = project.settings.sign_up_policy(self.sign_up_policy()).offers_sign_up();
            self.post(self.invitation_mail(email, &project.name, existing.is_some(), offers_sign_up, &token));
        } else {
            tracing::info!(invitation = %id, "too many mails to this address: the invitation waits on the account page");
        }
        Ok(invitation)
    }

    /// A project's pending invitations (any member may read).
    pub async fn list_invitations(&self, who: &Principal, project: ProjectId) -> Result<Vec<Invitation>> {
        self.access(who, project).await?;
        self.store.list_project_invitations(project, self.clock.now()).await
    }

    /// Withdraws a pending invitation (admins).
    pub async fn revoke_invitation(&self, who: &Principal, project: ProjectId, id: InvitationId) -> Result<()> {
        self.access(who, project).await?.require_admin()?;
        let invitation = self
            .store
            .get_invitation(id)
            .await?
            .filter(|i| i.project_id == project)
            .ok_or(Error::NotFound("invitation"))?;
        let audit = self.audit(
            who,
            project,
            "invitation.revoke",
            ("invitation", id.to_string()),
            json!({}),
        );
        if self.store.close_invitation(&invitation, None, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("invitation"))
        }
    }

    /// The invitations waiting for the signed-in person, with their projects (the account page).
    pub async fn own_invitations(&self, user: &User) -> Result<Vec<(Invitation, Project)>> {
        let mut out = Vec::new();
        for i in self.store.list_invitations_for(&user.email, self.clock.now()).await? {
            if let Some(p) = self.store.get_project(i.project_id).await? {
                out.push((i, p));
            }
        }
        Ok(out)
    }

    /// Accepts (membership starts with the invitation's rights) or declines an invitation to
    /// the signed-in person's address.
    pub async fn answer_invitation(&self, user: &User, id: InvitationId, accept: bool) -> Result<()> {
        let now = self.clock.now();
        let invitation = self
            .store
            .get_invitation(id)
            .await?
            .filter(|i| i.email.eq_ignore_ascii_case(&user.email) && i.expires_at > now)
            .ok_or(Error::NotFound("invitation"))?;
        let who = Principal::User {
            id: user.id,
            read_only: false,
            server_admin: false,
        };
        let (action, member) = if accept {
            ("member.join", Some(user.id))
        } else {
            ("invitation.decline", None)
        };
        let audit = self.audit(
            &who,
            invitation.project_id,
            action,
            ("invitation", id.to_string()),
            json!({ "email": invitation.email }),
        );
        if !self.store.close_invitation(&invitation, member, &audit).await? {
            return Err(Error::NotFound("invitation"));
        }
        if accept {
            tracing::info!(user = %user.id, project = %invitation.project_id, "joined a project");
        }
        Ok(())
    }

    /// The live invitation `token` names when it is for `email`.
    pub(crate) async fn invitation_for(&self, token: &str, email: &str) -> Result<Option<Invitation>> {
        Ok(self
            .open_invitation(token)
            .await?
            .filter(|i| i.email.eq_ignore_ascii_case(email)))
    }

    /// The address an invitation token was sent to, to prefill the sign-up form.
    pub async fn invited_email(&self, token: &str) -> Result<Option<String>> {
        Ok(self.open_invitation(token).await?.map(|i| i.email))
    }

    /// The live invitation `token` names, its secret checked in constant time.
    pub(super) async fn open_invitation(&self, token: &str) -> Result<Option<Invitation>> {
        let Some((id, secret)) = split_token(token) else {
            return Ok(None);
        };
        let now = self.clock.now();
        Ok(self
            .store
            .get_invitation(InvitationId::from_uuid(id))
            .await?
            .filter(|i| {
                let expected = self.keys.hasher().hash(INVITATION_DOMAIN, &i.id.to_string(), secret);
                ct_eq(&expected, i.secret_hash.as_bytes()) && i.expires_at > now
            }))
    }
}
