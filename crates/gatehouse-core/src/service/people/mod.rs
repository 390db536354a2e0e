//! People managing their own accounts by mail (SPEC §5.4): sign-up with address verification,
//! password reset and project invitations. What they share is here: the links (`id.secret`,
//! stored only as a keyed hash of the secret, single use, expiring), the rate limits on sending
//! and on failed link uses, and sending itself, which runs in the background so that a
//! response takes the same time whether or not a mail goes out.

mod invitations;
mod mail;
mod reset;
mod signup;

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;

pub use invitations::Added;
pub use signup::{SignUp, SignUpOutcome};

use super::Gatehouse;
use crate::ids::{LinkId, ProjectId, new_row_id};
use crate::oauth::limiter::{Limiter, network};
use crate::people::{AccountLink, LinkPurpose, Mail, SignUpPolicy};
use crate::ports::Mailer;
use crate::rng::random_token;
use crate::secret::ct_eq;

const LINK_DOMAIN: &str = "account-link";
/// Mails to one address before each further one waits (1 s, doubling up to 5 minutes).
const SENDS_PER_ADDRESS: u32 = 3;
/// Mails asked for from one client network before each further one waits.
const SENDS_PER_NETWORK: u32 = 20;
/// Failed link uses from one client network before each further one waits.
const BAD_LINKS_PER_NETWORK: u32 = 10;

/// The mailer and the limits of the mail flows, on this node.
pub(crate) struct People {
    mailer: Arc<dyn Mailer>,
    per_address: Limiter<String>,
    per_network: Limiter<IpAddr>,
    bad_links: Limiter<IpAddr>,
}

impl People {
    pub(crate) fn new(mailer: Arc<dyn Mailer>) -> Self {
        Self {
            mailer,
            per_address: Limiter::new(SENDS_PER_ADDRESS),
            per_network: Limiter::new(SENDS_PER_NETWORK),
            bad_links: Limiter::new(BAD_LINKS_PER_NETWORK),
        }
    }
}

/// The answer to a form that may send mail: the same whether or not the address has an account.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// A mail is on its way if there is anyone to send it to.
    Sent,
    /// Too many mails for this address or from this network: try again later.
    Throttled { retry_after_secs: u64 },
}

/// What using a mailed link led to.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkUse<T> {
    Done(T),
    /// Not a link of this server, used already, or expired (never said which).
    Refused,
    /// Too many failed link uses from this network: try again later.
    Throttled {
        retry_after_secs: u64,
    },
}

impl<T> LinkUse<T> {
    /// The value of a link that worked, or the refusal to answer with.
    fn done<U>(self) -> Result<T, LinkUse<U>> {
        match self {
            Self::Done(t) => Ok(t),
            Self::Refused => Err(LinkUse::Refused),
            Self::Throttled { retry_after_secs } => Err(LinkUse::Throttled { retry_after_secs }),
        }
    }
}

/// A client address as text (the TCP peer); anything else counts as one unknown address.
fn peer(ip: &str) -> IpAddr {
    network(ip.parse().unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)))
}

/// `id.secret` split into the id and the secret, when it has that shape.
pub(crate) fn split_token(token: &str) -> Option<(uuid::Uuid, &str)> {
    let (id, secret) = token.split_once('.')?;
    let id = uuid::Uuid::try_parse(id).ok()?;
    (!secret.is_empty() && secret.len() <= 64).then_some((id, secret))
}

impl Gatehouse {
    /// Who may sign up on this server.
    pub fn sign_up_policy(&self) -> &SignUpPolicy {
        &self.provider.config.signup
    }

    /// The sign-up policy that applies to a sign-up (SPEC §5.4): that of the project whose
    /// invitation `invitation` is, else that of the project of the client whose authorization
    /// request `next` returns to, else the server's. The project comes from the stored
    /// invitation or client, never from the form.
    pub async fn sign_up_policy_for(&self, next: &str, invitation: Option<&str>) -> crate::Result<SignUpPolicy> {
        let invited = match invitation {
            Some(token) => self.open_invitation(token).await?.map(|i| i.project_id),
            None => None,
        };
        let project = match invited {
            Some(p) => Some(p),
            None => self.authorizing_project(next).await?,
        };
        let server = self.sign_up_policy();
        Ok(match project {
            Some(p) => self
                .store
                .get_project(p)
                .await?
                .map_or_else(|| server.clone(), |p| p.settings.sign_up_policy(server).clone()),
            None => server.clone(),
        })
    }

