//! First start (SPEC §2, §4.7): the system project, the official clients, the first admin and a
//! server-admin API key, written in one transaction so that concurrent first starts of several
//! nodes create them exactly once.

use gatehouse_types::ClientInput;
use serde_json::json;

use super::Gatehouse;
use crate::clients::{Client, ClientSettings, SecretHashes};
use crate::error::Result;
use crate::ids::{ClientId, ProjectId, new_row_id};
use crate::model::{AuditRecord, BootstrapPlan, Project};
use crate::people::ProjectSettings;
use crate::rng::random_token;
use crate::secret::SecretString;

/// Choices for the first start.
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    pub admin_email: String,
    /// Generated when absent.
    pub admin_password: Option<SecretString>,
    /// Public base URL; the official clients' redirect URIs derive from it.
    pub issuer: String,
}

/// The credentials created by the first start, to be shown once.
#[derive(Debug, Clone)]
pub struct BootstrapOutcome {
    pub project_id: ProjectId,
    pub admin_email: String,
    pub admin_password: SecretString,
    pub api_key: SecretString,
}

impl Gatehouse {
    /// Whether the first-start data exists.
    pub async fn is_bootstrapped(&self) -> Result<bool> {
        Ok(self.store.get_project(ProjectId::SYSTEM).await?.is_some())
    }

    /// Creates the first-start data unless it exists; `None` when it already did.
    pub async fn bootstrap(&self, opts: &BootstrapOptions) -> Result<Option<BootstrapOutcome>> {
        self.bootstrap_keeping(opts, |_| Ok(())).await
    }

    /// [`Self::bootstrap`], handing the credentials to `keep` before they are committed: a start
    /// that dies after the commit has already kept them, and one whose `keep` fails commits
    /// nothing. `keep` also runs when another node commits first (the outcome is then `None`).
    pub async fn bootstrap_keeping(
        &self,
        opts: &BootstrapOptions,
        keep: impl FnOnce(&BootstrapOutcome) -> Result<()>,
    ) -> Result<Option<BootstrapOutcome>> {
        if self.is_bootstrapped().await? {
            return Ok(None);
        }
        let now = self.clock.now();
        let project = Project {
            id: ProjectId::SYSTEM,
            name: "System".into(),
            is_system: true,
            settings: ProjectSettings::default(),
            created_at: now,
            updated_at: now,
        };
        let password = match &opts.admin_password {
            Some(p) => p.clone(),
            None => random_token(self.rng.as_ref()).into(),
        };
        let admin = self.new_user(&opts.admin_email, "Administrator", &password).await?;
        let (api_key, api_key_value) = self
            .new_api_key(
                ProjectId::SYSTEM,
                "bootstrap",
                "Server-admin key created at first start",
                true,
            )
            .await?;
        let clients = official_clients(&opts.issuer)?
            .into_iter()
            .map(|(id, settings)| Client {
                id,
                project_id: ProjectId::SYSTEM,
                settings,
                official: true,
                secret: SecretHashes::default(),
                created_at: now,
                updated_at: now,
                version: 1,
                last_used_at: None,
            })
            .collect::<Vec<_>>();
        let event = |action: &str, target: (&str, String)| AuditRecord {
            id: new_row_id(),
            project_id: ProjectId::SYSTEM,
            at: now,
            actor_type: "system".into(),
            actor_id: "bootstrap".into(),
            action: action.into(),
            target_type: target.0.into(),
            target_id: target.1,
            details: json!({}),
        };
        let mut audit = vec![
            event("project.create", ("project", ProjectId::SYSTEM.to_string())),
            event("user.create", ("user", admin.id.to_string())),
            event("api_key.create", ("api_key", api_key.id.to_string())),
        ];
        audit.extend(
            clients
                .iter()
                .map(|c| event("client.create", ("client", c.id.to_string()))),
        );
        let plan = BootstrapPlan {
            project,
            clients,
            admin: admin.clone(),
            api_key,
            audit,
        };
        let outcome = BootstrapOutcome {
            project_id: ProjectId::SYSTEM,
            admin_email: admin.email,
            admin_password: password,
            api_key: api_key_value.into(),
        };
        keep(&outcome)?;
        if !self.store.bootstrap(&plan).await? {
            return Ok(None);
        }
        Ok(Some(outcome))
    }
}

impl Gatehouse {
    /// Points the official clients' redirect URIs (and post-logout redirect URIs) at the configured issuer (SPEC §2: every URL
    /// derives from it), so that a server first started on loopback and later published under
    /// its public URL keeps working. Runs at every start; official clients deleted with
    /// `force=true` stay deleted.
    pub async fn sync_official_clients(&self, issuer: &str) -> Result<()> {
        for (id, expected) in official_clients(issuer)? {
            let Some(current) = self.store.get_client(ProjectId::SYSTEM, &id).await? else {
                continue;
            };
            let same = current.settings.redirect_uris == expected.redirect_uris
                && current.settings.post_logout_redirect_uris == expected.post_logout_redirect_uris;
            if !current.official || same {
                continue;
            }
            let mut next = current.clone();
            next.settings.redirect_uris = expected.redirect_uris;
            next.settings.post_logout_redirect_uris = expected.post_logout_redirect_uris;
            next.updated_at = self.clock.now();
            next.version += 1;
            let audit = AuditRecord {
                id: new_row_id(),
                project_id: ProjectId::SYSTEM,
                at: next.updated_at,
                actor_type: "system".into(),
                actor_id: "start".into(),
                action: "client.update".into(),
                target_type: "client".into(),
                target_id: id.to_string(),
                details: json!({
                    "fields": ["redirect_uris", "post_logout_redirect_uris"],
                    "reason": "the issuer changed",
                }),
            };
            if self.store.update_client(&next, &audit).await? {
                self.invalidate(crate::ports::Invalidation::Client {
                    client_id: id.to_string(),
                })
                .await;
            }
        }
        Ok(())
    }
}

/// `gatehouse-cli`, `gatehouse-console` and `gatehouse-api-docs` (SPEC §4.7).
fn official_clients(issuer: &str) -> Result<Vec<(ClientId, ClientSettings)>> {
    let issuer = issuer.trim_end_matches('/');
    let public = |name: &str, grants: &[&str], redirect: Option<String>, scope: &str| ClientInput {
        name: Some(name.into()),
        require_client_secret: Some(false),
        grant_types: Some(grants.iter().map(|g| g.to_string()).collect()),
        redirect_uris: Some(redirect.into_iter().collect()),
        scope: Some(scope.into()),
        ..ClientInput::default()
    };
    let console = ClientInput {
        post_logout_redirect_uris: Some(vec![format!("{issuer}/console/signed-out")]),
        ..public(
            "Gatehouse console",
            &["authorization_code"],
            Some(format!("{issuer}/console/callback")),
            "openid profile email gatehouse_api",
        )
    };
    let specs = [
        (
            "gatehouse-cli",
            public(
                "Gatehouse CLI",
                &["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
                None,
                "openid profile email offline_access gatehouse_api",
            ),
        ),
        ("gatehouse-console", console),
        (
            "gatehouse-api-docs",
            public(
                "Gatehouse API reference",
                &["authorization_code"],
                Some(format!("{issuer}/docs/oauth2-redirect")),
                "openid profile email gatehouse_api",
            ),
        ),
    ];
    specs
        .into_iter()
        .map(|(id, mut input)| {
            input.metadata = Some([("official".to_string(), "true".to_string())].into());
            Ok((ClientId::parse(id)?, ClientSettings::create(&input)?))
        })
        .collect()
}
