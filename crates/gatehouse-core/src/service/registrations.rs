//! External OAuth registrations (SPEC §4.5): third-party provider settings at project or room
//! scope, with a write-only client secret sealed under the project's data key.

use gatehouse_types::ExternalOAuthInput;
use serde_json::json;

use super::Gatehouse;
use crate::access::Principal;
use crate::clients::uri::{check_redirect_uri, check_web_url};
use crate::crypto::RowAad;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, RegistrationId, RoomName, new_row_id};
use crate::model::{ProviderEndpoints, Registration, Sealed};
use crate::ports::Upstream;
use crate::secret::SecretString;
use crate::text::{check_name, check_text};

const MAX_SCOPES: usize = 100;
const MAX_FIELD: usize = 512;

/// The binding of a registration's sealed client secret to its row and version.
fn secret_aad(r: &Registration) -> RowAad {
    let room = r.room_name.as_deref().unwrap_or("");
    RowAad::new(
        "external_oauth",
        &r.project_id.to_string(),
        room,
        "",
        &r.id.to_string(),
        r.version,
    )
}

impl Gatehouse {
    /// Creates a registration (developers).
    pub async fn create_registration(
        &self,
        who: &Principal,
        project: ProjectId,
        room: Option<&str>,
        input: &ExternalOAuthInput,
    ) -> Result<Registration> {
        self.access(who, project).await?.require_developer()?;
        let room = room.map(RoomName::parse).transpose()?.map(|r| r.as_str().to_owned());
        let now = self.clock.now();
        let mut r = Registration {
            id: RegistrationId::from_uuid(new_row_id()),
            project_id: project,
            room_name: room,
            name: String::new(),
            endpoints: endpoints(self.broker.upstream.as_ref(), input)?,
            client_id: String::new(),
            client_secret: None,
            redirect_uris: Vec::new(),
            delegated_to: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        self.apply_registration_input(&mut r, input, None).await?;
        let audit = self.audit(
            who,
            project,
            "external_oauth.create",
            ("external_oauth", r.id.to_string()),
            json!({ "name": r.name, "room": r.room_name }),
        );
        self.store.insert_registration(&r, &audit).await?;
        Ok(r)
    }

    /// Registrations of the project (`room` = None) or of one room.
    pub async fn list_registrations(
        &self,
        who: &Principal,
        project: ProjectId,
        room: Option<&str>,
    ) -> Result<Vec<Registration>> {
        self.access(who, project).await?;
        let room = room.map(RoomName::parse).transpose()?;
        self.store
            .list_registrations(project, room.as_ref().map(RoomName::as_str))
            .await
    }

    /// Replaces a registration's settings. An absent `client_secret` keeps the stored one, `""` removes it.
    pub async fn update_registration(
        &self,
        who: &Principal,
        project: ProjectId,
        room: Option<&str>,
        id: RegistrationId,
        input: &ExternalOAuthInput,
    ) -> Result<Registration> {
        self.access(who, project).await?.require_developer()?;
        let current = self.load_registration(project, room, id).await?;
        let kept_secret = match (&input.client_secret, &current.client_secret) {
            (None, Some(sealed)) => Some(self.open_sealed(project, &secret_aad(&current), sealed).await?),
            _ => None,
        };
        let mut next = Registration {
            endpoints: endpoints(self.broker.upstream.as_ref(), input)?,
            updated_at: self.clock.now(),
            version: current.version + 1,
            ..current
        };
        self.apply_registration_input(&mut next, input, kept_secret).await?;
        let audit = self.audit(
            who,
            project,
            "external_oauth.update",
            ("external_oauth", id.to_string()),
            json!({ "name": next.name }),
        );
        if !self.store.update_registration(&next, &audit).await? {
            return Err(Error::Conflict("the registration changed concurrently; retry".into()));
        }
        Ok(next)
    }

    /// Deletes a registration (developers).
    pub async fn delete_registration(
        &self,
        who: &Principal,
        project: ProjectId,
        room: Option<&str>,
        id: RegistrationId,
    ) -> Result<()> {
        self.access(who, project).await?.require_developer()?;
        self.load_registration(project, room, id).await?;
        let audit = self.audit(
            who,
            project,
            "external_oauth.delete",
            ("external_oauth", id.to_string()),
            json!({}),
        );
        if self.store.delete_registration(project, id, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("registration"))
        }
    }

