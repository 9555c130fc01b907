//! Finding the volume a volume ID names: decode, check the cluster, find the pool
//! by id, read the journal's attributes.

use rookery_csi_proto::v1::Volume;

use super::params::keys;
use super::pools::Pool;
use super::RbdController;
use crate::journal::{ImageAttributes, JournalConfig, JournalKind, VolumeJournal};
use crate::request::{RequestError, Result};
use crate::volume_id::VolumeId;

/// What a volume ID leads to.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Not a ceph-csi ID at all; the reason says why.
    Malformed(String),
    /// An ID of another cluster (its `clusterID` is not ours).
    Foreign(String),
    /// Its pool or its journal entry does not exist: deleted, or never created.
    Gone,
    Found(Box<FoundVolume>),
}

/// A volume whose journal entry exists.
#[derive(Debug)]
pub(crate) struct FoundVolume {
    pub pool: Pool,
    pub journal: VolumeJournal,
    pub uuid: String,
    pub attributes: ImageAttributes,
}

impl FoundVolume {
    pub fn image(&self) -> &str {
        &self.attributes.image_name
    }
}

impl RbdController {
    /// The volume or snapshot journal in `pool`.
    pub(crate) fn journal(&self, pool: &Pool, kind: JournalKind) -> VolumeJournal {
        let instance = self.inner.instance_id.clone();
        let config = match kind {
            JournalKind::Volume => JournalConfig::volumes(instance),
            JournalKind::Snapshot => JournalConfig::snapshots(instance),
        };
        VolumeJournal::shared(pool.io.clone(), config, &self.inner.directories)
    }

    /// The CSI volume ID of journal uuid `uuid` in pool `pool_id`.
    pub(crate) fn volume_id(&self, pool_id: i64, uuid: &str) -> Result<String> {
        VolumeId::new(self.inner.cluster_id.clone(), pool_id, uuid)
            .encode()
            .map_err(|e| {
                RequestError::FailedPrecondition(format!(
                    "cannot make a volume ID for cluster id {:?}: it {e}",
                    self.inner.cluster_id
                ))
            })
    }

    /// A Volume message, with the volume_context keys ceph-csi sets.
    pub(crate) fn volume_message(
        &self,
        pool: &Pool,
        uuid: &str,
        image: &str,
        size: u64,
        mut context: std::collections::HashMap<String, String>,
    ) -> Result<Volume> {
        context.insert(keys::CLUSTER_ID.into(), self.inner.cluster_id.clone());
        context.insert(keys::POOL.into(), pool.name.clone());
        context.insert(keys::JOURNAL_POOL.into(), pool.name.clone());
        context.insert(keys::IMAGE_NAME.into(), image.to_owned());
        Ok(Volume {
            capacity_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            volume_id: self.volume_id(pool.id, uuid)?,
            volume_context: context,
            ..Default::default()
        })
    }

    /// Looks up a volume or snapshot ID; only Ceph failures are errors.
    pub(crate) async fn find(&self, volume_id: &str, kind: JournalKind) -> Result<Lookup> {
        let id = match VolumeId::decode(volume_id) {
            Ok(id) => id,
            Err(e) => return Ok(Lookup::Malformed(e.to_string())),
        };
        if id.cluster_id != self.inner.cluster_id {
            return Ok(Lookup::Foreign(id.cluster_id));
        }
        let Some(pool) = self.inner.pools.by_id(id.location_id).await? else {
            return Ok(Lookup::Gone);
        };
        let journal = self.journal(&pool, kind);
        match journal.get_attributes(&id.object_uuid).await {
            Ok(attributes) => Ok(Lookup::Found(Box::new(FoundVolume {
                pool,
                journal,
                uuid: id.object_uuid,
                attributes,
            }))),
            Err(e) if e.is_not_found() => Ok(Lookup::Gone),
            Err(e) => Err(e.into()),
        }
    }

    /// Like [`Self::find`], for RPCs where an ID that names nothing is NOT_FOUND.
    pub(crate) async fn find_existing(
        &self,
        volume_id: &str,
        kind: JournalKind,
    ) -> Result<FoundVolume> {
        let (what, field) = match kind {
            JournalKind::Volume => ("volume", "volume_id"),
            JournalKind::Snapshot => ("snapshot", "snapshot_id"),
        };
        if volume_id.is_empty() {
            return Err(RequestError::invalid(field, "it is empty"));
        }
        match self.find(volume_id, kind).await? {
            Lookup::Found(v) => Ok(*v),
            Lookup::Malformed(reason) => Err(RequestError::NotFound(format!(
                "{what} {volume_id:?} does not exist: the ID {reason}"
            ))),
            Lookup::Foreign(cluster) => Err(RequestError::NotFound(format!(
                "{what} {volume_id:?} belongs to cluster {cluster:?}, not to {:?} which this \
                 controller serves",
                self.inner.cluster_id
            ))),
            Lookup::Gone => Err(RequestError::NotFound(format!(
                "{what} {volume_id:?} does not exist (no pool or journal entry for it)"
            ))),
        }
    }
}
