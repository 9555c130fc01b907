//! A manifest: one `CephCluster`, its `CephBlockPool`s and `CephFilesystem`s,
//! read from a multi-document YAML stream.

use serde::Deserialize;

use crate::warnings::WarningKind;
use crate::{
    CephBlockPool, CephCluster, CephFilesystem, ObjectRef, ValidationErrors, Warning, API_VERSION,
    KIND_BLOCK_POOL, KIND_CLUSTER, KIND_FILESYSTEM,
};

/// Cluster name of [`Manifest::local_default`].
pub const DEFAULT_CLUSTER_NAME: &str = "rookery";
/// Namespace of [`Manifest::local_default`].
pub const DEFAULT_NAMESPACE: &str = "rookery";
/// The pool added when a manifest has none.
pub const DEFAULT_POOL_NAME: &str = "rbd";
/// The filesystem of [`Manifest::local_default`] (Rook's example name).
pub const DEFAULT_FILESYSTEM_NAME: &str = "myfs";

/// Rook kinds rookery does not read (yet): named in errors so people know the
/// document is fine for Rook but not for rookery.
const OTHER_ROOK_KINDS: &[&str] = &[
    "CephFilesystemSubVolumeGroup",
    "CephFilesystemMirror",
    "CephObjectStore",
    "CephObjectStoreUser",
    "CephObjectRealm",
    "CephObjectZoneGroup",
    "CephObjectZone",
    "CephBucketTopic",
    "CephBucketNotification",
    "CephNFS",
    "CephClient",
    "CephRBDMirror",
    "CephBlockPoolRadosNamespace",
    "CephCOSIDriver",
];

/// The desired state: one cluster, its pools and filesystems.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The cluster.
    pub cluster: CephCluster,
    /// The block pools, in manifest order.
    pub pools: Vec<CephBlockPool>,
    /// True when the manifest had no `CephBlockPool` and `pools` holds the
    /// default pool `rbd` (replicated, size 3).
    pub pools_defaulted: bool,
    /// The shared filesystems, in manifest order. None is added by default
    /// when a manifest is read; [`Manifest::local_default`] has one.
    pub filesystems: Vec<CephFilesystem>,
    /// Notes from reading the stream (e.g. the default pool was added). They
    /// are part of what [`Manifest::validate`] returns, so print that list only.
    pub warnings: Vec<Warning>,
}

/// Why a manifest could not be read or written. Documents count from 1.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The YAML itself is broken.
    #[error("document {document}: not valid YAML: {source}")]
    Yaml {
        /// Which document (from 1).
        document: usize,
        /// The parser's error, with line and column.
        source: serde_yaml::Error,
    },
    /// A document is a list or a scalar, not an object.
    #[error(
        "document {document}: expected a Kubernetes object (a mapping with apiVersion, kind, \
metadata and spec), found {found}"
    )]
    NotAnObject {
        /// Which document (from 1).
        document: usize,
        /// What was there instead, e.g. "a list".
        found: &'static str,
    },
    /// A document has no `kind`.
    #[error(
        "document {document}: no kind; add `kind: CephCluster`, `kind: CephBlockPool` or \
`kind: CephFilesystem` (with apiVersion: {API_VERSION})"
    )]
    MissingKind {
        /// Which document (from 1).
        document: usize,
    },
    /// A kind rookery does not read.
    #[error("document {document}: {}", unsupported_kind(kind))]
    UnsupportedKind {
        /// Which document (from 1).
        document: usize,
        /// The kind found.
        kind: String,
    },
    /// `apiVersion` missing or not `ceph.rook.io/v1`.
    #[error("document {document} ({kind}): {}", api_version_problem(found.as_deref()))]
    WrongApiVersion {
        /// Which document (from 1).
        document: usize,
        /// The document's kind.
        kind: String,
        /// The apiVersion found, if any.
        found: Option<String>,
    },
    /// A field has the wrong type or form (the message names the field path).
    #[error("document {document} ({kind}): {source}")]
    InvalidObject {
        /// Which document (from 1).
        document: usize,
        /// The document's kind.
        kind: &'static str,
        /// serde_yaml's error: field path, problem, line and column.
        source: serde_yaml::Error,
    },
    /// More than one `CephCluster`.
    #[error(
        "documents {first} and {second} are both a CephCluster; a manifest describes one \
cluster: keep one of them"
    )]
    DuplicateCluster {
        /// The first cluster's document.
        first: usize,
        /// The second cluster's document.
        second: usize,
    },
    /// No `CephCluster` at all.
    #[error(
        "the manifest has no CephCluster; add one (apiVersion: {API_VERSION}, kind: \
CephCluster, metadata.name) or run without a manifest to get the defaults"
    )]
    MissingCluster,
    /// The manifest breaks validation rules.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// Writing YAML failed.
    #[error("cannot write the manifest as YAML: {0}")]
    Serialize(serde_yaml::Error),
}