    /// Validates the input into `r`, sealing the client secret (given, or kept across an update)
    /// for `r`'s current version.
    async fn apply_registration_input(
        &self,
        r: &mut Registration,
        input: &ExternalOAuthInput,
        kept_secret: Option<Vec<u8>>,
    ) -> Result<()> {
        check_name("name", &input.name, 200)?;
        check_text("client_id", &input.client_id, MAX_FIELD, false)?;
        if input.client_id.is_empty() {
            return Err(Error::invalid("client_id", "is required"));
        }
        if input.redirect_uris.is_empty() || input.redirect_uris.len() > 20 {
            return Err(Error::invalid(
                "redirect_uris",
                "between 1 and 20 redirect URIs are required",
            ));
        }
        for u in &input.redirect_uris {
            check_redirect_uri("redirect_uris", u, true)?;
        }
        if let Some(d) = &input.delegated_to {
            check_text("delegated_to", d, MAX_FIELD, false)?;
        }
        r.name = input.name.clone();
        r.client_id = input.client_id.clone();
        r.redirect_uris = input.redirect_uris.clone();
        r.delegated_to = input.delegated_to.clone().filter(|d| !d.is_empty());
        let plaintext = match input.client_secret.as_ref().map(SecretString::expose_secret) {
            Some("") => None,
            Some(s) => {
                check_text("client_secret", s, MAX_FIELD, false)?;
                Some(s.as_bytes().to_vec())
            }
            None => kept_secret,
        };
        r.client_secret = match plaintext {
            Some(p) => Some(self.seal_registration_secret(r, &p).await?),
            None => None,
        };
        Ok(())
    }

    async fn seal_registration_secret(&self, r: &Registration, plaintext: &[u8]) -> Result<Sealed> {
        self.seal(r.project_id, &secret_aad(r), plaintext).await
    }

    /// A registration as the broker uses it, with its client secret opened: one of the project,
    /// or of `room` when given (a room sees the project's and its own).
    pub(super) async fn registration_for_broker(
        &self,
        project: ProjectId,
        room: Option<&str>,
        id: RegistrationId,
    ) -> Result<(Registration, Option<SecretString>)> {
        let r = self
            .store
            .get_registration(project, id)
            .await?
            .filter(|r| room.is_none() || r.room_name.is_none() || r.room_name.as_deref() == room)
            .ok_or(Error::NotFound("registration"))?;
        let secret = match &r.client_secret {
            Some(sealed) => {
                let bytes = self.open_sealed(project, &secret_aad(&r), sealed).await?;
                Some(SecretString::new(String::from_utf8(bytes).map_err(Error::unexpected)?))
            }
            None => None,
        };
        Ok((r, secret))
    }

    async fn load_registration(
        &self,
        project: ProjectId,
        room: Option<&str>,
        id: RegistrationId,
    ) -> Result<Registration> {
        self.store
            .get_registration(project, id)
            .await?
            .filter(|r| r.room_name.as_deref() == room)
            .ok_or(Error::NotFound("registration"))
    }
}

fn endpoints(upstream: &dyn Upstream, input: &ExternalOAuthInput) -> Result<ProviderEndpoints> {
    let o = &input.oauth;
    check_web_url("oauth.authorization_endpoint", &o.authorization_endpoint)?;
    check_provider_urls(&o.token_endpoint, o.revocation_endpoint.as_deref(), o.issuer.as_deref())?;
    check_outbound(
        upstream,
        &o.authorization_endpoint,
        &o.token_endpoint,
        o.revocation_endpoint.as_deref(),
    )?;
    if let Some(scopes) = &o.scopes {
        check_scopes("oauth.scopes", scopes)?;
    }
    Ok(ProviderEndpoints {
        authorization_endpoint: o.authorization_endpoint.clone(),
        token_endpoint: o.token_endpoint.clone(),
        revocation_endpoint: o.revocation_endpoint.clone(),
        issuer: o.issuer.clone(),
        scopes: o.scopes.clone(),
        no_pkce: o.no_pkce.unwrap_or(false),
    })
}

/// Checks the URLs a provider is called at and the issuer it names, whether a registration or a
/// broker request gives them.
pub(super) fn check_provider_urls(
    token_endpoint: &str,
    revocation_endpoint: Option<&str>,
    issuer: Option<&str>,
) -> Result<()> {
    check_web_url("oauth.token_endpoint", token_endpoint)?;
    if let Some(u) = revocation_endpoint {
        check_web_url("oauth.revocation_endpoint", u)?;
    }
    if let Some(u) = issuer {
        check_web_url("oauth.issuer", u)?;
    }
    Ok(())
}

/// Checks a provider's endpoints against the outbound policy by their text ([`crate::outbound`]):
/// an IP literal or `localhost` that the policy does not let through is refused when a
/// registration is saved and whenever a broker operation names the provider, before any call.
/// The endpoints called come first; the authorization endpoint, which only participants open,
/// is held to the same rule because it names the provider.
pub(super) fn check_outbound(
    upstream: &dyn Upstream,
    authorization_endpoint: &str,
    token_endpoint: &str,
    revocation_endpoint: Option<&str>,
) -> Result<()> {
    upstream.check_endpoint("oauth.token_endpoint", token_endpoint)?;
    if let Some(u) = revocation_endpoint {
        upstream.check_endpoint("oauth.revocation_endpoint", u)?;
    }
    upstream.check_endpoint("oauth.authorization_endpoint", authorization_endpoint)
}

/// Checks a provider's scope list: at most 100 scopes of 1–200 characters without spaces or controls.
pub(super) fn check_scopes(field: &str, scopes: &[String]) -> Result<()> {
    let ok = scopes.len() <= MAX_SCOPES
        && scopes
            .iter()
            .all(|x| !x.is_empty() && x.len() <= 200 && !x.chars().any(|c| c == ' ' || c.is_control()));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("at most {MAX_SCOPES} scopes of 1-200 characters without spaces"),
        ))
    }
}
