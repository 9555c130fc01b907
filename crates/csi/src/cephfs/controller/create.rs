//! CreateVolume for CephFS: a subvolume of group `csi` with the size as its
//! quota, idempotent by request name through the journal in the metadata pool.
//!
//! From a snapshot or a volume the subvolume is an asynchronous clone (from a
//! volume: of a temporary snapshot named after the new subvolume, as ceph-csi
//! does). While it copies, CreateVolume answers ABORTED "clone in progress" and
//! the CO retries; the retry finds the reservation and the clone's state. A
//! failure before the subvolume exists undoes the reservation; a failed clone
//! is removed with its reservation, so the next retry starts afresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rookery_csi_proto::v1::volume_content_source::Type as SourceType;
use rookery_csi_proto::v1::{CreateVolumeRequest, CreateVolumeResponse, Volume};

use super::fs::Fs;
use super::params::{check_capabilities, FsParams};
use super::subvolume::{CloneState, Subvolumes};
use super::CephFsController;
use crate::journal::{JournalKind, Reservation, ReserveRequest, Reserved, VolumeJournal};
use crate::locks::MultiLockGuard;
use crate::request::params::{fits, volume_size};
use crate::request::{RequestError, Result};

/// How long CreateVolume watches a clone it started before answering ABORTED.
const CLONE_WAIT: Duration = Duration::from_secs(5);

/// The content a new volume starts from.
#[derive(Debug)]
pub(crate) struct Source {
    kind: JournalKind,
    /// Its CSI ID (locked for the request).
    id: String,
    fs: Arc<Fs>,
    /// The subvolume the data comes from.
    subvolume: String,
    /// The snapshot to clone; None: a volume, cloned through a temporary
    /// snapshot named after the new subvolume.
    snapshot: Option<String>,
    /// Bytes: the source volume's quota.
    size: u64,
}

impl CephFsController {
    pub(crate) async fn create(&self, req: CreateVolumeRequest) -> Result<CreateVolumeResponse> {
        if req.name.is_empty() {
            return Err(RequestError::invalid(
                "name",
                "the request name is required",
            ));
        }
        check_capabilities(&req.volume_capabilities)?;
        let params = FsParams::parse(&req.parameters, &self.inner.cluster_id)?;
        let fs = self
            .inner
            .filesystems
            .by_name(&params.fs_name)
            .await
            .map_err(|e| match e {
                RequestError::NotFound(m) => RequestError::invalid("parameters.fsName", m),
                other => other,
            })?;
        if let Some(pool) = &params.pool {
            if !fs.data_pools.contains(pool) {
                return Err(RequestError::invalid(
                    "parameters.pool",
                    format!(
                        "{pool:?} is not a data pool of filesystem {:?} (its data pools: {})",
                        fs.name,
                        fs.data_pools.join(", ")
                    ),
                ));
            }
        }
        let source = self.source_of(&req).await?;
        let mut size = volume_size(req.capacity_range.as_ref())?;
        if let Some(src) = &source {
            if src.fs.fscid != fs.fscid {
                return Err(RequestError::invalid(
                    "volume_content_source",
                    format!(
                        "the source is in filesystem {:?}, not {:?}; clones stay in their filesystem",
                        src.fs.name, fs.name
                    ),
                ));
            }
            let required = req.capacity_range.as_ref().map_or(0, |r| r.required_bytes);
            if required == 0 {
                size = src.size;
            }
            if size < src.size {
                return Err(RequestError::OutOfRange(format!(
                    "capacity_range: {size} bytes is less than the {} bytes of the source {}",
                    src.size, src.id
                )));
            }
        }
        let mut held = vec![(&self.inner.locks, req.name.as_str())];
        if let Some(src) = &source {
            held.push((self.locks_of(src.kind), src.id.as_str()));
        }
        let _locks = MultiLockGuard::acquire_waiting(held).await?;
        let sv = Subvolumes {
            rados: &self.inner.rados,
            fs: &fs.name,
        };
        sv.ensure_group(&self.inner.filesystems).await?;
        let journal = fs.volumes();
        let (r, made_empty) = match journal
            .reserve_or_find(&ReserveRequest::volume(&req.name))
            .await?
        {
            Reserved::New(r) => {
                if let Err(e) = self
                    .make(&sv, &r, size, params.pool.as_deref(), source.as_ref())
                    .await
                {
                    undo(&sv, &journal, &r, source.as_ref()).await;
                    return Err(e);
                }
                (r, source.is_none())
            }
            Reserved::Existing(r) => (r, false),
        };
        // An empty subvolume this request just made has the asked size as its
        // quota: no clone to wait for, nothing to check (two mgr commands saved;
        // the mgr serves every subvolume command in turn).
        let size = if made_empty {
            size
        } else {
            self.settle(&sv, &journal, &r, size, &req, &params, source.as_ref())
                .await?
        };
        let path = sv.path(r.image_name()).await?;
        tracing::info!(
            request_name = req.name,
            fs = fs.name,
            subvolume = r.image_name(),
            size,
            "volume ready"
        );
        let volume =
            self.volume_message(&fs, &r.uuid, r.image_name(), &path, size, params.context)?;
        Ok(CreateVolumeResponse {
            volume: Some(Volume {
                content_source: req.volume_content_source,
                ..volume
            }),
        })
    }

