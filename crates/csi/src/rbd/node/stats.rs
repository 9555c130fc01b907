//! NodeGetVolumeStats (bytes, inodes), NodeGetVolumeHealth (whether the volume
//! still works: CSI v1.13 replaced stats' volume condition with it) and
//! NodeExpandVolume (the device picks up the image's new size, the filesystem
//! grows into it). All start from the mount at the path the CO names.

use std::path::{Path, PathBuf};

use rookery_csi_proto::v1::volume_health::VolumeHealthEntry;
use rookery_csi_proto::v1::volume_usage::Unit;
use rookery_csi_proto::v1::{
    NodeExpandVolumeRequest, NodeExpandVolumeResponse, NodeGetVolumeHealthRequest,
    NodeGetVolumeHealthResponse, NodeGetVolumeStatsRequest, NodeGetVolumeStatsResponse,
    VolumeHealth, VolumeHealthErrorType, VolumeUsage,
};

use super::mapper::MapperKind;
use super::{required_path, required_volume_id, staged_path, RbdNode, RequestError, Result};
use crate::error::Error;
use crate::node::fs;
use crate::node::mountinfo::{self, MountEntry};

/// The block device behind a staged or published mount.
#[derive(Debug)]
struct Backing {
    device: PathBuf,
    mapper: MapperKind,
    /// A raw block volume (the device node itself is bound there).
    block: bool,
    mount: MountEntry,
}

/// Finds what is mounted at `path`; NOT_FOUND if nothing of ours is.
fn backing(path: &Path) -> Result<Backing> {
    if !path.exists() {
        return Err(RequestError::NotFound(format!(
            "volume_path {} does not exist",
            path.display()
        )));
    }
    let mount = mountinfo::at(path)
        .map_err(|e| Error::os("read the mount table", &e))?
        .ok_or_else(|| {
            RequestError::NotFound(format!(
                "volume_path {} is not a mounted volume",
                path.display()
            ))
        })?;
    // A bound device node shows as its devtmpfs with the node's name as root.
    let block = mount.fs_type == "devtmpfs";
    let device = if block {
        Path::new("/dev").join(mount.root.strip_prefix("/").unwrap_or(&mount.root))
    } else {
        PathBuf::from(&mount.source)
    };
    let name = device.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mapper = if name.starts_with("loop") {
        MapperKind::RbdFuse
    } else if name.starts_with("rbd") {
        MapperKind::Krbd
    } else {
        return Err(RequestError::NotFound(format!(
            "volume_path {} holds {} from {}, not an RBD volume",
            path.display(),
            mount.fs_type,
            mount.source
        )));
    };
    Ok(Backing {
        device,
        mapper,
        block,
        mount,
    })
}

