//! The RBD Node service over gRPC, as a real `rookery csi --node` process on the
//! shared cluster, mapping with what this machine has (the FUSE image server + loop here):
//! the full lifecycle ten times, raw block, the single-writer rule, a volume
//! from a snapshot holding its data, expansion, a plugin restart keeping data,
//! a dead image server found and healed, and bad requests naming their field.

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use common::csi::{
    assert_code, block_cap, create_request, mount_cap, within, MountCleanup, NodePlugin,
    ServedController,
};
use rookery_ceph::Rados;
use rookery_csi::error::CsiCode;
use rookery_csi::grpc::proto::v1::node_client::NodeClient;
use rookery_csi::grpc::proto::v1::node_service_capability::{rpc, Type as CapType};
use rookery_csi::grpc::proto::v1::volume_capability::access_mode::Mode;
use rookery_csi::grpc::proto::v1::volume_content_source::{SnapshotSource, Type as SourceType};
use rookery_csi::grpc::proto::v1::volume_usage::Unit;
use rookery_csi::grpc::proto::v1::*;
use rookery_csi::rbd::{ControllerClient, RbdController};
use tonic::transport::Channel;

const MIB: u64 = 1 << 20;

struct Env {
    ctl: ControllerClient,
    node: NodeClient<Channel>,
    plugin: NodePlugin,
    fsid: String,
    pool: String,
    dir: PathBuf,
    // Declared last: dropped after the plugin, so it unmounts what is left.
    cleanup: MountCleanup,
}

impl Env {
    async fn create(&mut self, name: &str, bytes: u64) -> Volume {
        self.create_req(create_request(name, bytes, &self.fsid, &self.pool))
            .await
    }

    async fn create_req(&mut self, req: CreateVolumeRequest) -> Volume {
        within("CreateVolume", self.ctl.create_volume(req))
            .await
            .expect("CreateVolume")
            .into_inner()
            .volume
            .expect("a volume")
    }

    async fn delete(&mut self, volume_id: &str) {
        let req = DeleteVolumeRequest {
            volume_id: volume_id.into(),
            ..Default::default()
        };
        within("DeleteVolume", self.ctl.delete_volume(req))
            .await
            .expect("DeleteVolume");
    }

    fn staging(&self, name: &str) -> PathBuf {
        self.dir.join("staging").join(name)
    }

    fn target(&self, name: &str, n: u32) -> PathBuf {
        self.dir
            .join("pods")
            .join(format!("{name}-{n}"))
            .join("mount")
    }

    fn stage_req(&self, vol: &Volume, name: &str, cap: VolumeCapability) -> NodeStageVolumeRequest {
        NodeStageVolumeRequest {
            volume_id: vol.volume_id.clone(),
            staging_target_path: self.staging(name).display().to_string(),
            volume_capability: Some(cap),
            volume_context: vol.volume_context.clone(),
            ..Default::default()
        }
    }

    async fn stage(&mut self, vol: &Volume, name: &str, cap: VolumeCapability) {
        let req = self.stage_req(vol, name, cap);
        within("NodeStageVolume", self.node.node_stage_volume(req))
            .await
            .unwrap_or_else(|e| panic!("NodeStageVolume: {e}\n{}", self.plugin.log_text()));
    }

    fn publish_req(
        &self,
        vol: &Volume,
        name: &str,
        n: u32,
        cap: VolumeCapability,
    ) -> NodePublishVolumeRequest {
        NodePublishVolumeRequest {
            volume_id: vol.volume_id.clone(),
            staging_target_path: self.staging(name).display().to_string(),
            target_path: self.target(name, n).display().to_string(),
            volume_capability: Some(cap),
            volume_context: vol.volume_context.clone(),
            ..Default::default()
        }
    }

    async fn publish(&mut self, vol: &Volume, name: &str, n: u32, cap: VolumeCapability) {
        let req = self.publish_req(vol, name, n, cap);
        within("NodePublishVolume", self.node.node_publish_volume(req))
            .await
            .expect("NodePublishVolume");
    }

