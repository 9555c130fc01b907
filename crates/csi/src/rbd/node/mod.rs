//! The RBD driver's Node service (ceph-csi's csi-rbdplugin on each node): map
//! the image to a block device, format it only if blank, mount it at the
//! staging path, bind-mount it for each pod; stats, expansion, condition.
//!
//! One file per concern: `mapper` (krbd or FUSE image server + loop, by probe),
//! `fuse` and `krbd` (the two mappers), `record` (what NodeStage did, kept in
//! the staging directory), `stage` (Stage/Unstage), `publish`
//! (Publish/Unpublish), `stats` (GetVolumeStats, ExpandVolume).
//!
//! Layout, as ceph-csi: the volume is mounted (or, raw block, its device bound)
//! at `<staging_target_path>/<volume id>` and the stage record sits beside it.
//! State lives in the mount table, sysfs and that record, never only in memory:
//! a restarted plugin carries on with what its predecessor staged.
//!
//! Credentials: images are mapped as the plugin's own node user
//! (`client.csi-rbd-node`); the request's `userID`/`userKey` secrets are accepted
//! and not used.

mod fuse;
mod krbd;
pub mod mapper;
mod publish;
pub mod record;
mod stage;
mod stats;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rookery_ceph::Rados;
use rookery_csi_proto::v1::node_server::{Node, NodeServer};
use rookery_csi_proto::v1::node_service_capability::{rpc, Rpc, Type as CapType};
use rookery_csi_proto::v1::*;
use tonic::{Request, Response, Status};

use crate::locks::{LockKind, Locks};
use crate::node::fields::{required_path, required_volume_id};
use crate::request::{RequestError, Result};
use mapper::Mappers;
pub use mapper::{Credentials, MapperKind};

/// The RBD Node service. Clones share the locks.
#[derive(Debug, Clone)]
pub struct RbdNode {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    node_id: String,
    mappers: Mappers,
    /// Finds the image of a volume ID when the volume context does not name it.
    lookup: super::RbdController,
    /// Volume IDs with a node operation in progress.
    locks: Locks,
}

/// How to build an [`RbdNode`].
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's name (NodeGetInfo's node_id).
    pub node_id: String,
    /// Where the plugin keeps its FUSE mount points.
    pub state_dir: PathBuf,
    pub creds: Credentials,
    /// The mapper for volumes that do not name one; [`MapperKind::probe`] by default.
    pub mapper: MapperKind,
}

impl RbdNode {
    /// A node service for the cluster `rados` is connected to (its fsid is the
    /// cluster id of volume IDs).
    pub fn new(config: NodeConfig, rados: Rados) -> Self {
        Self {
            inner: Arc::new(Inner {
                node_id: config.node_id,
                lookup: super::RbdController::new(rados.fsid().to_owned(), rados.clone()),
                mappers: Mappers {
                    state_dir: config.state_dir,
                    creds: config.creds,
                    rados,
                    default: config.mapper,
                },
                locks: Locks::new(LockKind::Volume),
            }),
        }
    }

    /// The mapper used when a volume does not name one.
    pub fn default_mapper(&self) -> MapperKind {
        self.inner.mappers.default
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

/// Where NodeStage mounts the volume: `<staging>/<volume id>`.
fn staged_path(staging: &Path, volume_id: &str) -> PathBuf {
    staging.join(volume_id)
}

#[tonic::async_trait]
impl Node for RbdNode {
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
        request: Request<NodeExpandVolumeRequest>,
    ) -> Result<Response<NodeExpandVolumeResponse>, Status> {
        self.run("NodeExpandVolume", self.expand(request.into_inner()))
            .await
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
            "NodeGetStorageHealth is not implemented by the rookery RBD node plugin",
        ))
    }

    async fn node_get_capabilities(
        &self,
        _request: Request<NodeGetCapabilitiesRequest>,
    ) -> Result<Response<NodeGetCapabilitiesResponse>, Status> {
        let capabilities = [
            rpc::Type::StageUnstageVolume,
            rpc::Type::GetVolumeStats,
            rpc::Type::ExpandVolume,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_volume_is_staged_under_its_id() {
        assert_eq!(
            staged_path(Path::new("/s"), "0001-x"),
            PathBuf::from("/s/0001-x")
        );
    }
}
