//! NodePublishVolume / NodeUnpublishVolume: bind-mount the staged volume (or the
//! raw device bound at the staging path) at the pod's target, read-only if
//! asked; and undo it. The mount table says what is published where, so a
//! SINGLE_NODE_SINGLE_WRITER volume is refused a second target even after a
//! plugin restart.

use rookery_csi_proto::v1::{
    NodePublishVolumeRequest, NodePublishVolumeResponse, NodeUnpublishVolumeRequest,
    NodeUnpublishVolumeResponse,
};

use super::stage::access;
use super::{required_path, required_volume_id, staged_path, RbdNode, RequestError, Result};
use crate::error::Error;
use crate::node::mount::{self, TargetKind};
use crate::node::mountinfo;

impl RbdNode {
    pub(super) async fn publish(
        &self,
        req: NodePublishVolumeRequest,
    ) -> Result<NodePublishVolumeResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        let staging = required_path("staging_target_path", &req.staging_target_path)?;
        let target = required_path("target_path", &req.target_path)?;
        let access = access(req.volume_capability.as_ref())?;
        let read_only = req.readonly || access.read_only;
        let _lock = self.inner.locks.acquire(volume_id)?;
        let staged = staged_path(&staging, volume_id);
        let table = mountinfo::read().map_err(|e| Error::os("read the mount table", &e))?;
        let Some(source) = mountinfo::find(&table, &staged) else {
            return Err(RequestError::FailedPrecondition(format!(
                "volume {volume_id} is not staged at {}; call NodeStageVolume first",
                staged.display()
            )));
        };
        if let Some(existing) = mountinfo::find(&table, &target) {
            if !existing.same_source(source) {
                return Err(RequestError::AlreadyExists(format!(
                    "target_path {} already has another mount ({} from {})",
                    target.display(),
                    existing.fs_type,
                    existing.source
                )));
            }
            if existing.read_only() != read_only {
                return Err(RequestError::AlreadyExists(format!(
                    "volume {volume_id} is published at {} {}, and this request asks for it {}",
                    target.display(),
                    rw_name(existing.read_only()),
                    rw_name(read_only)
                )));
            }
            return Ok(NodePublishVolumeResponse {});
        }
        if access.single_writer {
            let other = table
                .iter()
                .find(|e| e.same_source(source) && e.mount_point != staged);
            if let Some(other) = other {
                return Err(RequestError::FailedPrecondition(format!(
                    "volume {volume_id} is SINGLE_NODE_SINGLE_WRITER and already published at {}; \
                     unpublish it there first",
                    other.mount_point.display()
                )));
            }
        }
        let kind = if access.block {
            TargetKind::File
        } else {
            TargetKind::Directory
        };
        mount::bind(&staged, &target, kind, read_only).await?;
        tracing::info!(volume_id, target = %target.display(), read_only, "volume published");
        Ok(NodePublishVolumeResponse {})
    }

    pub(super) async fn unpublish(
        &self,
        req: NodeUnpublishVolumeRequest,
    ) -> Result<NodeUnpublishVolumeResponse> {
        let volume_id = required_volume_id(&req.volume_id)?;
        let target = required_path("target_path", &req.target_path)?;
        let _lock = self.inner.locks.acquire(volume_id)?;
        mount::unmount(&target).await?;
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
