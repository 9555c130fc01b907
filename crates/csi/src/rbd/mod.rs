//! The RBD driver's Controller service: volumes as RBD images named through the
//! name journal, byte-compatible with ceph-csi (volume IDs, journal keys, image
//! names), so volumes either made are managed by the other.
//!
//! One file per concern: `params` checks requests, `volume` resolves volume IDs,
//! `pools` caches pool handles, `create`, `delete`, `purge` (the background
//! trash purge), `expand`, `list` (ListVolumes and ValidateVolumeCapabilities),
//! `capacity` (GetCapacity and the advertised capabilities), `snapshot`
//! (Create/Delete/ListSnapshots), `copy` (clone + flatten, used by snapshots and
//! by volumes from a snapshot or a volume), `node` (the Node service).
//!
//! Not implemented (UNIMPLEMENTED, and not advertised): ControllerPublish/
//! Unpublish (RBD needs no attach step), GetSnapshot, volume health,
//! ControllerGetVolume, ControllerModifyVolume.
//!
//! Credentials: ceph-csi connects with the `userID`/`userKey` secrets of each
//! request. This controller has its own connection (provisioner or admin
//! credentials, chosen by whoever builds it) and accepts the request secrets
//! without using them.
//!
//! Deadlines: every RPC runs under [`RbdController::with_deadline`] (default
//! [`DEFAULT_DEADLINE`]) through [`crate::request::run`]: past it the reply is
//! DEADLINE_EXCEEDED while the work finishes in the background holding its
//! locks, which a retry waits for. Work a request leaves running after its
//! reply (CreateVolume recording the image id) holds its locks the same way.

mod capacity;
mod client;
mod copy;
mod create;
mod delete;
mod expand;
pub mod image_server;
mod list;
pub mod node;
pub(crate) mod params;
mod pools;
mod purge;
mod snapshot;
mod volume;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rookery_ceph::Rados;
use rookery_csi_proto::v1::controller_server::ControllerServer;
use tonic::{Response, Status};

pub use crate::request::RequestError;
pub use client::{connect_controller, ControllerClient};
pub use purge::PurgeOutcome;

use crate::journal::{Directories, DEFAULT_INSTANCE_ID};
use crate::locks::{LockKind, Locks};
use pools::Pools;
use purge::Purges;

/// How long one controller RPC may take, all Ceph calls included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// The RBD Controller service. Clones share the connection, locks and pending purges.
#[derive(Debug, Clone)]
pub struct RbdController {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cluster_id: String,
    instance_id: String,
    pools: Pools,
    rados: Rados,
    /// Request names and volume IDs with an operation in progress (one set, as in
    /// ceph-csi, so a delete by ID and a create by name exclude each other too).
    locks: Locks,
    /// Snapshot request names and snapshot IDs with an operation in progress.
    snap_locks: Locks,
    purges: Purges,
    /// Journal directory writes of concurrent requests, batched.
    directories: Directories,
    /// Image-id records after CreateVolume replies are written one at a time
    /// ([`create`]).
    id_records: Arc<tokio::sync::Semaphore>,
    deadline: Duration,
}

impl RbdController {
    /// A controller for the cluster `cluster_id` (the `clusterID` StorageClasses
    /// name, normally the fsid), using `rados` for every Ceph call, with journal
    /// instance id `default` and a deadline of [`DEFAULT_DEADLINE`] per RPC.
    pub fn new(cluster_id: impl Into<String>, rados: Rados) -> Self {
        Self {
            inner: Arc::new(Inner {
                cluster_id: cluster_id.into(),
                instance_id: DEFAULT_INSTANCE_ID.into(),
                pools: Pools::new(rados.clone()),
                rados,
                locks: Locks::new(LockKind::Volume),
                snap_locks: Locks::new(LockKind::Snapshot),
                purges: Purges::default(),
                directories: Directories::default(),
                id_records: Arc::new(tokio::sync::Semaphore::new(1)),
                deadline: DEFAULT_DEADLINE,
            }),
        }
    }

    /// The same controller with another journal instance id (ceph-csi `--instanceid`).
    pub fn with_instance_id(self, instance_id: impl Into<String>) -> Self {
        self.with(|i| i.instance_id = instance_id.into())
    }

    /// The same controller (sharing locks, caches and pending purges) with another
    /// per-RPC deadline.
    pub fn with_deadline(self, deadline: Duration) -> Self {
        self.with(|i| i.deadline = deadline)
    }

    fn with(self, change: impl FnOnce(&mut Inner)) -> Self {
        let i = &self.inner;
        let mut inner = Inner {
            cluster_id: i.cluster_id.clone(),
            instance_id: i.instance_id.clone(),
            pools: i.pools.clone(),
            rados: i.rados.clone(),
            locks: i.locks.clone(),
            snap_locks: i.snap_locks.clone(),
            purges: i.purges.clone(),
            directories: i.directories.clone(),
            id_records: i.id_records.clone(),
            deadline: i.deadline,
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    pub fn cluster_id(&self) -> &str {
        &self.inner.cluster_id
    }

    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// The lock set for IDs and names of `kind`.
    fn locks_of(&self, kind: crate::journal::JournalKind) -> &Locks {
        match kind {
            crate::journal::JournalKind::Volume => &self.inner.locks,
            crate::journal::JournalKind::Snapshot => &self.inner.snap_locks,
        }
    }

    /// The tonic service, for [`crate::grpc::serve`]'s routes.
    pub fn into_server(self) -> ControllerServer<Self> {
        ControllerServer::new(self)
    }

    /// Why pool `pool_id` refuses writes now (full, or at quota), if it does.
    pub(crate) async fn pool_refusing_writes(
        &self,
        pool_id: i64,
    ) -> crate::request::Result<Option<String>> {
        self.inner.pools.refusing_writes(pool_id).await
    }

    /// Waits for every trash purge started by DeleteVolume so far and reports each.
    pub async fn wait_for_purges(&self) -> Vec<PurgeOutcome> {
        self.inner.purges.wait().await
    }

    /// Runs one RPC body under the deadline ([`crate::request::run`]); purges
    /// wait while it is in flight.
    async fn run<T, F, Fut>(&self, rpc: &'static str, body: F) -> Result<Response<T>, Status>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future<Output = crate::request::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let in_flight = self.inner.purges.request();
        crate::request::run(rpc, self.inner.deadline, in_flight, body(self.clone())).await
    }
}

crate::request::controller::controller_service!(super::RbdController, "RBD");
