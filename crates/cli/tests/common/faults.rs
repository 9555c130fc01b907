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
use rookery_ceph::Rados;
use rookery_runtime_local::comeback::{self, Seen};
use serde_json::Value;

use super::mons::{random_mon_range, Partition};
use super::recovery::check_names;
use super::{rookery, text, TestCluster, BIN};

/// The filesystem of [`three_mon_cluster`].
pub const FS: &str = "myfs";

/// A private cluster with 3 mons (each on its own loopback address, so one
/// can be cut off), 3 OSDs and the filesystem, purged on drop. Mon failover
/// waits Rook's 10 min: a mon cut off for a while comes back as itself.
pub fn fault_cluster(name: &str) -> TestCluster {
    let base = rookery_runtime_local::spec::Throwaway {
        name: name.to_owned(),
        osds: 3,
        osd_gib: 10,
        pool_size: 3,
        modules: false,
        filesystem: true,
    }
    .yaml()
    .expect("a throwaway spec");
    let yaml = rookery_runtime_local::spec::with_mons(&base, 3, random_mon_range(), "2s", "10m")
        .expect("a spec with three mons");
    TestCluster::private_from_yaml(name, &yaml)
}

/// The address mon `daemon` (`mon.c`) listens on, from the cluster's mon state.
fn mon_ip(c: &TestCluster, daemon: &str) -> std::net::Ipv4Addr {
    let layout = rookery_runtime_local::Layout::new(&c.dir);
    let state = rookery_runtime_local::mon::state::MonState::load(&layout)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no mon state in {}", c.dir.display()));
    let id = daemon.trim_start_matches("mon.");
    state
        .entry(id)
        .unwrap_or_else(|| panic!("{daemon} is not in the mon state"))
        .ip
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
    /// Cut a mon's own address off for a while (it drops out of quorum, its
    /// process runs on), then restore it.
    PartitionMon(&'static str, Duration),
    /// SIGKILL the supervisor mid-work, then `rookery up` (it adopts the
    /// daemons).
    Supervisor,
    /// SIGKILL both CSI node plugins; the supervisor restarts them.
    CsiNodePlugins,
}

/// A daemon a fault hit, and how to tell it is back.
#[derive(Debug, Clone)]
pub struct Victim {
    pub name: String,
    pub pid: u32,
    /// What Ceph showed of it before the fault.
    pub seen: Seen,
    /// It must run as a new process (killed, not cut off).
    pub new_process: bool,
}

/// A fault as injected.
#[derive(Debug)]
pub struct Injected {
    pub label: String,
    /// When the recovery clock starts (for a partition: when it ends).
    pub since: Instant,
    pub victims: Vec<Victim>,
    /// Health checks seen while the fault lasted (for a partition).
    pub checks: BTreeSet<String>,
}

/// What a fault needs: the cluster, and a client to read Ceph's maps.
pub struct Target<'a> {
    pub cluster: &'a TestCluster,
    pub rt: &'a tokio::runtime::Runtime,
    pub rados: &'a Rados,
}

impl Target<'_> {
    fn victim(&self, daemon: &str, new_process: bool) -> Victim {
        let c = self.cluster;
        let pid = c
            .daemon_pid(daemon)
            .unwrap_or_else(|| panic!("{daemon} not supervised: {:?}", c.daemons()));
        let seen = self
            .rt
            .block_on(comeback::seen(self.rados, daemon, FS))
            .unwrap_or_else(|e| panic!("what Ceph shows of {daemon}: {e}"));
        Victim {
            name: daemon.to_owned(),
            pid,
            seen,
            new_process,
        }
    }

    fn sigkill(&self, daemons: &[&str]) -> Vec<Victim> {
        let victims: Vec<Victim> = daemons.iter().map(|d| self.victim(d, true)).collect();
        for v in &victims {
            kill(Pid::from_raw(v.pid as i32), Signal::SIGKILL)
                .unwrap_or_else(|e| panic!("SIGKILL {}: {e}", v.name));
        }
        victims
    }

    /// The victims not back yet (a new process where killed, and in Ceph's
    /// maps again).
    pub fn not_back(&self, victims: &[Victim]) -> Vec<String> {
        victims
            .iter()
            .filter(|v| {
                let pid = self.cluster.daemon_pid(&v.name);
                let process = pid.is_some() && (!v.new_process || pid != Some(v.pid));
                let ceph = || {
                    self.rt
                        .block_on(comeback::is_back(self.rados, &v.name, FS, v.seen))
                        .unwrap_or(false)
                };
                !(process && ceph())
            })
            .map(|v| v.name.clone())
            .collect()
    }
}

impl Fault {
    pub fn inject(self, t: &Target<'_>) -> Injected {
        let c = t.cluster;
        let mut checks = BTreeSet::new();
        let (label, since, victims) = match self {
            Fault::Kill(daemon) => {
                let victims = t.sigkill(&[daemon]);
                (format!("SIGKILL {daemon}"), Instant::now(), victims)
            }
            Fault::KillActiveMds => {
                let daemon = format!("mds.{}", active_mds(&c.status()));
                let victims = t.sigkill(&[&daemon]);
                let label = format!("SIGKILL {daemon} (active MDS)");
                (label, Instant::now(), victims)
            }
            Fault::PartitionMon(daemon, how_long) => {
                let victim = t.victim(daemon, false);
                let cut = Partition::cut(mon_ip(c, daemon));
                let out = out_of_quorum(c, daemon, how_long, &mut checks);
                drop(cut);
                let label = format!(
                    "{daemon} partitioned {}s (out of quorum after {:.0}s)",
                    how_long.as_secs(),
                    out.as_secs_f64()
                );
                (label, Instant::now(), vec![victim])
            }
            Fault::Supervisor => {
                let start = Instant::now();
                let pid = c.supervisor_pid().expect("a supervisor");
                kill(Pid::from_raw(pid as i32), Signal::SIGKILL).expect("SIGKILL the supervisor");
                while c.status()["running"] == true {
                    assert!(
                        start.elapsed() < Duration::from_secs(30),
                        "supervisor alive"
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
                let o = rookery(&["up", "--dir", c.dir_str()]);
                assert!(
                    o.status.success(),
                    "up after a killed supervisor: {}",
                    text(&o)
                );
                ("supervisor SIGKILLed, `up` again".into(), start, Vec::new())
            }
            Fault::CsiNodePlugins => {
                let victims = t.sigkill(&["csi.rbd-node", "csi.cephfs-node"]);
                ("CSI node plugins SIGKILLed".into(), Instant::now(), victims)
            }
        };
        Injected {
            label,
            since,
            victims,
            checks,
        }
    }
}

/// Waits at least `at_least`, and until the quorum has dropped `mon` (so
/// the fault had its effect); returns when it was dropped. Adds the health
/// checks seen meanwhile to `checks`.
fn out_of_quorum(
    c: &TestCluster,
    mon: &str,
    at_least: Duration,
    checks: &mut BTreeSet<String>,
) -> Duration {
    let start = Instant::now();
    let id = mon.trim_start_matches("mon.");
    let mut dropped = None;
    while dropped.is_none() || start.elapsed() < at_least {
        let s = c.status();
        checks.extend(check_names(&s));
        if dropped.is_none() {
            let quorum = s["ceph"]["quorum"].as_array();
            if quorum.is_some_and(|q| !q.iter().any(|m| m == id)) {
                dropped = Some(start.elapsed());
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{mon} stopped for 120 s and still in the quorum"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    dropped.unwrap_or_default()
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
