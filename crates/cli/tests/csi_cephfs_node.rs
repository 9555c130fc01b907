//! The CephFS Node service over gRPC, as a real `rookery csi --type cephfs
//! --node` process on the shared cluster's filesystem `myfs`, mounting with
//! what this machine has (ceph-fuse: no ceph kernel module here). Subvolumes
//! are made directly through the mgr, as the controller makes them. Shown:
//! RWX at two targets sharing one file, read-only publish, stats from the
//! quota, a write past the quota, a killed ceph-fuse reported and remounted by
//! the next publish, stats or stage, a killed active MDS failing over under
//! fsynced writes without breaking the mount, a plugin restart keeping the
//! mount, and bad requests naming their field.

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::csi::{assert_code, mount_cap, within, MountCleanup, NodePlugin};
use rookery_ceph::commands::{
    FsSubvolumeCreate, FsSubvolumeGetpath, FsSubvolumeGroupCreate, FsSubvolumeRm,
};
use rookery_ceph::Rados;
use rookery_csi::error::CsiCode;
use rookery_csi::grpc::proto::v1::node_client::NodeClient;
use rookery_csi::grpc::proto::v1::node_service_capability::{rpc, Type as CapType};
use rookery_csi::grpc::proto::v1::volume_capability::access_mode::Mode;
use rookery_csi::grpc::proto::v1::volume_usage::Unit;
use rookery_csi::grpc::proto::v1::*;
use rookery_csi::node::fuse::daemon_pids;
use tonic::transport::Channel;

const MIB: u64 = 1 << 20;
const FS: &str = "myfs";
const GROUP: &str = "csi";

/// A subvolume made for a test, with the volume ID and context a controller
/// would return for it.
#[derive(Clone)]
struct Vol {
    id: String,
    context: HashMap<String, String>,
}

struct Env {
    node: NodeClient<Channel>,
    plugin: NodePlugin,
    rados: Rados,
    fsid: String,
    /// The cluster's directory (its supervisor's daemon table).
    cluster: PathBuf,
    dir: PathBuf,
    /// Subvolumes made, removed after the test whatever its outcome.
    subvolumes: Arc<Mutex<Vec<String>>>,
    // Declared last: dropped after the plugin, so it unmounts what is left
    // and stops any ceph-fuse serving a mount under `dir`.
    cleanup: MountCleanup,
}

impl Env {
    /// A subvolume of `bytes` in group `csi`, as CreateVolume makes it.
    async fn create(&mut self, bytes: u64) -> Vol {
        let uuid = uuid::Uuid::new_v4().to_string();
        let name = format!("csi-vol-{uuid}");
        let create = FsSubvolumeCreate {
            vol_name: FS.into(),
            sub_name: name.clone(),
            group_name: GROUP.into(),
            size: Some(bytes),
            pool_layout: None,
            mode: Some("777".into()),
        };
        within("fs subvolume create", self.rados.mgr_command(&create))
            .await
            .expect("fs subvolume create");
        self.subvolumes.lock().unwrap().push(name.clone());
        let getpath = FsSubvolumeGetpath {
            vol_name: FS.into(),
            sub_name: name.clone(),
            group_name: GROUP.into(),
        };
        let path = within("fs subvolume getpath", self.rados.mgr_command(&getpath))
            .await
            .expect("fs subvolume getpath");
        let id = format!(
            "0001-{:04x}-{}-{:016x}-{uuid}",
            self.fsid.len(),
            self.fsid,
            1
        );
        let context = HashMap::from([
            ("clusterID".to_owned(), self.fsid.clone()),
            ("fsName".to_owned(), FS.to_owned()),
            ("subvolumeName".to_owned(), name),
            ("subvolumePath".to_owned(), path),
        ]);
        Vol { id, context }
    }

    fn staging(&self, name: &str) -> PathBuf {
        self.dir.join("staging").join(name).join("globalmount")
    }

