//! NodeGetVolumeStats (bytes and inodes by statfs: under ceph-fuse with
//! `client_quota_df`, the default, the subvolume's quota shows as the
//! filesystem's size) and NodeGetVolumeHealth (INACCESSIBLE with the reason
//! when the mount no longer answers). Stats of a dead mount remount it when
//! this plugin staged it (it has the record) and no other call works on the
//! volume; otherwise they fail UNAVAILABLE saying why.

use std::path::Path;

use rookery_csi_proto::v1::volume_health::VolumeHealthEntry;
use rookery_csi_proto::v1::volume_usage::Unit;
use rookery_csi_proto::v1::{
    NodeGetVolumeHealthRequest, NodeGetVolumeHealthResponse, NodeGetVolumeStatsRequest,
    NodeGetVolumeStatsResponse, VolumeHealth, VolumeHealthErrorType, VolumeUsage,
};

use super::heal::reason;
use super::mounter::MounterKind;
use super::record;
use super::stage::mount_table;
use super::{required_path, required_volume_id, CephFsNode, RequestError, Result};
use crate::node::fs;
use crate::node::fuse::dead_mount;
use crate::node::mountinfo::{self, MountEntry};

/// The CephFS mount at `path`; NOT_FOUND if nothing of ours is mounted there.
fn mounted_volume(path: &Path) -> Result<MountEntry> {
    let table = mount_table()?;
    let Some(entry) = mountinfo::find(&table, path) else {
        // Not `exists()`: that follows into a dead mount and says false.
        let missing = matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        return Err(RequestError::NotFound(if missing {
            format!("volume_path {} does not exist", path.display())
        } else {
            format!("volume_path {} is not a mounted volume", path.display())
        }));
    };
    if MounterKind::of_mount(entry).is_none() {
        return Err(RequestError::NotFound(format!(
            "volume_path {} holds {} from {}, not a CephFS volume",
            path.display(),
            entry.fs_type,
            entry.source
        )));
    }
    Ok(entry.clone())
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl CephFsNode {
    pub(super) async fn stats(
        &self,
        req: NodeGetVolumeStatsRequest,
    ) -> Result<NodeGetVolumeStatsResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        let path = required_path("volume_path", &req.volume_path)?;
        let entry = mounted_volume(&path)?;
        if let Some(why) = dead_mount(&path).await {
            let unusable = |detail: String| {
                RequestError::Unavailable(format!(
                    "volume {volume_id} at {} does not answer: {} ({why}); {detail}",
                    path.display(),
                    reason(MounterKind::of_mount(&entry)),
                ))
            };
            match self.heal_from_stats(volume_id).await {
                Ok(()) if dead_mount(&path).await.is_none() => {}
                Ok(()) => {
                    return Err(unusable(
                        "the volume was remounted but this path was not; NodePublishVolume \
                         there publishes it again"
                            .into(),
                    ))
                }
                Err(e) => return Err(unusable(format!("it cannot be remounted now: {e}"))),
            }
        }
        let u = fs::usage(&path).await?;
        Ok(NodeGetVolumeStatsResponse {
            usage: vec![
                VolumeUsage {
                    available: i64_of(u.available_bytes),
                    total: i64_of(u.total_bytes),
                    used: i64_of(u.used_bytes),
                    unit: Unit::Bytes as i32,
                },
                VolumeUsage {
                    available: i64_of(u.free_inodes),
                    total: i64_of(u.total_inodes),
                    used: i64_of(u.used_inodes),
                    unit: Unit::Inodes as i32,
                },
            ],
        })
    }

    /// Remounts the volume from its stage record, if no other call holds it.
    async fn heal_from_stats(&self, volume_id: &str) -> Result<()> {
        let _lock = self.inner.locks.acquire(volume_id)?;
        let rec = record::read(&self.inner.state_dir, volume_id)?.ok_or_else(|| {
            RequestError::FailedPrecondition(
                "this plugin has no stage record of it; NodeStageVolume or NodePublishVolume \
                 remounts it"
                    .into(),
            )
        })?;
        // Another call may have remounted the stage meanwhile; only a dead
        // stage is remounted (what `why` saw may be a stale publication).
        match dead_mount(&rec.staging_target_path).await {
            Some(why_staged) => self.heal(&rec, &why_staged).await,
            None => Ok(()),
        }
    }

    /// Healthy (no entries) while the mount answers; INACCESSIBLE with the
    /// reason when it does not.
    pub(super) async fn health(
        &self,
        req: NodeGetVolumeHealthRequest,
    ) -> Result<NodeGetVolumeHealthResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        // CephFS mounts the volume at the staging path itself.
        let path = match (
            req.volume_publish_path.as_str(),
            req.staging_target_path.as_str(),
        ) {
            ("", "") => {
                return Err(RequestError::invalid(
                    "volume_publish_path",
                    "give it or staging_target_path",
                ))
            }
            ("", staging) => required_path("staging_target_path", staging)?,
            (publish, _) => required_path("volume_publish_path", publish)?,
        };
        let entry = mounted_volume(&path)?;
        let health_statuses = match dead_mount(&path).await {
            None => Vec::new(),
            Some(why) => vec![VolumeHealthEntry {
                status: VolumeHealthErrorType::Inaccessible as i32,
                reason: "MountGone".into(),
                message: format!(
                    "{}: {} ({why}); the next NodeStageVolume, NodePublishVolume or \
                     NodeGetVolumeStats remounts it",
                    path.display(),
                    reason(MounterKind::of_mount(&entry))
                ),
            }],
        };
        Ok(NodeGetVolumeHealthResponse {
            volume_health: Some(VolumeHealth {
                volume_id: volume_id.to_owned(),
                health_statuses,
            }),
        })
    }
}