    async fn unpublish(&mut self, vol: &Volume, name: &str, n: u32) {
        let req = NodeUnpublishVolumeRequest {
            volume_id: vol.volume_id.clone(),
            target_path: self.target(name, n).display().to_string(),
        };
        within("NodeUnpublishVolume", self.node.node_unpublish_volume(req))
            .await
            .expect("NodeUnpublishVolume");
    }

    async fn unstage(&mut self, vol: &Volume, name: &str) {
        let req = NodeUnstageVolumeRequest {
            volume_id: vol.volume_id.clone(),
            staging_target_path: self.staging(name).display().to_string(),
        };
        within("NodeUnstageVolume", self.node.node_unstage_volume(req))
            .await
            .expect("NodeUnstageVolume");
    }

    async fn stats(&mut self, vol: &Volume, path: &Path) -> Vec<VolumeUsage> {
        let req = NodeGetVolumeStatsRequest {
            volume_id: vol.volume_id.clone(),
            volume_path: path.display().to_string(),
            ..Default::default()
        };
        within("NodeGetVolumeStats", self.node.node_get_volume_stats(req))
            .await
            .expect("NodeGetVolumeStats")
            .into_inner()
            .usage
    }

    async fn health(&mut self, vol: &Volume, path: &Path) -> VolumeHealth {
        let req = NodeGetVolumeHealthRequest {
            volume_id: vol.volume_id.clone(),
            volume_publish_path: path.display().to_string(),
            ..Default::default()
        };
        within("NodeGetVolumeHealth", self.node.node_get_volume_health(req))
            .await
            .expect("NodeGetVolumeHealth")
            .into_inner()
            .volume_health
            .expect("volume health")
    }

    /// Nothing of this test mounted, no loop device over its files.
    fn assert_nothing_left(&self) {
        assert!(
            self.cleanup.mounts().is_empty(),
            "{:?}",
            self.cleanup.mounts()
        );
        assert!(
            self.cleanup.loops().is_empty(),
            "{:?}",
            self.cleanup.loops()
        );
        assert!(rbd_fuse_pids(&self.plugin.state_dir).is_empty());
    }
}

fn bytes_of(usage: &[VolumeUsage]) -> &VolumeUsage {
    usage
        .iter()
        .find(|u| u.unit == Unit::Bytes as i32)
        .expect("a bytes entry")
}

/// FUSE image servers (`rookery-rbd-fuse`) serving mounts under `state_dir`.
fn rbd_fuse_pids(state_dir: &Path) -> Vec<i32> {
    let needle = state_dir.display().to_string();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.starts_with("rookery-rbd-fuse ") && cmdline.contains(&needle) {
            pids.push(pid);
        }
    }
    pids
}

fn write_file(path: &Path, data: &[u8]) {
    let mut f = std::fs::File::create(path).expect("create a file on the volume");
    f.write_all(data).expect("write");
    f.sync_all().expect("fsync");
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Runs `body` with a controller (in-process) and a node plugin process for the
/// shared cluster, in a fresh pool; every mount is undone afterwards.
async fn with_node<F, Fut>(body: F)
where
    F: FnOnce(Env) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let cluster = common::shared();
    let rados = cluster.rados().await;
    let dir = tempfile::tempdir_in(common::tmp_root()).expect("temp dir");
    let root = dir.path().to_owned();
    let plugin = NodePlugin::start(&cluster, &root).await;
    run_in_pool(&rados, move |rados: Rados, pool: String| async move {
        let ctl = RbdController::new(rados.fsid(), rados.clone());
        let served = ServedController::start(&ctl).await;
        let env = Env {
            ctl: served.client.clone(),
            node: plugin.client().await,
            fsid: rados.fsid().to_owned(),
            pool,
            dir: root.clone(),
            cleanup: MountCleanup { root: root.clone() },
            plugin,
        };
        body(env).await;
        ctl.wait_for_purges().await;
        served.stop().await;
    })
    .await;
    drop(dir);
}

#[allow(dead_code)]
#[path = "bodies/ceph_layer.rs"]
mod bodies;

async fn run_in_pool<F, Fut>(rados: &Rados, body: F)
where
    F: FnOnce(Rados, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    bodies::in_temp_pool(rados, "rbd", body).await;
}