    fn target(&self, name: &str, n: u32) -> PathBuf {
        self.dir
            .join("pods")
            .join(format!("{name}-{n}"))
            .join("mount")
    }

    fn stage_req(&self, vol: &Vol, name: &str, mode: Mode) -> NodeStageVolumeRequest {
        NodeStageVolumeRequest {
            volume_id: vol.id.clone(),
            staging_target_path: self.staging(name).display().to_string(),
            volume_capability: Some(mount_cap(mode, "")),
            volume_context: vol.context.clone(),
            ..Default::default()
        }
    }

    async fn stage(&mut self, vol: &Vol, name: &str, mode: Mode) {
        let req = self.stage_req(vol, name, mode);
        within("NodeStageVolume", self.node.node_stage_volume(req))
            .await
            .unwrap_or_else(|e| panic!("NodeStageVolume: {e}\n{}", self.plugin.log_text()));
    }

    fn publish_req(&self, vol: &Vol, name: &str, n: u32, mode: Mode) -> NodePublishVolumeRequest {
        NodePublishVolumeRequest {
            volume_id: vol.id.clone(),
            staging_target_path: self.staging(name).display().to_string(),
            target_path: self.target(name, n).display().to_string(),
            volume_capability: Some(mount_cap(mode, "")),
            volume_context: vol.context.clone(),
            ..Default::default()
        }
    }

    async fn publish(&mut self, vol: &Vol, name: &str, n: u32, mode: Mode) {
        let req = self.publish_req(vol, name, n, mode);
        within("NodePublishVolume", self.node.node_publish_volume(req))
            .await
            .unwrap_or_else(|e| panic!("NodePublishVolume: {e}\n{}", self.plugin.log_text()));
    }

    async fn unpublish(&mut self, vol: &Vol, name: &str, n: u32) {
        let req = NodeUnpublishVolumeRequest {
            volume_id: vol.id.clone(),
            target_path: self.target(name, n).display().to_string(),
        };
        within("NodeUnpublishVolume", self.node.node_unpublish_volume(req))
            .await
            .expect("NodeUnpublishVolume");
    }

    fn unstage_req(&self, vol: &Vol, name: &str) -> NodeUnstageVolumeRequest {
        NodeUnstageVolumeRequest {
            volume_id: vol.id.clone(),
            staging_target_path: self.staging(name).display().to_string(),
        }
    }

    async fn unstage(&mut self, vol: &Vol, name: &str) {
        let req = self.unstage_req(vol, name);
        within("NodeUnstageVolume", self.node.node_unstage_volume(req))
            .await
            .unwrap_or_else(|e| panic!("NodeUnstageVolume: {e}\n{}", self.plugin.log_text()));
    }

    fn stats_req(&self, vol: &Vol, path: &Path) -> NodeGetVolumeStatsRequest {
        NodeGetVolumeStatsRequest {
            volume_id: vol.id.clone(),
            volume_path: path.display().to_string(),
            ..Default::default()
        }
    }

    async fn stats(&mut self, vol: &Vol, path: &Path) -> Vec<VolumeUsage> {
        let req = self.stats_req(vol, path);
        within("NodeGetVolumeStats", self.node.node_get_volume_stats(req))
            .await
            .unwrap_or_else(|e| panic!("NodeGetVolumeStats: {e}\n{}", self.plugin.log_text()))
            .into_inner()
            .usage
    }

