//! Names, labels and owner references, as Rook sets them, so a Rook user's
//! selectors and dashboards find rookery's objects.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use rookery_api::{CephCluster, CephFilesystem, ObjectMeta as CephMeta, API_VERSION};

/// The label only objects the operator renders carry: what it may delete.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGER: &str = "rookery-operator";

/// The Ceph object that owns what a plan renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `CephCluster` or `CephFilesystem`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Its namespace: every rendered object goes there.
    pub namespace: String,
    /// Its uid (from the API server).
    pub uid: String,
}

/// A string field of the metadata the api types keep in `extra`
/// (`uid`, `deletionTimestamp`...).
pub fn extra_str<'a>(meta: &'a CephMeta, field: &str) -> Option<&'a str> {
    meta.extra.get(field).and_then(|v| v.as_str())
}

/// `metadata.finalizers` of a Ceph object.
pub fn finalizers(meta: &CephMeta) -> Vec<String> {
    meta.extra
        .get("finalizers")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `metadata.generation` of a Ceph object.
pub fn generation(meta: &CephMeta) -> Option<i64> {
    meta.extra.get("generation").and_then(|v| v.as_i64())
}

fn owner_of(kind: &'static str, meta: &CephMeta) -> Owner {
    Owner {
        kind,
        name: meta.name.clone(),
        namespace: meta.namespace.clone().unwrap_or_default(),
        uid: extra_str(meta, "uid").unwrap_or_default().to_owned(),
    }
}

impl Owner {
    /// A CephCluster as owner.
    pub fn cluster(c: &CephCluster) -> Self {
        owner_of(rookery_api::KIND_CLUSTER, &c.metadata)
    }

    /// A CephFilesystem as owner.
    pub fn filesystem(f: &CephFilesystem) -> Self {
        owner_of(rookery_api::KIND_FILESYSTEM, &f.metadata)
    }

    /// The owner reference every rendered object carries: deleting the
    /// owner lets the garbage collector delete them.
    pub fn reference(&self) -> OwnerReference {
        OwnerReference {
            api_version: API_VERSION.into(),
            kind: self.kind.into(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// Metadata of a rendered object: name, namespace, labels (with
    /// [`MANAGED_BY`]) and the owner reference.
    pub fn meta(&self, name: &str, mut labels: BTreeMap<String, String>) -> ObjectMeta {
        labels.insert(MANAGED_BY.into(), MANAGER.into());
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(self.namespace.clone()),
            labels: Some(labels),
            owner_references: Some(vec![self.reference()]),
            ..ObjectMeta::default()
        }
    }
}

/// Labels of a Ceph daemon as Rook sets them: `app=rook-ceph-<type>`,
/// `ceph_daemon_type`, `ceph_daemon_id`, `<type>=<id>`, `rook_cluster`, and
/// the `app.kubernetes.io` ones.
pub fn daemon_labels(owner: &Owner, daemon_type: &str, id: &str) -> BTreeMap<String, String> {
    let mut l = selector_labels(owner, daemon_type, id);
    l.insert("ceph_daemon_type".into(), daemon_type.into());
    l.insert(daemon_type.into(), id.into());
    l.insert(
        "app.kubernetes.io/name".into(),
        format!("ceph-{daemon_type}"),
    );
    l.insert("app.kubernetes.io/instance".into(), id.into());
    l.insert("app.kubernetes.io/part-of".into(), owner.name.clone());
    l
}

/// The labels a daemon's Deployment selects its pods by (immutable once
/// created, so few): `app`, `ceph_daemon_id`, `rook_cluster`.
pub fn selector_labels(owner: &Owner, daemon_type: &str, id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app".into(), format!("rook-ceph-{daemon_type}")),
        ("ceph_daemon_id".into(), id.into()),
        ("rook_cluster".into(), owner.namespace.clone()),
    ])
}

/// A selector matching `labels`.
pub fn selector(labels: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels),
        ..LabelSelector::default()
    }
}

/// `labels` with `more` added.
pub fn with(
    mut labels: BTreeMap<String, String>,
    more: &[(&str, &str)],
) -> BTreeMap<String, String> {
    for (k, v) in more {
        labels.insert((*k).into(), (*v).into());
    }
    labels
}
