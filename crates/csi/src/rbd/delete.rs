//! DeleteVolume: an unknown or malformed ID is OK (the spec's rule). Otherwise,
//! under the ID's and the request name's locks: image to the trash, purge queued
//! ([`super::purge`]), journal entry removed, reply.

use rookery_ceph::rbd;
use rookery_csi_proto::v1::{DeleteVolumeRequest, DeleteVolumeResponse};

use super::volume::{FoundVolume, Lookup};
use super::RbdController;
use crate::journal::JournalKind;
use crate::request::{RequestError, Result};

impl RbdController {
    pub(crate) async fn delete(&self, req: DeleteVolumeRequest) -> Result<DeleteVolumeResponse> {
        let id = req.volume_id.as_str();
        if id.is_empty() {
            return Err(RequestError::invalid("volume_id", "it is empty"));
        }
        let locks = &self.inner.locks;
        let _id_lock = locks.acquire_waiting(id).await?;
        let volume = match self.find(id, JournalKind::Volume).await? {
            Lookup::Found(v) => v,
            Lookup::Malformed(reason) => {
                tracing::info!(
                    volume_id = id,
                    reason,
                    "delete of a malformed volume ID: nothing to do"
                );
                return Ok(DeleteVolumeResponse {});
            }
            Lookup::Foreign(cluster) => {
                tracing::warn!(
                    volume_id = id,
                    cluster,
                    "delete of another cluster's volume ID: nothing to do"
                );
                return Ok(DeleteVolumeResponse {});
            }
            Lookup::Gone => return Ok(DeleteVolumeResponse {}),
        };
        let name = volume.attributes.request_name.clone();
        let _name_lock = locks.acquire_waiting(&name).await?;
        self.trash_and_purge(&volume, id).await?;
        Ok(DeleteVolumeResponse {})
    }

    /// Moves the image of a volume or snapshot to the trash, starts its purge and
    /// removes its journal entry. Call it under the ID's and the name's locks.
    ///
    /// The journal goes last: a failure before leaves an entry a retried delete
    /// finds (the image then already in the trash: ENOENT, fine); the purge starts
    /// before, so a retry that finds no entry any more has nothing left to do.
    pub(crate) async fn trash_and_purge(&self, volume: &FoundVolume, id: &str) -> Result<()> {
        let image = volume.image().to_owned();
        let io = &volume.pool.io;
        let image_id = match &volume.attributes.image_id {
            Some(image_id) => Some(image_id.clone()),
            None => match rbd::image_id(io, &image).await {
                Ok(image_id) => Some(image_id),
                Err(e) if e.is_not_found() => None,
                Err(e) => {
                    return Err(RequestError::ceph(
                        format!("read the id of image '{image}'"),
                        e,
                    ))
                }
            },
        };
        let moved = match rbd::trash_move(io, &image, 0).await {
            Ok(()) => true,
            // librbd first adds the image to the pool's trash object, which a
            // full pool refuses when that object does not exist yet (ENOSPC) —
            // and its rollback then reports ENOENT although the image is still
            // there. Then remove it outright, and look whether it is gone.
            Err(e) if e.is_not_found() || e.is_full() => {
                self.remove_now(volume, id).await?;
                false
            }
            Err(e) => {
                return Err(RequestError::ceph(
                    format!(
                        "move image '{image}' of {id} to the trash in pool '{}'",
                        volume.pool.name
                    ),
                    e,
                ))
            }
        };
        // Also when the image was already in the trash: a delete retried after a
        // failed journal update must still purge it.
        if let Some(image_id) = image_id {
            self.inner.purges.start(io.clone(), image.clone(), image_id);
        }
        volume
            .journal
            .undo_reservation(&volume.attributes.request_name, &volume.uuid)
            .await?;
        tracing::info!(id, pool = volume.pool.name, image, moved, "deleted");
        Ok(())
    }

    /// Removes the image with its data now; an image that is not there
    /// (already trashed or removed) is fine. An image still there afterwards is
    /// an error: its journal entry must stay, or nothing would know of it.
    async fn remove_now(&self, volume: &FoundVolume, id: &str) -> Result<()> {
        let image = volume.image();
        let io = &volume.pool.io;
        match rbd::remove(io, image).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                let hint = if e.errno() == Some(libc::EBUSY) {
                    " (it is still mapped: unmount it first)"
                } else {
                    ""
                };
                return Err(RequestError::ceph(
                    format!(
                        "remove image '{image}' of {id} in pool '{}'{hint}",
                        volume.pool.name
                    ),
                    e,
                ));
            }
        }
        // librbd removes through the trash too, with the same misleading ENOENT.
        match rbd::image_id(io, image).await {
            Err(e) if e.is_not_found() => {
                tracing::info!(
                    id,
                    pool = volume.pool.name,
                    image,
                    "removed without the trash"
                );
                Ok(())
            }
            Ok(_) => Err(RequestError::FailedPrecondition(format!(
                "cannot delete {id}: librbd reported image '{image}' missing but it is still \
                 in pool '{}' — what librbd does when the pool is full and has no RBD trash \
                 object yet, which it needs to delete images; free space another way (delete \
                 other volumes or CephFS files) or add OSDs, then retry",
                volume.pool.name
            ))),
            Err(e) => Err(RequestError::ceph(
                format!("look whether image '{image}' of {id} is gone"),
                e,
            )),
        }
    }
}
