//! NodeStageVolume / NodeUnstageVolume: mount the volume's subvolume at the
//! staging path (once per node) and record how; and undo it, waiting until a
//! ceph-fuse daemon has exited. Both are idempotent. Staging a volume whose
//! mount has died remounts it (see `heal`).

use std::path::Path;

use rookery_csi_proto::v1::{
    NodeStageVolumeRequest, NodeStageVolumeResponse, NodeUnstageVolumeRequest,
    NodeUnstageVolumeResponse,
};

use super::mounter::MounterKind;
use super::record::{self, StageRecord};
use super::volume::{self, Access, VolumeSource};
use super::{required_path, required_volume_id, CephFsNode, RequestError, Result};
use crate::error::Error;
use crate::node::fuse::dead_mount;
use crate::node::mountinfo::{self, MountEntry};

/// The mount table now.
pub(super) fn mount_table() -> Result<Vec<MountEntry>> {
    mountinfo::read().map_err(|e| Error::os("read the mount table", &e).into())
}

/// Mounts of `staged`'s filesystem subtree other than the staging mount
/// itself: the publications. The topmost entry of each mount point counts.
pub(super) fn publications<'a>(
    table: &'a [MountEntry],
    staged: &MountEntry,
) -> Vec<&'a MountEntry> {
    let mut seen = std::collections::HashSet::new();
    let mut found: Vec<&MountEntry> = table
        .iter()
        .rev()
        .filter(|e| seen.insert(e.mount_point.clone()))
        .filter(|e| e.same_source(staged) && e.mount_point != staged.mount_point)
        .collect();
    found.reverse();
    found
}

impl CephFsNode {
    /// The record of staging `source` at `staging` for `access`.
    pub(super) fn record_for(
        &self,
        volume_id: &str,
        staging: &Path,
        source: VolumeSource,
        access: &Access,
    ) -> StageRecord {
        StageRecord {
            volume_id: volume_id.to_owned(),
            staging_target_path: staging.to_owned(),
            fs_name: source.fs_name,
            root_path: source.root_path,
            mounter: source
                .mounter
                .unwrap_or(self.inner.mounters.default)
                .to_string(),
            read_only: access.read_only,
            mount_flags: access.mount_flags.clone(),
            fuse_mount_options: source.fuse_mount_options,
            kernel_mount_options: source.kernel_mount_options,
        }
    }

    pub(super) async fn stage(
        &self,
        req: NodeStageVolumeRequest,
    ) -> Result<NodeStageVolumeResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        let staging = required_path("staging_target_path", &req.staging_target_path)?;
        let access = volume::access(req.volume_capability.as_ref())?;
        let source = volume::source(&req.volume_context, &self.inner.mounters.rados).await?;
        let rec = self.record_for(volume_id, &staging, source, &access);
        let _lock = self.inner.locks.acquire(volume_id)?;
        let table = mount_table()?;
        if let Some(entry) = mountinfo::find(&table, &staging) {
            if MounterKind::of_mount(entry).is_none() {
                return Err(RequestError::AlreadyExists(format!(
                    "staging_target_path {} already has another mount ({} from {})",
                    staging.display(),
                    entry.fs_type,
                    entry.source
                )));
            }
            match dead_mount(&staging).await {
                Some(why) => self.heal(&rec, &why).await?,
                None => {
                    // Staged by a plugin that kept no record: keep one now, so
                    // that a dead mount can be remounted later.
                    if record::read(&self.inner.state_dir, volume_id)?.is_none() {
                        record::write(&self.inner.state_dir, &rec)?;
                    }
                }
            }
            return Ok(NodeStageVolumeResponse {});
        }
        self.mount_staged(&rec).await?;
        tracing::info!(
            volume_id,
            mounter = %rec.mounter,
            fs_name = %rec.fs_name,
            root_path = %rec.root_path,
            staging = %staging.display(),
            "volume staged"
        );
        Ok(NodeStageVolumeResponse {})
    }

    /// Mounts `rec` and records it; a mount that cannot be recorded is undone
    /// (it could not be remounted after its ceph-fuse died).
    pub(super) async fn mount_staged(&self, rec: &StageRecord) -> Result<()> {
        self.inner.mounters.mount(rec).await?;
        if let Err(e) = record::write(&self.inner.state_dir, rec) {
            let staging = &rec.staging_target_path;
            let entry = mountinfo::at(staging).ok().flatten();
            if let Err(undo) = self.inner.mounters.unmount(staging, entry.as_ref()).await {
                tracing::warn!(volume_id = %rec.volume_id, error = %undo, "cannot unmount after a failed stage");
            }
            return Err(e.into());
        }
        Ok(())
    }

    pub(super) async fn unstage(
        &self,
        req: NodeUnstageVolumeRequest,
    ) -> Result<NodeUnstageVolumeResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        let staging = required_path("staging_target_path", &req.staging_target_path)?;
        let _lock = self.inner.locks.acquire(volume_id)?;
        let table = mount_table()?;
        let entry = mountinfo::find(&table, &staging).cloned();
        if let Some(entry) = &entry {
            if MounterKind::of_mount(entry).is_none() {
                return Err(RequestError::FailedPrecondition(format!(
                    "staging_target_path {} holds {} from {}, not a CephFS volume; refusing \
                     to unmount it",
                    staging.display(),
                    entry.fs_type,
                    entry.source
                )));
            }
            // Unmounting the stage under its publications would leave the
            // mount (and ceph-fuse) alive through them.
            let published: Vec<String> = publications(&table, entry)
                .iter()
                .map(|p| p.mount_point.display().to_string())
                .collect();
            if !published.is_empty() {
                return Err(RequestError::FailedPrecondition(format!(
                    "volume {volume_id} is still published at {}; call NodeUnpublishVolume \
                     there first",
                    published.join(", ")
                )));
            }
        }
        self.inner
            .mounters
            .unmount(&staging, entry.as_ref())
            .await?;
        record::remove(&self.inner.state_dir, volume_id)?;
        tracing::info!(volume_id, staging = %staging.display(), "volume unstaged");
        Ok(NodeUnstageVolumeResponse {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_publications_of_a_stage() {
        let table = mountinfo::parse(
            "\
22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw
90 22 0:50 / /stage/a rw,nosuid,nodev - fuse.ceph-fuse ceph-fuse rw,user_id=0
91 22 0:50 / /pods/1 rw,nosuid,nodev - fuse.ceph-fuse ceph-fuse rw,user_id=0
92 22 0:50 / /pods/2 ro,nosuid,nodev - fuse.ceph-fuse ceph-fuse rw,user_id=0
93 22 0:51 / /stage/b rw,nosuid,nodev - fuse.ceph-fuse ceph-fuse rw,user_id=0
94 22 0:51 / /pods/3 rw,nosuid,nodev - fuse.ceph-fuse ceph-fuse rw,user_id=0
95 22 0:52 / /pods/1 rw - tmpfs tmpfs rw
",
        );
        let staged = mountinfo::find(&table, Path::new("/stage/a")).unwrap();
        let found: Vec<_> = publications(&table, staged)
            .iter()
            .map(|e| (e.mount_point.display().to_string(), e.read_only()))
            .collect();
        // /pods/1 is covered by a tmpfs now: not a publication any more.
        assert_eq!(found, vec![("/pods/2".to_string(), true)]);
    }
}
