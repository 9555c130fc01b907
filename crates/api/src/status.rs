//! `status` of the three kinds: what the Kubernetes operator writes, in Rook's
//! field names so tools that read Rook's status (`kubectl get cephcluster`,
//! dashboards, scripts) keep working. The CRDs' status schemas come from these
//! types; like Rook's, they keep unknown status fields
//! (`x-kubernetes-preserve-unknown-fields`), so a Rook operator's status
//! survives a move to rookery.
//!
//! The local runtime does not write these (it has `rookery status`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `status` of a `CephCluster`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterStatus {
    /// Where the operator is: `Progressing`, `Ready`, `Failure`... (Rook's phases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Rook's older summary of the phase (`Creating`, `Created`, `Error`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// A sentence for people about the phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Conditions, one per type, newest state of each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// What Ceph itself reports: health, capacity, versions, fsid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceph: Option<CephStatus>,
    /// The Ceph version the daemons run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<ClusterVersion>,
    /// The `metadata.generation` this status describes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// One condition (Rook's shape, not Kubernetes' `metav1.Condition`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    /// `Progressing`, `Ready`, `Failure`, `Deleting`...
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason, e.g. `ClusterCreated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A sentence for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the operator last looked (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_heartbeat_time: Option<String>,
    /// When `status` last changed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: Option<String>,
}

/// `status.ceph` of a `CephCluster`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CephStatus {
    /// `HEALTH_OK`, `HEALTH_WARN` or `HEALTH_ERR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// The health checks that fire, by name (e.g. `MON_DOWN`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, HealthMessage>,
    /// When the operator last read the health (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<String>,
    /// When the health last changed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_changed: Option<String>,
    /// The health before the last change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_health: Option<String>,
    /// Raw capacity of the OSDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Daemon versions: daemon type (`mon`, `osd`, `overall`...) -> version text -> count.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, BTreeMap<String, u32>>,
    /// The cluster's fsid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fsid: Option<String>,
}

/// One firing health check.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct HealthMessage {
    /// `HEALTH_WARN` or `HEALTH_ERR`.
    pub severity: String,
    /// Ceph's summary of the check.
    pub message: String,
}

/// `status.ceph.capacity`, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Capacity {
    /// Raw bytes of all OSDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_total: Option<u64>,
    /// Raw bytes used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_used: Option<u64>,
    /// Raw bytes available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_available: Option<u64>,
    /// When these were read (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
}

/// `status.version` of a `CephCluster`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterVersion {
    /// The Ceph image the daemons run (on Kubernetes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The Ceph version, e.g. `16.2.15-0`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `status` of a `CephBlockPool` or a `CephFilesystem`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectStatus {
    /// `Progressing`, `Ready`, `Failure`...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Facts for the printer columns and people, e.g. a pool's `type` and
    /// `failureDomain`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("nullable" = true))]
    pub info: BTreeMap<String, String>,
    /// Conditions, one per type.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
