//! DeleteVolume: an unknown or malformed ID is OK (the spec's rule). Otherwise,
//! under the ID's and the request name's locks: image to the trash, journal entry
//! removed, reply — and the trash entry purged by a background task, since
//! removing an image's data takes far longer than the move.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rookery_ceph::rbd;
use rookery_ceph::IoCtx;
use rookery_csi_proto::v1::{DeleteVolumeRequest, DeleteVolumeResponse};
use tokio::task::JoinHandle;

use super::error::{ControllerError, Result};
use super::volume::{FoundVolume, Lookup};
use super::RbdController;
use crate::journal::JournalKind;

/// Attempts of a purge; a just-unmapped image may briefly still have a watcher.
const PURGE_ATTEMPTS: u32 = 5;
const PURGE_RETRY: Duration = Duration::from_millis(500);

/// How one background purge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeOutcome {
    pub pool: String,
    pub image: String,
    pub image_id: String,
    /// None when the trash entry is gone; otherwise why it stayed.
    pub error: Option<String>,
}

/// Outcomes kept for [`Purges::wait`]; older ones are dropped so a long-running
/// controller nobody asks does not grow without bound.
const KEPT_OUTCOMES: usize = 1024;

/// Background purges: tasks still running, and outcomes not yet reported.
#[derive(Debug, Default, Clone)]
pub(crate) struct Purges(Arc<Mutex<PurgeState>>);

#[derive(Debug, Default)]
struct PurgeState {
    running: Vec<JoinHandle<()>>,
    done: VecDeque<PurgeOutcome>,
}

impl Purges {
    fn start(&self, io: IoCtx, image: String, image_id: String) {
        let state = self.0.clone();
        let task = tokio::spawn(async move {
            let error = purge(&io, &image, &image_id).await;
            let outcome = PurgeOutcome {
                pool: io.pool().to_owned(),
                image,
                image_id,
                error,
            };
            let mut state = lock(&state);
            if state.done.len() == KEPT_OUTCOMES {
                state.done.pop_front();
            }
            state.done.push_back(outcome);
        });
        let mut state = lock(&self.0);
        state.running.retain(|t| !t.is_finished());
        state.running.push(task);
    }

    /// Waits for the running purges; returns every outcome not reported before.
    pub async fn wait(&self) -> Vec<PurgeOutcome> {
        let running = std::mem::take(&mut lock(&self.0).running);
        for task in running {
            if let Err(e) = task.await {
                if e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
        lock(&self.0).done.drain(..).collect()
    }
}

fn lock(state: &Mutex<PurgeState>) -> std::sync::MutexGuard<'_, PurgeState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes the trash entry, retrying a few times; None once it is gone.
async fn purge(io: &IoCtx, image: &str, image_id: &str) -> Option<String> {
    let mut error = None;
    for attempt in 1..=PURGE_ATTEMPTS {
        match rbd::trash_remove(io, image_id, true).await {
            Ok(()) => return done(io, image, None),
            Err(e) if e.is_not_found() => return done(io, image, None),
            Err(e) => {
                tracing::debug!(pool = io.pool(), image, attempt, error = %e, "trash purge failed");
                error = Some(e.to_string());
                if attempt < PURGE_ATTEMPTS {
                    tokio::time::sleep(PURGE_RETRY).await;
                }
            }
        }
    }
    done(io, image, error)
}

fn done(io: &IoCtx, image: &str, error: Option<String>) -> Option<String> {
    match &error {
        None => tracing::debug!(pool = io.pool(), image, "image purged from trash"),
        Some(e) => tracing::warn!(
            pool = io.pool(),
            image,
            error = e,
            "image left in the trash; remove it with `rbd trash rm`"
        ),
    }
    error
}

impl RbdController {
    pub(crate) async fn delete(&self, req: DeleteVolumeRequest) -> Result<DeleteVolumeResponse> {
        let id = req.volume_id.as_str();
        if id.is_empty() {
            return Err(ControllerError::invalid("volume_id", "it is empty"));
        }
        let locks = &self.inner.locks;
        let _id_lock = locks.acquire(id)?;
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
        let _name_lock = locks.acquire(&name)?;
        self.trash_and_purge(&volume, id).await?;
        Ok(DeleteVolumeResponse {})
    }

    /// Moves the image of a volume or snapshot to the trash, removes its journal
    /// entry, and starts the purge. Call it under the ID's and the name's locks.
    pub(crate) async fn trash_and_purge(&self, volume: &FoundVolume, id: &str) -> Result<()> {
        let image = volume.image().to_owned();
        let io = &volume.pool.io;
        let image_id = match &volume.attributes.image_id {
            Some(image_id) => Some(image_id.clone()),
            None => match rbd::image_id(io, &image).await {
                Ok(image_id) => Some(image_id),
                Err(e) if e.is_not_found() => None,
                Err(e) => {
                    return Err(ControllerError::ceph(
                        format!("read the id of image '{image}'"),
                        e,
                    ))
                }
            },
        };
        let moved = match rbd::trash_move(io, &image, 0).await {
            Ok(()) => true,
            Err(e) if e.is_not_found() => false,
            Err(e) => {
                return Err(ControllerError::ceph(
                    format!(
                        "move image '{image}' of {id} to the trash in pool '{}'",
                        volume.pool.name
                    ),
                    e,
                ))
            }
        };
        volume
            .journal
            .undo_reservation(&volume.attributes.request_name, &volume.uuid)
            .await?;
        tracing::info!(id, pool = volume.pool.name, image, moved, "deleted");
        // Also when the image was already in the trash: a delete retried after a
        // failed journal update must still purge it.
        if let Some(image_id) = image_id {
            self.inner.purges.start(io.clone(), image, image_id);
        }
        Ok(())
    }
}
