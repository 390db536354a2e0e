//! The OAuth client registry's use cases (SPEC §4.3–§4.7) and the cache behind secret checks.

use std::sync::Arc;

use gatehouse_types::ClientInput;
use serde_json::json;

use super::Gatehouse;
use crate::access::{Access, Principal};
use crate::clients::{AppBrand, Client, ClientSettings, KNOWN_SCOPES, SECRET_HASH_DOMAIN, SecretHashes};
use crate::error::{Error, Result};
use crate::export::{ExportFormat, ExportRow, render};
use crate::ids::{ClientId, ProjectId};
use crate::ports::{Invalidation, Page};
use crate::rng::random_token;
use crate::secret::{Secret, SecretString};
use crate::text::check_filter;

/// Shortest caller-chosen client secret (SPEC §4.3).
const MIN_SECRET: usize = 32;
/// Longest caller-chosen client secret.
const MAX_SECRET: usize = 512;
/// Longest grace period for a previous secret: 30 days.
const MAX_GRACE: u32 = 30 * 86_400;
/// Most rows one export writes.
pub const MAX_EXPORT_ROWS: u64 = 100_000;

/// An export ready to send.
#[derive(Debug)]
pub struct ExportFile {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub file_name: String,
}

impl Gatehouse {
    /// What the pages of an authorization request from `client_id` show about its app; `None`
    /// for an unknown or disabled client.
    pub async fn app_brand(&self, client_id: &str) -> Result<Option<AppBrand>> {
        match self.enabled_client(client_id).await? {
            Some(client) => self.brand_of(&client).await.map(Some),
            None => Ok(None),
        }
    }

    /// The brand of `client`, with the name of its own project.
    pub async fn brand_of(&self, client: &Client) -> Result<AppBrand> {
        let project = self.store.get_project(client.project_id).await?;
        Ok(AppBrand::new(
            &client.settings,
            project.map(|p| p.name).unwrap_or_default(),
        ))
    }

    /// Registers a client. Confidential clients get a generated secret, returned only here.
    pub async fn create_client(
        &self,
        who: &Principal,
        project: ProjectId,
        input: &ClientInput,
    ) -> Result<(Client, Option<Secret<String>>)> {
        let access = self.access(who, project).await?;
        access.require_developer()?;
        let settings = ClientSettings::create(input)?;
        check_llm_proxy(&access, &settings)?;
        self.check_client_resources(project, &settings).await?;
        let id = match &input.client_id {
            Some(id) => ClientId::parse(id)?,
            None => ClientId::generate(self.rng.as_ref()),
        };
        let now = self.clock.now();
        let secret = settings.require_client_secret.then(|| random_token(self.rng.as_ref()));
        let client = Client {
            secret: SecretHashes {
                current: secret.as_ref().map(|s| {
                    self.keys
                        .hasher()
                        .hash(SECRET_HASH_DOMAIN, id.as_str(), s.expose_secret())
                        .into()
                }),
                rotated_at: secret.as_ref().map(|_| now),
                ..SecretHashes::default()
            },
            id,
            project_id: project,
            settings,
            official: false,
            created_at: now,
            updated_at: now,
            version: 1,
            last_used_at: None,
        };
        let audit = self.audit(
            who,
            project,
            "client.create",
            ("client", client.id.to_string()),
            json!({ "name": client.settings.name }),
        );
        self.store.insert_client(&client, &audit).await?;
        Ok((client, secret))
    }

    /// One client of the project.
    pub async fn get_client(&self, who: &Principal, project: ProjectId, id: &str) -> Result<Client> {
        self.access(who, project).await?;
        self.load_client(project, id).await
    }

    /// A page of the project's clients matching `filter` (id or name, case-insensitive), and the total.
    pub async fn list_clients(
        &self,
        who: &Principal,
        project: ProjectId,
        filter: Option<&str>,
        page: Page,
    ) -> Result<(Vec<Client>, u64)> {
        self.access(who, project).await?;
        let filter = normalise_filter(filter)?;
        self.store.list_clients(project, filter.as_deref(), page).await
    }

    /// Changes any subset of a client's mutable settings.
    pub async fn update_client(
        &self,
        who: &Principal,
        project: ProjectId,
        id: &str,
        input: &ClientInput,
    ) -> Result<Client> {
        let access = self.access(who, project).await?;
        access.require_developer()?;
        if input.client_id.as_deref().is_some_and(|given| given != id) {
            return Err(Error::invalid(
                "client_id",
                "is immutable and must equal the client id in the path",
            ));
        }
        let current = self.load_client(project, id).await?;
        check_llm_proxy(&access, &current.settings)?;
        let settings = current.settings.update(input)?;
        check_llm_proxy(&access, &settings)?;
        if input.scope.is_some() || input.default_resource.is_some() || input.token_exchange_resources.is_some() {
            self.check_client_resources(project, &settings).await?;
        }
        let mut next = Client {
            settings,
            updated_at: self.clock.now(),
            version: current.version + 1,
            ..current.clone()
        };
        if !next.settings.require_client_secret {
            next.secret = SecretHashes::default();
        }
        let audit = self.audit(
            who,
            project,
            "client.update",
            ("client", id.to_owned()),
            json!({ "fields": changed_fields(input), "changes": changes(&current.settings, &next.settings) }),
        );
        if !self.store.update_client(&next, &audit).await? {
            return Err(Error::Conflict("the client changed concurrently; retry".into()));
        }
        self.invalidate(Invalidation::Client {
            client_id: id.to_owned(),
        })
        .await;
        Ok(next)
    }

