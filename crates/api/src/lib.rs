//! The declarative model of rookery: `ceph.rook.io/v1` compatible `CephCluster`,
//! `CephBlockPool` and `CephFilesystem` types, their defaults, loading from a multi-document YAML
//! stream, and validation for the local runtime.
//!
//! Pure types and functions: no I/O, no async. Field names are Rook's
//! (camelCase); rookery's own extensions are few and marked as such
//! (`spec.network.ports`, `spec.storage.files`).
//!
//! Unknown fields are never rejected: every object keeps them (`extra`), writes
//! them back when serialized, and [`Manifest::validate`] reports each one with
//! its full path.
//!
//! The spec types and the [`status`] types derive `schemars::JsonSchema`: the
//! CRDs' schemas are generated from them (crates/runtime-k8s, `rookery crdgen`),
//! so their doc comments are what `kubectl explain` shows.

mod de;
mod manifest;
mod meta;
mod quantity;
mod validate;
mod warnings;

pub mod cluster;
pub mod filesystem;
pub mod health;
pub mod pool;
pub mod status;
pub mod storage;

#[cfg(test)]
mod tests;

pub use cluster::{
    CephCluster, CephVersionSpec, ClusterSpec, DashboardSpec, MgrModule, MgrSpec, MonSpec,
    NetworkPorts, NetworkSpec, KUBERNETES_ONLY_MGR_MODULES,
};
pub use filesystem::{
    CephFilesystem, FilesystemSpec, MetadataServerSpec, CEPHFS_APPLICATION, DEFAULT_DATA_POOL_NAME,
};
pub use health::{
    parse_duration, DaemonHealthSpec, HealthCheckSpec, MonHealthSpec, DEFAULT_MON_INTERVAL,
    DEFAULT_MON_TIMEOUT,
};
pub use manifest::{
    load_manifest, ApiError, Manifest, DEFAULT_CLUSTER_NAME, DEFAULT_FILESYSTEM_NAME,
    DEFAULT_NAMESPACE, DEFAULT_POOL_NAME,
};
pub use meta::{ObjectMeta, ObjectRef};
pub use pool::{
    CephBlockPool, PoolSpec, ReplicatedSpec, DEFAULT_APPLICATION, DEFAULT_FAILURE_DOMAIN,
};
pub use quantity::{human_bytes, Quantity, QuantityError};
pub use storage::{DeviceSpec, FileOsdSpec, StorageSpec};
pub use validate::{limits, FieldError, Platform, ValidationErrors};
pub use warnings::{Warning, WarningKind};

/// Fields this crate does not model, kept verbatim (Rook settings rookery does not
/// use yet, and anything unknown). Serialized back in place.
pub type Extra = std::collections::BTreeMap<String, serde_json::Value>;

/// The API group and version rookery reads and writes.
pub const API_VERSION: &str = "ceph.rook.io/v1";
/// `kind` of the cluster object.
pub const KIND_CLUSTER: &str = "CephCluster";
/// `kind` of a block pool object.
pub const KIND_BLOCK_POOL: &str = "CephBlockPool";
/// `kind` of a filesystem object.
pub const KIND_FILESYSTEM: &str = "CephFilesystem";
