//! Server admins' management of upstream identity providers over REST. The config file's
//! providers are listed too, read-only: a name is one provider, whichever source has it, and a
//! stored provider whose name the config file takes later is not used. A stored client secret is
//! sealed under the system project's data key, bound to the provider's name and version. Every
//! change is audited and reaches every node ([`Invalidation::IdentityProviders`]), which reloads
//! the providers in use.

use gatehouse_types::{IdentityProviderInput, IdentityProviderPatch};
use serde_json::json;
use tracing::instrument;

use super::super::Gatehouse;
use crate::access::Principal;
use crate::crypto::RowAad;
use crate::error::{Error, Result};
use crate::idp::settings::{ProviderSettings, StoredProvider, StoredSettings};
use crate::idp::{IdentityProvider, IdpKind};
use crate::ids::ProjectId;
use crate::ports::Invalidation;
use crate::secret::SecretString;
use crate::time::Timestamp;

/// Where a provider's settings live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdpSource {
    /// The config file: read-only over REST.
    Config,
    /// Managed over REST.
    Api,
}

/// A provider as admins see it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpEntry {
    pub settings: StoredSettings,
    pub source: IdpSource,
    /// Set for [`IdpSource::Api`].
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

/// The binding of a provider's sealed client secret to its name and version.
fn secret_aad(name: &str, version: i64) -> RowAad {
    RowAad::new(
        "identity_provider",
        &ProjectId::SYSTEM.to_string(),
        "",
        "",
        name,
        version,
    )
}

fn entry(p: &StoredProvider) -> IdpEntry {
    IdpEntry {
        settings: p.settings.clone(),
        source: IdpSource::Api,
        created_at: Some(p.created_at),
        updated_at: Some(p.updated_at),
    }
}

/// Server admins only; writes also refuse read-only credentials.
fn require_server_admin(who: &Principal, write: bool) -> Result<()> {
    if !who.is_server_admin() {
        return Err(Error::Forbidden("only server admins manage identity providers".into()));
    }
    if write && matches!(who, Principal::User { read_only: true, .. }) {
        return Err(Error::Forbidden("this credential is read-only".into()));
    }
    Ok(())
}

impl Gatehouse {
    /// Every provider: the config file's, then those managed over REST (server admins).
    pub async fn list_identity_providers(&self, who: &Principal) -> Result<Vec<IdpEntry>> {
        require_server_admin(who, false)?;
        let mut out: Vec<IdpEntry> = self.config_providers().map(config_entry).collect();
        for p in self.store.list_identity_providers().await? {
            if !out.iter().any(|e| e.settings.name == p.settings.name) {
                out.push(entry(&p));
            }
        }
        Ok(out)
    }

    /// One provider by name (server admins).
    pub async fn get_identity_provider(&self, who: &Principal, name: &str) -> Result<IdpEntry> {
        self.list_identity_providers(who)
            .await?
            .into_iter()
            .find(|e| e.settings.name == name)
            .ok_or(Error::NotFound("identity provider"))
    }

