//! The CephFS driver's Node service (ceph-csi's csi-cephfsplugin on each
//! node): mount the volume's subvolume once per node at the staging path,
//! bind-mount it for each pod (read-only if asked); stats, health, and the
//! remount of a mount whose ceph-fuse died.
//!
//! One file per concern: `volume` (what a request asks: the volume context and
//! the capability), `mounter` (kernel client or ceph-fuse, chosen by probe),
//! `fuse` and `kernel` (the two mounters), `record` (what NodeStage mounted,
//! kept in the state directory), `stage` (Stage/Unstage), `heal` (remounting a
//! dead mount and its publications), `publish` (Publish/Unpublish), `stats`
//! (GetVolumeStats, GetVolumeHealth).
//!
//! Layout, as ceph-csi: the volume is mounted directly at
//! `<staging_target_path>`, publications are bind mounts of it. The mount table
//! says what is staged and published; the stage records say how to mount a
//! volume again. Nothing lives only in memory, so a restarted plugin carries
//! on with what its predecessor staged (ceph-fuse daemons outlive it).
//!
//! Credentials: volumes are mounted as the plugin's own node user
//! (`client.csi-cephfs-node`); the request's `userID`/`userKey` secrets are
//! accepted and not used.

mod fuse;
mod heal;
mod kernel;
pub mod mounter;
mod publish;
pub mod record;
mod stage;
mod stats;
mod volume;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use rookery_ceph::Rados;
use rookery_csi_proto::v1::node_server::{Node, NodeServer};
use rookery_csi_proto::v1::node_service_capability::{rpc, Rpc, Type as CapType};
use rookery_csi_proto::v1::*;
use tonic::{Request, Response, Status};

use crate::locks::{LockKind, Locks};
pub use crate::node::creds::Credentials;
use crate::node::fields::{required_path, required_volume_id};
use crate::request::{RequestError, Result};
pub use mounter::MounterKind;
use mounter::Mounters;

/// The file in the state directory that says which mounter the plugin uses
/// for volumes that name none (read by `rookery status`).
pub const MOUNTER_FILE: &str = "mounter";

/// The CephFS Node service. Clones share the locks.
#[derive(Debug, Clone)]
pub struct CephFsNode {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    node_id: String,
    state_dir: PathBuf,
    mounters: Mounters,
    /// Volume IDs with a node operation in progress.
    locks: Locks,
}

/// How to build a [`CephFsNode`].
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's name (NodeGetInfo's node_id).
    pub node_id: String,
    /// Where the plugin keeps its stage records.
    pub state_dir: PathBuf,
    pub creds: Credentials,
    /// The mounter for volumes that do not name one; [`MounterKind::probe`] by default.
    pub mounter: MounterKind,
}

impl CephFsNode {
    /// A node service for the cluster `rados` is connected to (as the node
    /// user: it reads the mons' addresses for the kernel client and looks up
    /// subvolume paths a volume context lacks).
    pub fn new(config: NodeConfig, rados: Rados) -> Self {
        Self {
            inner: Arc::new(Inner {
                node_id: config.node_id,
                state_dir: config.state_dir,
                mounters: Mounters {
                    creds: config.creds,
                    rados,
                    default: config.mounter,
                },
                locks: Locks::new(LockKind::Volume),
            }),
        }
    }

    /// The mounter used when a volume does not name one.
    pub fn default_mounter(&self) -> MounterKind {
        self.inner.mounters.default
    }

    pub fn into_server(self) -> NodeServer<Self> {
        NodeServer::new(self)
    }

    async fn run<T>(
        &self,
        rpc: &'static str,
        body: impl Future<Output = Result<T>>,
    ) -> Result<Response<T>, Status> {
        // No deadline: mkfs of a large volume may take long; the CO bounds it.
        crate::request::respond(rpc, body.await)
    }
}

#[tonic::async_trait]
impl Node for CephFsNode {
    async fn node_stage_volume(
        &self,
        request: Request<NodeStageVolumeRequest>,
    ) -> Result<Response<NodeStageVolumeResponse>, Status> {
        self.run("NodeStageVolume", self.stage(request.into_inner()))
            .await
    }

    async fn node_unstage_volume(
        &self,
        request: Request<NodeUnstageVolumeRequest>,
    ) -> Result<Response<NodeUnstageVolumeResponse>, Status> {
        self.run("NodeUnstageVolume", self.unstage(request.into_inner()))
            .await
    }

    async fn node_publish_volume(
        &self,
        request: Request<NodePublishVolumeRequest>,
    ) -> Result<Response<NodePublishVolumeResponse>, Status> {
        self.run("NodePublishVolume", self.publish(request.into_inner()))
            .await
    }

    async fn node_unpublish_volume(
        &self,
        request: Request<NodeUnpublishVolumeRequest>,
    ) -> Result<Response<NodeUnpublishVolumeResponse>, Status> {
        self.run("NodeUnpublishVolume", self.unpublish(request.into_inner()))
            .await
    }

    async fn node_get_volume_stats(
        &self,
        request: Request<NodeGetVolumeStatsRequest>,
    ) -> Result<Response<NodeGetVolumeStatsResponse>, Status> {
        self.run("NodeGetVolumeStats", self.stats(request.into_inner()))
            .await
    }

    async fn node_expand_volume(
        &self,
        _request: Request<NodeExpandVolumeRequest>,
    ) -> Result<Response<NodeExpandVolumeResponse>, Status> {
        // The quota is the size: ControllerExpandVolume is all it takes.
        Err(Status::unimplemented(
            "NodeExpandVolume is not needed for CephFS volumes: ControllerExpandVolume raises \
             the quota, which mounted clients follow",
        ))
    }

    async fn node_get_volume_health(
        &self,
        request: Request<NodeGetVolumeHealthRequest>,
    ) -> Result<Response<NodeGetVolumeHealthResponse>, Status> {
        self.run("NodeGetVolumeHealth", self.health(request.into_inner()))
            .await
    }

    async fn node_get_storage_health(
        &self,
        _request: Request<NodeGetStorageHealthRequest>,
    ) -> Result<Response<NodeGetStorageHealthResponse>, Status> {
        Err(Status::unimplemented(
            "NodeGetStorageHealth is not implemented by the rookery CephFS node plugin",
        ))
    }

    async fn node_get_capabilities(
        &self,
        _request: Request<NodeGetCapabilitiesRequest>,
    ) -> Result<Response<NodeGetCapabilitiesResponse>, Status> {
        let capabilities = [
            rpc::Type::StageUnstageVolume,
            rpc::Type::GetVolumeStats,
            rpc::Type::GetVolumeHealth,
            rpc::Type::SingleNodeMultiWriter,
        ]
        .into_iter()
        .map(|t| NodeServiceCapability {
            r#type: Some(CapType::Rpc(Rpc { r#type: t as i32 })),
        })
        .collect();
        Ok(Response::new(NodeGetCapabilitiesResponse { capabilities }))
    }

    async fn node_get_info(
        &self,
        _request: Request<NodeGetInfoRequest>,
    ) -> Result<Response<NodeGetInfoResponse>, Status> {
        Ok(Response::new(NodeGetInfoResponse {
            node_id: self.inner.node_id.clone(),
            max_volumes_per_node: 0,
            accessible_topology: None,
        }))
    }
}
