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
use rookery_csi_proto::v1::controller_server::ControllerServer;
use tonic::{Response, Status};

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

crate::request::controller::controller_service!(super::CephFsController, "CephFS");
