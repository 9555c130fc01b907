//! Kubernetes objects read strictly: each document of a manifest parsed into
//! its typed struct (k8s-openapi's, or [`VolumeSnapshotClass`]), and refused
//! when it names a field the struct does not have. k8s-openapi's structs
//! ignore unknown fields when they deserialize, so the check is a round trip:
//! what does not come back out was not understood. The Ceph kinds are checked
//! against rookery's CRD schemas instead ([`crate::openapi`]), as the API
//! server would.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::api::storage::v1::{CSIDriver, StorageClass};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `snapshot.storage.k8s.io/v1` `VolumeSnapshotClass` (external-snapshotter's
/// CRD; k8s-openapi has no type for it), with its documented fields only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeSnapshotClass {
    /// `snapshot.storage.k8s.io/v1`.
    pub api_version: String,
    /// `VolumeSnapshotClass`.
    pub kind: String,
    /// Name, labels, annotations.
    pub metadata: ObjectMeta,
    /// The CSI driver that takes the snapshots, e.g. `rbd.csi.ceph.com`.
    pub driver: String,
    /// `Delete` or `Retain`: what happens to the snapshot when its
    /// VolumeSnapshotContent is released.
    pub deletion_policy: DeletionPolicy,
    /// Driver parameters (ceph-csi's: `clusterID`, the snapshotter secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BTreeMap<String, String>>,
}

/// `deletionPolicy` of a [`VolumeSnapshotClass`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeletionPolicy {
    /// Delete the snapshot in the storage system too.
    Delete,
    /// Keep it.
    Retain,
}

/// What a document is, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// A Kubernetes object, parsed into its typed struct; `kind` and name.
    Typed(String, String),
    /// A `ceph.rook.io/v1` object that passed its CRD schema; the caller loads
    /// it with `rookery_api::load_manifest` (it needs the whole manifest).
    Ceph(String, String),
}

/// Reads one document strictly: its kind must be one rookery ships, every
/// field must exist in the typed struct (or the CRD schema), with the right
/// type. The errors name the field path.
pub fn check_document(doc: &Value) -> Result<Checked, Vec<String>> {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    let name = doc["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let typed = |check: fn(&Value) -> Vec<String>| {
        let problems = check(doc);
        if problems.is_empty() {
            Ok(Checked::Typed(kind.to_owned(), name.clone()))
        } else {
            Err(problems)
        }
    };
    match (api_version, kind) {
        ("v1", "Namespace") => typed(round_trip::<Namespace>),
        ("v1", "ServiceAccount") => typed(round_trip::<ServiceAccount>),
        ("v1", "ConfigMap") => typed(round_trip::<ConfigMap>),
        // What the operator renders besides (crate::plan).
        ("v1", "Service") => typed(round_trip::<Service>),
        ("v1", "Secret") => typed(round_trip::<Secret>),
        ("batch/v1", "Job") => typed(round_trip::<Job>),
        ("rbac.authorization.k8s.io/v1", "Role") => typed(round_trip::<Role>),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => typed(round_trip::<RoleBinding>),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => typed(round_trip::<ClusterRole>),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            typed(round_trip::<ClusterRoleBinding>)
        }
        ("apps/v1", "Deployment") => typed(round_trip::<Deployment>),
        ("apps/v1", "DaemonSet") => typed(round_trip::<DaemonSet>),
        ("storage.k8s.io/v1", "StorageClass") => typed(round_trip::<StorageClass>),
        ("storage.k8s.io/v1", "CSIDriver") => typed(round_trip::<CSIDriver>),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => {
            typed(round_trip::<CustomResourceDefinition>)
        }
        ("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass") => {
            typed(round_trip::<VolumeSnapshotClass>)
        }
        (crate::crd::API_VERSION, kind) => {
            let Some(info) = crate::kind_info(kind) else {
                return Err(vec![format!("{kind} {name}: not a kind rookery reads")]);
            };
            let schema = crate::crd::openapi_schema(info).map_err(|e| vec![e.to_string()])?;
            let problems = crate::openapi::check_object(doc, &schema);
            if problems.is_empty() {
                Ok(Checked::Ceph(kind.to_owned(), name))
            } else {
                Err(problems)
            }
        }
        _ => Err(vec![format!(
            "{api_version:?} {kind:?} ({name}): a kind this check does not know; add it to \
crates/runtime-k8s/src/objects.rs or remove the document"
        )]),
    }
}

/// Parses `doc` into `T` and back; every difference is a field `T` does not
/// have (or read differently).
pub fn round_trip<T: DeserializeOwned + Serialize>(doc: &Value) -> Vec<String> {
    let typed: T = match serde_json::from_value(doc.clone()) {
        Ok(t) => t,
        Err(e) => return vec![format!("does not parse: {e}")],
    };
    match serde_json::to_value(&typed) {
        Ok(back) => {
            let mut out = Vec::new();
            diff(doc, &back, "", &mut out);
            out
        }
        Err(e) => vec![format!("does not serialize back: {e}")],
    }
}

fn diff(written: &Value, read: &Value, path: &str, out: &mut Vec<String>) {
    match (written, read) {
        (Value::Object(w), Value::Object(r)) => {
            for (key, value) in w {
                let field = format!("{path}.{key}");
                match r.get(key) {
                    Some(back) => diff(value, back, &field, out),
                    // An explicit null reads as "unset": the same object.
                    None if value.is_null() => {}
                    None => out.push(format!("{field}: unknown field")),
                }
            }
        }
        (Value::Array(w), Value::Array(r)) if w.len() == r.len() => {
            for (i, (a, b)) in w.iter().zip(r).enumerate() {
                diff(a, b, &format!("{path}[{i}]"), out);
            }
        }
        (w, r) if w != r => out.push(format!("{path}: written {w}, read as {r}")),
        _ => {}
    }
}
