//! CSI pieces for tests: a controller served in-process on a unix socket, the
//! node plugin as a real `rookery csi --node` process (so it can be killed and
//! restarted), capability builders, and a guard that leaves no mount, loop
//! device or FUSE image server behind even when a test fails.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rookery_csi::error::CsiCode;
use rookery_csi::grpc::proto::v1::identity_client::IdentityClient;
use rookery_csi::grpc::proto::v1::node_client::NodeClient;
use rookery_csi::grpc::proto::v1::volume_capability::{
    access_mode::Mode, AccessMode, AccessType, BlockVolume, MountVolume,
};
use rookery_csi::grpc::proto::v1::{
    CapacityRange, CreateVolumeRequest, ProbeRequest, VolumeCapability,
};
use rookery_csi::grpc::{bind, code_to_tonic, connect, CsiEndpoint, Routes};
use rookery_csi::rbd::{connect_controller, ControllerClient, RbdController};
use tokio::sync::oneshot;
use tonic::transport::Channel;

use super::{TestCluster, BIN};

/// How long one CSI call may take in a test.
pub const STEP: Duration = Duration::from_secs(120);

pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {STEP:?}"))
}

/// Asserts that a gRPC call failed with `code`; returns the status for more checks.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: CsiCode,
) -> tonic::Status {
    let st = result.expect_err("the call should fail");
    assert_eq!(st.code(), code_to_tonic(code), "{}", st.message());
    st
}

/// CreateVolume of `bytes` for `name` in `pool` of cluster `fsid`, single-node
/// writer, filesystem: what a StorageClass for ceph-csi asks.
pub fn create_request(name: &str, bytes: u64, fsid: &str, pool: &str) -> CreateVolumeRequest {
    CreateVolumeRequest {
        name: name.to_owned(),
        capacity_range: Some(CapacityRange {
            required_bytes: i64::try_from(bytes).expect("a size that fits i64"),
            limit_bytes: 0,
        }),
        volume_capabilities: vec![mount_cap(Mode::SingleNodeWriter, "")],
        parameters: HashMap::from([
            ("clusterID".to_owned(), fsid.to_owned()),
            ("pool".to_owned(), pool.to_owned()),
        ]),
        ..Default::default()
    }
}

pub fn mount_cap(mode: Mode, fs_type: &str) -> VolumeCapability {
    VolumeCapability {
        access_mode: Some(AccessMode { mode: mode as i32 }),
        access_type: Some(AccessType::Mount(MountVolume {
            fs_type: fs_type.into(),
            ..Default::default()
        })),
    }
}

pub fn block_cap(mode: Mode) -> VolumeCapability {
    VolumeCapability {
        access_mode: Some(AccessMode { mode: mode as i32 }),
        access_type: Some(AccessType::Block(BlockVolume {})),
    }
}

/// A controller served on a unix socket in a temp dir.
pub struct ServedController {
    pub client: ControllerClient,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), rookery_csi::grpc::ServeError>>,
    _dir: tempfile::TempDir,
}

impl ServedController {
    pub async fn start(ctl: &RbdController) -> Self {
        Self::serve(Routes::new(ctl.clone().into_server())).await
    }

    /// Serves `routes` (any driver's Controller service).
    pub async fn serve(routes: Routes) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let endpoint =
            CsiEndpoint::parse(&format!("unix://{}/csi.sock", dir.path().display())).unwrap();
        let listener = bind(&endpoint).await.expect("bind the socket");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(listener.serve(routes, async {
            let _ = stopped.await;
        }));
        let client = within("connect", connect_controller(&endpoint))
            .await
            .expect("connect");
        Self {
            client,
            stop,
            server,
            _dir: dir,
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        within("server stop", self.server)
            .await
            .expect("server task")
            .expect("server");
    }
}

/// `rookery csi --type <driver> --node` as a node user, on a socket in `dir`,
/// keeping its state in `dir/state`. Killed on drop.
pub struct NodePlugin {
    child: Option<Child>,
    pub endpoint: CsiEndpoint,
    pub state_dir: PathBuf,
    conf: PathBuf,
    driver: &'static str,
    pub user: String,
    keyring: PathBuf,
    extra_args: Vec<String>,
    log: PathBuf,
}

