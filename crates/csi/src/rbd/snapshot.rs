//! CreateSnapshot, DeleteSnapshot, ListSnapshots, with ceph-csi's layout: a
//! snapshot is an image `csi-snap-<uuid>` copied from its source volume through a
//! temporary snapshot of the source, carrying a snapshot named like itself (what
//! restores clone), recorded in the snapshot journal (`csi.snaps.<instance>`,
//! `csi.source` = the source image). Unlike ceph-csi the copy is flattened at
//! once (see `copy`), so snapshots never pin their source volume.

use std::time::{SystemTime, UNIX_EPOCH};

use rookery_ceph::rbd;
use rookery_csi_proto::v1::list_snapshots_response::Entry;
use rookery_csi_proto::v1::{
    CreateSnapshotRequest, CreateSnapshotResponse, DeleteSnapshotRequest, DeleteSnapshotResponse,
    ListSnapshotsRequest, ListSnapshotsResponse, Snapshot,
};

use super::copy;
use super::pools::Pool;
use super::volume::{FoundVolume, Lookup};
use super::RbdController;
use crate::journal::{
    ImageAttributes, JournalKind, Reservation, ReserveRequest, Reserved, VolumeJournal,
};
use crate::locks::MultiLockGuard;
use crate::request::{RequestError, Result};

/// Features of snapshot images: only what cloning needs.
const SNAPSHOT_FEATURES: u64 = rbd::features::LAYERING;

impl RbdController {
    pub(crate) async fn create_snapshot(
        &self,
        req: CreateSnapshotRequest,
    ) -> Result<CreateSnapshotResponse> {
        if req.name.is_empty() {
            return Err(RequestError::invalid(
                "name",
                "the snapshot name is required",
            ));
        }
        if req.source_volume_id.is_empty() {
            return Err(RequestError::invalid("source_volume_id", "it is required"));
        }
        let source = self
            .find_existing(&req.source_volume_id, JournalKind::Volume)
            .await?;
        let _locks = MultiLockGuard::acquire_waiting([
            (&self.inner.snap_locks, req.name.as_str()),
            (&self.inner.locks, req.source_volume_id.as_str()),
        ])
        .await?;
        let journal = self.journal(&source.pool, JournalKind::Snapshot);
        let reserved = journal
            .reserve_or_find(&ReserveRequest::snapshot(&req.name, source.image()))
            .await?;
        let r = match reserved {
            Reserved::New(r) => {
                self.make_snapshot(&source, &journal, &r).await?;
                r
            }
            Reserved::Existing(r) => {
                match rbd::info(&source.pool.io, r.image_name()).await {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => self.make_snapshot(&source, &journal, &r).await?,
                    Err(e) => {
                        return Err(RequestError::ceph(
                            format!("check the image of snapshot '{}'", req.name),
                            e,
                        ))
                    }
                }
                r
            }
        };
        let snapshot = self
            .snapshot_message(&source.pool, &r.uuid, r.image_name(), &req.source_volume_id)
            .await?;
        tracing::info!(
            snapshot = req.name,
            source = req.source_volume_id,
            image = r.image_name(),
            "snapshot ready"
        );
        Ok(CreateSnapshotResponse {
            snapshot: Some(snapshot),
        })
    }

    /// Copies the source into the snapshot image and snapshots it; on failure
    /// removes the image and the reservation.
    async fn make_snapshot(
        &self,
        source: &FoundVolume,
        journal: &VolumeJournal,
        r: &Reservation,
    ) -> Result<()> {
        let io = &source.pool.io;
        let image = r.image_name();
        let made = async {
            copy::copy_image(io, source.image(), image, SNAPSHOT_FEATURES).await?;
            match rbd::snap_create(io, image, image).await {
                Err(e) if !e.is_exists() => return Err(e),
                _ => {}
            }
            rbd::image_id(io, image).await
        }
        .await
        .map_err(|e| {
            RequestError::ceph(
                format!("snapshot image '{}' into '{image}'", source.image()),
                e,
            )
        });
        let err = match made {
            Ok(id) => match journal.store_image_id(&r.uuid, &id).await {
                Ok(()) => return Ok(()),
                Err(e) => RequestError::from(e),
            },
            Err(e) => e,
        };
        let _ = copy::remove_snap(io, source.image(), image).await;
        copy::remove_partial(io, image, Some(image)).await;
        if let Err(e) = journal
            .undo_reservation(&r.attributes.request_name, &r.uuid)
            .await
        {
            tracing::warn!(pool = source.pool.name, uuid = r.uuid, error = %e, "cannot undo a snapshot reservation");
        }
        Err(err)
    }

