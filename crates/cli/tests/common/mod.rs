//! Test clusters brought up by rookery's own local runtime.
//!
//! The shared cluster (3 OSDs, the filesystem `myfs` with an active MDS and a
//! standby-replay) is brought up once per test run and shared by
//! every test process (nextest runs each test in its own process): the first
//! test to need it runs `rookery up`, the others find it running. Each test
//! works in its own pool. `scripts/test` stops and purges it after the run,
//! and purges one left behind by an earlier run before starting.
//!
//! Private clusters (1 OSD) are for tests that stop or break their cluster;
//! they are stopped and purged on drop, even when the test fails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rookery_ceph::{ConnectOptions, Rados};

pub const BIN: &str = env!("CARGO_BIN_EXE_rookery");

pub fn tmp_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// A spec with free loopback ports: `osds` 10 GiB file OSDs, the rbd pool at
/// `pool_size`, mgr modules on or off, no filesystem.
pub fn spec_yaml(name: &str, osds: u32, pool_size: u32, modules: bool) -> String {
    spec_yaml_with(name, osds, pool_size, modules, false)
}

/// As [`spec_yaml`], with or without the filesystem `myfs` (its pools at
/// `pool_size`, one active MDS and a standby-replay).
pub fn spec_yaml_with(
    name: &str,
    osds: u32,
    pool_size: u32,
    modules: bool,
    filesystem: bool,
) -> String {
    rookery_runtime_local::spec::Throwaway {
        name: name.to_string(),
        osds,
        osd_gib: 10,
        pool_size,
        modules,
        filesystem,
    }
    .yaml()
    .expect("a throwaway spec")
}

pub fn rookery(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("cannot run rookery")
}

