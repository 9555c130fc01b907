//! ControllerExpandVolume: grows the image; the node grows the filesystem.

use rookery_ceph::rbd;
use rookery_csi_proto::v1::{ControllerExpandVolumeRequest, ControllerExpandVolumeResponse};

use super::params::{is_block, MIB};
use super::RbdController;
use crate::journal::JournalKind;
use crate::request::{RequestError, Result};

impl RbdController {
    pub(crate) async fn expand(
        &self,
        req: ControllerExpandVolumeRequest,
    ) -> Result<ControllerExpandVolumeResponse> {
        let id = req.volume_id.as_str();
        if id.is_empty() {
            return Err(RequestError::invalid("volume_id", "it is empty"));
        }
        let Some(range) = req.capacity_range.as_ref() else {
            return Err(RequestError::invalid("capacity_range", "it is required"));
        };
        let required = u64::try_from(range.required_bytes).map_err(|_| {
            RequestError::invalid("capacity_range.required_bytes", "it is negative")
        })?;
        let limit = u64::try_from(range.limit_bytes)
            .map_err(|_| RequestError::invalid("capacity_range.limit_bytes", "it is negative"))?;
        if required == 0 {
            return Err(RequestError::invalid(
                "capacity_range.required_bytes",
                "give the new size",
            ));
        }
        let wanted = required.div_ceil(MIB) * MIB;
        if limit > 0 && wanted > limit {
            return Err(RequestError::OutOfRange(format!(
                "capacity_range: {required} bytes rounded up to whole MiB ({wanted}) exceed \
                 limit_bytes {limit}"
            )));
        }
        let _lock = self.inner.locks.acquire(id)?;
        let volume = self.find_existing(id, JournalKind::Volume).await?;
        let image = volume.image();
        let io = &volume.pool.io;
        let info = rbd::info(io, image)
            .await
            .map_err(|e| RequestError::ceph(format!("read the size of image '{image}'"), e))?;
        let size = if info.size > wanted {
            return Err(RequestError::OutOfRange(format!(
                "volume {id} has {} bytes, more than the {wanted} asked for; volumes grow,                  they never shrink",
                info.size
            )));
        } else if info.size == wanted {
            info.size
        } else {
            rbd::resize(io, image, wanted).await.map_err(|e| {
                RequestError::ceph(format!("grow image '{image}' to {wanted} bytes"), e)
            })?;
            tracing::info!(
                volume_id = id,
                image,
                from = info.size,
                to = wanted,
                "volume expanded"
            );
            wanted
        };
        Ok(ControllerExpandVolumeResponse {
            capacity_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            node_expansion_required: !is_block(req.volume_capability.as_ref()),
        })
    }
}
