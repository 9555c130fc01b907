//! Every document of every manifest in deploy/ parses into its typed
//! Kubernetes struct with no field left over, the Ceph kinds pass their CRD
//! schemas and validate for Kubernetes; and the check refuses an unknown kind
//! or field.

use std::path::{Path, PathBuf};

use rookery_api::{load_manifest, Platform};
use rookery_runtime_k8s::objects::{check_document, Checked};
use serde::Deserialize;
use serde_json::{json, Value};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// The manifests the issue asks deploy/ to hold, and only those (with the
/// Dockerfile and the Helm chart beside them).
const FILES: &[&str] = &[
    "cluster.yaml",
    "common.yaml",
    "crds.yaml",
    "filesystem.yaml",
    "operator.yaml",
    "pool.yaml",
    "snapshotclass-cephfs.yaml",
    "snapshotclass-rbd.yaml",
    "storageclass-cephfs.yaml",
    "storageclass-rbd.yaml",
];

#[test]
fn every_manifest_in_deploy_parses_strictly() {
    let mut names: Vec<String> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "Dockerfile" && n != "charts")
        .collect();
    names.sort();
    assert_eq!(names, FILES, "deploy/ holds other files than expected");

    let mut kinds = Vec::new();
    let mut ceph_yaml = String::new();
    for file in FILES {
        let text = std::fs::read_to_string(deploy_dir().join(file)).unwrap();
        for (i, doc) in documents(&text).iter().enumerate() {
            match check_document(doc) {
                Ok(Checked::Typed(kind, name)) => kinds.push(format!("{kind}/{name}")),
                Ok(Checked::Ceph(kind, name)) => {
                    kinds.push(format!("{kind}/{name}"));
                    ceph_yaml.push_str(&format!("---\n{}", serde_yaml::to_string(doc).unwrap()));
                }
                Err(problems) => panic!("deploy/{file}, document {}:\n{problems:#?}", i + 1),
            }
        }
    }
    for expected in [
        "Namespace/rook-ceph",
        "ServiceAccount/rookery-operator",
        "ClusterRole/rookery-csi-rbd-provisioner",
        "Deployment/rookery-operator",
        "CustomResourceDefinition/cephclusters.ceph.rook.io",
        "StorageClass/rook-ceph-block",
        "StorageClass/rook-cephfs",
        "VolumeSnapshotClass/csi-rbdplugin-snapclass",
        "VolumeSnapshotClass/csi-cephfsplugin-snapclass",
        "CephCluster/rook-ceph",
        "CephBlockPool/replicapool",
        "CephFilesystem/myfs",
    ] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "{expected} not in {kinds:?}"
        );
    }
    // The Ceph kinds, read by rookery: no errors for Kubernetes.
    let manifest = load_manifest(&ceph_yaml).unwrap();
    assert!(!manifest.pools_defaulted);
    if let Err(e) = manifest.validate_for(Platform::Kubernetes) {
        panic!("{e}");
    }
}

#[test]
fn storage_and_snapshot_classes_use_ceph_csi_names() {
    for (file, field, driver) in [
        ("storageclass-rbd.yaml", "provisioner", "rbd.csi.ceph.com"),
        (
            "storageclass-cephfs.yaml",
            "provisioner",
            "cephfs.csi.ceph.com",
        ),
        ("snapshotclass-rbd.yaml", "driver", "rbd.csi.ceph.com"),
        ("snapshotclass-cephfs.yaml", "driver", "cephfs.csi.ceph.com"),
    ] {
        let text = std::fs::read_to_string(deploy_dir().join(file)).unwrap();
        let doc = documents(&text).remove(0);
        assert_eq!(doc[field], driver, "{file}");
        assert_eq!(doc["parameters"]["clusterID"], "rook-ceph", "{file}");
    }
}

fn problems(doc: Value) -> Vec<String> {
    check_document(&doc).expect_err("expected a refusal")
}

#[test]
fn the_check_refuses_unknown_kinds_and_fields() {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "replica": 1,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"spec": {"containers": [{"name": "c", "image": "i", "arg": ["x"]}]}}
        }
    });
    let found = problems(deployment);
    assert!(
        found.contains(&".spec.replica: unknown field".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&".spec.template.spec.containers[0].arg: unknown field".to_owned()),
        "{found:?}"
    );

    let wrong_type = json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "x"}, "automountServiceAccountToken": "no"
    });
    assert!(problems(wrong_type)[0].contains("does not parse"));

    let snapshot_class = json!({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
        "metadata": {"name": "x"}, "driver": "rbd.csi.ceph.com",
        "deletionPolicy": "Delete", "parameter": {}
    });
    assert!(problems(snapshot_class)[0].contains("unknown field `parameter`"));

    let unknown_kind = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}});
    assert!(problems(unknown_kind)[0].contains("does not know"));

    let ceph = json!({
        "apiVersion": "ceph.rook.io/v1", "kind": "CephBlockPool",
        "metadata": {"name": "x"}, "spec": {"replicated": {"size": "3"}}
    });
    assert!(problems(ceph)[0].starts_with(".spec.replicated.size"));

    let other_rook_kind = json!({
        "apiVersion": "ceph.rook.io/v1", "kind": "CephObjectStore", "metadata": {"name": "x"}
    });
    assert!(problems(other_rook_kind)[0].contains("not a kind rookery reads"));
}
