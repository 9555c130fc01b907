//! NodeStageVolume / NodeUnstageVolume: map the image, format only a blank
//! device, mount it (or bind the raw device) at `<staging>/<volume id>`; and undo
//! all of it. Both are idempotent, and a stage that fails part-way undoes what
//! it did, so nothing stays mapped.

use std::path::Path;

use rookery_csi_proto::v1::volume_capability::access_mode::Mode;
use rookery_csi_proto::v1::volume_capability::AccessType;
use rookery_csi_proto::v1::{
    NodeStageVolumeRequest, NodeStageVolumeResponse, NodeUnstageVolumeRequest,
    NodeUnstageVolumeResponse, VolumeCapability,
};

use super::mapper::{MapRequest, MapperKind};
use super::record::{self, StageRecord};
use super::{required_path, required_volume_id, staged_path, RbdNode, RequestError, Result};
use crate::journal::JournalKind;
use crate::node::fs::{self, Content};
use crate::node::mount::{self, TargetKind};
use crate::node::mountinfo;
use crate::rbd::params::check_capabilities;

/// What a capability asks of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Access {
    pub block: bool,
    pub fs_type: String,
    pub mount_flags: Vec<String>,
    pub read_only: bool,
    pub single_writer: bool,
}

/// Checks `cap` (the controller's rules: RWO, RWOP, block RWX) and reads it.
pub(super) fn access(cap: Option<&VolumeCapability>) -> Result<Access> {
    let cap = cap.ok_or_else(|| RequestError::invalid("volume_capability", "it is required"))?;
    check_capabilities(std::slice::from_ref(cap)).map_err(|e| match e {
        RequestError::Invalid { reason, .. } => RequestError::invalid(
            "volume_capability",
            reason.trim_start_matches("entry 0: ").to_owned(),
        ),
        other => other,
    })?;
    let mode = cap
        .access_mode
        .as_ref()
        .and_then(|m| Mode::try_from(m.mode).ok())
        .unwrap_or(Mode::Unknown);
    let (block, fs_type, mount_flags) = match &cap.access_type {
        Some(AccessType::Block(_)) => (true, String::new(), Vec::new()),
        Some(AccessType::Mount(m)) => {
            let fs = if m.fs_type.is_empty() {
                fs::DEFAULT_FS.to_owned()
            } else {
                m.fs_type.clone()
            };
            if !fs::SUPPORTED.contains(&fs.as_str()) {
                return Err(RequestError::invalid(
                    "volume_capability.mount.fs_type",
                    format!(
                        "{fs:?} is not supported; use one of {}",
                        fs::SUPPORTED.join(", ")
                    ),
                ));
            }
            (false, fs, m.mount_flags.clone())
        }
        None => {
            return Err(RequestError::invalid(
                "volume_capability.access_type",
                "say block or mount",
            ))
        }
    };
    Ok(Access {
        block,
        fs_type,
        mount_flags,
        read_only: matches!(mode, Mode::SingleNodeReaderOnly | Mode::MultiNodeReaderOnly),
        single_writer: mode == Mode::SingleNodeSingleWriter,
    })
}