    /// Deletes a client; official clients need `force`. Takes effect at once on every node.
    pub async fn delete_client(&self, who: &Principal, project: ProjectId, id: &str, force: bool) -> Result<()> {
        let access = self.access(who, project).await?;
        access.require_developer()?;
        let client = self.load_client(project, id).await?;
        check_llm_proxy(&access, &client.settings)?;
        if client.official && !force {
            return Err(Error::Conflict(
                "official clients are deleted only with force=true".into(),
            ));
        }
        let audit = self.audit(
            who,
            project,
            "client.delete",
            ("client", id.to_owned()),
            json!({ "forced": force && client.official }),
        );
        if !self.store.delete_client(project, &client.id, &audit).await? {
            return Err(Error::NotFound("client"));
        }
        self.usage.forget(id);
        self.invalidate(Invalidation::Client {
            client_id: id.to_owned(),
        })
        .await;
        Ok(())
    }

    /// Sets a new secret (generated, or the caller's); the previous one stays valid for
    /// `grace_seconds`. The new secret is returned only here.
    pub async fn rotate_client_secret(
        &self,
        who: &Principal,
        project: ProjectId,
        id: &str,
        chosen: Option<SecretString>,
        grace_seconds: u32,
    ) -> Result<Secret<String>> {
        let access = self.access(who, project).await?;
        access.require_developer()?;
        let current = self.load_client(project, id).await?;
        check_llm_proxy(&access, &current.settings)?;
        if !current.settings.require_client_secret {
            return Err(Error::invalid("client_secret", "public clients have no secret"));
        }
        if grace_seconds > MAX_GRACE {
            return Err(Error::invalid("grace_seconds", format!("must be at most {MAX_GRACE}")));
        }
        let caller_chosen = chosen.is_some();
        let secret = match chosen {
            Some(s)
                if (MIN_SECRET..=MAX_SECRET).contains(&s.expose_secret().len())
                    && !s.expose_secret().chars().any(|c| c.is_control() || c.is_whitespace()) =>
            {
                Secret::new(s.into_secret())
            }
            Some(_) => {
                return Err(Error::invalid(
                    "client_secret",
                    format!("must be {MIN_SECRET}-{MAX_SECRET} characters without spaces"),
                ));
            }
            None => random_token(self.rng.as_ref()),
        };
        let now = self.clock.now();
        let keep_previous = grace_seconds > 0 && current.secret.current.is_some();
        let mut next = current.clone();
        next.secret = SecretHashes {
            current: Some(
                self.keys
                    .hasher()
                    .hash(SECRET_HASH_DOMAIN, id, secret.expose_secret())
                    .into(),
            ),
            previous: keep_previous.then(|| current.secret.current.clone()).flatten(),
            previous_expires_at: keep_previous.then(|| now.plus_secs(grace_seconds.into())),
            rotated_at: Some(now),
        };
        next.updated_at = now;
        next.version += 1;
        let audit = self.audit(
            who,
            project,
            "client.secret.rotate",
            ("client", id.to_owned()),
            json!({ "grace_seconds": grace_seconds, "caller_chosen": caller_chosen }),
        );
        if !self.store.update_client(&next, &audit).await? {
            return Err(Error::Conflict("the client changed concurrently; retry".into()));
        }
        self.invalidate(Invalidation::Client {
            client_id: id.to_owned(),
        })
        .await;
        Ok(secret)
    }

    /// The filtered list as a file (every page, up to [`MAX_EXPORT_ROWS`]).
    pub async fn export_clients(
        &self,
        who: &Principal,
        project: ProjectId,
        format: &str,
        filter: Option<&str>,
    ) -> Result<ExportFile> {
        self.access(who, project).await?;
        let format = ExportFormat::parse(format).ok_or_else(|| Error::invalid("format", "must be xlsx, pdf or csv"))?;
        let filter = normalise_filter(filter)?;
        let project_name = self
            .store
            .get_project(project)
            .await?
            .ok_or(Error::NotFound("project"))?
            .name;
        let mut rows = Vec::new();
        let mut offset = 0;
        loop {
            let page = Page {
                offset,
                count: super::MAX_PAGE,
            };
            let (clients, total) = self.store.list_clients(project, filter.as_deref(), page).await?;
            rows.extend(clients.iter().map(export_row));
            offset += clients.len() as u64;
            if clients.is_empty() || offset >= total.min(MAX_EXPORT_ROWS) {
                break;
            }
        }
        let title = format!("OAuth clients of {project_name}");
        let generated = self.clock.now().rfc3339();
        let bytes = tokio::task::spawn_blocking(move || render(format, &title, &generated, &rows))
            .await
            .map_err(Error::unexpected)?
            .map_err(Error::unexpected)?;
        Ok(ExportFile {
            bytes,
            content_type: format.content_type(),
            file_name: format!("oauth-clients.{}", format.extension()),
        })
    }

