//! Kubernetes object metadata, and the checks Kubernetes applies to names.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::warnings::Report;
use crate::Extra;

/// The part of Kubernetes' `metadata` rookery reads. Other fields are kept.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The object's name; for a pool also the Ceph pool name (unless `spec.name`).
    pub name: String,
    /// The namespace; a pool belongs to the cluster of its namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels, kept for the Kubernetes operator.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::de::string_map"
    )]
    pub labels: BTreeMap<String, String>,
    /// Annotations, kept for the Kubernetes operator.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::de::string_map"
    )]
    pub annotations: BTreeMap<String, String>,
    /// Everything else, kept as written.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ObjectMeta {
    /// Metadata with a name and namespace.
    pub fn named(name: &str, namespace: &str) -> Self {
        ObjectMeta {
            name: name.to_owned(),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        }
    }

    const FIELDS: &'static [&'static str] = &["name", "namespace", "labels", "annotations"];

    /// Bookkeeping fields the API server writes (`kubectl get -o yaml` shows them):
    /// known, harmless, and not worth a warning.
    const KUBERNETES: &'static [&'static str] = &[
        "generateName",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "finalizers",
        "managedFields",
        "selfLink",
        "clusterName",
    ];

    pub(crate) fn report(&self, r: &mut Report<'_>) {
        let path = "metadata";
        let unknown: Extra = self
            .extra
            .iter()
            .filter(|(k, _)| !Self::KUBERNETES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        r.extra(path, &unknown, Self::FIELDS, Self::KUBERNETES);
    }
}

/// Which object a warning or an error is about, e.g. `CephBlockPool/replicapool`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// `CephCluster` or `CephBlockPool`.
    pub kind: &'static str,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    pub(crate) fn new(kind: &'static str, meta: &ObjectMeta) -> Self {
        ObjectRef {
            kind,
            name: meta.name.clone(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "{} (unnamed)", self.kind)
        } else {
            write!(f, "{}/{}", self.kind, self.name)
        }
    }
}

/// Why `name` is not a DNS-1123 subdomain (Kubernetes' rule for object names).
pub(crate) fn subdomain_problem(name: &str) -> Option<String> {
    dns_problem(name, 253, true)
}

/// Why `name` is not a DNS-1123 label (Kubernetes' rule for namespaces).
pub(crate) fn label_problem(name: &str) -> Option<String> {
    dns_problem(name, 63, false)
}

fn dns_problem(name: &str, max: usize, dots: bool) -> Option<String> {
    let allowed = if dots {
        "lowercase letters, digits, '-' and '.'"
    } else {
        "lowercase letters, digits and '-'"
    };
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > max {
        return Some(format!(
            "it is {} characters long, at most {max} are allowed",
            name.len()
        ));
    }
    let ok_char =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (dots && c == '.');
    if let Some(c) = name.chars().find(|&c| !ok_char(c)) {
        return Some(format!("{c:?} is not allowed; use {allowed}"));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Some("it must start and end with a letter or digit".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_names() {
        assert_eq!(subdomain_problem("replicapool"), None);
        assert_eq!(subdomain_problem("a.b-c"), None);
        assert!(subdomain_problem("").unwrap().contains("empty"));
        assert!(subdomain_problem("My_pool").unwrap().contains("'M'"));
        assert!(subdomain_problem("-a").unwrap().contains("start and end"));
        assert!(subdomain_problem(&"a".repeat(254))
            .unwrap()
            .contains("at most 253"));
        assert_eq!(label_problem("rook-ceph"), None);
        assert!(label_problem("a.b").unwrap().contains("'.'"));
    }
}
