//! `--bootstrap-file` (SPEC §2): the first-start credentials, kept so that a start killed at any
//! moment loses none of them and does not stop the next start.
//!
//! They are written to `PATH.pending` and synced before the first-start data is committed, and
//! renamed to `PATH` after the commit. A start killed before the commit left nothing committed:
//! the next start overwrites the pending file with new credentials. A start killed between the
//! commit and the rename left the committed credentials in the pending file: the next start (the
//! database is bootstrapped, `PATH` is missing) finishes the rename. An existing `PATH` on a
//! database that is not bootstrapped belongs to something else and is refused.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use gatehouse_core::Gatehouse;
use gatehouse_core::service::{BootstrapOptions, BootstrapOutcome};

/// Bootstraps the database unless it is, keeping the credentials in `path`.
pub async fn bootstrap(
    gh: &Gatehouse,
    opts: &BootstrapOptions,
    path: &Path,
) -> anyhow::Result<Option<BootstrapOutcome>> {
    let pending = pending_path(path);
    if gh.is_bootstrapped().await? {
        if pending.exists() && !path.exists() {
            publish(&pending, path)?;
        }
        return Ok(None);
    }
    anyhow::ensure!(
        !path.exists(),
        "the bootstrap file {} exists but the database has not been bootstrapped; move it away",
        path.display()
    );
    let outcome = gh
        .bootstrap_keeping(opts, |b| {
            write_pending(&pending, b).map_err(gatehouse_core::Error::unexpected)
        })
        .await?;
    match outcome {
        Some(_) => publish(&pending, path)?,
        None => std::fs::remove_file(&pending).with_context(|| format!("removing {}", pending.display()))?,
    }
    Ok(outcome)
}

/// `PATH.pending`, next to `PATH`.
fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".pending");
    path.with_file_name(name)
}

/// `{"admin_email", "admin_password", "api_key", "project_id"}`, mode 0600, synced; replaces the
/// pending file of a start that died before its commit.
fn write_pending(pending: &Path, b: &BootstrapOutcome) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::fs::remove_file(pending) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", pending.display()));
        }
        _ => {}
    }
    let json = serde_json::json!({
        "admin_email": b.admin_email,
        "admin_password": b.admin_password.expose_secret(),
        "api_key": b.api_key.expose_secret(),
        "project_id": b.project_id.to_string(),
    });
    let mut file = crate::config::create_private_file(pending)?;
    file.write_all(serde_json::to_string_pretty(&json)?.as_bytes())?;
    file.sync_all()?;
    sync_dir(pending)
}

/// Renames the pending file to `path` and syncs the directory, so the rename survives too.
fn publish(pending: &Path, path: &Path) -> anyhow::Result<()> {
    std::fs::rename(pending, path).with_context(|| format!("renaming {} to {}", pending.display(), path.display()))?;
    sync_dir(path)
}

/// Syncs the directory holding `file`, making its creation or rename durable.
fn sync_dir(file: &Path) -> anyhow::Result<()> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pending_file_sits_next_to_the_bootstrap_file() {
        assert_eq!(
            pending_path(Path::new("/data/boot.json")),
            PathBuf::from("/data/boot.json.pending")
        );
        assert_eq!(pending_path(Path::new("boot.json")), PathBuf::from("boot.json.pending"));
    }
}
