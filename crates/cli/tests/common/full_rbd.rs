//! A raw block RBD volume on a (private) cluster's own CSI plugins, over
//! gRPC: created, staged and published as a device file, and undone on drop
//! while the cluster is still there.

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use rookery_csi::grpc::proto::v1::controller_client::ControllerClient;
use rookery_csi::grpc::proto::v1::node_client::NodeClient;
use rookery_csi::grpc::proto::v1::volume_capability::access_mode::Mode;
use rookery_csi::grpc::proto::v1::{
    CapacityRange, CreateVolumeRequest, DeleteVolumeRequest, NodePublishVolumeRequest,
    NodeStageVolumeRequest, NodeUnpublishVolumeRequest, NodeUnstageVolumeRequest,
};
use rookery_csi::grpc::{connect, CsiEndpoint};

use super::csi::block_cap;
use super::TestCluster;

/// A published raw block volume; unpublished, unstaged and deleted on drop.
pub struct RawBlock {
    rt: tokio::runtime::Runtime,
    cluster: PathBuf,
    volume_id: String,
    staging: PathBuf,
    /// The device file the volume is published at.
    pub device: PathBuf,
}

fn endpoint(c: &Path, socket: &str) -> CsiEndpoint {
    CsiEndpoint::parse(&format!("unix://{}", c.join("run").join(socket).display()))
        .expect("endpoint")
}

impl RawBlock {
    /// Creates volume `name` of `bytes` and publishes it under `dir`.
    pub fn new(c: &TestCluster, name: &str, bytes: u64, dir: &Path) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let staging = dir.join(format!("{name}-staging"));
        let device = dir.join(format!("{name}-dev"));
        let cap = block_cap(Mode::SingleNodeWriter);
        let fsid = std::fs::read_to_string(c.dir.join("fsid")).expect("the cluster's fsid");
        let parameters = std::collections::HashMap::from([
            ("clusterID".to_owned(), fsid.trim().to_owned()),
            ("pool".to_owned(), "rbd".to_owned()),
        ]);
        let volume_id = rt.block_on(async {
            let mut ctl = ControllerClient::new(
                connect(&endpoint(&c.dir, "csi-rbd.sock"))
                    .await
                    .expect("controller"),
            );
            let vol = ctl
                .create_volume(CreateVolumeRequest {
                    name: name.to_owned(),
                    capacity_range: Some(CapacityRange {
                        required_bytes: bytes as i64,
                        limit_bytes: 0,
                    }),
                    volume_capabilities: vec![cap.clone()],
                    parameters,
                    ..Default::default()
                })
                .await
                .expect("CreateVolume")
                .into_inner()
                .volume
                .expect("a volume");
            let mut node = NodeClient::new(
                connect(&endpoint(&c.dir, "csi-rbd-node.sock"))
                    .await
                    .expect("node"),
            );
            node.node_stage_volume(NodeStageVolumeRequest {
                volume_id: vol.volume_id.clone(),
                staging_target_path: staging.display().to_string(),
                volume_capability: Some(cap.clone()),
                volume_context: vol.volume_context.clone(),
                ..Default::default()
            })
            .await
            .expect("NodeStageVolume");
            node.node_publish_volume(NodePublishVolumeRequest {
                volume_id: vol.volume_id.clone(),
                staging_target_path: staging.display().to_string(),
                target_path: device.display().to_string(),
                volume_capability: Some(cap),
                volume_context: vol.volume_context.clone(),
                ..Default::default()
            })
            .await
            .expect("NodePublishVolume");
            vol.volume_id
        });
        Self {
            rt,
            cluster: c.dir.clone(),
            volume_id,
            staging,
            device,
        }
    }

    /// Writes `data` at `offset` with O_DIRECT (no page cache between the
    /// application and the device) and fsyncs.
    pub fn write_direct(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt as _;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_DIRECT.bits())
            .open(&self.device)?;
        // O_DIRECT wants an aligned buffer: copy into a page-aligned one.
        let mut buf = AlignedBuf::new(data.len());
        buf.as_mut().copy_from_slice(data);
        f.write_all_at(buf.as_ref(), offset)?;
        f.sync_all()
    }

    /// Reads `len` bytes at `offset` with O_DIRECT.
    pub fn read_direct(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt as _;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_DIRECT.bits())
            .open(&self.device)?;
        let mut buf = AlignedBuf::new(len);
        f.read_exact_at(buf.as_mut(), offset)?;
        Ok(buf.as_ref().to_vec())
    }
}

impl Drop for RawBlock {
    fn drop(&mut self) {
        if !self.cluster.join("ceph.conf").exists() {
            return;
        }
        let (cluster, id) = (self.cluster.clone(), self.volume_id.clone());
        let (staging, device) = (self.staging.clone(), self.device.clone());
        self.rt.block_on(async move {
            if let Ok(ch) = connect(&endpoint(&cluster, "csi-rbd-node.sock")).await {
                let mut node = NodeClient::new(ch);
                let _ = node
                    .node_unpublish_volume(NodeUnpublishVolumeRequest {
                        volume_id: id.clone(),
                        target_path: device.display().to_string(),
                    })
                    .await;
                let _ = node
                    .node_unstage_volume(NodeUnstageVolumeRequest {
                        volume_id: id.clone(),
                        staging_target_path: staging.display().to_string(),
                    })
                    .await;
            }
            if let Ok(ch) = connect(&endpoint(&cluster, "csi-rbd.sock")).await {
                let _ = ControllerClient::new(ch)
                    .delete_volume(DeleteVolumeRequest {
                        volume_id: id,
                        ..Default::default()
                    })
                    .await;
            }
        });
    }
}

/// A zeroed, 4 KiB-aligned buffer: a slice of a larger Vec, found safely.
struct AlignedBuf {
    bytes: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    fn new(len: usize) -> Self {
        let bytes = vec![0u8; len + 4096];
        let start = bytes.as_ptr().align_offset(4096);
        Self { bytes, start, len }
    }
    fn as_ref(&self) -> &[u8] {
        &self.bytes[self.start..self.start + self.len]
    }
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[self.start..self.start + self.len]
    }
}