impl RbdNode {
    pub(super) async fn stage(
        &self,
        req: NodeStageVolumeRequest,
    ) -> Result<NodeStageVolumeResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        let staging = required_path("staging_target_path", &req.staging_target_path)?;
        let access = access(req.volume_capability.as_ref())?;
        let kind = match req.volume_context.get("mounter").filter(|m| !m.is_empty()) {
            Some(m) => m
                .parse::<MapperKind>()
                .map_err(|e| RequestError::invalid("volume_context.mounter", e))?,
            None => self.inner.mappers.default,
        };
        let _lock = self.inner.locks.acquire(volume_id)?;
        let target = staged_path(&staging, volume_id);
        if self.already_staged(&staging, &target, &access).await? {
            return Ok(NodeStageVolumeResponse {});
        }
        let (pool, image) = self.image_of(volume_id, &req.volume_context).await?;
        std::fs::create_dir_all(&staging)
            .map_err(|e| crate::error::Error::os(format!("create {}", staging.display()), &e))?;
        let device = self
            .inner
            .mappers
            .map(
                kind,
                &MapRequest {
                    volume_id,
                    pool: &pool,
                    image: &image,
                },
            )
            .await?;
        let rec = StageRecord {
            volume_id: volume_id.to_owned(),
            pool,
            image_name: image,
            mapper: kind.to_string(),
            device: device.clone(),
            block: access.block,
            fs_type: (!access.block).then(|| access.fs_type.clone()),
        };
        let staged = match record::write(&staging, &rec) {
            Ok(()) => self.mount_staged(&device, &target, &access).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = staged {
            // Undo: nothing stays mapped or recorded for a stage that failed.
            let _ = mount::remove_target(&target);
            if let Err(undo) = self.inner.mappers.unmap(kind, volume_id, &device).await {
                tracing::warn!(volume_id, error = %undo, "cannot unmap after a failed stage");
            }
            let _ = record::remove(&staging);
            return Err(e);
        }
        tracing::info!(volume_id, mapper = %kind, device = %device.display(), "volume staged");
        Ok(NodeStageVolumeResponse {})
    }

    /// Whether `target` holds this volume already, staged the way `access` asks.
    /// A stage whose FUSE image server died is torn down here so that it is staged afresh.
    async fn already_staged(&self, staging: &Path, target: &Path, access: &Access) -> Result<bool> {
        let doing = format!("read the mount table for {}", target.display());
        let mounted = mountinfo::at(target).map_err(|e| crate::error::Error::os(&doing, &e))?;
        let Some(_mount) = mounted else {
            return Ok(false);
        };
        let Some(rec) = record::read(staging)? else {
            // Staged by something that keeps no record (e.g. ceph-csi): trust the mount.
            return Ok(true);
        };
        if rec.block != access.block {
            return Err(RequestError::AlreadyExists(format!(
                "volume {} is staged at {} as {}, not as {}",
                rec.volume_id,
                target.display(),
                kind_name(rec.block),
                kind_name(access.block)
            )));
        }
        let kind = rec.mapper_kind()?;
        match self.inner.mappers.broken(kind, &rec.device) {
            None => Ok(true),
            Some(why) => {
                tracing::warn!(volume_id = %rec.volume_id, reason = %why, "healing a broken stage");
                nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH).map_err(|e| {
                    crate::error::Error::os(format!("unmount {}", target.display()), &e.into())
                })?;
                self.inner
                    .mappers
                    .unmap(kind, &rec.volume_id, &rec.device)
                    .await?;
                record::remove(staging)?;
                Ok(false)
            }
        }
    }

    async fn mount_staged(&self, device: &Path, target: &Path, access: &Access) -> Result<()> {
        if access.block {
            mount::bind(device, target, TargetKind::File, false).await?;
            return Ok(());
        }
        match fs::probe(device).await? {
            Content::Blank if access.read_only => {
                return Err(RequestError::FailedPrecondition(format!(
                    "the volume on {} is blank and asked for read-only: there is no filesystem \
                     to mount; stage it writable once to format it",
                    device.display()
                )))
            }
            Content::Blank => fs::mkfs(device, &access.fs_type).await?,
            Content::Filesystem(t) if t == access.fs_type => {}
            Content::Filesystem(t) => {
                return Err(RequestError::FailedPrecondition(format!(
                    "the volume holds an {t} filesystem but the capability asks for {}; \
                     ask for {t} (it is never reformatted)",
                    access.fs_type
                )))
            }
            Content::Other(what) => {
                return Err(RequestError::FailedPrecondition(format!(
                    "the volume holds {what}, not a filesystem; refusing to format it"
                )))
            }
        }
        mount::mount_device(
            device,
            target,
            &access.fs_type,
            &access.mount_flags,
            access.read_only,
        )
        .await?;
        Ok(())
    }

    /// Pool and image of `volume_id`: from the volume context (ceph-csi puts
    /// `pool` and `imageName` there), else from the journal.
    async fn image_of(
        &self,
        volume_id: &str,
        context: &std::collections::HashMap<String, String>,
    ) -> Result<(String, String)> {
        if let (Some(pool), Some(image)) = (context.get("pool"), context.get("imageName")) {
            return Ok((pool.clone(), image.clone()));
        }
        let found = self
            .inner
            .lookup
            .find_existing(volume_id, JournalKind::Volume)
            .await?;
        Ok((found.pool.name.clone(), found.image().to_owned()))
    }

    pub(super) async fn unstage(
        &self,
        req: NodeUnstageVolumeRequest,
    ) -> Result<NodeUnstageVolumeResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        let staging = required_path("staging_target_path", &req.staging_target_path)?;
        let _lock = self.inner.locks.acquire(volume_id)?;
        let target = staged_path(&staging, volume_id);
        mount::unmount(&target).await?;
        mount::remove_target(&target)?;
        match record::read(&staging)? {
            Some(rec) => {
                let kind = rec.mapper_kind()?;
                self.inner
                    .mappers
                    .unmap(kind, volume_id, &rec.device)
                    .await?;
                record::remove(&staging)?;
            }
            // No record: a stage that died before writing it may have left a
            // FUSE mapping; unmapping by volume ID finds it (or nothing).
            None => {
                let none = Path::new("");
                self.inner
                    .mappers
                    .unmap(MapperKind::RbdFuse, volume_id, none)
                    .await?;
            }
        }
        tracing::info!(volume_id, "volume unstaged");
        Ok(NodeUnstageVolumeResponse {})
    }
}

