//! CreateSnapshot, DeleteSnapshot, ListSnapshots for CephFS, as ceph-csi lays
//! them out: a subvolume snapshot `csi-snap-<uuid>` of the source subvolume,
//! recorded in the snapshot journal of the filesystem's metadata pool
//! (`csi.source` = the source subvolume).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rookery_csi_proto::v1::list_snapshots_response::Entry;
use rookery_csi_proto::v1::{
    CreateSnapshotRequest, CreateSnapshotResponse, DeleteSnapshotRequest, DeleteSnapshotResponse,
    ListSnapshotsRequest, ListSnapshotsResponse, Snapshot,
};

use super::fs::Fs;
use super::subvolume::Subvolumes;
use super::volume::Lookup;
use super::CephFsController;
use crate::journal::{ImageAttributes, JournalKind, ReserveRequest, Reserved};
use crate::locks::MultiLockGuard;
use crate::request::{paging, RequestError, Result};

impl CephFsController {
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
        let sv = Subvolumes {
            rados: &self.inner.rados,
            fs: &source.fs.name,
        };
        let journal = source.fs.snapshots();
        let r = match journal
            .reserve_or_find(&ReserveRequest::snapshot(&req.name, source.name()))
            .await?
        {
            Reserved::New(r) | Reserved::Existing(r) => r,
        };
        // New, or an earlier attempt that may have stopped before the snapshot.
        match sv.snapshot_info(source.name(), r.image_name()).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {
                if let Err(e) = sv.snapshot(source.name(), r.image_name()).await {
                    if let Err(u) = journal
                        .undo_reservation(&r.attributes.request_name, &r.uuid)
                        .await
                    {
                        tracing::warn!(uuid = r.uuid, error = %u, "cannot undo a snapshot reservation");
                    }
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
        let snapshot = self
            .snapshot_message(&source.fs, &r.uuid, &r.attributes, &req.source_volume_id)
            .await?
            .ok_or_else(|| {
                RequestError::Unavailable(format!(
                    "snapshot '{}' vanished while it was made; retry",
                    req.name
                ))
            })?;
        tracing::info!(
            snapshot = req.name,
            subvolume = source.name(),
            "snapshot ready"
        );
        Ok(CreateSnapshotResponse {
            snapshot: Some(snapshot),
        })
    }

    pub(crate) async fn delete_snapshot(
        &self,
        req: DeleteSnapshotRequest,
    ) -> Result<DeleteSnapshotResponse> {
        if req.snapshot_id.is_empty() {
            return Err(RequestError::invalid("snapshot_id", "it is empty"));
        }
        let _lock =
            MultiLockGuard::acquire_waiting([(&self.inner.snap_locks, req.snapshot_id.as_str())])
                .await?;
        let Lookup::Found(found) = self.find(&req.snapshot_id, JournalKind::Snapshot).await? else {
            return Ok(DeleteSnapshotResponse {});
        };
        let sv = Subvolumes {
            rados: &self.inner.rados,
            fs: &found.fs.name,
        };
        if let Some(source) = &found.attributes.source_name {
            match sv.remove_snapshot(source, found.name()).await {
                // The source subvolume is gone with its snapshots.
                Err(e) if e.is_not_found() => {}
                other => other?,
            }
        }
        found
            .journal
            .undo_reservation(&found.attributes.request_name, &found.uuid)
            .await?;
        Ok(DeleteSnapshotResponse {})
    }

    pub(crate) async fn list_snapshots(
        &self,
        req: ListSnapshotsRequest,
    ) -> Result<ListSnapshotsResponse> {
        if !req.snapshot_id.is_empty() {
            let entries = match self.find(&req.snapshot_id, JournalKind::Snapshot).await? {
                Lookup::Found(s) => {
                    let source_id = self.source_volume_id(&s.fs, &s.attributes);
                    self.snapshot_message(&s.fs, &s.uuid, &s.attributes, &source_id)
                        .await?
                        .map(|snapshot| Entry {
                            snapshot: Some(snapshot),
                        })
                        .into_iter()
                        .collect()
                }
                _ => vec![],
            };
            return Ok(ListSnapshotsResponse {
                entries,
                next_token: String::new(),
            });
        }
        let locations: Vec<_> = self
            .inner
            .filesystems
            .all()
            .await?
            .into_iter()
            .map(|fs| (fs.fscid, fs.clone(), fs.snapshots()))
            .collect();
        let (found, next_token) =
            paging::page(&locations, req.max_entries, &req.starting_token).await?;
        let mut entries = Vec::new();
        for (fs, entry) in found {
            let attributes = match fs.snapshots().get_attributes(&entry.uuid).await {
                Ok(a) => a,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e.into()),
            };
            let source_id = self.source_volume_id(&fs, &attributes);
            if !req.source_volume_id.is_empty() && source_id != req.source_volume_id {
                continue;
            }
            if let Some(snapshot) = self
                .snapshot_message(&fs, &entry.uuid, &attributes, &source_id)
                .await?
            {
                entries.push(Entry {
                    snapshot: Some(snapshot),
                });
            }
        }
        Ok(ListSnapshotsResponse {
            entries,
            next_token,
        })
    }