    async fn health(&mut self, vol: &Vol, path: &Path) -> VolumeHealth {
        let req = NodeGetVolumeHealthRequest {
            volume_id: vol.id.clone(),
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

    /// The health of a publication whose ceph-fuse was killed: one
    /// abnormal condition. The kernel may answer from its caches for a
    /// moment after the daemon died; a CO polls health, and so does this,
    /// for up to 5 s.
    async fn reported_dead(&mut self, vol: &Vol, path: &Path) -> VolumeHealth {
        let mut health = self.health(vol, path).await;
        for _ in 0..20 {
            if !health.health_statuses.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            health = self.health(vol, path).await;
        }
        assert_eq!(health.health_statuses.len(), 1, "{health:?}");
        health
    }

    /// The ceph-fuse daemons serving `name`'s staging path.
    fn fuse_pids(&self, name: &str) -> Vec<i32> {
        daemon_pids("ceph-fuse", &self.staging(name))
    }

    /// SIGKILL the ceph-fuse of `name` and wait until it is gone.
    async fn kill_fuse(&self, name: &str) {
        let pids = self.fuse_pids(name);
        assert_eq!(pids.len(), 1, "one ceph-fuse per staged volume: {pids:?}");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pids[0]),
            nix::sys::signal::SIGKILL,
        )
        .unwrap();
        // Gone when reaped or a zombie: its command line empties earlier, before
        // its files (the FUSE connection) are closed.
        let stat = format!("/proc/{}/stat", pids[0]);
        let exited = || {
            std::fs::read_to_string(&stat)
                .map(|s| {
                    s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
                .unwrap_or(true)
        };
        let start = Instant::now();
        while !exited() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "ceph-fuse did not die"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Nothing of this test mounted, no ceph-fuse serving under its dir.
    fn assert_nothing_left(&self) {
        assert!(
            self.cleanup.mounts().is_empty(),
            "{:?}",
            self.cleanup.mounts()
        );
        let fuse: Vec<i32> = std::fs::read_dir(self.dir.join("staging"))
            .map(|d| {
                d.flatten()
                    .flat_map(|e| daemon_pids("ceph-fuse", &e.path().join("globalmount")))
                    .collect()
            })
            .unwrap_or_default();
        assert!(fuse.is_empty(), "ceph-fuse still running: {fuse:?}");
    }
}

fn usage_of(usage: &[VolumeUsage], unit: Unit) -> &VolumeUsage {
    usage
        .iter()
        .find(|u| u.unit == unit as i32)
        .unwrap_or_else(|| panic!("no {unit:?} entry in {usage:?}"))
}

/// Writes `data` and fsyncs it: acknowledged by the cluster.
fn write_synced(path: &Path, data: &[u8]) {
    use std::io::Write as _;
    let mut f = std::fs::File::create(path).expect("create a file on the volume");
    f.write_all(data).expect("write");
    f.sync_all().expect("fsync");
}

fn errno_of(result: std::io::Result<()>) -> Option<i32> {
    result.err().and_then(|e| e.raw_os_error())
}

/// One admin connection per cluster for the whole test process, never shut
/// down: tests connecting while another's connection shuts down crashed the
/// process (SIGSEGV inside librados) when the exclusive test released the
/// cluster. Keyed by cluster: `cargo test` runs every test in one process.
static ADMIN: tokio::sync::Mutex<Vec<(PathBuf, Rados)>> = tokio::sync::Mutex::const_new(Vec::new());

async fn admin(cluster: &common::TestCluster) -> Rados {
    let mut admins = ADMIN.lock().await;
    if let Some((_, r)) = admins.iter().find(|(dir, _)| *dir == cluster.dir) {
        return r.clone();
    }
    let r = cluster.rados().await;
    admins.push((cluster.dir.clone(), r.clone()));
    r
}

/// Runs `body` with a CephFS node plugin process for the shared cluster's
/// `myfs`; every mount, ceph-fuse and subvolume is undone afterwards, also
/// when the body fails.
async fn with_node<F, Fut>(body: F)
where
    F: FnOnce(Env) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_node_on(common::shared(), body).await
}

/// As [`with_node`], on a private cluster with a filesystem of its own: a
/// killed ceph-fuse keeps its caps (on the subvolume group's directories too)
/// until the MDS drops its session, about a minute, which stalls metadata
/// operations — the mgr's subvolume commands included — of every other client
/// of that filesystem meanwhile; other tests must not share it.
async fn with_node_alone<F, Fut>(body: F)
where
    F: FnOnce(Env) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_node_on(
        common::TestCluster::private_with_filesystem("cephfs-kill"),
        body,
    )
    .await
}

async fn with_node_on<F, Fut>(cluster: common::TestCluster, body: F)
where
    F: FnOnce(Env) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let rados = admin(&cluster).await;
    let group = FsSubvolumeGroupCreate {
        vol_name: FS.into(),
        group_name: GROUP.into(),
    };
    within("fs subvolumegroup create", rados.mgr_command(&group))
        .await
        .expect("the shared cluster has the filesystem myfs");
    let dir = tempfile::tempdir_in(common::tmp_root()).expect("temp dir");
    let root = dir.path().to_owned();
    let plugin = NodePlugin::start_cephfs(&cluster, &root, &["--mounter", "auto"]).await;
    let subvolumes = Arc::new(Mutex::new(Vec::new()));
    let env = Env {
        node: plugin.client().await,
        fsid: rados.fsid().to_owned(),
        cluster: cluster.dir.clone(),
        rados: rados.clone(),
        dir: root.clone(),
        subvolumes: subvolumes.clone(),
        cleanup: MountCleanup { root: root.clone() },
        plugin,
    };
    // The body owns the env: when it ends, even by a panic, the plugin stops
    // and every mount and ceph-fuse under `root` is gone before the
    // subvolumes are removed.
    let log = root.join("node.log");
    let outcome = tokio::spawn(body(env)).await;
    if outcome.is_err() || std::env::var_os("ROOKERY_TEST_NODE_LOG").is_some() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        eprintln!("--- node plugin log ---\n{text}");
    }
    let names = std::mem::take(&mut *subvolumes.lock().unwrap());
    for name in names {
        let rm = FsSubvolumeRm {
            vol_name: FS.into(),
            sub_name: name,
            group_name: GROUP.into(),
            force: true,
        };
        let _ = within("fs subvolume rm", rados.mgr_command(&rm)).await;
    }
    drop(dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn rwx_at_two_targets_shares_one_file_and_read_only_refuses_writes() {
    with_node(|mut env| async move {
        let rwx = Mode::MultiNodeMultiWriter;
        let vol = env.create(256 * MIB).await;
        env.stage(&vol, "rwx", rwx).await;
        // Staging twice is one staging.
        env.stage(&vol, "rwx", rwx).await;
        assert_eq!(env.fuse_pids("rwx").len(), 1);
        env.publish(&vol, "rwx", 0, rwx).await;
        env.publish(&vol, "rwx", 1, rwx).await;
        env.publish(&vol, "rwx", 1, rwx).await;
        let (a, b) = (env.target("rwx", 0), env.target("rwx", 1));
        std::fs::write(a.join("shared"), b"written at target 0").unwrap();
        assert_eq!(
            std::fs::read(b.join("shared")).unwrap(),
            b"written at target 0"
        );
        std::fs::write(b.join("second"), vec![7u8; 3 * MIB as usize]).unwrap();
        assert_eq!(
            std::fs::read(a.join("second")).unwrap().len(),
            3 * MIB as usize
        );

        // Read-only: by the request's flag and by a reader-only mode.
        let mut ro = env.publish_req(&vol, "rwx", 2, rwx);
        ro.readonly = true;
        within("NodePublishVolume", env.node.node_publish_volume(ro))
            .await
            .expect("read-only publish");
        let c = env.target("rwx", 2);
        assert_eq!(
            std::fs::read(c.join("shared")).unwrap(),
            b"written at target 0"
        );
        let erofs = nix::errno::Errno::EROFS as i32;
        assert_eq!(errno_of(std::fs::write(c.join("no"), b"x")), Some(erofs));
        env.publish(&vol, "rwx", 3, Mode::MultiNodeReaderOnly).await;
        let d = env.target("rwx", 3);
        assert_eq!(errno_of(std::fs::write(d.join("no"), b"x")), Some(erofs));
        // The same target asked read-write now is another publication.
        let again = env.publish_req(&vol, "rwx", 2, rwx);
        assert_code(
            env.node.node_publish_volume(again).await,
            CsiCode::AlreadyExists,
        );

        // Stats: the quota is the size under ceph-fuse (client_quota_df). The
        // used bytes are the quota root's recursive stats, which ceph-fuse
        // refreshes lazily: only their bounds are checked.
        let usage = env.stats(&vol, &a).await;
        let bytes = usage_of(&usage, Unit::Bytes);
        assert_eq!(bytes.total, 256 * MIB as i64, "{usage:?}");
        assert!(
            bytes.used <= bytes.total && bytes.available <= bytes.total,
            "{usage:?}"
        );
        assert!(usage_of(&usage, Unit::Inodes).total > 0, "{usage:?}");
        assert_eq!(env.stats(&vol, &env.staging("rwx")).await.len(), 2);
        assert!(env.health(&vol, &b).await.health_statuses.is_empty());
        let mounter = std::fs::read_to_string(env.plugin.state_dir.join("mounter")).unwrap();
        assert_eq!(
            mounter.trim(),
            "fuse",
            "this machine has no ceph kernel module"
        );

        // Unstage refuses while published; afterwards nothing is left.
        let early = env.unstage_req(&vol, "rwx");
        let st = assert_code(
            env.node.node_unstage_volume(early).await,
            CsiCode::FailedPrecondition,
        );
        assert!(st.message().contains("still published"), "{}", st.message());
        for n in 0..4 {
            env.unpublish(&vol, "rwx", n).await;
            env.unpublish(&vol, "rwx", n).await;
        }
        env.unstage(&vol, "rwx").await;
        env.unstage(&vol, "rwx").await;
        env.assert_nothing_left();
        assert!(!env
            .plugin
            .state_dir
            .join("staged")
            .join(format!("{}.json", vol.id))
            .exists());
    })
    .await;
}

#[tokio::test]
async fn a_write_past_the_quota_fails_with_edquot() {
    with_node(|mut env| async move {
        let rwo = Mode::SingleNodeWriter;
        let vol = env.create(8 * MIB).await;
        env.stage(&vol, "quota", rwo).await;
        env.publish(&vol, "quota", 0, rwo).await;
        let path = env.target("quota", 0).join("big");
        let write = || -> std::io::Result<()> {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&path)?;
            for _ in 0..32 {
                f.write_all(&vec![1u8; MIB as usize])?;
                f.sync_all()?;
            }
            Ok(())
        };
        let edquot = nix::errno::Errno::EDQUOT as i32;
        assert_eq!(errno_of(write()), Some(edquot));
        env.unpublish(&vol, "quota", 0).await;
        env.unstage(&vol, "quota").await;
        env.assert_nothing_left();
    })
    .await;
}