    /// The project of the enabled client whose authorization request the same-origin path
    /// `next` is (`/oauth/authorize?…client_id=…`).
    async fn authorizing_project(&self, next: &str) -> crate::Result<Option<ProjectId>> {
        let Some(query) = next.strip_prefix("/oauth/authorize?") else {
            return Ok(None);
        };
        let Some((_, client_id)) = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "client_id") else {
            return Ok(None);
        };
        Ok(self.enabled_client(&client_id).await?.map(|c| c.project_id))
    }

    /// A new link's id, its token for the mail, and the keyed hash of its secret for storage.
    fn new_link_secret(&self) -> (LinkId, String, Vec<u8>) {
        let id = LinkId::from_uuid(new_row_id());
        let secret = random_token(self.rng.as_ref());
        let hash = self
            .keys
            .hasher()
            .hash(LINK_DOMAIN, &id.to_string(), secret.expose_secret());
        (id, format!("{}.{}", id.uuid().simple(), secret.expose_secret()), hash)
    }

    /// Counts one mail to `email` asked for from `ip`, or says how long to wait first.
    fn count_send(&self, email: &str, ip: &str) -> Result<(), u64> {
        let now = self.clock.now();
        let from = peer(ip);
        self.people.per_network.check(&from, now)?;
        self.count_mail_to(email)?;
        self.people.per_network.failure(&from, now);
        Ok(())
    }

    /// Counts one mail to `email`, or says how long to wait first.
    fn count_mail_to(&self, email: &str) -> Result<(), u64> {
        let now = self.clock.now();
        let address = email.to_lowercase();
        self.people.per_address.check(&address, now)?;
        self.people.per_address.failure(&address, now);
        Ok(())
    }

    /// The unused, unexpired link of `purpose` that `token` names, checked in constant time;
    /// failures count against the client's network.
    async fn open_link(&self, token: &str, purpose: LinkPurpose, ip: &str) -> crate::Result<LinkUse<AccountLink>> {
        let now = self.clock.now();
        let from = peer(ip);
        if let Err(retry_after_secs) = self.people.bad_links.check(&from, now) {
            return Ok(LinkUse::Throttled { retry_after_secs });
        }
        let found = match split_token(token) {
            Some((id, secret)) => self.store.get_link(LinkId::from_uuid(id)).await?.filter(|l| {
                let expected = self.keys.hasher().hash(LINK_DOMAIN, &l.id.to_string(), secret);
                ct_eq(&expected, l.secret_hash.expose())
            }),
            None => None,
        };
        match found {
            Some(l) if l.purpose == purpose && l.used_at.is_none() && l.expires_at > now => Ok(LinkUse::Done(l)),
            _ => {
                self.people.bad_links.failure(&from, now);
                tracing::info!(purpose = purpose.as_str(), "a mailed link was refused");
                Ok(LinkUse::Refused)
            }
        }
    }

    /// Whether `token` is a live link of `purpose`, for the page that asks to confirm it (a
    /// mail scanner fetching the link with GET must not consume it).
    pub async fn check_link(&self, token: &str, purpose: LinkPurpose, ip: &str) -> crate::Result<LinkUse<()>> {
        Ok(match self.open_link(token, purpose, ip).await?.done() {
            Ok(_) => LinkUse::Done(()),
            Err(refused) => refused,
        })
    }

    /// Sends `mail` in the background; failures are logged without the message.
    fn post(&self, mail: Mail) {
        let mailer = self.people.mailer.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&mail).await {
                tracing::error!(error = %e, subject = %mail.subject, "sending mail failed");
            }
        });
    }
}
