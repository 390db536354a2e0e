//! The in-memory key ring: the master key, the keyed-hash key and unwrapped data keys, so that
//! sealing and opening cost one AEAD operation and no database round trip once warm.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::crypto::{DataKey, KEY_LEN, KeyedHasher, MasterKey, RowAad};
use crate::error::{Error, Result};
use crate::ids::{DataKeyId, ProjectId, new_row_id};
use crate::model::{DataKeyRecord, Sealed};
use crate::ports::Store;
use crate::rng::{Rng, random_bytes};
use crate::time::Clock;

const HASH_KEY_SETTING: &str = "keyed_hash_key";
const HASH_KEY_CONTEXT: &str = "gatehouse/keyed-hash-key";

/// Keys in memory. Unwrapped data keys are cached by id; the newest per project is remembered.
pub struct Keyring {
    master: MasterKey,
    hasher: KeyedHasher,
    data_keys: RwLock<HashMap<DataKeyId, Arc<DataKey>>>,
    current: RwLock<HashMap<ProjectId, DataKeyId>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("master", &self.master)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// Loads the keyed-hash key (creating it on a new database). Fails when the master key is not
    /// the one this database was created with: nothing could be decrypted with it.
    pub async fn load(master: MasterKey, store: &dyn Store, rng: &dyn Rng) -> Result<Self> {
        let fresh = master.wrap(rng, &random_bytes::<KEY_LEN>(rng), HASH_KEY_CONTEXT);
        let wrapped = store.init_setting(HASH_KEY_SETTING, &fresh).await?;
        let key = master.unwrap_key(&wrapped, HASH_KEY_CONTEXT).map_err(|_| {
            Error::unexpected(anyhow::anyhow!(
                "the master key (fingerprint {}) does not match this database; refusing to start",
                master.id()
            ))
        })?;
        Ok(Self {
            hasher: KeyedHasher::new(&key),
            master,
            data_keys: RwLock::default(),
            current: RwLock::default(),
        })
    }

    /// The master key, for secrets wrapped directly by it (signing keys).
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The keyed hash for high-entropy secrets.
    pub fn hasher(&self) -> &KeyedHasher {
        &self.hasher
    }

    /// A new data key record for `project`, wrapped by the master key (for bootstrap and first use).
    pub fn new_data_key(&self, project: ProjectId, rng: &dyn Rng, clock: &dyn Clock) -> (DataKeyRecord, DataKey) {
        let id = DataKeyId::from_uuid(new_row_id());
        let bytes = random_bytes::<KEY_LEN>(rng);
        let record = DataKeyRecord {
            id,
            project_id: project,
            wrapped: self.master.wrap(rng, &bytes, &wrap_context(project, id)),
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
            ciphertext: key.seal(rng, aad, plaintext),
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
        key.open(aad, &sealed.ciphertext)
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
        let bytes = self
            .master
            .unwrap_key(&record.wrapped, &wrap_context(record.project_id, record.id))?;
        let key = Arc::new(DataKey::from_bytes(&bytes));
        write(&self.data_keys).insert(record.id, key.clone());
        Ok(key)
    }
}

fn wrap_context(project: ProjectId, id: DataKeyId) -> String {
    format!("gatehouse/data-key|{project}|{id}")
}

/// Locks never stay poisoned: the maps hold plain data that a panicking writer cannot corrupt.
pub(crate) fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}
