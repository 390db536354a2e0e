//! The CLI's own settings file (`cli.json`): the project chosen with `project activate`.
//!
//! Lives in `$XDG_CONFIG_HOME/gatehouse/cli.json`, else `~/.config/gatehouse/cli.json`. It holds
//! no secret, but it says which tenant later commands change, so it is written owner-only
//! (0600, directory 0700) and replaced atomically.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Contents of `cli.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliConfig {
    /// The project later commands act on when `--project` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_project: Option<ActiveProject>,
}

/// A project saved by `project activate`, tied to the server it was chosen on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveProject {
    pub id: Uuid,
    pub name: String,
    /// The server URL (normalised) the project belongs to.
    pub server: String,
}

/// The default location of `cli.json`, from the process environment.
pub fn default_path() -> Result<PathBuf> {
    path_from(std::env::var_os("XDG_CONFIG_HOME"), std::env::var_os("HOME"))
        .ok_or_else(|| anyhow!("cannot locate the config directory: set HOME or XDG_CONFIG_HOME, or pass --cli-config"))
}

/// `$XDG_CONFIG_HOME/gatehouse/cli.json` when that is an absolute path (the XDG spec says relative
/// values are ignored), else `$HOME/.config/gatehouse/cli.json`.
pub fn path_from(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let base = xdg_config_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("gatehouse").join("cli.json"))
}

/// Reads `path`; a missing file is an empty configuration.
pub fn load(path: &Path) -> Result<CliConfig> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CliConfig::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes `config` to `path` with mode 0600, atomically (see [`write_private_atomic`]).
pub fn save(path: &Path, config: &CliConfig) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(config)?;
    json.push(b'\n');
    write_private_atomic(path, &json)
}

/// Replaces `path` with `bytes`: written to a temporary file beside it, created with mode 0600
/// (never readable by others, not even for a moment), then renamed over it, so a crash never
/// leaves a half-written file and an older file's looser mode is not kept. A missing parent
/// directory is created with mode 0700.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let file_name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    // A leftover from a crashed run of this same pid would make `create_new` fail.
    let _ = fs::remove_file(&tmp);
    let written = write_private(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        // Best effort: the temporary file is ours and useless now.
        let _ = fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("gatehouse-cli-{tag}-{}-{nanos}-{n}", std::process::id()));
            fs::create_dir_all(&dir).expect("create temp dir");
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn sample() -> CliConfig {
        CliConfig {
            active_project: Some(ActiveProject {
                id: Uuid::nil(),
                name: "demo".into(),
                server: "http://127.0.0.1:8080/".into(),
            }),
        }
    }

    #[test]
    fn saved_config_reads_back() {
        let dir = TempDir::new("roundtrip");
        let path = dir.0.join("nested").join("cli.json");
        save(&path, &sample()).expect("save");
        assert_eq!(load(&path).expect("load"), sample());
    }

    #[test]
    fn missing_file_is_an_empty_config() {
        let dir = TempDir::new("missing");
        assert_eq!(load(&dir.0.join("cli.json")).expect("load"), CliConfig::default());
    }

    #[cfg(unix)]
    #[test]
    fn config_file_is_owner_only_even_when_it_existed_with_a_looser_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("mode");
        let path = dir.0.join("gatehouse").join("cli.json");
        fs::create_dir_all(dir.0.join("gatehouse")).expect("dir");
        fs::write(&path, "{}").expect("old file");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");

        save(&path, &sample()).expect("save");

        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.0.join("gatehouse"))
            .expect("read dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() != "cli.json")
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[cfg(unix)]
    #[test]
    fn new_config_directory_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("dirmode");
        let path = dir.0.join("gatehouse").join("cli.json");
        save(&path, &sample()).expect("save");
        let mode = fs::metadata(dir.0.join("gatehouse"))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn xdg_config_home_wins_when_absolute() {
        assert_eq!(
            path_from(Some("/xdg".into()), Some("/home/u".into())),
            Some(PathBuf::from("/xdg/gatehouse/cli.json"))
        );
        assert_eq!(
            path_from(Some("relative".into()), Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.config/gatehouse/cli.json"))
        );
        assert_eq!(
            path_from(None, Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.config/gatehouse/cli.json"))
        );
        assert_eq!(path_from(None, None), None);
    }

    #[test]
    fn corrupt_file_is_reported_with_its_path() {
        let dir = TempDir::new("corrupt");
        let path = dir.0.join("cli.json");
        fs::write(&path, "not json").expect("write");
        let err = load(&path).expect_err("corrupt");
        assert!(format!("{err:#}").contains("cli.json"));
    }
}