impl NodePlugin {
    /// The RBD node plugin as `client.csi-rbd-node`.
    pub async fn start(cluster: &TestCluster, dir: &Path) -> Self {
        let keyring = cluster.dir.join("keys/client.csi-rbd-node.keyring");
        Self::start_as(cluster, dir, "rbd", "csi-rbd-node", keyring, &[]).await
    }

    /// The CephFS node plugin as `client.csi-cephfs-node` where the cluster has
    /// that user, else as admin; `extra_args` e.g. `["--mounter", "fuse"]`.
    pub async fn start_cephfs(cluster: &TestCluster, dir: &Path, extra_args: &[&str]) -> Self {
        let keyring = cluster.dir.join("keys/client.csi-cephfs-node.keyring");
        if keyring.exists() {
            Self::start_as(
                cluster,
                dir,
                "cephfs",
                "csi-cephfs-node",
                keyring,
                extra_args,
            )
            .await
        } else {
            let admin = cluster.keyring();
            Self::start_as(cluster, dir, "cephfs", "admin", admin, extra_args).await
        }
    }

    pub async fn start_as(
        cluster: &TestCluster,
        dir: &Path,
        driver: &'static str,
        user: &str,
        keyring: PathBuf,
        extra_args: &[&str],
    ) -> Self {
        let mut p = Self {
            child: None,
            endpoint: CsiEndpoint::parse(&format!("unix://{}/node.sock", dir.display())).unwrap(),
            state_dir: dir.join("state"),
            conf: cluster.conf(),
            driver,
            user: user.to_owned(),
            keyring,
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
            log: dir.join("node.log"),
        };
        p.spawn().await;
        p
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("node plugin log");
        let child = Command::new(BIN)
            .args([
                "csi",
                "--type",
                self.driver,
                "--node",
                "--nodeid",
                "test-node",
            ])
            .arg("--endpoint")
            .arg(self.endpoint.to_string())
            .arg("--state-dir")
            .arg(&self.state_dir)
            .arg("--conf")
            .arg(&self.conf)
            .args(["--user", &self.user, "--keyring"])
            .arg(&self.keyring)
            .args(&self.extra_args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the node plugin");
        self.child = Some(child);
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Ok(channel) = connect(&self.endpoint).await {
                let probe = IdentityClient::new(channel).probe(ProbeRequest {}).await;
                if probe.is_ok_and(|r| r.into_inner().ready == Some(true)) {
                    return;
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("the node plugin exited ({status}): {}", self.log_text());
            }
            assert!(
                start.elapsed() < STEP,
                "the node plugin is not ready after {STEP:?}: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn client(&self) -> NodeClient<Channel> {
        NodeClient::new(
            connect(&self.endpoint)
                .await
                .expect("connect to the node plugin"),
        )
    }

    /// SIGKILL, as a crash: nothing of the plugin's runs after it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for NodePlugin {
    fn drop(&mut self) {
        self.kill();
    }
}

/// On drop: unmounts everything mounted under `root` (deepest first, lazily),
/// and detaches loop devices whose backing file lies under it, so a failed test
/// leaves nothing that pins its images.
pub struct MountCleanup {
    pub root: PathBuf,
}

impl MountCleanup {
    /// Mount points under `root` now.
    pub fn mounts(&self) -> Vec<PathBuf> {
        let table = rookery_csi::node::mountinfo::read().expect("mountinfo");
        table
            .into_iter()
            .map(|e| e.mount_point)
            .filter(|p| p.starts_with(&self.root))
            .collect()
    }

    /// Loop devices backed by files under `root` now.
    pub fn loops(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/sys/block").expect("sysfs").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let backing = entry.path().join("loop/backing_file");
            if let Ok(file) = std::fs::read_to_string(backing) {
                if Path::new(file.trim_end()).starts_with(&self.root) {
                    found.push(PathBuf::from("/dev").join(name));
                }
            }
        }
        found
    }
}

impl Drop for MountCleanup {
    fn drop(&mut self) {
        let mut mounts = self.mounts();
        mounts.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for m in &mounts {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
        for dev in self.loops() {
            let _ = Command::new("losetup").arg("-d").arg(&dev).status();
        }
        // A FUSE daemon whose cluster went away can hang closing its image;
        // none may outlive the test.
        let root = self.root.display().to_string();
        let _ = Command::new("pkill")
            .args(["-9", "-f", &format!("^(rbd|ceph)-fuse .*{root}")])
            .status();
    }
}