#[tokio::test]
async fn a_killed_ceph_fuse_is_reported_and_remounted_by_publish_stats_and_stage() {
    with_node_alone(|mut env| async move {
        let rwx = Mode::MultiNodeMultiWriter;
        let vol = env.create(64 * MIB).await;
        env.stage(&vol, "dead", rwx).await;
        env.publish(&vol, "dead", 0, rwx).await;
        env.publish(&vol, "dead", 1, Mode::MultiNodeReaderOnly)
            .await;
        let (a, b) = (env.target("dead", 0), env.target("dead", 1));
        write_synced(&a.join("before"), b"written before the kill");

        // Killed: reported, and the next publish remounts the stage and binds
        // both publications again (the reader-only one read-only).
        env.kill_fuse("dead").await;
        let health = env.reported_dead(&vol, &a).await;
        let entry = &health.health_statuses[0];
        assert_eq!(entry.status, VolumeHealthErrorType::Inaccessible as i32);
        assert!(entry.message.contains("ceph-fuse"), "{}", entry.message);
        env.publish(&vol, "dead", 0, rwx).await;
        assert!(env.health(&vol, &a).await.health_statuses.is_empty());
        assert_eq!(
            std::fs::read(a.join("before")).unwrap(),
            b"written before the kill"
        );
        assert_eq!(
            std::fs::read(b.join("before")).unwrap(),
            b"written before the kill"
        );
        let erofs = nix::errno::Errno::EROFS as i32;
        assert_eq!(errno_of(std::fs::write(b.join("no"), b"x")), Some(erofs));
        assert_eq!(env.fuse_pids("dead").len(), 1);

        // Killed again: stats remount it. (Files the dead client held caps on
        // answer only once the MDS has dropped its session, about a minute:
        // the data was shown above, so here only the mounts are checked.)
        env.kill_fuse("dead").await;
        let usage = env.stats(&vol, &b).await;
        assert_eq!(usage_of(&usage, Unit::Bytes).total, 64 * MIB as i64);
        assert!(env.health(&vol, &a).await.health_statuses.is_empty());
        assert!(env.health(&vol, &b).await.health_statuses.is_empty());

        // And again: the next stage remounts it.
        env.kill_fuse("dead").await;
        env.reported_dead(&vol, &b).await;
        env.stage(&vol, "dead", rwx).await;
        assert!(env.health(&vol, &a).await.health_statuses.is_empty());
        assert!(env.health(&vol, &b).await.health_statuses.is_empty());
        assert_eq!(env.fuse_pids("dead").len(), 1);

        // The data is all there once the MDS has dropped the dead sessions
        // (this also leaves the cluster without stalled caps for later tests).
        assert_eq!(
            std::fs::read(b.join("before")).unwrap(),
            b"written before the kill"
        );
        write_synced(&a.join("after"), b"written after three remounts");
        assert_eq!(
            std::fs::read(b.join("after")).unwrap(),
            b"written after three remounts"
        );
        env.unpublish(&vol, "dead", 0).await;
        env.unpublish(&vol, "dead", 1).await;
        env.unstage(&vol, "dead").await;
        env.assert_nothing_left();

        // Killed with nothing published, then unstaged: nothing is left.
        env.stage(&vol, "dead", rwx).await;
        env.kill_fuse("dead").await;
        env.unstage(&vol, "dead").await;
        env.assert_nothing_left();
    })
    .await;
}

