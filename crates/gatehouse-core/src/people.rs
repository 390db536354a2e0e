//! People who sign themselves up (SPEC §5.4): the sign-up policy, the links mailed to them
//! (address verification, password reset), project invitations, and the mail itself.

use crate::access::MemberFlags;
use crate::error::{Error, Result};
use crate::ids::{InvitationId, LinkId, ProjectId, UserId};
use crate::secret::Redacted;
use crate::time::Timestamp;

/// How long a sign-up verification link works.
pub const SIGNUP_LINK_TTL_SECS: i64 = 24 * 3600;
/// How long a password reset link works.
pub const RESET_LINK_TTL_SECS: i64 = 3600;
/// How long an invitation waits for its answer.
pub const INVITATION_TTL_SECS: i64 = 14 * 86_400;
/// Most email domains a `domains` policy lists.
pub const MAX_SIGNUP_DOMAINS: usize = 100;

/// Who may create an account at `/signup`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SignUpPolicy {
    /// Nobody: accounts are created by server admins (the default).
    #[default]
    Closed,
    /// Only people holding an invitation link.
    Invite,
    /// Anyone with an email address they can receive mail at.
    Open,
    /// People whose address is in one of these domains (lowercase), and invited people.
    Domains(Vec<String>),
}

impl SignUpPolicy {
    /// Reads a policy name (`closed`, `invite`, `open`, `domains`) with its domain list.
    pub fn parse(name: &str, domains: &[String]) -> Result<Self> {
        let policy = match name {
            "closed" => Self::Closed,
            "invite" => Self::Invite,
            "open" => Self::Open,
            "domains" => {
                if domains.is_empty() || domains.len() > MAX_SIGNUP_DOMAINS {
                    return Err(Error::invalid(
                        "signup_domains",
                        format!("must list 1-{MAX_SIGNUP_DOMAINS} email domains with signup = domains"),
                    ));
                }
                let mut list = Vec::with_capacity(domains.len());
                for d in domains {
                    let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
                    let plausible = !d.is_empty()
                        && d.len() <= 253
                        && d.contains('.')
                        && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
                    if !plausible {
                        return Err(Error::invalid("signup_domains", format!("{d:?} is not a domain name")));
                    }
                    list.push(d);
                }
                Self::Domains(list)
            }
            _ => return Err(Error::invalid("signup", "must be closed, invite, open or domains")),
        };
        Ok(policy)
    }

    /// The policy's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Invite => "invite",
            Self::Open => "open",
            Self::Domains(_) => "domains",
        }
    }

    /// Whether someone without an invitation may sign up with `email` (already checked).
    pub fn admits(&self, email: &str) -> bool {
        match self {
            Self::Closed | Self::Invite => false,
            Self::Open => true,
            Self::Domains(list) => email
                .rsplit_once('@')
                .is_some_and(|(_, domain)| list.iter().any(|d| d.eq_ignore_ascii_case(domain))),
        }
    }

    /// Whether the sign-up page is offered at all.
    pub fn offers_sign_up(&self) -> bool {
        !matches!(self, Self::Closed)
    }
}

/// A project's rules for the people who sign in to its apps (SPEC §5.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectSettings {
    /// Who may sign up from an authorization request of the project's clients or through its
    /// invitations; `None` follows the server's `signup` setting.
    pub signup: Option<SignUpPolicy>,
    /// Signing in to any client of the project needs two factors (password or a verified
    /// passkey user, and an authenticator app code or a passkey).
    pub require_second_factor: bool,
}

impl ProjectSettings {
    /// Reads the settings: `signup` is `inherit` or a policy name ([`SignUpPolicy::parse`]);
    /// domains are only for `domains`.
    pub fn parse(signup: &str, domains: &[String], require_second_factor: bool) -> Result<Self> {
        if signup != "domains" && !domains.is_empty() {
            return Err(Error::invalid(
                "signup_domains",
                "may only be given with signup = domains",
            ));
        }
        let signup = match signup {
            "inherit" => None,
            "closed" | "invite" | "open" | "domains" => Some(SignUpPolicy::parse(signup, domains)?),
            _ => {
                return Err(Error::invalid(
                    "signup",
                    "must be inherit, closed, invite, open or domains",
                ));
            }
        };
        Ok(Self {
            signup,
            require_second_factor,
        })
    }