    /// A client's history: its audit entries, newest first, and the total (developers and
    /// admins, as the audit log).
    pub async fn client_history(
        &self,
        who: &Principal,
        project: ProjectId,
        id: &str,
        page: Page,
    ) -> Result<(Vec<crate::model::AuditRecord>, u64)> {
        self.access(who, project).await?.require_developer_read()?;
        self.load_client(project, id).await?;
        self.store.list_audit_of(project, "client", id, page).await
    }

    /// When `c` last got a token, as far as this node knows (storage lags by up to a minute).
    pub fn client_last_used(&self, c: &Client) -> Option<crate::time::Timestamp> {
        c.last_used_at.max(self.usage.last(c.id.as_str()))
    }

    /// Notes that client `id` got a token at `now`; written to storage at most once a minute.
    pub(crate) async fn note_client_use(&self, id: &ClientId, now: crate::time::Timestamp) {
        if self.usage.note(id.as_str(), now)
            && let Err(e) = self.store.record_client_use(id, now).await
        {
            tracing::warn!(error = %e, client_id = %id, "recording a client's last use failed");
        }
    }

    /// Authenticates a client by id and secret: a cache hit costs one keyed hash and a
    /// constant-time comparison (the token endpoint's hot path). Disabled clients never verify.
    pub async fn verify_client_secret(&self, id: &str, secret: &SecretString) -> Result<Arc<Client>> {
        let now = self.clock.now();
        let client = self.cached_client(id).await?.ok_or_else(invalid_client)?;
        let ok = client.verify_secret(self.keys.hasher(), secret.expose_secret(), now);
        if ok && client.settings.enabled {
            Ok(client)
        } else {
            Err(invalid_client())
        }
    }

    /// Scopes beyond the built-in ones, the default resource and the token exchange resources
    /// must be the project's own API resources' (never another project's).
    async fn check_client_resources(&self, project: ProjectId, s: &ClientSettings) -> Result<()> {
        let custom: Vec<&String> = s
            .scope
            .iter()
            .filter(|sc| !KNOWN_SCOPES.contains(&sc.as_str()))
            .collect();
        if custom.is_empty() && s.default_resource.is_none() && s.token_exchange_resources.is_empty() {
            return Ok(());
        }
        let resources = self.store.list_resources(project).await?;
        if let Some(unknown) = custom.iter().find(|sc| !resources.iter().any(|r| r.defines(sc))) {
            return Err(Error::invalid(
                "scope",
                format!("{unknown:?} is neither a built-in scope nor a scope of this project's API resources"),
            ));
        }
        let known = |id: &String| resources.iter().any(|r| &r.identifier == id);
        if let Some(d) = s.default_resource.as_ref().filter(|d| !known(d)) {
            return Err(Error::invalid(
                "default_resource",
                format!("{d:?} is not an API resource of this project"),
            ));
        }
        match s.token_exchange_resources.iter().find(|r| !known(r)) {
            Some(r) => Err(Error::invalid(
                "token_exchange_resources",
                format!("{r:?} is not an API resource of this project"),
            )),
            None => Ok(()),
        }
    }

    async fn load_client(&self, project: ProjectId, id: &str) -> Result<Client> {
        let id = ClientId::parse(id).map_err(|_| Error::NotFound("client"))?;
        self.store
            .get_client(project, &id)
            .await?
            .ok_or(Error::NotFound("client"))
    }
}

fn invalid_client() -> Error {
    Error::Unauthorized("invalid client credentials".into())
}

fn check_llm_proxy(access: &Access, settings: &ClientSettings) -> Result<()> {
    if settings.uses_llm_proxy() {
        access.require_llm_proxy()
    } else {
        Ok(())
    }
}

fn normalise_filter(filter: Option<&str>) -> Result<Option<String>> {
    Ok(check_filter("filter", filter, 200)?.map(str::to_lowercase))
}

fn export_row(c: &Client) -> ExportRow {
    ExportRow {
        client_id: c.id.to_string(),
        name: c.settings.name.clone(),
        enabled: c.settings.enabled,
        client_uri: c.settings.client_uri.clone(),
        grant_types: c.settings.grant_types.clone(),
        created_at: c.created_at.rfc3339(),
    }
}

/// Names of the fields an update sets, for the audit log (values may be sensitive; names are not).
/// Each setting that differs: `{field: {before, after}}` (settings hold no secret).
fn changes(before: &ClientSettings, after: &ClientSettings) -> serde_json::Value {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return json!({});
    };
    let diff: serde_json::Map<String, serde_json::Value> = a
        .into_iter()
        .filter_map(|(k, now)| {
            let was = b.get(&k).cloned().unwrap_or(serde_json::Value::Null);
            (was != now).then(|| (k, json!({ "before": was, "after": now })))
        })
        .collect();
    diff.into()
}

fn changed_fields(input: &ClientInput) -> Vec<String> {
    match serde_json::to_value(input) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}
