//! The files a first start creates, the master key and the `--bootstrap-file` credentials
//! (SPEC §2), written so that a start killed at any moment neither loses them nor stops the next
//! start: a file is complete or absent, never empty or cut short.
//!
//! The master key is synced to a partial file of this start's own, `master.key.partial-<random>`,
//! and then linked to its name; partial files a killed start left are removed once the key exists. The first-start
//! credentials are synced to a pending file of this start's own, `PATH.pending-<random>`, before
//! the first-start data is committed, and renamed to `PATH` after the commit; a start that finds
//! another node committed first removes its pending file. A start killed before its commit left
//! credentials that were never committed; one killed between the commit and the rename left the
//! committed ones pending. A later start (the database is bootstrapped, `PATH` is missing) renames
//! the pending file whose API key the database accepts; the others are removed. An existing `PATH`
//! on a database that is not bootstrapped belongs to something else and is refused.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use gatehouse_core::Gatehouse;
use gatehouse_core::service::{BootstrapOptions, BootstrapOutcome};

/// Creates the master key file at `path` with `encoded` (mode 0600), all or nothing; fails if
/// the file exists (another process created it first). Each start writes its own partial file,
/// so two first starts never link a file the other is still writing.
pub fn create_master_key_file(path: &Path, encoded: &[u8]) -> anyhow::Result<()> {
    let partial = sibling(path, &format!("{PARTIAL}{}", uuid::Uuid::new_v4().simple()));
    write_synced(&partial, encoded)?;
    let linked = std::fs::hard_link(&partial, path).with_context(|| format!("creating {}", path.display()));
    remove_if_present(&partial)?;
    linked?;
    sync_dir(path)
}

/// Removes the partial master key files that starts killed before their cleanup left next to an
/// existing `path`: each is a copy of a key (this one, or one that never became it).
pub fn remove_partial_master_keys(path: &Path) -> anyhow::Result<()> {
    let prefix = format!("{}{PARTIAL}", path.file_name().unwrap_or_default().to_string_lossy());
    for leftover in siblings_starting_with(path, &prefix)? {
        remove_if_present(&leftover)?;
    }
    Ok(())
}

/// The suffix of partial master key files, before their random part.
const PARTIAL: &str = ".partial-";

/// Bootstraps the database unless it is, keeping the credentials in `path`.
pub async fn bootstrap(
    gh: &Gatehouse,
    opts: &BootstrapOptions,
    path: &Path,
) -> anyhow::Result<Option<BootstrapOutcome>> {
    if gh.is_bootstrapped().await? {
        finish_pending(gh, path).await?;
        return Ok(None);
    }
    anyhow::ensure!(
        !path.exists(),
        "the bootstrap file {} exists but the database has not been bootstrapped; move it away",
        path.display()
    );
    let pending = sibling(path, &format!("{PENDING}{}", uuid::Uuid::new_v4().simple()));
    let outcome = gh
        .bootstrap_keeping(opts, |b| {
            write_pending(&pending, b).map_err(gatehouse_core::Error::unexpected)
        })
        .await?;
    match outcome {
        Some(_) => {
            publish(&pending, path)?;
            finish_pending(gh, path).await?;
        }
        None => remove_if_present(&pending)?,
    }
    Ok(outcome)
}

/// The suffix of pending credential files, before their random part.
const PENDING: &str = ".pending-";

/// On a bootstrapped database: renames the pending file holding the committed credentials to
/// `path` if `path` is missing (the start that committed them was killed before renaming), and
/// removes every other pending file (left by starts killed before their commit, or by a
/// concurrent start that will find its commit refused).
async fn finish_pending(gh: &Gatehouse, path: &Path) -> anyhow::Result<()> {
    let prefix = format!("{}{PENDING}", path.file_name().unwrap_or_default().to_string_lossy());
    for pending in siblings_starting_with(path, &prefix)? {
        if !path.exists() && holds_committed_key(gh, &pending).await {
            publish(&pending, path)?;
        } else {
            remove_if_present(&pending)?;
        }
    }
    Ok(())
}

/// The files in `path`'s directory whose names start with `prefix`.
fn siblings_starting_with(path: &Path, prefix: &str) -> anyhow::Result<Vec<PathBuf>> {
    let dir = parent(path);
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            found.push(entry.path());
        }
    }
    Ok(found)
}

/// Whether `pending` holds credentials whose API key the database accepts.
async fn holds_committed_key(gh: &Gatehouse, pending: &Path) -> bool {
    let key = std::fs::read(pending)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|json| json.get("api_key").and_then(|k| k.as_str()).map(str::to_owned));
    match key {
        Some(key) => gh.authenticate_api_key(&key).await.is_ok(),
        None => false,
    }
}

/// Removes `path`; a missing file is fine.
fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// `PATH` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// `{"admin_email", "admin_password", "api_key", "project_id"}` in the pending file.
fn write_pending(pending: &Path, b: &BootstrapOutcome) -> anyhow::Result<()> {
    let json = serde_json::json!({
        "admin_email": b.admin_email,
        "admin_password": b.admin_password.expose_secret(),
        "api_key": b.api_key.expose_secret(),
        "project_id": b.project_id.to_string(),
    });
    write_synced(pending, serde_json::to_string_pretty(&json)?.as_bytes())
}

/// Writes `contents` to a new file at `path` readable only by its owner (mode 0600) and syncs
/// it and its directory; a file left there by a killed process is replaced.
fn write_synced(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    remove_if_present(path)?;
    let mut file = crate::config::create_private_file(path)?;
    file.write_all(contents)?;
    file.sync_all()?;
    sync_dir(path)
}

/// Renames the pending file to `path` and syncs the directory, so the rename survives too.
fn publish(pending: &Path, path: &Path) -> anyhow::Result<()> {
    std::fs::rename(pending, path).with_context(|| format!("renaming {} to {}", pending.display(), path.display()))?;
    sync_dir(path)
}

/// The directory holding `file`.
fn parent(file: &Path) -> &Path {
    match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Syncs the directory holding `file`, making its creation or rename durable.
fn sync_dir(file: &Path) -> anyhow::Result<()> {
    let dir = parent(file);
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_file_sits_next_to_the_bootstrap_file() {
        assert_eq!(
            sibling(Path::new("/data/boot.json"), ".pending-1"),
            PathBuf::from("/data/boot.json.pending-1")
        );
        assert_eq!(parent(Path::new("boot.json")), Path::new("."));
        assert_eq!(parent(Path::new("/data/boot.json")), Path::new("/data"));
    }

    #[test]
    fn a_master_key_file_is_whole_and_partial_copies_do_not_outlive_it() {
        let dir = std::env::temp_dir().join(format!("gatehouse-first-start-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        // A start killed while writing its partial file, before the link.
        std::fs::write(dir.join("master.key.partial-cut"), "cut sh").unwrap();
        create_master_key_file(&path, b"the whole key").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"the whole key");
        let names = || {
            let mut names: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        };
        assert_eq!(
            names(),
            ["master.key", "master.key.partial-cut"],
            "this start's own partial file is gone"
        );
        // A start killed between the link and its cleanup left a copy of the key.
        std::fs::write(dir.join("master.key.partial-linked"), "the whole key").unwrap();
        remove_partial_master_keys(&path).unwrap();
        assert_eq!(names(), ["master.key"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(
            create_master_key_file(&path, b"another key").is_err(),
            "an existing key is never replaced"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"the whole key");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