fn kind_name(block: bool) -> &'static str {
    if block {
        "a raw block device"
    } else {
        "a filesystem"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CsiCode;
    use rookery_csi_proto::v1::volume_capability::{AccessMode, BlockVolume, MountVolume};

    fn cap(mode: Mode, access: AccessType) -> VolumeCapability {
        VolumeCapability {
            access_mode: Some(AccessMode { mode: mode as i32 }),
            access_type: Some(access),
        }
    }

    fn mount(fs: &str) -> AccessType {
        AccessType::Mount(MountVolume {
            fs_type: fs.into(),
            mount_flags: vec!["noatime".into()],
            ..Default::default()
        })
    }

    #[test]
    fn reads_capabilities() {
        let a = access(Some(&cap(Mode::SingleNodeWriter, mount("")))).unwrap();
        assert_eq!(a.fs_type, "ext4");
        assert!(!a.block && !a.read_only && !a.single_writer);
        assert_eq!(a.mount_flags, vec!["noatime".to_string()]);
        let a = access(Some(&cap(Mode::SingleNodeSingleWriter, mount("xfs")))).unwrap();
        assert!(a.single_writer);
        assert_eq!(a.fs_type, "xfs");
        let b = access(Some(&cap(
            Mode::MultiNodeMultiWriter,
            AccessType::Block(BlockVolume {}),
        )))
        .unwrap();
        assert!(b.block);
    }

    #[test]
    fn refuses_what_a_node_cannot_do_naming_the_field() {
        let e = access(None).unwrap_err();
        assert_eq!(e.to_string(), "invalid volume_capability: it is required");
        let e = access(Some(&cap(Mode::SingleNodeWriter, mount("btrfs")))).unwrap_err();
        assert_eq!(e.code(), CsiCode::InvalidArgument);
        assert!(
            e.to_string().contains("volume_capability.mount.fs_type"),
            "{e}"
        );
        let e = access(Some(&cap(Mode::MultiNodeMultiWriter, mount("ext4")))).unwrap_err();
        assert!(
            e.to_string().starts_with("invalid volume_capability:"),
            "{e}"
        );
    }
}