/// Appends 4 KiB records, each fsynced, to `path` until `stop` is set;
/// returns when each record was acknowledged, or the first error.
fn fsynced_appends(
    path: PathBuf,
    stop: Arc<std::sync::atomic::AtomicBool>,
    acked: Arc<Mutex<Vec<Instant>>>,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut n = 0u32;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let mut record = format!("{n:08}").into_bytes();
        record.resize(4096, b'.');
        f.write_all(&record)?;
        f.sync_all()?;
        acked.lock().unwrap().push(Instant::now());
        n += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[tokio::test]
async fn a_killed_active_mds_fails_over_and_the_mount_keeps_working() {
    // Exclusive: every client of myfs waits out the failover.
    with_node_on(common::shared_exclusive(), |mut env| async move {
        let rwx = Mode::MultiNodeMultiWriter;
        let vol = env.create(64 * MIB).await;
        env.stage(&vol, "mds", rwx).await;
        env.publish(&vol, "mds", 0, rwx).await;
        env.publish(&vol, "mds", 1, rwx).await;
        let (a, b) = (env.target("mds", 0), env.target("mds", 1));
        write_synced(&a.join("before"), b"written before the failover");
        let fuse = env.fuse_pids("mds");

        // A writer appends and fsyncs throughout; the active MDS is killed
        // under it.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let (path, stop, acked) = (a.join("during"), stop.clone(), acked.clone());
            std::thread::spawn(move || fsynced_appends(path, stop, acked))
        };
        let acks = || acked.lock().unwrap().len();
        while acks() < 5 {
            assert!(!writer.is_finished(), "writer failed before the kill");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (active, replay) = common::mds::active_and_replay(&env.rados).await;
        let pid = common::daemon_pid_in(&env.cluster, &format!("mds.{active}"))
            .expect("the active MDS is supervised");
        let killed = Instant::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::SIGKILL,
        )
        .unwrap();
        common::mds::rank0_taken_by(&env.rados, &replay).await;
        let failover = killed.elapsed();

        // The writer goes on through the same mount once the standby holds
        // the rank: ten more acknowledged records, no error.
        let at_takeover = acks();
        let deadline = Instant::now() + Duration::from_secs(120);
        while acks() < at_takeover + 10 {
            assert!(!writer.is_finished(), "writer stopped: {:?}", writer.join());
            assert!(Instant::now() < deadline, "no writes after the failover");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer
            .join()
            .unwrap()
            .expect("every append and fsync succeeded");
        let times = acked.lock().unwrap().clone();
        let stall = times
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default();
        eprintln!(
            "mds.{active} killed: {replay} active after {failover:?}; longest wait for an \
             fsync {stall:?}; {} records",
            times.len()
        );

        // Everything is there, seen through both publications of the one
        // ceph-fuse mount, which was never remounted.
        let during = std::fs::read(b.join("during")).unwrap();
        assert_eq!(during.len(), times.len() * 4096);
        for (n, record) in during.chunks(4096).enumerate() {
            assert_eq!(&record[..8], format!("{n:08}").as_bytes(), "record {n}");
        }
        assert_eq!(
            std::fs::read(b.join("before")).unwrap(),
            b"written before the failover"
        );
        assert_eq!(env.fuse_pids("mds"), fuse);
        assert!(env.health(&vol, &a).await.health_statuses.is_empty());
        let usage = env.stats(&vol, &b).await;
        assert_eq!(usage_of(&usage, Unit::Bytes).total, 64 * MIB as i64);

        // The supervisor restarts the killed MDS as the new standby: the
        // shared cluster is as before for later tests.
        common::mds::back_as_standby(&env.rados, &active).await;
        env.unpublish(&vol, "mds", 0).await;
        env.unpublish(&vol, "mds", 1).await;
        env.unstage(&vol, "mds").await;
        env.assert_nothing_left();
    })
    .await;
}

#[tokio::test]
async fn a_node_plugin_restart_keeps_the_mount_working() {
    with_node(|mut env| async move {
        let rwo = Mode::SingleNodeWriter;
        let vol = env.create(64 * MIB).await;
        env.stage(&vol, "keep", rwo).await;
        env.publish(&vol, "keep", 0, rwo).await;
        let target = env.target("keep", 0);
        std::fs::write(target.join("before"), b"before the restart").unwrap();

        env.plugin.restart().await;
        env.node = env.plugin.client().await;

        assert_eq!(
            std::fs::read(target.join("before")).unwrap(),
            b"before the restart"
        );
        std::fs::write(target.join("after"), b"after the restart").unwrap();
        assert!(env.health(&vol, &target).await.health_statuses.is_empty());
        let usage = env.stats(&vol, &target).await;
        assert_eq!(
            usage_of(&usage, Unit::Bytes).total,
            64 * MIB as i64,
            "{usage:?}"
        );
        // The restarted plugin knows the volume is staged and published.
        env.stage(&vol, "keep", rwo).await;
        env.publish(&vol, "keep", 0, rwo).await;
        assert_eq!(env.fuse_pids("keep").len(), 1);
        env.unpublish(&vol, "keep", 0).await;
        env.unstage(&vol, "keep").await;
        env.assert_nothing_left();

        env.stage(&vol, "keep", rwo).await;
        let staged = env.staging("keep");
        assert_eq!(
            std::fs::read(staged.join("after")).unwrap(),
            b"after the restart"
        );
        env.unstage(&vol, "keep").await;
        env.assert_nothing_left();
    })
    .await;
}

#[tokio::test]
async fn bad_node_requests_name_the_field_and_leave_nothing_mounted() {
    with_node(|mut env| async move {
        let rwo = Mode::SingleNodeWriter;
        let vol = env.create(16 * MIB).await;
        let good = env.stage_req(&vol, "bad", rwo);
        let n = &mut env.node.clone();

        let invalid = |r: Result<_, tonic::Status>, field: &str| {
            let st = assert_code(r, CsiCode::InvalidArgument);
            assert!(st.message().contains(field), "{field}: {}", st.message());
        };
        let mut r = good.clone();
        r.volume_id.clear();
        invalid(n.node_stage_volume(r).await, "volume_id");
        let mut r = good.clone();
        r.staging_target_path = "relative/path".into();
        invalid(n.node_stage_volume(r).await, "staging_target_path");
        let mut r = good.clone();
        r.volume_capability = None;
        invalid(n.node_stage_volume(r).await, "volume_capability");
        let mut r = good.clone();
        r.volume_capability = Some(common::csi::block_cap(rwo));
        invalid(n.node_stage_volume(r).await, "volume_capability.block");
        for key in ["fsName", "subvolumePath"] {
            let mut r = good.clone();
            r.volume_context.remove(key);
            if key == "subvolumePath" {
                r.volume_context.remove("subvolumeName");
            }
            invalid(
                n.node_stage_volume(r).await,
                &format!("volume_context.{key}"),
            );
        }
        let mut r = good.clone();
        r.volume_context.insert("mounter".into(), "nfs".into());
        invalid(n.node_stage_volume(r).await, "volume_context.mounter");
        // The kernel client cannot mount here: the refusal says so.
        let mut r = good.clone();
        r.volume_context.insert("mounter".into(), "kernel".into());
        let st = n
            .node_stage_volume(r)
            .await
            .expect_err("no ceph kernel module here");
        assert!(
            st.message().contains("no ceph filesystem"),
            "{}",
            st.message()
        );
        // A subvolume path that does not exist: NOT_FOUND, no ceph-fuse left.
        let mut r = good.clone();
        r.volume_context.insert(
            "subvolumePath".into(),
            "/volumes/csi/no-such-subvolume".into(),
        );
        let st = assert_code(n.node_stage_volume(r).await, CsiCode::NotFound);
        assert!(st.message().contains("does not exist"), "{}", st.message());
        env.assert_nothing_left();

        // Publish before stage; stats of paths that are not volumes.
        let publish = env.publish_req(&vol, "bad", 0, rwo);
        assert_code(
            n.node_publish_volume(publish).await,
            CsiCode::FailedPrecondition,
        );
        let missing = env.stats_req(&vol, &env.dir.join("missing"));
        assert_code(n.node_get_volume_stats(missing).await, CsiCode::NotFound);
        let plain = env.stats_req(&vol, &env.dir);
        assert_code(n.node_get_volume_stats(plain).await, CsiCode::NotFound);

        // A subvolume named without its path is looked up.
        let mut by_name = good.clone();
        by_name.volume_context.remove("subvolumePath");
        n.node_stage_volume(by_name)
            .await
            .expect("stage by subvolume name");
        // SINGLE_NODE_SINGLE_WRITER: one target only.
        let rwop = Mode::SingleNodeSingleWriter;
        env.publish(&vol, "bad", 1, rwop).await;
        env.publish(&vol, "bad", 1, rwop).await;
        let second = env.publish_req(&vol, "bad", 2, rwop);
        let st = assert_code(
            n.node_publish_volume(second).await,
            CsiCode::FailedPrecondition,
        );
        assert!(
            st.message().contains("SINGLE_NODE_SINGLE_WRITER"),
            "{}",
            st.message()
        );
        env.unpublish(&vol, "bad", 1).await;
        env.unstage(&vol, "bad").await;
        env.assert_nothing_left();

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
        assert!(has(rpc::Type::StageUnstageVolume) && has(rpc::Type::SingleNodeMultiWriter));
        assert!(has(rpc::Type::GetVolumeStats) && has(rpc::Type::GetVolumeHealth));
        assert!(!has(rpc::Type::ExpandVolume));
    })
    .await;
}