    async fn snapshot_message(
        &self,
        pool: &Pool,
        uuid: &str,
        image: &str,
        source_volume_id: &str,
    ) -> Result<Snapshot> {
        let info = rbd::info(&pool.io, image)
            .await
            .map_err(|e| RequestError::ceph(format!("read snapshot image '{image}'"), e))?;
        let created = rbd::create_timestamp(&pool.io, image)
            .await
            .unwrap_or_else(|_| SystemTime::now());
        let since = created.duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut snapshot = Snapshot {
            size_bytes: i64::try_from(info.size).unwrap_or(i64::MAX),
            snapshot_id: self.volume_id(pool.id, uuid)?,
            source_volume_id: source_volume_id.to_owned(),
            creation_time: Some(Default::default()),
            ready_to_use: true,
            ..Default::default()
        };
        if let Some(ts) = snapshot.creation_time.as_mut() {
            ts.seconds = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
            ts.nanos = i32::try_from(since.subsec_nanos()).unwrap_or(0);
        }
        Ok(snapshot)
    }

    pub(crate) async fn delete_snapshot(
        &self,
        req: DeleteSnapshotRequest,
    ) -> Result<DeleteSnapshotResponse> {
        let id = req.snapshot_id.as_str();
        if id.is_empty() {
            return Err(RequestError::invalid("snapshot_id", "it is empty"));
        }
        let _id_lock = self.inner.snap_locks.acquire_waiting(id).await?;
        let Lookup::Found(snap) = self.find(id, JournalKind::Snapshot).await? else {
            return Ok(DeleteSnapshotResponse {});
        };
        let name = snap.attributes.request_name.clone();
        let _name_lock = self.inner.snap_locks.acquire_waiting(&name).await?;
        let io = &snap.pool.io;
        let image = snap.image().to_owned();
        copy::remove_snap(io, &image, &image).await.map_err(|e| {
            RequestError::ceph(format!("remove the snapshot of image '{image}'"), e)
        })?;
        self.trash_and_purge(&snap, id).await?;
        Ok(DeleteSnapshotResponse {})
    }

    pub(crate) async fn list_snapshots(
        &self,
        req: ListSnapshotsRequest,
    ) -> Result<ListSnapshotsResponse> {
        // One snapshot by ID: it, or nothing (the spec's answer for an unknown ID).
        if !req.snapshot_id.is_empty() {
            let entries = match self.find(&req.snapshot_id, JournalKind::Snapshot).await? {
                Lookup::Found(s) => {
                    vec![self.snapshot_entry(&s.pool, &s.uuid, &s.attributes).await?]
                }
                _ => vec![],
            };
            return Ok(ListSnapshotsResponse {
                entries: entries.into_iter().flatten().collect(),
                next_token: String::new(),
            });
        }
        let (found, next_token) = self
            .journal_page(JournalKind::Snapshot, req.max_entries, &req.starting_token)
            .await?;
        let mut entries = Vec::new();
        for (pool, entry) in found {
            let journal = self.journal(&pool, JournalKind::Snapshot);
            let attributes = match journal.get_attributes(&entry.uuid).await {
                Ok(a) => a,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e.into()),
            };
            if let Some(e) = self.snapshot_entry(&pool, &entry.uuid, &attributes).await? {
                let wanted = req.source_volume_id.is_empty()
                    || e.snapshot
                        .as_ref()
                        .is_some_and(|s| s.source_volume_id == req.source_volume_id);
                if wanted {
                    entries.push(e);
                }
            }
        }
        Ok(ListSnapshotsResponse {
            entries,
            next_token,
        })
    }

    /// A listing entry; None when the snapshot's image is gone (deleted meanwhile).
    async fn snapshot_entry(
        &self,
        pool: &Pool,
        uuid: &str,
        attributes: &ImageAttributes,
    ) -> Result<Option<Entry>> {
        let image = &attributes.image_name;
        // The source volume's ID, from its image name `csi-vol-<uuid>`.
        let source = attributes.source_name.as_deref();
        let source_volume_id = match source.and_then(|s| s.strip_prefix("csi-vol-")) {
            Some(source_uuid) => self.volume_id(pool.id, source_uuid).unwrap_or_default(),
            None => String::new(),
        };
        match self
            .snapshot_message(pool, uuid, image, &source_volume_id)
            .await
        {
            Ok(snapshot) => Ok(Some(Entry {
                snapshot: Some(snapshot),
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
