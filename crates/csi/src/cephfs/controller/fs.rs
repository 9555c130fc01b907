//! The filesystems volumes live in: name and FSCID (the location id of CephFS
//! volume IDs, as in ceph-csi), the metadata pool that holds the journal (in
//! RADOS namespace `csi`) and the data pools. Looked up through `fs dump` and
//! cached; a miss refreshes the cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rookery_ceph::commands::{FsDump, OsdPoolLsDetail};
use rookery_ceph::{IoCtx, Rados};

use crate::journal::{Directories, JournalConfig, VolumeJournal, DEFAULT_INSTANCE_ID};
use crate::request::{RequestError, Result};

/// The RADOS namespace of the CephFS journal in the metadata pool (ceph-csi's).
pub const JOURNAL_NAMESPACE: &str = "csi";
/// The subvolume group of CSI volumes (ceph-csi's default).
pub const SUBVOLUME_GROUP: &str = "csi";

/// One filesystem.
#[derive(Debug, Clone)]
pub struct Fs {
    pub name: String,
    pub fscid: i64,
    pub metadata_pool: String,
    pub data_pools: Vec<String>,
    /// The metadata pool, namespace `csi`.
    pub journal_io: IoCtx,
    /// Shared by every filesystem of the controller: journal directory
    /// writes of concurrent requests are batched.
    directories: Directories,
}

impl Fs {
    pub fn volumes(&self) -> VolumeJournal {
        VolumeJournal::shared(
            self.journal_io.clone(),
            JournalConfig::volumes(DEFAULT_INSTANCE_ID),
            &self.directories,
        )
    }

    pub fn snapshots(&self) -> VolumeJournal {
        VolumeJournal::shared(
            self.journal_io.clone(),
            JournalConfig::snapshots(DEFAULT_INSTANCE_ID),
            &self.directories,
        )
    }
}

/// Filesystems by name, cached. Clones share the cache.
#[derive(Debug, Clone)]
pub struct Filesystems {
    rados: Rados,
    cache: Arc<Mutex<HashMap<String, Arc<Fs>>>>,
    /// Filesystems whose subvolume group `csi` is known to exist.
    groups: Arc<Mutex<std::collections::HashSet<String>>>,
    directories: Directories,
}

impl Filesystems {
    pub fn new(rados: Rados) -> Self {
        Self {
            rados,
            cache: Arc::default(),
            groups: Arc::default(),
            directories: Directories::default(),
        }
    }

    /// The filesystem `name`; NOT_FOUND naming it when there is none.
    pub async fn by_name(&self, name: &str) -> Result<Arc<Fs>> {
        if let Some(fs) = self.cached(|f| f.name == name) {
            return Ok(fs);
        }
        self.refresh().await?;
        self.cached(|f| f.name == name).ok_or_else(|| {
            RequestError::NotFound(format!(
                "filesystem {name:?} does not exist; `rookery status` lists the filesystems"
            ))
        })
    }

    /// The filesystem with FSCID `fscid`, if any.
    pub async fn by_id(&self, fscid: i64) -> Result<Option<Arc<Fs>>> {
        if let Some(fs) = self.cached(|f| f.fscid == fscid) {
            return Ok(Some(fs));
        }
        self.refresh().await?;
        Ok(self.cached(|f| f.fscid == fscid))
    }

    /// Every filesystem, by FSCID.
    pub async fn all(&self) -> Result<Vec<Arc<Fs>>> {
        self.refresh().await?;
        let mut all: Vec<Arc<Fs>> = self.lock().values().cloned().collect();
        all.sort_by_key(|f| f.fscid);
        Ok(all)
    }

    /// Whether group `csi` was made on `fs` already by this controller.
    pub fn group_known(&self, fs: &str) -> bool {
        self.groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(fs)
    }

    pub fn remember_group(&self, fs: &str) {
        self.groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(fs.to_owned());
    }

    fn cached(&self, pick: impl Fn(&Fs) -> bool) -> Option<Arc<Fs>> {
        self.lock().values().find(|f| pick(f)).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Fs>>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn refresh(&self) -> Result<()> {
        let dump = self
            .rados
            .mon_command(&FsDump)
            .await
            .map_err(|e| RequestError::ceph("read the filesystems (fs dump)", e))?;
        let pools: HashMap<i64, String> = self
            .rados
            .mon_command(&OsdPoolLsDetail)
            .await
            .map_err(|e| RequestError::ceph("list the pools", e))?
            .into_iter()
            .map(|p| (p.pool_id, p.pool_name))
            .collect();
        let mut found = HashMap::new();
        for f in &dump.filesystems {
            let map = &f.mdsmap;
            let Some(metadata_pool) = pools.get(&map.metadata_pool).cloned() else {
                continue;
            };
            let journal_io = self
                .rados
                .ioctx(&metadata_pool, Some(JOURNAL_NAMESPACE))
                .await
                .map_err(|e| RequestError::ceph(format!("open pool '{metadata_pool}'"), e))?;
            let fs = Fs {
                name: map.fs_name.clone(),
                fscid: f.id,
                metadata_pool,
                data_pools: map
                    .data_pools
                    .iter()
                    .filter_map(|id| pools.get(id).cloned())
                    .collect(),
                journal_io,
                directories: self.directories.clone(),
            };
            found.insert(fs.name.clone(), Arc::new(fs));
        }
        *self.lock() = found;
        Ok(())
    }
}
