//! Finding what a CephFS volume or snapshot ID names (decode, check the
//! cluster, find the filesystem by FSCID, read the journal) and the Volume
//! message ceph-csi returns.

use std::collections::HashMap;
use std::sync::Arc;

use rookery_csi_proto::v1::Volume;

use super::fs::Fs;
use super::CephFsController;
use crate::journal::{ImageAttributes, JournalKind, VolumeJournal};
use crate::request::{RequestError, Result};
use crate::volume_id::VolumeId;

/// volume_context keys ceph-csi's CephFS driver sets.
pub(crate) mod keys {
    pub const CLUSTER_ID: &str = "clusterID";
    pub const FS_NAME: &str = "fsName";
    pub const SUBVOLUME_NAME: &str = "subvolumeName";
    pub const SUBVOLUME_PATH: &str = "subvolumePath";
}

/// What an ID leads to.
#[derive(Debug)]
pub(crate) enum Lookup {
    Malformed(String),
    Foreign(String),
    Gone,
    Found(Box<Found>),
}

/// A volume or snapshot whose journal entry exists.
#[derive(Debug)]
pub(crate) struct Found {
    pub fs: Arc<Fs>,
    pub journal: VolumeJournal,
    pub uuid: String,
    pub attributes: ImageAttributes,
}

impl Found {
    /// The subvolume (volume) or subvolume snapshot (snapshot) name.
    pub fn name(&self) -> &str {
        &self.attributes.image_name
    }
}

impl CephFsController {
    pub(crate) fn id_of(&self, fscid: i64, uuid: &str) -> Result<String> {
        VolumeId::new(self.inner.cluster_id.clone(), fscid, uuid)
            .encode()
            .map_err(|e| {
                RequestError::FailedPrecondition(format!(
                    "cannot make an ID for cluster id {:?}: it {e}",
                    self.inner.cluster_id
                ))
            })
    }

    pub(crate) fn volume_message(
        &self,
        fs: &Fs,
        uuid: &str,
        subvolume: &str,
        path: &str,
        size: u64,
        mut context: HashMap<String, String>,
    ) -> Result<Volume> {
        context.insert(keys::CLUSTER_ID.into(), self.inner.cluster_id.clone());
        context.insert(keys::FS_NAME.into(), fs.name.clone());
        context.insert(keys::SUBVOLUME_NAME.into(), subvolume.to_owned());
        context.insert(keys::SUBVOLUME_PATH.into(), path.to_owned());
        Ok(Volume {
            capacity_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            volume_id: self.id_of(fs.fscid, uuid)?,
            volume_context: context,
            ..Default::default()
        })
    }

    pub(crate) async fn find(&self, id: &str, kind: JournalKind) -> Result<Lookup> {
        let decoded = match VolumeId::decode(id) {
            Ok(d) => d,
            Err(e) => return Ok(Lookup::Malformed(e.to_string())),
        };
        if decoded.cluster_id != self.inner.cluster_id {
            return Ok(Lookup::Foreign(decoded.cluster_id));
        }
        let Some(fs) = self.inner.filesystems.by_id(decoded.location_id).await? else {
            return Ok(Lookup::Gone);
        };
        let journal = match kind {
            JournalKind::Volume => fs.volumes(),
            JournalKind::Snapshot => fs.snapshots(),
        };
        match journal.get_attributes(&decoded.object_uuid).await {
            Ok(attributes) => Ok(Lookup::Found(Box::new(Found {
                fs,
                journal,
                uuid: decoded.object_uuid,
                attributes,
            }))),
            Err(e) if e.is_not_found() => Ok(Lookup::Gone),
            Err(e) => Err(e.into()),
        }
    }

    /// Like [`Self::find`], where an ID that names nothing is NOT_FOUND.
    pub(crate) async fn find_existing(&self, id: &str, kind: JournalKind) -> Result<Found> {
        let (what, field) = match kind {
            JournalKind::Volume => ("volume", "volume_id"),
            JournalKind::Snapshot => ("snapshot", "snapshot_id"),
        };
        if id.is_empty() {
            return Err(RequestError::invalid(field, "it is empty"));
        }
        match self.find(id, kind).await? {
            Lookup::Found(f) => Ok(*f),
            Lookup::Malformed(reason) => Err(RequestError::NotFound(format!(
                "{what} {id:?} does not exist: the ID {reason}"
            ))),
            Lookup::Foreign(cluster) => Err(RequestError::NotFound(format!(
                "{what} {id:?} belongs to cluster {cluster:?}, not to {:?}",
                self.inner.cluster_id
            ))),
            Lookup::Gone => Err(RequestError::NotFound(format!(
                "{what} {id:?} does not exist (no filesystem or journal entry for it)"
            ))),
        }
    }
}
