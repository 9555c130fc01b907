//! The CustomResourceDefinitions of `CephCluster`, `CephBlockPool` and
//! `CephFilesystem` (`ceph.rook.io/v1`), built from the api types: the spec
//! and status schemas are derived from `rookery_api`'s structs (doc comments
//! become descriptions), the names, short names and printer columns are
//! Rook's, so `kubectl get cephcluster` shows what it shows with Rook.
//!
//! `rookery crdgen` prints [`crds_yaml`]; `deploy/crds.yaml` is that output,
//! and a test fails when they differ.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec, CustomResourceDefinitionVersion, CustomResourceSubresourceStatus,
    CustomResourceSubresources, CustomResourceValidation, JSONSchemaProps,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rookery_api::status::{ClusterStatus, ObjectStatus};
use rookery_api::{ClusterSpec, FilesystemSpec, PoolSpec};
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;

use crate::{structural, Error};

/// The API group, as Rook's.
pub const GROUP: &str = "ceph.rook.io";
/// The one version, served and stored.
pub const VERSION: &str = "v1";
/// `apiVersion` of the three kinds.
pub const API_VERSION: &str = rookery_api::API_VERSION;

/// What differs between the three CRDs.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// `CephCluster`...
    pub kind: &'static str,
    /// `cephclusters`...
    pub plural: &'static str,
    /// Rook's short names (`kubectl get ceph`).
    pub short_names: &'static [&'static str],
    /// The object's description in the schema.
    description: &'static str,
    /// The spec and status schemas.
    spec: fn() -> serde_json::Value,
    status: fn() -> serde_json::Value,
    /// Rook's printer columns: name, type, JSONPath, description, priority.
    columns: &'static [Column],
}

type Column = (&'static str, &'static str, &'static str, &'static str, i32);

const AGE: Column = ("Age", "date", ".metadata.creationTimestamp", "", 0);

/// The three kinds, in the order `crdgen` prints them.
pub const KINDS: [KindInfo; 3] = [
    KindInfo {
        kind: "CephCluster",
        plural: "cephclusters",
        short_names: &["ceph"],
        description: "A Ceph cluster: its mons, mgrs, OSDs, dashboard and network \
(ceph.rook.io/v1, the subset rookery supports; other Rook fields are kept).",
        spec: schema_of::<ClusterSpec>,
        status: schema_of::<ClusterStatus>,
        columns: &[
            (
                "DataDirHostPath",
                "string",
                ".spec.dataDirHostPath",
                "Directory used on the K8s nodes",
                0,
            ),
            ("MonCount", "string", ".spec.mon.count", "Number of MONs", 0),
            AGE,
            ("Phase", "string", ".status.phase", "", 0),
            ("Message", "string", ".status.message", "Message", 0),
            ("Health", "string", ".status.ceph.health", "Ceph Health", 0),
            ("External", "boolean", ".spec.external.enable", "", 0),
            ("FSID", "string", ".status.ceph.fsid", "Ceph FSID", 0),
        ],
    },
    KindInfo {
        kind: "CephBlockPool",
        plural: "cephblockpools",
        short_names: &["cephbp"],
        description: "A replicated RADOS pool for RBD images (ceph.rook.io/v1, the subset \
rookery supports; other Rook fields are kept).",
        spec: schema_of::<PoolSpec>,
        status: schema_of::<ObjectStatus>,
        columns: &[
            ("Phase", "string", ".status.phase", "", 0),
            ("Type", "string", ".status.info.type", "", 0),
            (
                "FailureDomain",
                "string",
                ".status.info.failureDomain",
                "",
                0,
            ),
            ("Replication", "integer", ".spec.replicated.size", "", 1),
            (
                "EC-CodingChunks",
                "integer",
                ".spec.erasureCoded.codingChunks",
                "",
                1,
            ),
            (
                "EC-DataChunks",
                "integer",
                ".spec.erasureCoded.dataChunks",
                "",
                1,
            ),
            AGE,
        ],
    },
    KindInfo {
        kind: "CephFilesystem",
        plural: "cephfilesystems",
        short_names: &["cephfs"],
        description: "A CephFS filesystem: its metadata and data pools and its metadata \
servers (ceph.rook.io/v1, the subset rookery supports; other Rook fields are kept).",
        spec: schema_of::<FilesystemSpec>,
        status: schema_of::<ObjectStatus>,
        columns: &[
            (
                "ActiveMDS",
                "string",
                ".spec.metadataServer.activeCount",
                "Number of desired active MDS daemons",
                0,
            ),
            AGE,
            ("Phase", "string", ".status.phase", "", 0),
        ],
    },
];