fn unsupported_kind(kind: &str) -> String {
    if OTHER_ROOK_KINDS.contains(&kind) {
        format!(
            "kind {kind} is a Rook kind rookery does not support yet; remove this document \
(rookery reads {KIND_CLUSTER}, {KIND_BLOCK_POOL} and {KIND_FILESYSTEM})"
        )
    } else {
        format!(
            "kind {kind:?} is not something rookery reads; a manifest holds one \
{KIND_CLUSTER} and any number of {KIND_BLOCK_POOL}s and {KIND_FILESYSTEM}s: remove this \
document"
        )
    }
}

fn api_version_problem(found: Option<&str>) -> String {
    match found {
        None => format!("no apiVersion; add apiVersion: {API_VERSION}"),
        Some(v) => format!("apiVersion is {v:?}; rookery reads {API_VERSION}: change it to that"),
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Cluster,
    Pool,
    Filesystem,
}

/// What a document is, from its `kind` and `apiVersion`; `None` for an empty
/// document (e.g. after a trailing `---`).
fn classify(document: usize, value: &serde_yaml::Value) -> Result<Option<Kind>, ApiError> {
    use serde_yaml::Value;
    let map = match value {
        Value::Null => return Ok(None),
        Value::Mapping(m) => m,
        Value::Sequence(_) => {
            return Err(ApiError::NotAnObject {
                document,
                found: "a list",
            })
        }
        _ => {
            return Err(ApiError::NotAnObject {
                document,
                found: "a single value",
            })
        }
    };
    let Some(kind) = map.get("kind").and_then(Value::as_str) else {
        return Err(ApiError::MissingKind { document });
    };
    let parsed = match kind {
        KIND_CLUSTER => Kind::Cluster,
        KIND_BLOCK_POOL => Kind::Pool,
        KIND_FILESYSTEM => Kind::Filesystem,
        other => {
            return Err(ApiError::UnsupportedKind {
                document,
                kind: other.to_owned(),
            })
        }
    };
    let api_version = map.get("apiVersion").and_then(Value::as_str);
    if api_version != Some(API_VERSION) {
        return Err(ApiError::WrongApiVersion {
            document,
            kind: kind.to_owned(),
            found: map.get("apiVersion").map(|v| match v.as_str() {
                Some(s) => s.to_owned(),
                None => serde_yaml::to_string(v)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            }),
        });
    }
    Ok(Some(parsed))
}

/// Reads a multi-document YAML stream holding one `CephCluster` and any number
/// of `CephBlockPool`s and `CephFilesystem`s (`ceph.rook.io/v1`). Empty documents are skipped. When
/// there is no pool, the default pool `rbd` is added and `pools_defaulted` set.
///
/// Only the form is checked here (YAML, kinds, field types); call
/// [`Manifest::validate`] for the rules and the warnings.
pub fn load_manifest(yaml: &str) -> Result<Manifest, ApiError> {
    // Pass 1: what each document is. serde_yaml repeats a syntax error forever
    // when iterated further, so the first error ends the loop.
    let mut kinds = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
        let value = serde_yaml::Value::deserialize(doc).map_err(|source| ApiError::Yaml {
            document: i + 1,
            source,
        })?;
        kinds.push(classify(i + 1, &value)?);
    }

    // Pass 2: typed, straight from the text, so errors carry the field path
    // and line (going through `Value` would lose both).
    let mut cluster: Option<(usize, CephCluster)> = None;
    let mut pools = Vec::new();
    let mut filesystems = Vec::new();
    let docs = serde_yaml::Deserializer::from_str(yaml);
    for ((i, doc), kind) in docs.enumerate().zip(&kinds) {
        let document = i + 1;
        match kind {
            None => {}
            Some(Kind::Cluster) => {
                let parsed =
                    CephCluster::deserialize(doc).map_err(|source| ApiError::InvalidObject {
                        document,
                        kind: KIND_CLUSTER,
                        source,
                    })?;
                if let Some((first, _)) = cluster {
                    return Err(ApiError::DuplicateCluster {
                        first,
                        second: document,
                    });
                }
                cluster = Some((document, parsed));
            }
            Some(Kind::Pool) => {
                let parsed =
                    CephBlockPool::deserialize(doc).map_err(|source| ApiError::InvalidObject {
                        document,
                        kind: KIND_BLOCK_POOL,
                        source,
                    })?;
                pools.push(parsed);
            }
            Some(Kind::Filesystem) => {
                let parsed =
                    CephFilesystem::deserialize(doc).map_err(|source| ApiError::InvalidObject {
                        document,
                        kind: KIND_FILESYSTEM,
                        source,
                    })?;
                filesystems.push(parsed);
            }
        }
    }
    let (_, cluster) = cluster.ok_or(ApiError::MissingCluster)?;

    let mut warnings = Vec::new();
    let pools_defaulted = pools.is_empty();
    if pools_defaulted {
        let pool = default_pool(&cluster);
        warnings.push(Warning {
            object: pool.object_ref(),
            path: String::new(),
            kind: WarningKind::Advice {
                message: format!(
                    "the manifest has no CephBlockPool, so rookery adds the pool \
{DEFAULT_POOL_NAME:?} (replicated, size {}, failure domain {})",
                    pool.spec.replicated.size,
                    pool.spec.failure_domain()
                ),
            },
        });
        pools.push(pool);
    }
    Ok(Manifest {
        cluster,
        pools,
        pools_defaulted,
        filesystems,
        warnings,
    })
}

