//! `CephFilesystem`: a CephFS filesystem — its metadata pool, its data pools
//! and the metadata servers (MDS) that serve it.
//!
//! Pool and daemon names are Rook's, so a filesystem moves between Rook and
//! rookery unchanged: pools `<fs>-metadata` and `<fs>-<dataPool name>`
//! (`<fs>-data<i>` for an unnamed data pool), MDS daemons `<fs>-a`, `<fs>-b`...

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::de::nullable;
use crate::meta::{ObjectMeta, ObjectRef};
use crate::pool::{PoolSpec, ReplicatedSpec};
use crate::warnings::{join, Report};
use crate::{Extra, Warning, API_VERSION, KIND_FILESYSTEM};

/// The name of [`CephFilesystem::new`]'s one data pool (Rook's examples use
/// it too, so the pool is `<fs>-replicated` as in Rook's StorageClass).
pub const DEFAULT_DATA_POOL_NAME: &str = "replicated";

/// The pool application every filesystem pool gets.
pub const CEPHFS_APPLICATION: &str = "cephfs";

/// A shared filesystem (`kind: CephFilesystem`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CephFilesystem {
    /// `ceph.rook.io/v1`.
    #[serde(default)]
    pub api_version: String,
    /// `CephFilesystem`.
    #[serde(default)]
    pub kind: String,
    /// Name (the Ceph filesystem name) and namespace.
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    /// The desired filesystem.
    #[serde(default, deserialize_with = "nullable")]
    pub spec: FilesystemSpec,
    /// Other top-level fields (e.g. `status`), kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CephFilesystem {
    /// A filesystem as Rook's examples make it: metadata pool and one data
    /// pool (`replicated`) of size 3, one active MDS with a standby-replay.
    pub fn new(name: &str, namespace: &str) -> Self {
        CephFilesystem {
            api_version: API_VERSION.to_owned(),
            kind: KIND_FILESYSTEM.to_owned(),
            metadata: ObjectMeta::named(name, namespace),
            spec: FilesystemSpec {
                metadata_pool: Some(PoolSpec::default()),
                data_pools: vec![PoolSpec {
                    name: Some(DEFAULT_DATA_POOL_NAME.to_owned()),
                    ..PoolSpec::default()
                }],
                preserve_filesystem_on_delete: true,
                metadata_server: MetadataServerSpec {
                    active_count: 1,
                    active_standby: true,
                    extra: Extra::new(),
                },
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }
    }

    /// The Ceph filesystem name: `metadata.name`.
    pub fn fs_name(&self) -> &str {
        &self.metadata.name
    }

    /// `<fs>-metadata`, as Rook names it.
    pub fn metadata_pool_name(&self) -> String {
        format!("{}-metadata", self.fs_name())
    }

    /// The data pools' Ceph names, in spec order: `<fs>-<name>`, or
    /// `<fs>-data<i>` for an unnamed one (Rook's rule). The first is the
    /// filesystem's default data pool.
    pub fn data_pool_names(&self) -> Vec<String> {
        self.spec
            .data_pools
            .iter()
            .enumerate()
            .map(|(i, p)| data_pool_name(self.fs_name(), i, p))
            .collect()
    }

    /// How many MDS daemons run: twice `activeCount`, as Rook runs them, so
    /// every active rank has a standby (`activeStandby` only decides whether
    /// those standbys follow the journal as standby-replay).
    pub fn mds_count(&self) -> u32 {
        self.spec.metadata_server.active_count.saturating_mul(2)
    }

    /// `CephFilesystem/<name>`, for messages.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(KIND_FILESYSTEM, &self.metadata)
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

/// The Ceph name of data pool `index` of filesystem `fs`.
pub(crate) fn data_pool_name(fs: &str, index: usize, pool: &PoolSpec) -> String {
    match pool.name.as_deref() {
        Some(n) if !n.is_empty() => format!("{fs}-{n}"),
        _ => format!("{fs}-data{index}"),
    }
}

/// `spec` of a `CephFilesystem`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct FilesystemSpec {
    /// The metadata pool (replicated). Required, as in Rook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_pool: Option<PoolSpec>,
    /// The data pools, at least one; each may have a `name`.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub data_pools: Vec<PoolSpec>,
    /// Keep the filesystem when its object is deleted. rookery never deletes
    /// a filesystem (a smaller spec removes nothing), so it is always kept.
    pub preserve_filesystem_on_delete: bool,
    /// The metadata servers.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub metadata_server: MetadataServerSpec,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl FilesystemSpec {
    const FIELDS: &'static [&'static str] = &[
        "metadataPool",
        "dataPools",
        "preserveFilesystemOnDelete",
        "metadataServer",
    ];
    const ROOK_ONLY: &'static [&'static str] =
        &["preservePoolsOnDelete", "mirroring", "statusCheck"];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        if let Some(meta) = &self.metadata_pool {
            let p = join(path, "metadataPool");
            meta.report(&p, r);
            if meta.name.as_deref().is_some_and(|n| !n.is_empty()) {
                r.ignored(
                    &join(&p, "name"),
                    "the metadata pool is always named <filesystem>-metadata",
                );
            }
            report_application(meta, &p, r);
        }
        for (i, pool) in self.data_pools.iter().enumerate() {
            let p = format!("{}[{i}]", join(path, "dataPools"));
            pool.report(&p, r);
            report_application(pool, &p, r);
        }
        self.metadata_server
            .report(&join(path, "metadataServer"), r);
    }
}

fn report_application(pool: &PoolSpec, path: &str, r: &mut Report<'_>) {
    if pool
        .application
        .as_deref()
        .is_some_and(|a| !a.is_empty() && a != CEPHFS_APPLICATION)
    {
        r.ignored(
            &join(path, "application"),
            "filesystem pools always get the application cephfs",
        );
    }
}

/// `spec.metadataServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct MetadataServerSpec {
    /// Active MDS ranks (Ceph's `max_mds`). Default 1.
    #[schemars(range(min = 1))]
    pub active_count: u32,
    /// Standbys replay the active's journal (`allow_standby_replay`), for a
    /// faster takeover. Default false, as in Rook.
    pub active_standby: bool,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for MetadataServerSpec {
    fn default() -> Self {
        MetadataServerSpec {
            active_count: 1,
            active_standby: false,
            extra: Extra::new(),
        }
    }
}

impl MetadataServerSpec {
    const FIELDS: &'static [&'static str] = &["activeCount", "activeStandby"];
    const ROOK_ONLY: &'static [&'static str] = &[
        "placement",
        "annotations",
        "labels",
        "resources",
        "priorityClassName",
        "livenessProbe",
        "startupProbe",
    ];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
    }
}

/// A replicated pool spec of `size` copies (for builders and tests).
pub fn replicated_pool(name: Option<&str>, size: u32) -> PoolSpec {
    PoolSpec {
        name: name.map(str::to_owned),
        replicated: ReplicatedSpec {
            size,
            require_safe_replica_size: size > 1,
            extra: Extra::new(),
        },
        ..PoolSpec::default()
    }
}