impl RbdNode {
    /// The image's size as Ceph has it (for an expansion that names no size).
    async fn image_size(&self, volume_id: &str) -> Result<u64> {
        let found = self
            .inner
            .lookup
            .find_existing(volume_id, crate::journal::JournalKind::Volume)
            .await?;
        rookery_ceph::rbd::info(&found.pool.io, found.image())
            .await
            .map(|i| i.size)
            .map_err(|e| RequestError::ceph(format!("read the size of image {}", found.image()), e))
    }
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl RbdNode {
    pub(super) async fn stats(
        &self,
        req: NodeGetVolumeStatsRequest,
    ) -> Result<NodeGetVolumeStatsResponse> {
        required_volume_id(&req.volume_id)?;
        let path = required_path("volume_path", &req.volume_path)?;
        let b = backing(&path)?;
        let broken = self.inner.mappers.broken(b.mapper, &b.device);
        let usage = if b.block {
            fs::device_size(&b.device).map(|size| {
                vec![VolumeUsage {
                    total: i64_of(size),
                    unit: Unit::Bytes as i32,
                    ..Default::default()
                }]
            })
        } else {
            fs::usage(&path).await.map(|u| {
                vec![
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
                ]
            })
        };
        match (usage, broken) {
            (Ok(usage), _) => Ok(NodeGetVolumeStatsResponse { usage }),
            (Err(e), Some(why)) => Err(RequestError::Unavailable(format!("{why} ({e})"))),
            (Err(e), None) => Err(e.into()),
        }
    }

    /// Healthy (no entries) while the device answers; INACCESSIBLE with the
    /// reason when its mapper is gone.
    pub(super) async fn health(
        &self,
        req: NodeGetVolumeHealthRequest,
    ) -> Result<NodeGetVolumeHealthResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
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
            ("", staging) => {
                staged_path(&required_path("staging_target_path", staging)?, volume_id)
            }
            (publish, _) => required_path("volume_publish_path", publish)?,
        };
        let b = backing(&path)?;
        let health_statuses = match self.inner.mappers.broken(b.mapper, &b.device) {
            None => self.pool_full(volume_id).await.into_iter().collect(),
            Some(why) => vec![VolumeHealthEntry {
                status: VolumeHealthErrorType::Inaccessible as i32,
                reason: "MapperGone".into(),
                message: why,
            }],
        };
        Ok(NodeGetVolumeHealthResponse {
            volume_health: Some(VolumeHealth {
                volume_id: volume_id.to_owned(),
                health_statuses,
            }),
        })
    }

    /// DEGRADED while the volume's pool refuses writes: they wait (librbd's
    /// default) rather than fail, so this is where a CO learns why.
    async fn pool_full(&self, volume_id: &str) -> Option<VolumeHealthEntry> {
        let pool_id = crate::volume_id::VolumeId::decode(volume_id)
            .ok()?
            .location_id;
        match self.inner.lookup.pool_refusing_writes(pool_id).await {
            Ok(why) => why.map(|why| VolumeHealthEntry {
                status: VolumeHealthErrorType::Degraded as i32,
                reason: "PoolFull".into(),
                message: format!(
                    "{why}; writes to this volume wait until there is room (they are not \
                     lost): delete volumes, snapshots or files you no longer need, or add OSDs"
                ),
            }),
            Err(e) => {
                tracing::debug!(volume_id, error = %e, "cannot tell whether the pool is full");
                None
            }
        }
    }

    pub(super) async fn expand(
        &self,
        req: NodeExpandVolumeRequest,
    ) -> Result<NodeExpandVolumeResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        let path = required_path("volume_path", &req.volume_path)?;
        let _lock = self.inner.locks.acquire(volume_id)?;
        let b = backing(&path)?;
        if let Some(why) = self.inner.mappers.broken(b.mapper, &b.device) {
            return Err(RequestError::FailedPrecondition(format!(
                "volume {volume_id} cannot grow: {why}"
            )));
        }
        let required = req.capacity_range.as_ref().map_or(0, |r| r.required_bytes);
        let wanted = match u64::try_from(required) {
            Ok(bytes) if bytes > 0 => bytes,
            _ => self.image_size(volume_id).await?,
        };
        let size = self
            .inner
            .mappers
            .refresh_size(b.mapper, &b.device, wanted)
            .await?;
        if size < wanted {
            return Err(RequestError::FailedPrecondition(format!(
                "the device of volume {volume_id} has {size} bytes, less than the {wanted} \
                 asked for: expand the volume with ControllerExpandVolume first"
            )));
        }
        if !b.block {
            if let Some(why) = fs::cannot_grow_online(&b.mount.fs_type) {
                return Err(RequestError::FailedPrecondition(format!(
                    "volume {volume_id} cannot grow on this node: {why}"
                )));
            }
            fs::grow(&b.device, &b.mount.mount_point, &b.mount.fs_type).await?;
        }
        tracing::info!(volume_id, size, "volume expanded on the node");
        Ok(NodeExpandVolumeResponse {
            capacity_bytes: i64_of(size),
        })
    }
}
