//! DeleteVolume (remove the subvolume, then its journal entry; an unknown or
//! malformed ID is already deleted, as the spec says) and
//! ControllerExpandVolume (raise the quota; the node needs to do nothing).

use rookery_csi_proto::v1::{
    ControllerExpandVolumeRequest, ControllerExpandVolumeResponse, DeleteVolumeRequest,
    DeleteVolumeResponse,
};

use super::subvolume::Subvolumes;
use super::volume::Lookup;
use super::CephFsController;
use crate::journal::JournalKind;
use crate::locks::MultiLockGuard;
use crate::request::params::volume_size;
use crate::request::{RequestError, Result};

impl CephFsController {
    pub(crate) async fn delete(&self, req: DeleteVolumeRequest) -> Result<DeleteVolumeResponse> {
        if req.volume_id.is_empty() {
            return Err(RequestError::invalid("volume_id", "it is empty"));
        }
        let _lock =
            MultiLockGuard::acquire_waiting([(&self.inner.locks, req.volume_id.as_str())]).await?;
        let found = match self.find(&req.volume_id, JournalKind::Volume).await? {
            Lookup::Found(f) => f,
            Lookup::Malformed(_) | Lookup::Foreign(_) | Lookup::Gone => {
                return Ok(DeleteVolumeResponse {})
            }
        };
        let name_lock = MultiLockGuard::acquire_waiting([(
            &self.inner.locks,
            found.attributes.request_name.as_str(),
        )])
        .await?;
        let sv = Subvolumes {
            rados: &self.inner.rados,
            fs: &found.fs.name,
        };
        sv.remove(found.name()).await?;
        found
            .journal
            .undo_reservation(&found.attributes.request_name, &found.uuid)
            .await?;
        drop(name_lock);
        tracing::info!(
            fs = found.fs.name,
            subvolume = found.name(),
            "volume deleted"
        );
        Ok(DeleteVolumeResponse {})
    }

    pub(crate) async fn expand(
        &self,
        req: ControllerExpandVolumeRequest,
    ) -> Result<ControllerExpandVolumeResponse> {
        if req.capacity_range.is_none() {
            return Err(RequestError::invalid("capacity_range", "it is required"));
        }
        let size = volume_size(req.capacity_range.as_ref())?;
        if let Some(cap) = &req.volume_capability {
            super::params::check_capabilities(std::slice::from_ref(cap))?;
        }
        let _lock =
            MultiLockGuard::acquire_waiting([(&self.inner.locks, req.volume_id.as_str())]).await?;
        let found = self
            .find_existing(&req.volume_id, JournalKind::Volume)
            .await?;
        let sv = Subvolumes {
            rados: &self.inner.rados,
            fs: &found.fs.name,
        };
        let quota = sv.info(found.name()).await?.quota().unwrap_or(0);
        if quota < size {
            sv.resize(found.name(), size).await?;
        }
        Ok(ControllerExpandVolumeResponse {
            capacity_bytes: i64::try_from(quota.max(size)).unwrap_or(i64::MAX),
            node_expansion_required: false,
        })
    }
}
