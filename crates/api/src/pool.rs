//! `CephBlockPool`: a replicated RADOS pool for RBD images.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::de::{nullable, string_map};
use crate::meta::{ObjectMeta, ObjectRef};
use crate::warnings::{join, Report};
use crate::{Extra, Warning, API_VERSION, KIND_BLOCK_POOL};

/// The failure domain when none is given. Rook's is `host`; rookery's is `osd`,
/// because the local runtime has one host and a pool spread over hosts could
/// never place more than one replica there.
pub const DEFAULT_FAILURE_DOMAIN: &str = "osd";

/// The pool application when none is given.
pub const DEFAULT_APPLICATION: &str = "rbd";

/// A block pool (`kind: CephBlockPool`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CephBlockPool {
    /// `ceph.rook.io/v1`.
    #[serde(default)]
    pub api_version: String,
    /// `CephBlockPool`.
    #[serde(default)]
    pub kind: String,
    /// Name (the Ceph pool name unless `spec.name`) and namespace.
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    /// The desired pool.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PoolSpec,
    /// Other top-level fields (e.g. `status`), kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CephBlockPool {
    /// A pool with the default spec (replicated, size 3, failure domain `osd`).
    pub fn new(name: &str, namespace: &str) -> Self {
        CephBlockPool {
            api_version: API_VERSION.to_owned(),
            kind: KIND_BLOCK_POOL.to_owned(),
            metadata: ObjectMeta::named(name, namespace),
            spec: PoolSpec::default(),
            extra: Extra::new(),
        }
    }

    /// The Ceph pool name: `spec.name` when set (Rook allows it for built-in
    /// pools such as `.mgr`), else `metadata.name`.
    pub fn pool_name(&self) -> &str {
        match self.spec.name.as_deref() {
            Some(n) if !n.is_empty() => n,
            _ => &self.metadata.name,
        }
    }

    /// `CephBlockPool/<name>`, for messages.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(KIND_BLOCK_POOL, &self.metadata)
    }

    const FIELDS: &'static [&'static str] = &["apiVersion", "kind", "metadata", "spec"];
    const ROOK_ONLY: &'static [&'static str] = &["status"];

    /// Warnings about fields kept but not acted on, with their paths.
    pub(crate) fn report(&self, out: &mut Vec<Warning>) {
        let mut r = Report::new(self.object_ref(), out);
        r.extra("", &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        self.metadata.report(&mut r);
        self.spec.report("spec", &mut r);
    }
}

/// `spec` of a `CephBlockPool`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PoolSpec {
    /// Rook: the pool name when it differs from `metadata.name`; only `.mgr`,
    /// `.nfs` and `device_health_metrics` are allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where replicas must differ: `osd` (default here) or `host`.
    pub failure_domain: String,
    /// Replication settings.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub replicated: ReplicatedSpec,
    /// Only OSDs of this CRUSH device class (`hdd`, `ssd`, `nvme`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_class: Option<String>,
    /// Pool properties set with `ceph osd pool set` (e.g. `pg_num`), as strings.
    #[schemars(extend("nullable" = true))]
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_map"
    )]
    pub parameters: BTreeMap<String, String>,
    /// The pool application; unset means `rbd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for PoolSpec {
    fn default() -> Self {
        PoolSpec {
            name: None,
            failure_domain: DEFAULT_FAILURE_DOMAIN.to_owned(),
            replicated: ReplicatedSpec::default(),
            device_class: None,
            parameters: BTreeMap::new(),
            application: None,
            extra: Extra::new(),
        }
    }
}

impl PoolSpec {
    /// The failure domain, with an empty value read as the default (`osd`).
    pub fn failure_domain(&self) -> &str {
        if self.failure_domain.is_empty() {
            DEFAULT_FAILURE_DOMAIN
        } else {
            &self.failure_domain
        }
    }

    /// The pool application, `rbd` unless set.
    pub fn application(&self) -> &str {
        match self.application.as_deref() {
            Some(a) if !a.is_empty() => a,
            _ => DEFAULT_APPLICATION,
        }
    }

    const FIELDS: &'static [&'static str] = &[
        "name",
        "failureDomain",
        "replicated",
        "deviceClass",
        "parameters",
        "application",
    ];
    const ROOK_ONLY: &'static [&'static str] = &[
        "crushRoot",
        "enableCrushUpdates",
        "compressionMode",
        "erasureCoded",
        "enableRBDStats",
        "mirroring",
        "statusCheck",
        "quotas",
    ];

    pub(crate) fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        self.replicated.report(&join(path, "replicated"), r);
    }
}

/// `spec.replicated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ReplicatedSpec {
    /// Copies of each object: 1 to 7, at most the number of OSDs. Default 3.
    #[schemars(range(min = 1, max = crate::limits::MAX_REPLICAS))]
    pub size: u32,
    /// Refuse size 1 unless this is false (as Rook). Default true.
    pub require_safe_replica_size: bool,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for ReplicatedSpec {
    fn default() -> Self {
        ReplicatedSpec {
            size: 3,
            require_safe_replica_size: true,
            extra: Extra::new(),
        }
    }
}

impl ReplicatedSpec {
    const FIELDS: &'static [&'static str] = &["size", "requireSafeReplicaSize"];
    const ROOK_ONLY: &'static [&'static str] = &[
        "targetSizeRatio",
        "replicasPerFailureDomain",
        "subFailureDomain",
        "hybridStorage",
    ];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
    }
}
