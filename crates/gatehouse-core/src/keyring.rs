//! The in-memory key ring: the master key, the keyed-hash key and unwrapped data keys, so that
//! sealing and opening cost one AEAD operation and no database round trip once warm.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::crypto::{DataKey, KEY_LEN, KeyedHasher, MasterKey, RowAad};
use crate::error::{Error, Result};
use crate::ids::{DataKeyId, ProjectId, new_row_id};
use crate::model::{DataKeyRecord, MasterWrappedKind, Sealed};
use crate::ports::Store;
use crate::rng::{Rng, random_bytes};
use crate::time::Clock;

const HASH_KEY_SETTING: &str = "keyed_hash_key";
const HASH_KEY_CONTEXT: &str = "gatehouse/keyed-hash-key";

/// The master key, and while a rotation is under way the one it replaces.
#[derive(Debug)]
pub struct MasterKeys {
    /// Wraps everything new, and unwraps what it wrapped.
    pub current: MasterKey,
    /// Unwraps what is still wrapped by the replaced key, until `keys rotate-master` re-wraps it.
    pub previous: Option<MasterKey>,
}

impl From<MasterKey> for MasterKeys {
    fn from(current: MasterKey) -> Self {
        Self {
            current,
            previous: None,
        }
    }
}

/// What `keys rotate-master` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rewrapped {
    /// Values re-wrapped under the current master key.
    pub rewrapped: u64,
    /// Values that were already under it when the run started.
    pub current: u64,
}

/// Keys in memory. Unwrapped data keys are cached by id; the newest per project is remembered.
/// Every key's own type redacts it in `Debug`.
#[derive(Debug)]
pub struct Keyring {
    master: MasterKey,
    previous: Option<MasterKey>,
    hasher: KeyedHasher,
    /// Seals authorization codes (derived from the keyed-hash key, so every node has it).
    code_key: DataKey,
    /// Seals opaque access tokens (derived likewise: any node opens them, and neither master-key
    /// nor signing-key rotation changes it).
    opaque_token_key: DataKey,
    data_keys: RwLock<HashMap<DataKeyId, Arc<DataKey>>>,
    current: RwLock<HashMap<ProjectId, DataKeyId>>,
}

impl Keyring {
    /// Loads the keyed-hash key (creating it on a new database). Fails when neither master key
    /// is one this database was wrapped with: nothing could be decrypted.
    pub async fn load(keys: MasterKeys, store: &dyn Store, rng: &dyn Rng) -> Result<Self> {
        let MasterKeys {
            current: master,
            previous,
        } = keys;
        let fresh = master.wrap(rng, &random_bytes::<KEY_LEN>(rng), HASH_KEY_CONTEXT);
        let wrapped = store.init_setting(HASH_KEY_SETTING, &fresh).await?;
        let bytes = unwrap_with(&master, previous.as_ref(), &wrapped, HASH_KEY_CONTEXT).map_err(|_| {
            Error::unexpected(anyhow::anyhow!(
                "the master key (fingerprint {}) does not match this database; refusing to start",
                master.id()
            ))
        })?;
        let hasher = KeyedHasher::new(&key_bytes(&bytes, "the keyed-hash key")?);
        Ok(Self {
            code_key: DataKey::from_bytes(&hasher.derive_key("authorization codes")),
            opaque_token_key: DataKey::from_bytes(&hasher.derive_key("opaque access tokens")),
            hasher,
            master,
            previous,
            data_keys: RwLock::default(),
            current: RwLock::default(),
        })
    }

    /// The master key, for secrets wrapped directly by it (signing keys).
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// Opens a value wrapped by the master key, or by the previous one during a rotation.
    pub fn unwrap_blob(&self, wrapped: &[u8], context: &str) -> Result<Vec<u8>> {
        unwrap_with(&self.master, self.previous.as_ref(), wrapped, context)
    }