/// The pool `rbd` in the cluster's namespace.
fn default_pool(cluster: &CephCluster) -> CephBlockPool {
    let mut pool = CephBlockPool::new(DEFAULT_POOL_NAME, "");
    pool.metadata.namespace = cluster.metadata.namespace.clone();
    pool
}

impl Manifest {
    /// The manifest used when none is given: cluster `rookery` in namespace
    /// `rookery` with all defaults (1 mon, 1 mgr, 3 file OSDs of 10Gi,
    /// dashboard and prometheus on), the pool `rbd` and the filesystem `myfs`
    /// (pools `myfs-metadata` and `myfs-replicated` of size 3, one active MDS
    /// and a standby-replay).
    pub fn local_default() -> Self {
        let cluster = CephCluster::new(DEFAULT_CLUSTER_NAME, DEFAULT_NAMESPACE);
        let pools = vec![default_pool(&cluster)];
        let filesystems = vec![CephFilesystem::new(
            DEFAULT_FILESYSTEM_NAME,
            DEFAULT_NAMESPACE,
        )];
        Manifest {
            cluster,
            pools,
            pools_defaulted: true,
            filesystems,
            warnings: Vec::new(),
        }
    }

    /// The manifest as a multi-document YAML stream (cluster first, then pools,
    /// including a defaulted pool, then filesystems), with unknown fields kept. Loading it back
    /// gives the same objects.
    pub fn to_yaml(&self) -> Result<String, ApiError> {
        let mut out = serde_yaml::to_string(&self.cluster).map_err(ApiError::Serialize)?;
        for pool in &self.pools {
            out.push_str("---\n");
            out.push_str(&serde_yaml::to_string(pool).map_err(ApiError::Serialize)?);
        }
        for fs in &self.filesystems {
            out.push_str("---\n");
            out.push_str(&serde_yaml::to_string(fs).map_err(ApiError::Serialize)?);
        }
        Ok(out)
    }

    /// The pool named `name` (its Ceph pool name).
    pub fn pool(&self, name: &str) -> Option<&CephBlockPool> {
        self.pools.iter().find(|p| p.pool_name() == name)
    }

    /// The filesystem named `name`.
    pub fn filesystem(&self, name: &str) -> Option<&CephFilesystem> {
        self.filesystems.iter().find(|f| f.fs_name() == name)
    }

    /// Who the cluster is, for messages.
    pub fn cluster_ref(&self) -> ObjectRef {
        self.cluster.object_ref()
    }
}