    /// Adds a provider (server admins). `Conflict` when the name is taken, in either source.
    #[instrument(level = "debug", skip_all, fields(provider = %input.name))]
    pub async fn create_identity_provider(&self, who: &Principal, input: &IdentityProviderInput) -> Result<IdpEntry> {
        require_server_admin(who, true)?;
        let settings = ProviderSettings {
            name: input.name.clone(),
            kind: input.kind.clone().unwrap_or_else(|| "oidc".into()),
            display_name: input.display_name.clone(),
            issuer: input.issuer.clone(),
            github_url: input.github_url.clone(),
            github_api_url: input.github_api_url.clone(),
            client_id: input.client_id.clone(),
            scopes: input.scopes.clone(),
            allow_signup: input.allow_signup.unwrap_or(false),
        };
        let p = self.checked_provider(&settings, input.client_secret.clone())?;
        self.refuse_config_name(&p.name, "is used by a provider of the config file")?;
        let now = self.clock.now();
        let stored = StoredProvider {
            settings: StoredSettings::of(&p),
            client_secret: self.seal_idp_secret(&p.name, 1, &p.client_secret).await?,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let audit = self.audit(
            who,
            ProjectId::SYSTEM,
            "identity_provider.create",
            ("identity_provider", p.name.clone()),
            json!({"kind": p.preset, "display_name": p.display_name, "allow_signup": p.allow_signup}),
        );
        self.store
            .insert_identity_provider(&stored, &audit)
            .await
            .map_err(|e| match e {
                Error::Conflict(_) => Error::Conflict(format!("identity provider {:?} already exists", p.name)),
                e => e,
            })?;
        self.invalidate(Invalidation::IdentityProviders).await;
        Ok(entry(&stored))
    }

    /// Changes a provider managed over REST (server admins); the config file's are `Conflict`.
    #[instrument(level = "debug", skip_all, fields(provider = %name))]
    pub async fn update_identity_provider(
        &self,
        who: &Principal,
        name: &str,
        patch: &IdentityProviderPatch,
    ) -> Result<IdpEntry> {
        require_server_admin(who, true)?;
        self.refuse_config_name(name, "is set in the config file: change it there")?;
        let current = self.stored_provider(name).await?;
        let old = &current.settings;
        let (issuer, github_url, github_api_url) = match &old.kind {
            IdpKind::Oidc { issuer } => (Some(issuer.clone()), None, None),
            IdpKind::GitHub { web_url, api_url } => (None, Some(web_url.clone()), Some(api_url.clone())),
        };
        let settings = ProviderSettings {
            name: old.name.clone(),
            kind: old.preset.clone(),
            display_name: Some(patch.display_name.clone().unwrap_or_else(|| old.display_name.clone())),
            issuer: patch.issuer.clone().or(issuer),
            github_url: patch.github_url.clone().or(github_url),
            github_api_url: patch.github_api_url.clone().or(github_api_url),
            client_id: patch.client_id.clone().unwrap_or_else(|| old.client_id.clone()),
            scopes: Some(patch.scopes.clone().unwrap_or_else(|| old.scopes.clone())),
            allow_signup: patch.allow_signup.unwrap_or(old.allow_signup),
        };
        let secret = match &patch.client_secret {
            Some(s) => s.clone(),
            None => self.open_idp_secret(&current).await?,
        };
        let p = self.checked_provider(&settings, secret)?;
        let version = current.version + 1;
        let stored = StoredProvider {
            settings: StoredSettings::of(&p),
            client_secret: self.seal_idp_secret(name, version, &p.client_secret).await?,
            created_at: current.created_at,
            updated_at: self.clock.now(),
            version,
        };
        let changed: Vec<&str> = [
            ("display_name", patch.display_name.is_some()),
            ("issuer", patch.issuer.is_some()),
            ("github_url", patch.github_url.is_some()),
            ("github_api_url", patch.github_api_url.is_some()),
            ("client_id", patch.client_id.is_some()),
            ("client_secret", patch.client_secret.is_some()),
            ("scopes", patch.scopes.is_some()),
            ("allow_signup", patch.allow_signup.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect();
        let audit = self.audit(
            who,
            ProjectId::SYSTEM,
            "identity_provider.update",
            ("identity_provider", name.to_owned()),
            json!({ "changed": changed }),
        );
        if !self.store.update_identity_provider(&stored, &audit).await? {
            return Err(Error::Conflict(
                "the identity provider changed meanwhile; read it again".into(),
            ));
        }
        self.invalidate(Invalidation::IdentityProviders).await;
        Ok(entry(&stored))
    }

    /// Removes a provider managed over REST and the identities linked through it (server
    /// admins): those accounts sign in another way (a password, another provider, a reset).
    #[instrument(level = "debug", skip_all, fields(provider = %name))]
    pub async fn delete_identity_provider(&self, who: &Principal, name: &str) -> Result<()> {
        require_server_admin(who, true)?;
        self.refuse_config_name(name, "is set in the config file: remove it there")?;
        let audit = self.audit(
            who,
            ProjectId::SYSTEM,
            "identity_provider.delete",
            ("identity_provider", name.to_owned()),
            json!({}),
        );
        if !self.store.delete_identity_provider(name, &audit).await? {
            return Err(Error::NotFound("identity provider"));
        }
        self.invalidate(Invalidation::IdentityProviders).await;
        Ok(())
    }

    /// Reads the providers in use again: the config file's, then the stored ones whose secret
    /// opens and whose name the config file does not take.
    pub(crate) async fn reload_identity_providers(&self) -> Result<()> {
        let mut providers: Vec<IdentityProvider> = self.config_providers().cloned().collect();
        for stored in self.store.list_identity_providers().await? {
            let name = &stored.settings.name;
            if providers.iter().any(|p| &p.name == name) {
                tracing::warn!(provider = %name, "a stored identity provider has a config file provider's name: not used");
                continue;
            }
            match self.open_idp_secret(&stored).await {
                Ok(secret) => providers.push(stored.settings.with_secret(secret)),
                Err(e) => {
                    tracing::error!(provider = %name, error = %e, "an identity provider's secret does not open: not used")
                }
            }
        }
        self.upstreams.replace(providers);
        Ok(())
    }

    /// [`Gatehouse::reload_identity_providers`], a failure logged (the providers in use stay).
    pub(crate) async fn reload_identity_providers_logged(&self) {
        if let Err(e) = self.reload_identity_providers().await {
            tracing::error!(error = %e, "reloading identity providers failed");
        }
    }

    fn config_providers(&self) -> impl Iterator<Item = &IdentityProvider> {
        self.provider.config.identity_providers.iter()
    }

    fn refuse_config_name(&self, name: &str, why: &str) -> Result<()> {
        if self.config_providers().any(|p| p.name == name) {
            return Err(Error::Conflict(format!("identity provider {name:?} {why}")));
        }
        Ok(())
    }

    /// The provider resolved and checked, its URLs under the outbound policy.
    fn checked_provider(&self, settings: &ProviderSettings, secret: SecretString) -> Result<IdentityProvider> {
        let p = settings.resolve(secret, "")?;
        for (field, url) in p.urls() {
            self.upstreams.http.check_endpoint(field, url)?;
        }
        Ok(p)
    }

    async fn stored_provider(&self, name: &str) -> Result<StoredProvider> {
        self.store
            .list_identity_providers()
            .await?
            .into_iter()
            .find(|p| p.settings.name == name)
            .ok_or(Error::NotFound("identity provider"))
    }

    async fn seal_idp_secret(&self, name: &str, version: i64, secret: &SecretString) -> Result<crate::model::Sealed> {
        self.seal(
            ProjectId::SYSTEM,
            &secret_aad(name, version),
            secret.expose_secret().as_bytes(),
        )
        .await
    }

    async fn open_idp_secret(&self, p: &StoredProvider) -> Result<SecretString> {
        let bytes = self
            .open_sealed(
                ProjectId::SYSTEM,
                &secret_aad(&p.settings.name, p.version),
                &p.client_secret,
            )
            .await?;
        Ok(SecretString::new(String::from_utf8(bytes).map_err(Error::unexpected)?))
    }
}

fn config_entry(p: &IdentityProvider) -> IdpEntry {
    IdpEntry {
        settings: StoredSettings::of(p),
        source: IdpSource::Config,
        created_at: None,
        updated_at: None,
    }
}
