//! Project secrets (SPEC §7.6): `keys` (a JSON map of environment variables) and `docker`
//! registry credentials, sealed under the project's data key. Lists show metadata only; reading
//! one is audited.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::Gatehouse;
use crate::access::Principal;
use crate::crypto::RowAad;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, SecretId, new_row_id};
use crate::model::ProjectSecretRecord;
use crate::secret::SecretString;
use crate::text::check_name;

/// Largest decoded secret payload.
const MAX_DATA: usize = 64 * 1024;

fn aad(project: ProjectId, id: SecretId, version: i64) -> RowAad {
    RowAad::new("project_secret", &project.to_string(), "", "", &id.to_string(), version)
}

/// Checks `data_base64` against the secret type and returns the decoded bytes.
fn decode_data(kind: &str, data_base64: &str) -> Result<Vec<u8>> {
    let bytes = STANDARD
        .decode(data_base64.trim())
        .map_err(|_| Error::invalid("data_base64", "is not valid base64"))?;
    if bytes.len() > MAX_DATA {
        return Err(Error::invalid(
            "data_base64",
            format!("decodes to more than {MAX_DATA} bytes"),
        ));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| Error::invalid("data_base64", "must encode a JSON object"))?;
    match kind {
        "keys" => {
            let ok = value
                .as_object()
                .is_some_and(|m| m.values().all(serde_json::Value::is_string));
            if !ok {
                return Err(Error::invalid("data_base64", "a keys secret is a JSON map of strings"));
            }
        }
        "docker" => {
            let m = value
                .as_object()
                .ok_or_else(|| Error::invalid("data_base64", "must encode a JSON object"))?;
            let allowed = ["server", "username", "password", "email"];
            if m.keys().any(|k| !allowed.contains(&k.as_str())) || m.values().any(|v| !v.is_string()) {
                return Err(Error::invalid(
                    "data_base64",
                    "a docker secret is {server, username, password, email} strings",
                ));
            }
            if ["server", "username", "password"].iter().any(|k| !m.contains_key(*k)) {
                return Err(Error::invalid(
                    "data_base64",
                    "a docker secret needs server, username and password",
                ));
            }
        }
        _ => return Err(Error::invalid("type", "must be \"keys\" or \"docker\"")),
    }
    Ok(bytes)
}

impl Gatehouse {
    /// Stores a new project secret (developers).
    pub async fn create_project_secret(
        &self,
        who: &Principal,
        project: ProjectId,
        name: &str,
        kind: &str,
        data_base64: &SecretString,
    ) -> Result<ProjectSecretRecord> {
        self.access(who, project).await?.require_developer()?;
        check_name("name", name, 200)?;
        let data = decode_data(kind, data_base64.expose_secret())?;
        let now = self.clock.now();
        let id = SecretId::from_uuid(new_row_id());
        let sealed = self.seal(project, &aad(project, id, 1), &data).await?;
        let record = ProjectSecretRecord {
            id,
            project_id: project,
            name: name.to_owned(),
            kind: kind.to_owned(),
            data: sealed,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let audit = self.audit(
            who,
            project,
            "project_secret.create",
            ("project_secret", id.to_string()),
            json!({ "name": name, "type": kind }),
        );
        self.store.insert_project_secret(&record, &audit).await?;
        Ok(record)
    }

    /// Metadata of every project secret (any member).
    pub async fn list_project_secrets(&self, who: &Principal, project: ProjectId) -> Result<Vec<ProjectSecretRecord>> {
        self.access(who, project).await?;
        self.store.list_project_secrets(project).await
    }

    /// One secret with its decrypted data, base64 (developers and admins). The read is audited.
    pub async fn read_project_secret(
        &self,
        who: &Principal,
        project: ProjectId,
        id: SecretId,
    ) -> Result<(ProjectSecretRecord, SecretString)> {
        self.access(who, project).await?.require_developer_read()?;
        let record = self
            .store
            .get_project_secret(project, id)
            .await?
            .ok_or(Error::NotFound("secret"))?;
        let plain = self
            .open_sealed(project, &aad(project, id, record.version), &record.data)
            .await?;
        let audit = self.audit(
            who,
            project,
            "project_secret.read",
            ("project_secret", id.to_string()),
            json!({ "name": record.name }),
        );
        self.store.insert_audit(&audit).await?;
        Ok((record, SecretString::new(STANDARD.encode(plain))))
    }

    /// Replaces a secret's name, type and data (developers).
    pub async fn update_project_secret(
        &self,
        who: &Principal,
        project: ProjectId,
        id: SecretId,
        name: &str,
        kind: &str,
        data_base64: &SecretString,
    ) -> Result<ProjectSecretRecord> {
        self.access(who, project).await?.require_developer()?;
        check_name("name", name, 200)?;
        let data = decode_data(kind, data_base64.expose_secret())?;
        let current = self
            .store
            .get_project_secret(project, id)
            .await?
            .ok_or(Error::NotFound("secret"))?;
        let version = current.version + 1;
        let data = self.seal(project, &aad(project, id, version), &data).await?;
        let next = ProjectSecretRecord {
            name: name.to_owned(),
            kind: kind.to_owned(),
            data,
            updated_at: self.clock.now(),
            version,
            ..current
        };
        let audit = self.audit(
            who,
            project,
            "project_secret.update",
            ("project_secret", id.to_string()),
            json!({ "name": name, "type": kind }),
        );
        if !self.store.update_project_secret(&next, &audit).await? {
            return Err(Error::Conflict("the secret changed concurrently; retry".into()));
        }
        Ok(next)
    }

    /// Deletes a secret (developers).
    pub async fn delete_project_secret(&self, who: &Principal, project: ProjectId, id: SecretId) -> Result<()> {
        self.access(who, project).await?.require_developer()?;
        let audit = self.audit(
            who,
            project,
            "project_secret.delete",
            ("project_secret", id.to_string()),
            json!({}),
        );
        if self.store.delete_project_secret(project, id, &audit).await? {
            Ok(())
        } else {
            Err(Error::NotFound("secret"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn keys_secrets_are_maps_of_strings() {
        assert!(decode_data("keys", &b64(r#"{"A":"1","B":"2"}"#)).is_ok());
        assert!(decode_data("keys", &b64(r#"{"A":1}"#)).is_err());
        assert!(decode_data("keys", &b64("[1]")).is_err());
        assert!(decode_data("keys", "not base64!").is_err());
    }

    #[test]
    fn docker_secrets_need_server_username_and_password() {
        assert!(decode_data("docker", &b64(r#"{"server":"r.io","username":"u","password":"p"}"#)).is_ok());
        assert!(decode_data("docker", &b64(r#"{"server":"r.io","username":"u"}"#)).is_err());
        assert!(
            decode_data(
                "docker",
                &b64(r#"{"server":"r.io","username":"u","password":"p","x":"y"}"#)
            )
            .is_err()
        );
    }

    #[test]
    fn unknown_types_and_oversized_data_are_rejected() {
        assert!(decode_data("ssh", &b64("{}")).is_err());
        let big = format!(r#"{{"A":"{}"}}"#, "x".repeat(MAX_DATA));
        assert!(decode_data("keys", &b64(&big)).is_err());
    }
}