/// `T`'s schema, structural: subschemas inlined (no `$ref`), OpenAPI 3
/// `nullable`, then [`structural::rewrite`].
fn schema_of<T: JsonSchema>() -> serde_json::Value {
    let settings = SchemaSettings::openapi3().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let mut value = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    structural::rewrite(&mut value);
    value
}

fn props(value: serde_json::Value, kind: &str, part: &str) -> Result<JSONSchemaProps, Error> {
    serde_json::from_value(value).map_err(|source| Error::Schema {
        kind: kind.to_owned(),
        part: part.to_owned(),
        source,
    })
}

fn string_field(description: &str) -> JSONSchemaProps {
    JSONSchemaProps {
        type_: Some("string".into()),
        description: Some(description.into()),
        ..JSONSchemaProps::default()
    }
}

/// The `openAPIV3Schema` of a kind: `apiVersion`, `kind`, `metadata`, the
/// spec from the api types, and the status, open to fields rookery does not
/// model (as Rook's status schemas are).
pub fn openapi_schema(info: &KindInfo) -> Result<JSONSchemaProps, Error> {
    let spec = props((info.spec)(), info.kind, "spec")?;
    let mut status = props((info.status)(), info.kind, "status")?;
    status.x_kubernetes_preserve_unknown_fields = Some(true);
    status.nullable = Some(true);
    let properties = BTreeMap::from([
        (
            "apiVersion".to_owned(),
            string_field("ceph.rook.io/v1: the group and version of this object."),
        ),
        (
            "kind".to_owned(),
            string_field(&format!("{}: the kind of this object.", info.kind)),
        ),
        (
            "metadata".to_owned(),
            JSONSchemaProps {
                type_: Some("object".into()),
                ..JSONSchemaProps::default()
            },
        ),
        ("spec".to_owned(), spec),
        ("status".to_owned(), status),
    ]);
    Ok(JSONSchemaProps {
        type_: Some("object".into()),
        description: Some(info.description.into()),
        properties: Some(properties),
        ..JSONSchemaProps::default()
    })
}

/// The CRD of one kind.
pub fn crd(info: &KindInfo) -> Result<CustomResourceDefinition, Error> {
    let singular = info.kind.to_lowercase();
    let columns = info
        .columns
        .iter()
        .map(
            |&(name, type_, path, description, priority)| CustomResourceColumnDefinition {
                name: name.into(),
                type_: type_.into(),
                json_path: path.into(),
                description: (!description.is_empty()).then(|| description.into()),
                priority: (priority != 0).then_some(priority),
                format: None,
            },
        )
        .collect();
    Ok(CustomResourceDefinition {
        metadata: ObjectMeta {
            name: Some(format!("{}.{GROUP}", info.plural)),
            ..ObjectMeta::default()
        },
        spec: CustomResourceDefinitionSpec {
            group: GROUP.into(),
            names: CustomResourceDefinitionNames {
                kind: info.kind.into(),
                list_kind: Some(format!("{}List", info.kind)),
                plural: info.plural.into(),
                singular: Some(singular),
                short_names: Some(info.short_names.iter().map(|s| (*s).into()).collect()),
                categories: None,
            },
            scope: "Namespaced".into(),
            versions: vec![CustomResourceDefinitionVersion {
                name: VERSION.into(),
                served: true,
                storage: true,
                additional_printer_columns: Some(columns),
                schema: Some(CustomResourceValidation {
                    open_api_v3_schema: Some(openapi_schema(info)?),
                }),
                subresources: Some(CustomResourceSubresources {
                    status: Some(CustomResourceSubresourceStatus(serde_json::json!({}))),
                    scale: None,
                }),
                deprecated: None,
                deprecation_warning: None,
                selectable_fields: None,
            }],
            conversion: None,
            preserve_unknown_fields: None,
        },
        status: None,
    })
}

/// All three CRDs.
pub fn crds() -> Result<Vec<CustomResourceDefinition>, Error> {
    KINDS.iter().map(crd).collect()
}

/// The kind's info, by `kind`.
pub fn kind_info(kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// What `rookery crdgen` prints: the three CRDs as one multi-document YAML
/// stream, with a header saying where it comes from.
pub fn crds_yaml() -> Result<String, Error> {
    let mut out = String::from(
        "# CustomResourceDefinitions of rookery: CephCluster, CephBlockPool, CephFilesystem\n\
         # (ceph.rook.io/v1). Generated from the Rust types in crates/api by `rookery crdgen`;\n\
         # do not edit. Regenerate: cargo run -q -p rookery -- crdgen > deploy/crds.yaml\n",
    );
    for crd in crds()? {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd).map_err(Error::Yaml)?);
    }
    Ok(out)
}
