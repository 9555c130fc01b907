//! Mon faults for tests: a private cluster of three mons, each on its own
//! loopback address (`spec.network.firstMonAddress`), and two ways to take
//! one out, both undone on drop even when the test fails:
//!
//! - [`Partition`]: a `prohibit` route on the mon's address in the local
//!   table (`rookery_runtime_local::mon::fault`). Connects to it fail at once
//!   (EACCES) and binds on it fail (EADDRNOTAVAIL); the mons run with
//!   `ms_bind_before_connect`, so the cut-off mon's own connections fail
//!   too: it is alone, as on a partitioned host, while its process runs on.
//!   Needs root.
//! - [`Frozen`]: SIGSTOP on the mon's process (a hung daemon).
//!
//! Each test takes its own random 127.x.y.0/24 range ([`random_mon_range`]),
//! so its routes never touch another test's addresses.

use std::net::Ipv4Addr;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rookery_ceph::commands::QuorumStatus;
use rookery_ceph::Rados;
use rookery_runtime_local::mon::fault::LoopbackCut;

use super::TestCluster;

/// A `127.x.y.1` no other test run uses (x in 100..=250, y random): the
/// first mon's address; mon `i` gets `.1 + i`.
pub fn random_mon_range() -> Ipv4Addr {
    rookery_runtime_local::mon::fault::random_first_mon_address(100..=250)
}

/// The address of mon `index` (a = 0) when the first mon has `first`.
pub fn mon_addr(first: Ipv4Addr, index: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(first) + index)
}

/// Brings up a private cluster with three mons on their own addresses from
/// `first`, one OSD, and mon failover after `timeout_secs` (the mons looked
/// at every 2 s). Stopped and purged on drop.
pub fn three_mon_cluster(name: &str, first: Ipv4Addr, timeout_secs: u32) -> TestCluster {
    mon_cluster(name, first, timeout_secs, 3)
}

/// As [`three_mon_cluster`], with `count` mons. Its spec is at
/// `dir.with_extension("yaml")`.
pub fn mon_cluster(name: &str, first: Ipv4Addr, timeout_secs: u32, count: u32) -> TestCluster {
    TestCluster::private_from_yaml(name, &mon_spec(name, first, timeout_secs, count))
}

/// The spec of [`three_mon_cluster`], with `count` mons.
pub fn mon_spec(name: &str, first: Ipv4Addr, timeout_secs: u32, count: u32) -> String {
    rookery_runtime_local::spec::with_mons(
        &super::spec_yaml(name, 1, 1, false),
        count,
        first,
        "2s",
        &format!("{timeout_secs}s"),
    )
    .expect("a spec with mons on their own addresses")
}

/// A mon's address cut off from everything until dropped (or healed):
/// see `rookery_runtime_local::mon::fault`.
#[derive(Debug)]
pub struct Partition(LoopbackCut);

impl Partition {
    /// Cuts `addr` off. Panics if it cannot: the test cannot go on without
    /// its fault.
    pub fn cut(addr: Ipv4Addr) -> Self {
        Self(LoopbackCut::cut(addr).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Restores the address (also done on drop).
    pub fn heal(&mut self) {
        self.0.heal().unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A process stopped with SIGSTOP until dropped (or thawed).
#[derive(Debug)]
pub struct Frozen {
    pid: u32,
    active: bool,
}

impl Frozen {
    pub fn freeze(pid: u32) -> Self {
        kill(Pid::from_raw(pid as i32), Signal::SIGSTOP).expect("SIGSTOP");
        Self { pid, active: true }
    }

    pub fn thaw(&mut self) {
        if self.active {
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGCONT);
            self.active = false;
        }
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        self.thaw();
    }
}

/// (monmap names, quorum names), read through librados; None while no
/// quorum answers within 5 s.
pub async fn quorum(rados: &Rados) -> Option<(Vec<String>, Vec<String>)> {
    let q = tokio::time::timeout(Duration::from_secs(5), rados.mon_command(&QuorumStatus))
        .await
        .ok()?
        .ok()?;
    let monmap = q.monmap.mons.iter().map(|m| m.name.clone()).collect();
    Some((monmap, q.quorum_names))
}

/// The events of `kind` in a `rookery status --output json` report.
pub fn events_of<'a>(status: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    status["events"]
        .as_array()
        .map(|all| all.iter().filter(|e| e["kind"] == kind).collect())
        .unwrap_or_default()
}

/// The quorum names in a status report (empty when Ceph did not answer).
pub fn quorum_in(status: &serde_json::Value) -> Vec<String> {
    status["ceph"]["quorum"]
        .as_array()
        .map(|q| {
            q.iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
