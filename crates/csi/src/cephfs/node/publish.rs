//! NodePublishVolume / NodeUnpublishVolume: bind-mount the staged volume at
//! the pod's target, read-only if asked; and undo it. The mount table says
//! what is published where, so a SINGLE_NODE_SINGLE_WRITER volume is refused a
//! second target even after a plugin restart. A publish that finds the stage
//! dead remounts it first (see `heal`).

use rookery_csi_proto::v1::{
    NodePublishVolumeRequest, NodePublishVolumeResponse, NodeUnpublishVolumeRequest,
    NodeUnpublishVolumeResponse,
};

use super::mounter::MounterKind;
use super::record;
use super::stage::{mount_table, publications};
use super::volume::{self, Access};
use super::{required_path, required_volume_id, CephFsNode, RequestError, Result};
use crate::node::fuse::{self, dead_mount};
use crate::node::mount::{self, TargetKind};
use crate::node::mountinfo;

impl CephFsNode {
    pub(super) async fn publish(
        &self,
        req: NodePublishVolumeRequest,
    ) -> Result<NodePublishVolumeResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        let staging = required_path("staging_target_path", &req.staging_target_path)?;
        let target = required_path("target_path", &req.target_path)?;
        let access = volume::access(req.volume_capability.as_ref())?;
        let read_only = req.readonly || access.read_only;
        let _lock = self.inner.locks.acquire(volume_id)?;
        let mut table = mount_table()?;
        let Some(staged) = mountinfo::find(&table, &staging) else {
            return Err(RequestError::FailedPrecondition(format!(
                "volume {volume_id} is not staged at {}; call NodeStageVolume first",
                staging.display()
            )));
        };
        if MounterKind::of_mount(staged).is_none() {
            return Err(RequestError::FailedPrecondition(format!(
                "staging_target_path {} holds {} from {}, not a CephFS volume",
                staging.display(),
                staged.fs_type,
                staged.source
            )));
        }
        if let Some(why) = dead_mount(&staging).await {
            let staged_read_only = staged.read_only();
            self.heal_for_publish(&req, &access, staged_read_only, &why)
                .await?;
            table = mount_table()?;
        }
        let staged = mountinfo::find(&table, &staging).ok_or_else(|| {
            RequestError::Unavailable(format!(
                "volume {volume_id} is no longer mounted at {}; retry",
                staging.display()
            ))
        })?;
        if let Some(existing) = mountinfo::find(&table, &target) {
            if existing.same_source(staged) {
                if existing.read_only() != read_only {
                    return Err(RequestError::AlreadyExists(format!(
                        "volume {volume_id} is published at {} {}, and this request asks for \
                         it {}",
                        target.display(),
                        rw_name(existing.read_only()),
                        rw_name(read_only)
                    )));
                }
                return Ok(NodePublishVolumeResponse {});
            }
            if dead_mount(&target).await.is_none() {
                return Err(RequestError::AlreadyExists(format!(
                    "target_path {} already has another mount ({} from {})",
                    target.display(),
                    existing.fs_type,
                    existing.source
                )));
            }
            // A publication of an earlier, dead mount of the volume: replace it.
            fuse::detach(&target)?;
        }
        if access.single_writer {
            if let Some(other) = publications(&table, staged).first() {
                return Err(RequestError::FailedPrecondition(format!(
                    "volume {volume_id} is SINGLE_NODE_SINGLE_WRITER and already published at {}; \
                     unpublish it there first",
                    other.mount_point.display()
                )));
            }
        }
        mount::bind(&staging, &target, TargetKind::Directory, read_only).await?;
        tracing::info!(volume_id, target = %target.display(), read_only, "volume published");
        Ok(NodePublishVolumeResponse {})
    }

    /// Remounts a dead stage as its record says, or, without one, as this
    /// request's volume context says.
    async fn heal_for_publish(
        &self,
        req: &NodePublishVolumeRequest,
        access: &Access,
        staged_read_only: bool,
        why: &str,
    ) -> Result<()> {
        let rec = match record::read(&self.inner.state_dir, &req.volume_id)? {
            Some(rec) => rec,
            None => {
                let source =
                    volume::source(&req.volume_context, &self.inner.mounters.rados).await?;
                let staging = required_path("staging_target_path", &req.staging_target_path)?;
                let stage_access = Access {
                    read_only: staged_read_only,
                    ..access.clone()
                };
                self.record_for(&req.volume_id, &staging, source, &stage_access)
            }
        };
        self.heal(&rec, why).await
    }

    pub(super) async fn unpublish(
        &self,
        req: NodeUnpublishVolumeRequest,
    ) -> Result<NodeUnpublishVolumeResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        let target = required_path("target_path", &req.target_path)?;
        let _lock = self.inner.locks.acquire(volume_id)?;
        if dead_mount(&target).await.is_some() {
            fuse::detach(&target)?;
        } else {
            mount::unmount(&target).await?;
        }
        mount::remove_target(&target)?;
        tracing::info!(volume_id, target = %target.display(), "volume unpublished");
        Ok(NodeUnpublishVolumeResponse {})
    }
}

fn rw_name(read_only: bool) -> &'static str {
    if read_only {
        "read-only"
    } else {
        "read-write"
    }
}