    /// The sign-up mode's name: `inherit` or the policy's.
    pub fn signup_name(&self) -> &'static str {
        self.signup.as_ref().map_or("inherit", SignUpPolicy::name)
    }

    /// The domains of a `domains` policy (empty otherwise).
    pub fn signup_domains(&self) -> &[String] {
        match &self.signup {
            Some(SignUpPolicy::Domains(list)) => list,
            _ => &[],
        }
    }

    /// The policy that applies: the project's own, or `server`'s.
    pub fn sign_up_policy<'a>(&'a self, server: &'a SignUpPolicy) -> &'a SignUpPolicy {
        self.signup.as_ref().unwrap_or(server)
    }
}

/// What a mailed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Verifies the address of a sign-up; following it creates the account.
    SignUp,
    /// Sets a new password once.
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "signup",
            Self::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "signup" => Some(Self::SignUp),
            "reset" => Some(Self::Reset),
            _ => None,
        }
    }
}

/// A link mailed to a person, as stored: only a keyed hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLink {
    pub id: LinkId,
    pub purpose: LinkPurpose,
    pub email: String,
    pub secret_hash: Redacted<Vec<u8>>,
    /// A reset: the account whose password it sets.
    pub user_id: Option<UserId>,
    /// A sign-up: the name and password hash of the account to create.
    pub name: String,
    pub password_hash: Redacted<String>,
    /// A sign-up: the same-origin path to return to afterwards (an authorization request).
    pub next: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A pending invitation to a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub project_id: ProjectId,
    pub email: String,
    pub secret_hash: Redacted<Vec<u8>>,
    pub flags: MemberFlags,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// One message to one person, in plain text and simple HTML. The bodies carry link secrets, so
/// `Debug` shows only the recipient and subject.
#[derive(Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_settings_inherit_or_override_the_server() {
        let inherit = ProjectSettings::parse("inherit", &[], false).unwrap();
        assert_eq!(inherit.sign_up_policy(&SignUpPolicy::Open), &SignUpPolicy::Open);
        assert_eq!(inherit.signup_name(), "inherit");
        let closed = ProjectSettings::parse("closed", &[], true).unwrap();
        assert_eq!(closed.sign_up_policy(&SignUpPolicy::Open), &SignUpPolicy::Closed);
        assert!(closed.require_second_factor);
        let d = ProjectSettings::parse("domains", &["corp.example".into()], false).unwrap();
        assert_eq!(d.signup_domains(), ["corp.example".to_owned()]);
        let e = ProjectSettings::parse("open", &["corp.example".into()], false).unwrap_err();
        assert!(e.to_string().starts_with("signup_domains:"), "{e}");
        let e = ProjectSettings::parse("sometimes", &[], false).unwrap_err();
        assert!(e.to_string().starts_with("signup: must be inherit"), "{e}");
    }

    #[test]
    fn policies_parse_and_admit_by_domain() {
        assert_eq!(SignUpPolicy::parse("closed", &[]).unwrap(), SignUpPolicy::Closed);
        assert!(!SignUpPolicy::Invite.admits("a@b.example"));
        assert!(SignUpPolicy::Open.admits("a@b.example"));
        let d = SignUpPolicy::parse("domains", &["@Corp.Example".into()]).unwrap();
        assert!(d.admits("ann@corp.example") && d.admits("ann@CORP.example"));
        assert!(!d.admits("ann@corp.example.evil") && !d.admits("ann@evilcorp.example"));
        let e = SignUpPolicy::parse("domains", &[]).unwrap_err().to_string();
        assert!(e.starts_with("signup_domains:"), "{e}");
        assert!(SignUpPolicy::parse("domains", &["not a domain".into()]).is_err());
        assert!(
            SignUpPolicy::parse("sometimes", &[])
                .unwrap_err()
                .to_string()
                .starts_with("signup:")
        );
    }
}
