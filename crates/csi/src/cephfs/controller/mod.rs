//! The CephFS driver's Controller service (ceph-csi's cephfs provisioner):
//! volumes are subvolumes of group `csi` made through the mgr `volumes` module
//! (librados mgr commands), sized by quota, named through the journal in the
//! filesystem's metadata pool (RADOS namespace `csi`) with ceph-csi's keys and
//! volume IDs (location id = the filesystem's FSCID), so volumes either made
//! are managed by the other.
//!
//! One file per concern: `fs` (filesystems by name and FSCID), `subvolume`
//! (the mgr commands), `params` (access modes, StorageClass parameters),
//! `volume` (ID lookup, the Volume message), `create` (with asynchronous
//! clones), `delete` (and expand), `snapshot`, `list` (ListVolumes,
//! GetCapacity, ValidateVolumeCapabilities, capabilities).
//!
//! Requests run through [`crate::request::run`] under a deadline, like the RBD
//! controller's; credentials are the controller's own connection.

mod create;
mod delete;
pub mod fs;
mod list;
mod params;
mod snapshot;
mod subvolume;
mod volume;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rookery_ceph::Rados;
use rookery_csi_proto::v1::controller_server::{Controller, ControllerServer};
use rookery_csi_proto::v1::*;
use tonic::{Request, Response, Status};

use crate::journal::JournalKind;
use crate::locks::{LockKind, Locks};

/// How long one controller RPC may take, all Ceph calls included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// The CephFS Controller service. Clones share the connection, caches and locks.
#[derive(Debug, Clone)]
pub struct CephFsController {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cluster_id: String,
    rados: Rados,
    filesystems: fs::Filesystems,
    /// Request names and volume IDs with an operation in progress.
    locks: Locks,
    /// Snapshot request names and snapshot IDs with an operation in progress.
    snap_locks: Locks,
    deadline: Duration,
}

impl CephFsController {
    /// A controller for cluster `cluster_id` (the fsid), using `rados` for every
    /// Ceph call, with a deadline of [`DEFAULT_DEADLINE`] per RPC.
    pub fn new(cluster_id: impl Into<String>, rados: Rados) -> Self {
        Self::with_settings(cluster_id.into(), rados, DEFAULT_DEADLINE)
    }

    /// The same controller (a new one sharing nothing but the connection) with
    /// another per-RPC deadline.
    pub fn with_deadline(self, deadline: Duration) -> Self {
        Self::with_settings(
            self.inner.cluster_id.clone(),
            self.inner.rados.clone(),
            deadline,
        )
    }

    fn with_settings(cluster_id: String, rados: Rados, deadline: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                cluster_id,
                filesystems: fs::Filesystems::new(rados.clone()),
                rados,
                locks: Locks::new(LockKind::Volume),
                snap_locks: Locks::new(LockKind::Snapshot),
                deadline,
            }),
        }
    }

    pub fn into_server(self) -> ControllerServer<Self> {
        ControllerServer::new(self)
    }

    fn locks_of(&self, kind: JournalKind) -> &Locks {
        match kind {
            JournalKind::Volume => &self.inner.locks,
            JournalKind::Snapshot => &self.inner.snap_locks,
        }
    }

    async fn run<T, F, Fut>(&self, rpc: &'static str, body: F) -> Result<Response<T>, Status>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future<Output = crate::request::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        crate::request::run(rpc, self.inner.deadline, (), body(self.clone())).await
    }
}

fn unimplemented(rpc: &str) -> Status {
    Status::unimplemented(format!(
        "{rpc} is not implemented by the rookery CephFS controller"
    ))
}

#[tonic::async_trait]
impl Controller for CephFsController {
    async fn create_volume(
        &self,
        request: Request<CreateVolumeRequest>,
    ) -> Result<Response<CreateVolumeResponse>, Status> {
        let r = request.into_inner();
        self.run("CreateVolume", move |c| async move { c.create(r).await })
            .await
    }

    async fn delete_volume(
        &self,
        request: Request<DeleteVolumeRequest>,
    ) -> Result<Response<DeleteVolumeResponse>, Status> {
        let r = request.into_inner();
        self.run("DeleteVolume", move |c| async move { c.delete(r).await })
            .await
    }