#[tokio::test]
async fn full_lifecycle_ten_times_leaves_nothing_behind() {
    with_node(|mut env| async move {
        for round in 0..10u8 {
            let name = format!("life-{round}");
            let vol = env.create(&name, 128 * MIB).await;
            let cap = mount_cap(Mode::SingleNodeWriter, "ext4");
            env.stage(&vol, &name, cap.clone()).await;
            // Staging twice is one staging.
            env.stage(&vol, &name, cap.clone()).await;
            env.publish(&vol, &name, 0, cap.clone()).await;
            let target = env.target(&name, 0);
            let data = pattern(round, 3 * MIB as usize + 17);
            write_file(&target.join("data"), &data);
            assert_eq!(std::fs::read(target.join("data")).unwrap(), data);
            let usage = env.stats(&vol, &target).await;
            let bytes = bytes_of(&usage);
            assert!(
                bytes.total > 100 * MIB as i64 && bytes.total <= 128 * MIB as i64,
                "{usage:?}"
            );
            assert!(bytes.used >= data.len() as i64, "{usage:?}");
            let inodes = usage
                .iter()
                .find(|u| u.unit == Unit::Inodes as i32)
                .expect("inodes");
            assert!(inodes.used > 0 && inodes.total > inodes.used, "{usage:?}");
            assert!(env.health(&vol, &target).await.health_statuses.is_empty());
            env.unpublish(&vol, &name, 0).await;
            env.unpublish(&vol, &name, 0).await;
            env.unstage(&vol, &name).await;
            env.unstage(&vol, &name).await;
            env.delete(&vol.volume_id).await;
            env.assert_nothing_left();
        }
    })
    .await;
}

#[tokio::test]
async fn raw_block_volume_and_the_single_writer_rule() {
    with_node(|mut env| async move {
        let name = "blk";
        let vol = env.create(name, 64 * MIB).await;
        let cap = block_cap(Mode::SingleNodeSingleWriter);
        env.stage(&vol, name, cap.clone()).await;
        env.publish(&vol, name, 1, cap.clone()).await;
        // The same target again is fine; a second target is not.
        env.publish(&vol, name, 1, cap.clone()).await;
        let second = env.publish_req(&vol, name, 2, cap.clone());
        let st = assert_code(
            env.node.node_publish_volume(second).await,
            CsiCode::FailedPrecondition,
        );
        assert!(
            st.message().contains("SINGLE_NODE_SINGLE_WRITER"),
            "{}",
            st.message()
        );

        let dev = env.target(name, 1);
        let data = pattern(7, 64 * 1024);
        {
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&dev)
                .unwrap();
            f.seek(SeekFrom::Start(10 * MIB)).unwrap();
            f.write_all(&data).unwrap();
            f.sync_all().unwrap();
            let mut back = vec![0; data.len()];
            f.seek(SeekFrom::Start(10 * MIB)).unwrap();
            f.read_exact(&mut back).unwrap();
            assert_eq!(back, data);
        }
        let usage = env.stats(&vol, &dev).await;
        assert_eq!(bytes_of(&usage).total, 64 * MIB as i64);

        // A multi-writer block volume may be published twice.
        env.unpublish(&vol, name, 1).await;
        env.unstage(&vol, name).await;
        let rwx = block_cap(Mode::MultiNodeMultiWriter);
        env.stage(&vol, name, rwx.clone()).await;
        env.publish(&vol, name, 1, rwx.clone()).await;
        env.publish(&vol, name, 2, rwx.clone()).await;
        let mut back = vec![0; data.len()];
        let mut f = std::fs::File::open(env.target(name, 2)).unwrap();
        f.seek(SeekFrom::Start(10 * MIB)).unwrap();
        f.read_exact(&mut back).unwrap();
        assert_eq!(back, data, "data written before the restage");
        drop(f);
        env.unpublish(&vol, name, 1).await;
        env.unpublish(&vol, name, 2).await;
        env.unstage(&vol, name).await;
        env.assert_nothing_left();
        env.delete(&vol.volume_id).await;
    })
    .await;
}