    /// Makes the reservation's subvolume: empty, or a clone of the source.
    async fn make(
        &self,
        sv: &Subvolumes<'_>,
        r: &Reservation,
        size: u64,
        pool: Option<&str>,
        source: Option<&Source>,
    ) -> Result<()> {
        let name = r.image_name();
        match source {
            None => sv.create(name, size, pool).await,
            Some(src) => {
                let snap = match &src.snapshot {
                    Some(s) => s.clone(),
                    None => {
                        sv.snapshot(&src.subvolume, name).await?;
                        name.to_owned()
                    }
                };
                sv.clone(&src.subvolume, &snap, name).await
            }
        }
    }

    /// Brings an existing or just-made reservation to a usable subvolume, or says
    /// why not yet; returns its size.
    #[allow(clippy::too_many_arguments)]
    async fn settle(
        &self,
        sv: &Subvolumes<'_>,
        journal: &VolumeJournal,
        r: &Reservation,
        size: u64,
        req: &CreateVolumeRequest,
        params: &FsParams,
        source: Option<&Source>,
    ) -> Result<u64> {
        let name = r.image_name();
        let started = Instant::now();
        loop {
            match sv.clone_state(name).await? {
                Some(CloneState::Running) if started.elapsed() < CLONE_WAIT => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Some(CloneState::Running) => {
                    return Err(RequestError::Aborted(format!(
                        "clone in progress: volume '{}' is still being copied into subvolume \
                         '{name}'; retry",
                        req.name
                    )))
                }
                Some(CloneState::Failed(state)) => {
                    undo(sv, journal, r, source).await;
                    return Err(RequestError::Unavailable(format!(
                        "the clone for volume '{}' ended {state}; it was removed, retry to \
                         clone again",
                        req.name
                    )));
                }
                Some(CloneState::Complete) | None => break,
            }
        }
        if let Some(src) = source.filter(|s| s.snapshot.is_none()) {
            // The temporary snapshot of a volume-to-volume clone.
            let source_sv = Subvolumes {
                rados: sv.rados,
                fs: sv.fs,
            };
            if let Err(e) = source_sv.remove_snapshot(&src.subvolume, name).await {
                tracing::warn!(subvolume = src.subvolume, snapshot = name, error = %e, "cannot remove a clone's temporary snapshot");
            }
        }
        let info = match sv.info(name).await {
            Ok(info) => info,
            Err(e) if e.is_not_found() => {
                // A reservation whose create never finished: finish it now.
                self.make(sv, r, size, params.pool.as_deref(), source)
                    .await?;
                return Box::pin(self.settle(sv, journal, r, size, req, params, source)).await;
            }
            Err(e) => return Err(e),
        };
        let quota = info.quota().unwrap_or(0);
        if source.is_some() && quota < size {
            sv.resize(name, size).await?;
            return Ok(size);
        }
        if !fits(quota, req.capacity_range.as_ref()) && source.is_none() {
            return Err(RequestError::AlreadyExists(format!(
                "volume '{}' already exists with {quota} bytes (subvolume '{name}'), which does \
                 not fit the requested range; use another name or the same size",
                req.name
            )));
        }
        Ok(quota)
    }

    /// The request's content source, looked up; NOT_FOUND when it names nothing.
    async fn source_of(&self, req: &CreateVolumeRequest) -> Result<Option<Source>> {
        let Some(kind) = req
            .volume_content_source
            .as_ref()
            .and_then(|s| s.r#type.as_ref())
        else {
            return Ok(None);
        };
        let (id, jkind) = match kind {
            SourceType::Snapshot(s) => (s.snapshot_id.clone(), JournalKind::Snapshot),
            SourceType::Volume(v) => (v.volume_id.clone(), JournalKind::Volume),
        };
        let found = self.find_existing(&id, jkind).await?;
        let (subvolume, snapshot) = match jkind {
            JournalKind::Snapshot => (
                found.attributes.source_name.clone().unwrap_or_default(),
                Some(found.name().to_owned()),
            ),
            JournalKind::Volume => (found.name().to_owned(), None),
        };
        let sv = Subvolumes {
            rados: &self.inner.rados,
            fs: &found.fs.name,
        };
        let size = sv.info(&subvolume).await?.quota().unwrap_or(0);
        Ok(Some(Source {
            kind: jkind,
            id,
            fs: found.fs.clone(),
            subvolume,
            snapshot,
            size,
        }))
    }
}

/// Removes what a create made (subvolume, a temporary snapshot) and its
/// reservation; failures are logged, the reservation is kept if the subvolume
/// could not be removed so a retry finds it.
async fn undo(
    sv: &Subvolumes<'_>,
    journal: &VolumeJournal,
    r: &Reservation,
    source: Option<&Source>,
) {
    let name = r.image_name();
    if let Some(src) = source.filter(|s| s.snapshot.is_none()) {
        let _ = sv.remove_snapshot(&src.subvolume, name).await;
    }
    if let Err(e) = sv.remove(name).await {
        tracing::warn!(subvolume = name, error = %e, "cannot remove a half-made subvolume; its reservation stays for a retry");
        return;
    }
    if let Err(e) = journal
        .undo_reservation(&r.attributes.request_name, &r.uuid)
        .await
    {
        tracing::warn!(uuid = r.uuid, error = %e, "cannot undo a reservation");
    }
}
