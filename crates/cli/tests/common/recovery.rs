//! Recovery after a fault: the cluster as it was before (its [`Shape`]),
//! every daemon the fault hit back, and the writers making progress again.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::checksummed::Writer;
use super::faults::{Injected, Target};

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
        let ranked = fs["filesystems"].as_array().map_or(0, |f| {
            f.iter()
                .map(|f| f["mds"].as_array().map_or(0, Vec::len))
                .sum()
        });
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

/// How a fault healed.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// From the fault (or its end) until recovered.
    pub took: Duration,
    /// Health checks `status` showed meanwhile: what an operator saw.
    pub checks: BTreeSet<String>,
}

/// Waits until the cluster has `want`'s shape, every victim of `fault` is
/// back and every writer acknowledged a write started after the fault;
/// returns how long that took, or what was still missing after `limit`.
pub fn wait_recovered(
    t: &Target<'_>,
    want: &Shape,
    fault: &Injected,
    writers: &[&Writer],
    limit: Duration,
) -> Result<Recovery, String> {
    let since = fault.since;
    let mut checks = fault.checks.clone();
    loop {
        let s = t.cluster.status();
        checks.extend(check_names(&s));
        let shape = Shape::of(&s);
        let stalled: Vec<&str> = writers
            .iter()
            .filter(|w| !w.acked_a_write_started_after(since))
            .map(|w| w.label.as_str())
            .collect();
        let away = t.not_back(&fault.victims);
        if shape.as_ref() == Some(want) && stalled.is_empty() && away.is_empty() {
            return Ok(Recovery {
                took: since.elapsed(),
                checks,
            });
        }
        if since.elapsed() > limit {
            return Err(format!(
                "not recovered after {limit:?}: want {want:?}, have {shape:?}, \
                 not back {away:?}, writers without progress {stalled:?}; status: {s:#}"
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The names of the health checks in a `status --output json`.
pub fn check_names(s: &Value) -> Vec<String> {
    s["ceph"]["checks"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