#[tokio::test]
async fn a_volume_from_a_snapshot_holds_its_data_and_expansion_grows_the_filesystem() {
    with_node(|mut env| async move {
        // xfs: ext4 needs CAP_SYS_RESOURCE to grow online (see the ext4 case below).
        let cap = mount_cap(Mode::SingleNodeWriter, "xfs");
        let src = env.create("src", 512 * MIB).await;
        env.stage(&src, "src", cap.clone()).await;
        env.publish(&src, "src", 0, cap.clone()).await;
        let data = pattern(3, 5 * MIB as usize);
        write_file(&env.target("src", 0).join("before-snapshot"), &data);
        // Unstaged, every write is in the image before the snapshot is taken.
        env.unpublish(&src, "src", 0).await;
        env.unstage(&src, "src").await;

        let snap = within(
            "CreateSnapshot",
            env.ctl.create_snapshot(CreateSnapshotRequest {
                source_volume_id: src.volume_id.clone(),
                name: "snap-1".into(),
                ..Default::default()
            }),
        )
        .await
        .expect("CreateSnapshot")
        .into_inner()
        .snapshot
        .expect("a snapshot");
        let mut req = CreateVolumeRequest {
            name: "restored".into(),
            volume_capabilities: vec![cap.clone()],
            parameters: HashMap::from([
                ("clusterID".into(), env.fsid.clone()),
                ("pool".into(), env.pool.clone()),
            ]),
            volume_content_source: Some(VolumeContentSource {
                r#type: Some(SourceType::Snapshot(SnapshotSource {
                    snapshot_id: snap.snapshot_id.clone(),
                })),
            }),
            ..Default::default()
        };
        req.capacity_range = None;
        let restored = env.create_req(req).await;
        env.stage(&restored, "restored", cap.clone()).await;
        env.publish(&restored, "restored", 0, cap.clone()).await;
        let target = env.target("restored", 0);
        assert_eq!(std::fs::read(target.join("before-snapshot")).unwrap(), data);

        // Expand: controller, then node; stats see the new size.
        let before = bytes_of(&env.stats(&restored, &target).await).total;
        within(
            "ControllerExpandVolume",
            env.ctl
                .controller_expand_volume(ControllerExpandVolumeRequest {
                    volume_id: restored.volume_id.clone(),
                    capacity_range: Some(CapacityRange {
                        required_bytes: 768 * MIB as i64,
                        limit_bytes: 0,
                    }),
                    volume_capability: Some(cap.clone()),
                    ..Default::default()
                }),
        )
        .await
        .expect("ControllerExpandVolume");
        let grown = within(
            "NodeExpandVolume",
            env.node.node_expand_volume(NodeExpandVolumeRequest {
                volume_id: restored.volume_id.clone(),
                volume_path: target.display().to_string(),
                capacity_range: Some(CapacityRange {
                    required_bytes: 768 * MIB as i64,
                    limit_bytes: 0,
                }),
                ..Default::default()
            }),
        )
        .await
        .expect("NodeExpandVolume")
        .into_inner();
        assert_eq!(grown.capacity_bytes, 768 * MIB as i64);
        let after = bytes_of(&env.stats(&restored, &target).await).total;
        assert!(
            after > before + 200 * MIB as i64,
            "before {before}, after {after}"
        );
        assert_eq!(std::fs::read(target.join("before-snapshot")).unwrap(), data);

        env.unpublish(&restored, "restored", 0).await;
        env.unstage(&restored, "restored").await;
        env.assert_nothing_left();

        // ext4 grows online only with CAP_SYS_RESOURCE; without it the refusal
        // says so (and the volume stays as it was).
        let ext4 = mount_cap(Mode::SingleNodeWriter, "ext4");
        let small = env.create("small", 64 * MIB).await;
        env.stage(&small, "small", ext4.clone()).await;
        let staged = env.staging("small").join(&small.volume_id);
        let expand = ControllerExpandVolumeRequest {
            volume_id: small.volume_id.clone(),
            capacity_range: Some(CapacityRange {
                required_bytes: 128 * MIB as i64,
                limit_bytes: 0,
            }),
            volume_capability: Some(ext4.clone()),
            ..Default::default()
        };
        env.ctl
            .controller_expand_volume(expand)
            .await
            .expect("ControllerExpandVolume");
        let node_expand = NodeExpandVolumeRequest {
            volume_id: small.volume_id.clone(),
            volume_path: staged.display().to_string(),
            ..Default::default()
        };
        let result = env.node.node_expand_volume(node_expand).await;
        match rookery_csi::node::fs::cannot_grow_online("ext4") {
            Some(_) => {
                let st = assert_code(result, CsiCode::FailedPrecondition);
                assert!(
                    st.message().contains("CAP_SYS_RESOURCE"),
                    "{}",
                    st.message()
                );
            }
            None => {
                assert_eq!(
                    result
                        .expect("NodeExpandVolume")
                        .into_inner()
                        .capacity_bytes,
                    128 * MIB as i64
                );
                assert!(bytes_of(&env.stats(&small, &staged).await).total > 100 * MIB as i64);
            }
        }
        env.unstage(&small, "small").await;
        env.assert_nothing_left();
    })
    .await;
}

