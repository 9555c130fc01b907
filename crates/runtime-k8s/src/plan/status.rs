//! Status in Rook's shape (crates/api/src/status.rs): a phase, one condition
//! per type (`Progressing`, `Ready`, `Failure`, and `Deleting` /
//! `DeletionIsBlocked` while deleting) with a CamelCase reason, and for a
//! cluster what Ceph reports. Written only when something other than a
//! timestamp changed, so a steady cluster writes no status.

use k8s_openapi::jiff::Timestamp;
use rookery_api::status::{
    Capacity, CephStatus, ClusterStatus, ClusterVersion, Condition, HealthMessage,
};
use serde_json::Value;

use super::input::CephObserved;

/// The phase and its condition: which type is `True`, why, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// `Progressing`, `Ready`, `Failure`, `Deleting`.
    pub phase: String,
    /// The condition type set `True` (the others of [`TYPES`] `False`).
    pub condition: String,
    /// CamelCase reason.
    pub reason: String,
    /// For people.
    pub message: String,
}

impl Phase {
    /// A phase whose condition has the same name.
    pub fn new(phase: &str, reason: &str, message: impl Into<String>) -> Self {
        Phase {
            phase: phase.into(),
            condition: phase.into(),
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// The condition types always written.
pub const TYPES: [&str; 3] = ["Progressing", "Ready", "Failure"];

/// The conditions for `phase`, keeping each one's transition time from
/// `previous` while its status is unchanged.
pub fn conditions(phase: &Phase, previous: &[Condition], now: Timestamp) -> Vec<Condition> {
    let mut types: Vec<&str> = TYPES.to_vec();
    if !types.contains(&phase.condition.as_str()) {
        types.push(&phase.condition);
    }
    types
        .into_iter()
        .map(|t| {
            let on = t == phase.condition;
            let status = if on { "True" } else { "False" };
            let before = previous.iter().find(|c| c.type_ == t);
            let transition = match before {
                Some(c) if c.status == status => c.last_transition_time.clone(),
                _ => Some(now.to_string()),
            };
            Condition {
                type_: t.into(),
                status: status.into(),
                reason: on.then(|| phase.reason.clone()),
                message: on.then(|| phase.message.clone()),
                last_heartbeat_time: Some(now.to_string()),
                last_transition_time: transition,
            }
        })
        .collect()
}

/// The status an object carries now (`extra.status`), if it reads.
pub fn current<T: serde::de::DeserializeOwned>(extra: &rookery_api::Extra) -> Option<T> {
    extra
        .get("status")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
}

/// True when `new` differs from `old` in more than timestamps.
pub fn changed<T: serde::Serialize>(old: Option<&T>, new: &T) -> bool {
    let strip = |v: &T| {
        let mut value = serde_json::to_value(v).unwrap_or(Value::Null);
        strip_times(&mut value);
        value
    };
    old.is_none_or(|o| strip(o) != strip(new))
}

fn strip_times(v: &mut Value) {
    const TIMES: [&str; 5] = [
        "lastHeartbeatTime",
        "lastTransitionTime",
        "lastChecked",
        "lastChanged",
        "lastUpdated",
    ];
    match v {
        Value::Object(map) => {
            for t in TIMES {
                map.remove(t);
            }
            map.values_mut().for_each(strip_times);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_times),
        _ => {}
    }
}

/// A CephCluster's status.
pub fn cluster_status(
    phase: &Phase,
    previous: Option<&ClusterStatus>,
    ceph: Option<&CephObserved>,
    image: &str,
    generation: Option<i64>,
    now: Timestamp,
) -> ClusterStatus {
    let old = previous.cloned().unwrap_or_default();
    let state = match phase.phase.as_str() {
        "Ready" => "Created",
        "Failure" => "Error",
        "Deleting" => "Deleting",
        _ => "Creating",
    };
    ClusterStatus {
        phase: Some(phase.phase.clone()),
        state: Some(state.into()),
        message: Some(phase.message.clone()),
        conditions: conditions(phase, &old.conditions, now),
        ceph: ceph
            .map(|c| ceph_status(c, old.ceph.as_ref(), now))
            .or(old.ceph),
        version: Some(ClusterVersion {
            image: Some(image.into()),
            version: ceph
                .and_then(version)
                .or(old.version.and_then(|v| v.version)),
        }),
        observed_generation: generation,
    }
}

fn ceph_status(c: &CephObserved, old: Option<&CephStatus>, now: Timestamp) -> CephStatus {
    let previous_health = old.and_then(|o| match &o.health {
        Some(h) if *h != c.health => Some(h.clone()),
        _ => o.previous_health.clone(),
    });
    CephStatus {
        health: Some(c.health.clone()),
        details: c
            .checks
            .iter()
            .map(|(name, (severity, message))| {
                let m = HealthMessage {
                    severity: severity.clone(),
                    message: message.clone(),
                };
                (name.clone(), m)
            })
            .collect(),
        last_checked: Some(now.to_string()),
        last_changed: Some(now.to_string()),
        previous_health,
        capacity: c.capacity.map(|(total, used, available)| Capacity {
            bytes_total: Some(total),
            bytes_used: Some(used),
            bytes_available: Some(available),
            last_updated: Some(now.to_string()),
        }),
        versions: c.versions.clone(),
        fsid: Some(c.fsid.clone()),
    }
}

/// `16.2.15` from `ceph version 16.2.15 (...) pacific (stable)`, when every
/// daemon runs one version.
fn version(c: &CephObserved) -> Option<String> {
    let overall = c.versions.get("overall")?;
    if overall.len() != 1 {
        return None;
    }
    let text = overall.keys().next()?;
    text.strip_prefix("ceph version ")?
        .split_whitespace()
        .next()
        .map(str::to_owned)
}
