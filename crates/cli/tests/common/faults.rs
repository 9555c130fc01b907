//! The fault suite's pieces: a private cluster shaped like a small production
//! one (3 mons, 3 OSDs, pools of size 3 / min_size 2, the filesystem `myfs`
//! with an active MDS and a standby-replay), volumes mounted through its CSI
//! plugins with `rookery volume`, the faults, and waiting for recovery.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use super::checksummed::Writer;
use super::{rookery, text, TestCluster, BIN};

/// A private cluster with 3 mons, 3 OSDs and the filesystem, purged on drop.
pub fn three_mon_cluster(name: &str) -> TestCluster {
    let yaml = rookery_runtime_local::spec::Throwaway {
        name: name.to_owned(),
        osds: 3,
        osd_gib: 10,
        pool_size: 3,
        modules: false,
        filesystem: true,
    }
    .yaml_with_mons(3)
    .expect("a throwaway spec");
    TestCluster::private_from_yaml(name, &yaml)
}

/// Runs rookery; kills it after `limit` (teardown must not hang on a broken
/// cluster).
pub fn rookery_within(args: &[&str], limit: Duration) -> Result<Output, String> {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rookery: {e}"))?;
    let start = Instant::now();
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("rookery {args:?} still running after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().map_err(|e| e.to_string())
}

/// A volume created and mounted with `rookery volume`, as a user would;
/// unmounted on drop if still mounted.
pub struct MountedVolume {
    dir: String,
    /// `block` or `fs`.
    pub kind: &'static str,
    pub name: String,
    pub path: PathBuf,
    mounted: bool,
}

impl MountedVolume {
    pub fn create(c: &TestCluster, kind: &'static str, name: &str, size: &str, at: &Path) -> Self {
        let mut v = Self {
            dir: c.dir_str().to_owned(),
            kind,
            name: name.to_owned(),
            path: at.to_owned(),
            mounted: false,
        };
        v.volume(&["create", name, "--size", size]);
        v.mount();
        v
    }

    fn volume(&self, args: &[&str]) -> String {
        let mut full = vec!["volume", "--type", self.kind, "--dir", &self.dir];
        full.extend_from_slice(args);
        let o = rookery(&full);
        assert!(o.status.success(), "volume {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn mount(&mut self) {
        let path = self.path.display().to_string();
        self.volume(&["mount", &self.name, &path]);
        self.mounted = true;
    }

    pub fn unmount(&mut self) {
        self.volume(&["unmount", &self.name]);
        self.mounted = false;
    }
}

impl Drop for MountedVolume {
    fn drop(&mut self) {
        if !self.mounted {
            return;
        }
        let args = [
            "volume", "--type", self.kind, "--dir", &self.dir, "unmount", &self.name,
        ];
        match rookery_within(&args, Duration::from_secs(60)) {
            Ok(o) if o.status.success() => {}
            // `down --purge` (the cluster's drop) releases what is left.
            Ok(o) => eprintln!("unmount {}: {}", self.name, text(&o)),
            Err(e) => eprintln!("unmount {}: {e}", self.name),
        }
    }
}

/// One fault of the suite.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// SIGKILL one supervised daemon.
    Kill(&'static str),
    /// SIGKILL the MDS holding rank 0 of `myfs`.
    KillActiveMds,
    /// SIGSTOP a mon for a while, then SIGCONT: it drops out of quorum as
    /// a partitioned one would (stand-in until the route-based partition).
    FreezeMon(&'static str, Duration),
    /// SIGKILL the supervisor mid-work, then `rookery up` (it adopts the
    /// daemons).
    Supervisor,
    /// SIGKILL both CSI node plugins; the supervisor restarts them.
    CsiNodePlugins,
}

impl Fault {
    /// Injects the fault; returns what it was and when the recovery clock
    /// starts (for a freeze: when it ends).
    pub fn inject(self, c: &TestCluster) -> (String, Instant) {
        match self {
            Fault::Kill(daemon) => {
                sigkill(c, daemon);
                (format!("SIGKILL {daemon}"), Instant::now())
            }
            Fault::KillActiveMds => {
                let daemon = format!("mds.{}", active_mds(&c.status()));
                sigkill(c, &daemon);
                (format!("SIGKILL {daemon} (active MDS)"), Instant::now())
            }
            Fault::FreezeMon(daemon, how_long) => {
                let frozen = Frozen::stop(c, daemon);
                std::thread::sleep(how_long);
                drop(frozen);
                let label = format!("{daemon} frozen {}s (SIGSTOP)", how_long.as_secs());
                (label, Instant::now())
            }
            Fault::Supervisor => {
                let start = Instant::now();
                let pid = c.supervisor_pid().expect("a supervisor");
                kill(Pid::from_raw(pid as i32), Signal::SIGKILL).expect("SIGKILL the supervisor");
                while c.status()["running"] == true {
                    assert!(start.elapsed() < Duration::from_secs(30), "supervisor alive");
                    std::thread::sleep(Duration::from_millis(100));
                }
                let o = rookery(&["up", "--dir", c.dir_str()]);
                assert!(o.status.success(), "up after a killed supervisor: {}", text(&o));
                ("supervisor SIGKILLed, `up` again".into(), start)
            }
            Fault::CsiNodePlugins => {
                sigkill(c, "csi.rbd-node");
                sigkill(c, "csi.cephfs-node");
                ("CSI node plugins SIGKILLed".into(), Instant::now())
            }
        }
    }
}

fn sigkill(c: &TestCluster, daemon: &str) {
    let pid = c
        .daemon_pid(daemon)
        .unwrap_or_else(|| panic!("{daemon} not supervised: {:?}", c.daemons()));
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL)
        .unwrap_or_else(|e| panic!("SIGKILL {daemon}: {e}"));
}

/// A daemon stopped with SIGSTOP until dropped (even when the test fails).
struct Frozen(String, Pid);

impl Frozen {
    fn stop(c: &TestCluster, daemon: &str) -> Self {
        let pid = c
            .daemon_pid(daemon)
            .unwrap_or_else(|| panic!("{daemon} not supervised"));
        let pid = Pid::from_raw(pid as i32);
        kill(pid, Signal::SIGSTOP).unwrap_or_else(|e| panic!("SIGSTOP {daemon}: {e}"));
        Self(daemon.to_owned(), pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        if let Err(e) = kill(self.1, Signal::SIGCONT) {
            eprintln!("SIGCONT {}: {e}", self.0);
        }
    }
}

/// The name of the MDS holding rank 0 of `myfs`, from `status --output json`.
pub fn active_mds(s: &Value) -> String {
    s["ceph"]["fs"]["filesystems"][0]["mds"]
        .as_array()
        .and_then(|m| {
            m.iter()
                .find(|m| m["rank"] == 0 && m["state"] == "up:active")
        })
        .and_then(|m| m["name"].as_str())
        .unwrap_or_else(|| panic!("no active MDS: {s:#}"))
        .to_owned()
}

/// What "recovered" means: the cluster as it was before the fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub health: String,
    pub quorum: usize,
    pub osds_up: u64,
    pub mgr_available: bool,
    /// MDS daemons known to the FSMap (ranked, standby-replay, standby).
    pub mds: usize,
    /// Supervised daemons, every one running.
    pub daemons: BTreeSet<String>,
}

impl Shape {
    pub fn of(s: &Value) -> Option<Self> {
        let ceph = s.get("ceph").filter(|c| !c.is_null())?;
        let fs = &ceph["fs"];
        let ranked = fs["filesystems"]
            .as_array()
            .map_or(0, |f| f.iter().map(|f| f["mds"].as_array().map_or(0, Vec::len)).sum());
        let daemons = s["daemons"]
            .as_array()?
            .iter()
            .filter(|d| d["state"] == "running" && d["pid"].is_u64())
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        Some(Self {
            health: ceph["health"].as_str()?.to_owned(),
            quorum: ceph["quorum"].as_array()?.len(),
            osds_up: ceph["osds_up"].as_u64()?,
            mgr_available: ceph["mgr_available"].as_bool()?,
            mds: ranked + fs["standbys"].as_array().map_or(0, Vec::len),
            daemons,
        })
    }
}

/// Waits until the cluster has `want`'s shape and every writer acknowledged
/// a write started after `since`; returns the time from `since`, or what was
/// still missing after `limit`.
pub fn wait_recovered(
    c: &TestCluster,
    want: &Shape,
    writers: &[&Writer],
    since: Instant,
    limit: Duration,
) -> Result<Duration, String> {
    loop {
        let s = c.status();
        let shape = Shape::of(&s);
        let stalled: Vec<&str> = writers
            .iter()
            .filter(|w| !w.acked_a_write_started_after(since))
            .map(|w| w.label.as_str())
            .collect();
        if shape.as_ref() == Some(want) && stalled.is_empty() {
            return Ok(since.elapsed());
        }
        if since.elapsed() > limit {
            return Err(format!(
                "not recovered after {limit:?}: want {want:?}, have {shape:?}, \
                 writers without progress {stalled:?}; status: {s:#}"
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