#[tokio::test]
async fn a_node_plugin_restart_keeps_staged_volumes_and_their_data() {
    with_node(|mut env| async move {
        let cap = mount_cap(Mode::SingleNodeWriter, "xfs");
        let vol = env.create("keep", 512 * MIB).await;
        env.stage(&vol, "keep", cap.clone()).await;
        env.publish(&vol, "keep", 0, cap.clone()).await;
        let target = env.target("keep", 0);
        let data = pattern(9, 8 * MIB as usize);
        write_file(&target.join("acked"), &data);

        env.plugin.restart().await;
        env.node = env.plugin.client().await;

        assert_eq!(std::fs::read(target.join("acked")).unwrap(), data);
        write_file(&target.join("after"), b"written after the restart");
        assert!(env.health(&vol, &target).await.health_statuses.is_empty());
        assert!(bytes_of(&env.stats(&vol, &target).await).used > data.len() as i64);
        // The restarted plugin knows the volume is staged and published.
        env.stage(&vol, "keep", cap.clone()).await;
        env.publish(&vol, "keep", 0, cap.clone()).await;
        env.unpublish(&vol, "keep", 0).await;
        env.unstage(&vol, "keep").await;
        env.assert_nothing_left();

        // Staged again from scratch: both files are in the image.
        env.stage(&vol, "keep", cap.clone()).await;
        let staged = env.staging("keep").join(&vol.volume_id);
        assert_eq!(std::fs::read(staged.join("acked")).unwrap(), data);
        assert_eq!(
            std::fs::read(staged.join("after")).unwrap(),
            b"written after the restart"
        );
        env.unstage(&vol, "keep").await;
        env.assert_nothing_left();
    })
    .await;
}

#[tokio::test]
async fn a_dead_rbd_fuse_is_reported_and_healed_by_the_next_stage() {
    with_node(|mut env| async move {
        let cap = mount_cap(Mode::SingleNodeWriter, "ext4");
        let vol = env.create("dead", 64 * MIB).await;
        env.stage(&vol, "dead", cap.clone()).await;
        let staged = env.staging("dead").join(&vol.volume_id);
        // Acknowledged by fsync before the image server dies: must survive it.
        let data = pattern(5, 4 * MIB as usize);
        write_file(&staged.join("synced"), &data);
        let pids = rbd_fuse_pids(&env.plugin.state_dir);
        assert_eq!(pids.len(), 1, "one image server per staged volume");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pids[0]),
            nix::sys::signal::SIGKILL,
        )
        .unwrap();
        let start = std::time::Instant::now();
        while !rbd_fuse_pids(&env.plugin.state_dir).is_empty() {
            assert!(
                start.elapsed().as_secs() < 10,
                "the image server did not die"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }

        let health = env.health(&vol, &staged).await;
        assert_eq!(health.health_statuses.len(), 1, "{health:?}");
        let entry = &health.health_statuses[0];
        assert_eq!(entry.status, VolumeHealthErrorType::Inaccessible as i32);
        assert!(entry.message.contains("rbd-fuse"), "{}", entry.message);

        env.stage(&vol, "dead", cap.clone()).await;
        assert!(env.health(&vol, &staged).await.health_statuses.is_empty());
        assert_eq!(std::fs::read(staged.join("synced")).unwrap(), data);
        write_file(&staged.join("healed"), b"ok");
        assert_eq!(rbd_fuse_pids(&env.plugin.state_dir).len(), 1);
        env.unstage(&vol, "dead").await;
        env.assert_nothing_left();
    })
    .await;
}