pub fn text(o: &Output) -> String {
    format!(
        "exit: {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A cluster directory and what tests need to reach it.
#[derive(Debug)]
pub struct TestCluster {
    pub dir: PathBuf,
    private: bool,
    /// On the shared cluster: a shared lock for ordinary tests, an exclusive
    /// one for tests that disturb it (kill daemons), so those never run
    /// while another test is looking.
    _turn: Option<nix::fcntl::Flock<std::fs::File>>,
}

impl TestCluster {
    pub fn dir_str(&self) -> &str {
        self.dir.to_str().expect("utf-8 path")
    }
    pub fn conf(&self) -> PathBuf {
        self.dir.join("ceph.conf")
    }
    pub fn keyring(&self) -> PathBuf {
        self.dir.join("ceph.client.admin.keyring")
    }

    pub async fn rados(&self) -> Rados {
        Rados::connect(ConnectOptions {
            conf: self.conf(),
            user: "admin".into(),
            keyring: Some(self.keyring()),
            timeout: Duration::from_secs(30),
        })
        .await
        .expect("connect to the test cluster")
    }

    /// `rookery status --output json`.
    pub fn status(&self) -> serde_json::Value {
        let o = rookery(&["status", "--output", "json", "--dir", self.dir_str()]);
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
    }

    pub fn supervisor_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("run/supervisor.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The supervisor's published daemon table.
    pub fn daemons(&self) -> Vec<serde_json::Value> {
        daemons_in(&self.dir)
    }

    pub fn daemon_pid(&self, name: &str) -> Option<u32> {
        daemon_pid_in(&self.dir, name)
    }

    /// Waits until `f(status)` holds; panics with the last status otherwise.
    pub fn wait_status(
        &self,
        what: &str,
        timeout: Duration,
        f: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let s = self.status();
            if f(&s) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {what}; last status: {s:#}");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Brings up a private 1-OSD cluster (no filesystem), stopped and
    /// purged on drop.
    pub fn private(name: &str) -> Self {
        Self::private_spec(name, false)
    }

    /// A private 1-OSD cluster with the filesystem `myfs` (two MDS).
    pub fn private_with_filesystem(name: &str) -> Self {
        Self::private_spec(name, true)
    }

    fn private_spec(name: &str, filesystem: bool) -> Self {
        Self::private_from_yaml(name, &spec_yaml_with(name, 1, 1, false, filesystem))
    }

    /// Brings up a private cluster from the spec `yaml`, stopped and purged
    /// on drop.
    pub fn private_from_yaml(name: &str, yaml: &str) -> Self {
        let dir = tmp_root().join(format!("rookery-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test dir");
        let spec = dir.with_extension("yaml");
        std::fs::write(&spec, yaml).expect("write spec");
        let c = TestCluster {
            dir,
            private: true,
            _turn: None,
        };
        let o = rookery(&[
            "up",
            "-f",
            spec.to_str().expect("utf-8"),
            "--dir",
            c.dir_str(),
        ]);
        assert!(
            o.status.success(),
            "private cluster {name} did not come up: {}",
            text(&o)
        );
        c
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if self.private && !self.dir.exists() {
            return; // the test purged it itself
        }
        if self.private {
            let o = rookery(&[
                "down",
                "--purge",
                "--yes-really-destroy-data",
                "--dir",
                self.dir_str(),
            ]);
            if !o.status.success() {
                eprintln!("teardown of {} failed: {}", self.dir.display(), text(&o));
            }
            let _ = std::fs::remove_file(self.dir.with_extension("yaml"));
        }
    }
}

/// The daemon table the supervisor of the cluster in `dir` publishes.
pub fn daemons_in(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read(dir.join("run/daemons.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The pid of the supervised daemon `name` of the cluster in `dir`.
pub fn daemon_pid_in(dir: &Path, name: &str) -> Option<u32> {
    daemons_in(dir)
        .iter()
        .find(|d| d["name"] == name)
        .and_then(|d| d["pid"].as_u64())
        .map(|p| p as u32)
}

/// The cluster shared by all tests of this run (3 OSDs, pool size 3, the
/// filesystem `myfs`).
pub fn shared() -> TestCluster {
    shared_with(nix::fcntl::FlockArg::LockShared)
}

/// The shared cluster, for a test that disturbs it: no other test runs on it
/// meanwhile.
pub fn shared_exclusive() -> TestCluster {
    shared_with(nix::fcntl::FlockArg::LockExclusive)
}

fn flock(path: &Path, how: nix::fcntl::FlockArg) -> nix::fcntl::Flock<std::fs::File> {
    let file = std::fs::File::create(path).expect("create lock file");
    nix::fcntl::Flock::lock(file, how)
        .map_err(|(_, e)| e)
        .expect("lock")
}

fn shared_with(turn: nix::fcntl::FlockArg) -> TestCluster {
    let dir = tmp_root().join("rookery-shared");
    let setup = flock(
        &tmp_root().join("rookery-shared.lock"),
        nix::fcntl::FlockArg::LockExclusive,
    );
    let mut args = vec!["up".to_string(), "--dir".into(), dir.display().to_string()];
    if !dir.join("cluster.yaml").exists() {
        // First run: choose free ports once; later runs resume the stored spec.
        std::fs::create_dir_all(&dir).expect("create shared dir");
        let spec = tmp_root().join("rookery-shared.yaml");
        std::fs::write(&spec, spec_yaml_with("shared", 3, 3, true, true)).expect("write spec");
        args.push("-f".into());
        args.push(spec.display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = rookery(&args);
    drop(setup);
    assert!(
        o.status.success(),
        "shared cluster did not come up: {}",
        text(&o)
    );
    let turn = flock(&tmp_root().join("rookery-shared.turn"), turn);
    TestCluster {
        dir,
        private: false,
        _turn: Some(turn),
    }
}

/// A random name for a test's own pool.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

pub mod checksummed;
pub mod csi;
pub mod devices;
pub mod faults;
pub mod full;
pub mod full_rbd;
pub mod mds;
pub mod mons;
pub mod recovery;