    /// The source volume's ID, from its subvolume name `csi-vol-<uuid>`.
    fn source_volume_id(&self, fs: &Fs, attributes: &ImageAttributes) -> String {
        attributes
            .source_name
            .as_deref()
            .and_then(|s| s.strip_prefix("csi-vol-"))
            .and_then(|uuid| self.id_of(fs.fscid, uuid).ok())
            .unwrap_or_default()
    }

    /// The Snapshot message; None when the snapshot is gone (deleted meanwhile).
    async fn snapshot_message(
        &self,
        fs: &Arc<Fs>,
        uuid: &str,
        attributes: &ImageAttributes,
        source_volume_id: &str,
    ) -> Result<Option<Snapshot>> {
        let Some(source) = attributes.source_name.as_deref() else {
            return Ok(None);
        };
        let sv = Subvolumes {
            rados: &self.inner.rados,
            fs: &fs.name,
        };
        let info = match sv.snapshot_info(source, &attributes.image_name).await {
            Ok(info) => info,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        // The source's quota is the size a restore needs (ceph-csi reports it too).
        let size = match sv.info(source).await {
            Ok(i) => i.quota().or(info.size).unwrap_or(0),
            Err(_) => info.size.unwrap_or(0),
        };
        let mut snapshot = Snapshot {
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            snapshot_id: self.id_of(fs.fscid, uuid)?,
            source_volume_id: source_volume_id.to_owned(),
            creation_time: Some(Default::default()),
            ready_to_use: true,
            group_snapshot_id: String::new(),
            accessible_topology: Vec::new(),
        };
        if let Some(ts) = snapshot.creation_time.as_mut() {
            (ts.seconds, ts.nanos) = creation_time(&info.created_at);
        }
        Ok(Some(snapshot))
    }
}

/// `created_at` as the mgr prints it (`2026-11-25 03:04:05.123456`, UTC) as
/// (seconds, nanos) since the epoch, or now.
fn creation_time(created_at: &str) -> (i64, i32) {
    parse_utc(created_at).unwrap_or_else(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        (now.as_secs() as i64, now.subsec_nanos() as i32)
    })
}

fn parse_utc(s: &str) -> Option<(i64, i32)> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>());
    let (h, min, sec) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    // Days from the civil date (proleptic Gregorian), Howard Hinnant's algorithm.
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let micros: i64 = format!("{frac:0<6}").get(..6)?.parse().ok()?;
    Some((
        days * 86_400 + h * 3600 + min * 60 + sec,
        (micros * 1000) as i32,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mgr_timestamps_parse_as_utc() {
        assert_eq!(
            parse_utc("2026-11-25 03:04:05.250000"),
            Some((1_795_575_845, 250_000_000))
        );
        assert_eq!(parse_utc("1970-01-01 00:00:00"), Some((0, 0)));
        assert!(parse_utc("yesterday").is_none());
    }
}