    async fn controller_publish_volume(
        &self,
        _request: Request<ControllerPublishVolumeRequest>,
    ) -> Result<Response<ControllerPublishVolumeResponse>, Status> {
        Err(unimplemented("ControllerPublishVolume"))
    }

    async fn controller_unpublish_volume(
        &self,
        _request: Request<ControllerUnpublishVolumeRequest>,
    ) -> Result<Response<ControllerUnpublishVolumeResponse>, Status> {
        Err(unimplemented("ControllerUnpublishVolume"))
    }

    async fn validate_volume_capabilities(
        &self,
        request: Request<ValidateVolumeCapabilitiesRequest>,
    ) -> Result<Response<ValidateVolumeCapabilitiesResponse>, Status> {
        let r = request.into_inner();
        self.run("ValidateVolumeCapabilities", move |c| async move {
            c.validate(r).await
        })
        .await
    }

    async fn list_volumes(
        &self,
        request: Request<ListVolumesRequest>,
    ) -> Result<Response<ListVolumesResponse>, Status> {
        let r = request.into_inner();
        self.run("ListVolumes", move |c| async move { c.list(r).await })
            .await
    }

    async fn controller_list_volume_health(
        &self,
        _request: Request<ControllerListVolumeHealthRequest>,
    ) -> Result<Response<ControllerListVolumeHealthResponse>, Status> {
        Err(unimplemented("ControllerListVolumeHealth"))
    }

    async fn controller_get_volume_health(
        &self,
        _request: Request<ControllerGetVolumeHealthRequest>,
    ) -> Result<Response<ControllerGetVolumeHealthResponse>, Status> {
        Err(unimplemented("ControllerGetVolumeHealth"))
    }

    async fn get_capacity(
        &self,
        request: Request<GetCapacityRequest>,
    ) -> Result<Response<GetCapacityResponse>, Status> {
        let r = request.into_inner();
        self.run("GetCapacity", move |c| async move { c.capacity(r).await })
            .await
    }

    async fn controller_get_capabilities(
        &self,
        _request: Request<ControllerGetCapabilitiesRequest>,
    ) -> Result<Response<ControllerGetCapabilitiesResponse>, Status> {
        Ok(Response::new(list::capabilities()))
    }

    async fn create_snapshot(
        &self,
        request: Request<CreateSnapshotRequest>,
    ) -> Result<Response<CreateSnapshotResponse>, Status> {
        let r = request.into_inner();
        self.run("CreateSnapshot", move |c| async move {
            c.create_snapshot(r).await
        })
        .await
    }

    async fn delete_snapshot(
        &self,
        request: Request<DeleteSnapshotRequest>,
    ) -> Result<Response<DeleteSnapshotResponse>, Status> {
        let r = request.into_inner();
        self.run("DeleteSnapshot", move |c| async move {
            c.delete_snapshot(r).await
        })
        .await
    }

    async fn list_snapshots(
        &self,
        request: Request<ListSnapshotsRequest>,
    ) -> Result<Response<ListSnapshotsResponse>, Status> {
        let r = request.into_inner();
        self.run("ListSnapshots", move |c| async move {
            c.list_snapshots(r).await
        })
        .await
    }

    async fn get_snapshot(
        &self,
        _request: Request<GetSnapshotRequest>,
    ) -> Result<Response<GetSnapshotResponse>, Status> {
        Err(unimplemented("GetSnapshot"))
    }

    async fn controller_expand_volume(
        &self,
        request: Request<ControllerExpandVolumeRequest>,
    ) -> Result<Response<ControllerExpandVolumeResponse>, Status> {
        let r = request.into_inner();
        self.run("ControllerExpandVolume", move |c| async move {
            c.expand(r).await
        })
        .await
    }

    async fn controller_get_volume(
        &self,
        _request: Request<ControllerGetVolumeRequest>,
    ) -> Result<Response<ControllerGetVolumeResponse>, Status> {
        Err(unimplemented("ControllerGetVolume"))
    }

    async fn controller_modify_volume(
        &self,
        _request: Request<ControllerModifyVolumeRequest>,
    ) -> Result<Response<ControllerModifyVolumeResponse>, Status> {
        Err(unimplemented("ControllerModifyVolume"))
    }
}