#[tokio::test]
async fn bad_node_requests_name_the_field_and_leave_nothing_mapped() {
    with_node(|mut env| async move {
        let cap = mount_cap(Mode::SingleNodeWriter, "ext4");
        let vol = env.create("bad", 64 * MIB).await;
        let good = env.stage_req(&vol, "bad", cap.clone());
        let n = &mut env.node.clone();

        let mut r = good.clone();
        r.volume_id.clear();
        let st = assert_code(n.node_stage_volume(r).await, CsiCode::InvalidArgument);
        assert!(st.message().contains("volume_id"), "{}", st.message());
        let mut r = good.clone();
        r.staging_target_path = "relative/path".into();
        let st = assert_code(n.node_stage_volume(r).await, CsiCode::InvalidArgument);
        assert!(
            st.message().contains("staging_target_path"),
            "{}",
            st.message()
        );
        let mut r = good.clone();
        r.volume_capability = None;
        let st = assert_code(n.node_stage_volume(r).await, CsiCode::InvalidArgument);
        assert!(
            st.message().contains("volume_capability"),
            "{}",
            st.message()
        );
        let mut r = good.clone();
        r.volume_capability = Some(mount_cap(Mode::SingleNodeWriter, "btrfs"));
        let st = assert_code(n.node_stage_volume(r).await, CsiCode::InvalidArgument);
        assert!(st.message().contains("fs_type"), "{}", st.message());
        let mut r = good.clone();
        r.volume_context.insert("mounter".into(), "rbd-nbd".into());
        let st = assert_code(n.node_stage_volume(r).await, CsiCode::InvalidArgument);
        assert!(st.message().contains("mounter"), "{}", st.message());

        // Publish before stage; stats of paths that are not volumes.
        let publish = env.publish_req(&vol, "bad", 0, cap.clone());
        assert_code(
            n.node_publish_volume(publish).await,
            CsiCode::FailedPrecondition,
        );
        let stats = |p: &Path| NodeGetVolumeStatsRequest {
            volume_id: vol.volume_id.clone(),
            volume_path: p.display().to_string(),
            ..Default::default()
        };
        assert_code(
            n.node_get_volume_stats(stats(&env.dir.join("missing")))
                .await,
            CsiCode::NotFound,
        );
        assert_code(
            n.node_get_volume_stats(stats(&env.dir)).await,
            CsiCode::NotFound,
        );
        env.assert_nothing_left();

        // A filesystem is never reformatted: ext4 staged as xfs is refused, and
        // the refused stage leaves nothing mapped.
        n.node_stage_volume(good.clone()).await.expect("stage ext4");
        env.unstage(&vol, "bad").await;
        let mut xfs = good.clone();
        xfs.volume_capability = Some(mount_cap(Mode::SingleNodeWriter, "xfs"));
        let st = assert_code(n.node_stage_volume(xfs).await, CsiCode::FailedPrecondition);
        assert!(st.message().contains("ext4"), "{}", st.message());
        env.assert_nothing_left();
        assert!(!env.staging("bad").join("image-meta.json").exists());

        let info = n
            .node_get_info(NodeGetInfoRequest {})
            .await
            .unwrap()
            .into_inner();
        assert_eq!(info.node_id, "test-node");
        let caps = n
            .node_get_capabilities(NodeGetCapabilitiesRequest {})
            .await
            .unwrap()
            .into_inner()
            .capabilities;
        let has = |t: rpc::Type| {
            caps.iter()
                .any(|c| matches!(&c.r#type, Some(CapType::Rpc(r)) if r.r#type == t as i32))
        };
        assert!(has(rpc::Type::StageUnstageVolume) && has(rpc::Type::ExpandVolume));
        assert!(has(rpc::Type::GetVolumeStats) && has(rpc::Type::GetVolumeHealth));
    })
    .await;
}