    /// Re-wraps every value still wrapped by the previous master key under the current one
    /// (`gatehouse keys rotate-master`). Each value is replaced only if it did not change
    /// meanwhile, so running nodes may keep working; a value neither key opens stops the run.
    /// A pass that re-wrapped something is followed by another, which catches values a node
    /// still on the previous key added meanwhile; the last pass found nothing to re-wrap.
    /// `progress` hears (done, total) after each value.
    pub async fn rotate_master(
        &self,
        store: &dyn Store,
        rng: &dyn Rng,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Rewrapped> {
        const PASSES: usize = 5;
        let mut total = Rewrapped::default();
        for n in 0..PASSES {
            let pass = self.rewrap_pass(store, rng, &mut progress).await?;
            total.rewrapped += pass.rewrapped;
            if n == 0 {
                total.current = pass.current;
            }
            if pass.rewrapped == 0 {
                return Ok(total);
            }
        }
        Err(Error::Conflict(format!(
            "values wrapped by the previous master key keep appearing after {PASSES} passes: a node still runs with only the previous key"
        )))
    }

    async fn rewrap_pass(
        &self,
        store: &dyn Store,
        rng: &dyn Rng,
        progress: &mut impl FnMut(u64, u64),
    ) -> Result<Rewrapped> {
        let items = store.list_master_wrapped(&[HASH_KEY_SETTING]).await?;
        let total = items.len() as u64;
        let mut done = Rewrapped::default();
        for (n, item) in items.iter().enumerate() {
            let context = master_context(&item.kind);
            if self.master.unwrap_blob(item.wrapped.as_bytes(), &context).is_ok() {
                done.current += 1;
            } else {
                let previous = self.previous.as_ref().ok_or_else(|| {
                    Error::unexpected(anyhow::anyhow!(
                        "{:?} is not wrapped by the master key; give the previous one to re-wrap it",
                        item.kind
                    ))
                })?;
                let plain = previous
                    .unwrap_blob(item.wrapped.as_bytes(), &context)
                    .map_err(|_| Error::unexpected(anyhow::anyhow!("{:?} opens with neither master key", item.kind)))?;
                let rewrapped = self.master.wrap_blob(rng, &plain, &context);
                if !store.rewrap(item, &rewrapped, self.master.id()).await? {
                    return Err(Error::Conflict(format!(
                        "{:?} changed during the rotation; run it again",
                        item.kind
                    )));
                }
                done.rewrapped += 1;
            }
            progress(n as u64 + 1, total);
        }
        Ok(done)
    }

    /// The keyed hash for high-entropy secrets.
    pub fn hasher(&self) -> &KeyedHasher {
        &self.hasher
    }

    /// The key authorization codes are sealed with.
    pub fn code_key(&self) -> &DataKey {
        &self.code_key
    }

    /// The key opaque access tokens are sealed with.
    pub fn opaque_token_key(&self) -> &DataKey {
        &self.opaque_token_key
    }

    /// A new data key record for `project`, wrapped by the master key (for bootstrap and first use).
    pub fn new_data_key(&self, project: ProjectId, rng: &dyn Rng, clock: &dyn Clock) -> (DataKeyRecord, DataKey) {
        let id = DataKeyId::from_uuid(new_row_id());
        let bytes = random_bytes::<KEY_LEN>(rng);
        let record = DataKeyRecord {
            id,
            project_id: project,
            wrapped: self.master.wrap(rng, &bytes, &wrap_context(project, id)).into(),
            master_key_id: self.master.id().to_owned(),
            created_at: clock.now(),
        };
        (record, DataKey::from_bytes(&bytes))
    }

    /// Seals `plaintext` with the project's current data key (created on first use).
    pub async fn seal(
        &self,
        store: &dyn Store,
        rng: &dyn Rng,
        clock: &dyn Clock,
        project: ProjectId,
        aad: &RowAad,
        plaintext: &[u8],
    ) -> Result<Sealed> {
        let (id, key) = self.current_key(store, rng, clock, project).await?;
        Ok(Sealed {
            data_key_id: id,
            ciphertext: key.seal(rng, aad, plaintext).into(),
        })
    }

    /// Opens a sealed value of `project`.
    pub async fn open_sealed(
        &self,
        store: &dyn Store,
        project: ProjectId,
        aad: &RowAad,
        sealed: &Sealed,
    ) -> Result<Vec<u8>> {
        let key = self.key_by_id(store, project, sealed.data_key_id).await?;
        key.open(aad, sealed.ciphertext.as_bytes())
    }

    /// Registers a data key already unwrapped (bootstrap writes it itself).
    pub fn remember(&self, record: &DataKeyRecord, key: DataKey) {
        write(&self.data_keys).insert(record.id, Arc::new(key));
        write(&self.current).insert(record.project_id, record.id);
    }

    /// Forgets the keys of a deleted project.
    pub fn forget_project(&self, project: ProjectId) {
        if let Some(id) = write(&self.current).remove(&project) {
            write(&self.data_keys).remove(&id);
        }
    }

    async fn current_key(
        &self,
        store: &dyn Store,
        rng: &dyn Rng,
        clock: &dyn Clock,
        project: ProjectId,
    ) -> Result<(DataKeyId, Arc<DataKey>)> {
        let known = read(&self.current).get(&project).copied();
        if let Some(id) = known {
            return Ok((id, self.key_by_id(store, project, id).await?));
        }
        let record = match store.current_data_key(project).await? {
            Some(r) => r,
            None => {
                let (record, key) = self.new_data_key(project, rng, clock);
                store.insert_data_key(&record).await?;
                self.remember(&record, key);
                record
            }
        };
        write(&self.current).insert(project, record.id);
        Ok((record.id, self.unwrap_record(&record)?))
    }

    async fn key_by_id(&self, store: &dyn Store, project: ProjectId, id: DataKeyId) -> Result<Arc<DataKey>> {
        if let Some(k) = read(&self.data_keys).get(&id) {
            return Ok(k.clone());
        }
        let record = store
            .get_data_key(project, id)
            .await?
            .ok_or_else(|| Error::unexpected(anyhow::anyhow!("data key {id} of project {project} is missing")))?;
        self.unwrap_record(&record)
    }

    fn unwrap_record(&self, record: &DataKeyRecord) -> Result<Arc<DataKey>> {
        let plain = self.unwrap_blob(record.wrapped.as_bytes(), &wrap_context(record.project_id, record.id))?;
        let key = Arc::new(DataKey::from_bytes(&key_bytes(&plain, "a data key")?));
        write(&self.data_keys).insert(record.id, key.clone());
        Ok(key)
    }
}

fn unwrap_with(master: &MasterKey, previous: Option<&MasterKey>, wrapped: &[u8], context: &str) -> Result<Vec<u8>> {
    match (master.unwrap_blob(wrapped, context), previous) {
        (Ok(plain), _) => Ok(plain),
        (Err(_), Some(previous)) => previous.unwrap_blob(wrapped, context),
        (Err(e), None) => Err(e),
    }
}

fn key_bytes(plain: &[u8], what: &str) -> Result<[u8; KEY_LEN]> {
    plain
        .try_into()
        .map_err(|_| Error::unexpected(anyhow::anyhow!("{what} has the wrong length")))
}

fn wrap_context(project: ProjectId, id: DataKeyId) -> String {
    format!("gatehouse/data-key|{project}|{id}")
}

/// The associated data a master-wrapped value was wrapped with.
fn master_context(kind: &MasterWrappedKind) -> String {
    match kind {
        MasterWrappedKind::Setting { .. } => HASH_KEY_CONTEXT.to_owned(),
        MasterWrappedKind::SigningKey { kid } => signing_key_context(kid),
        MasterWrappedKind::DataKey { project, id } => wrap_context(*project, *id),
    }
}

/// The associated data of a signing key's wrapped private key.
pub(crate) fn signing_key_context(kid: &str) -> String {
    format!("gatehouse/signing-key|{kid}")
}

/// Locks never stay poisoned: the maps hold plain data that a panicking writer cannot corrupt.
pub(crate) fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}
