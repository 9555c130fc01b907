//! `Platform::Kubernetes` leaves out the one-host rules and keeps the others.

use crate::{load_manifest, Platform};

/// A cluster as people run it on Kubernetes: three mons on three nodes,
/// pools spread over hosts, OSDs on the nodes' disks.
const KUBERNETES_CLUSTER: &str = r#"
apiVersion: ceph.rook.io/v1
kind: CephCluster
metadata: {name: rook-ceph, namespace: rook-ceph}
spec:
  mon: {count: 3, allowMultiplePerNode: false}
  mgr: {count: 2, allowMultiplePerNode: false}
  storage: {useAllNodes: true, useAllDevices: false, files: {count: 0}}
---
apiVersion: ceph.rook.io/v1
kind: CephBlockPool
metadata: {name: replicapool, namespace: rook-ceph}
spec: {failureDomain: zone, replicated: {size: 3}}
---
apiVersion: ceph.rook.io/v1
kind: CephFilesystem
metadata: {name: myfs, namespace: rook-ceph}
spec:
  metadataPool: {failureDomain: host, replicated: {size: 3}}
  dataPools: [{name: replicated, failureDomain: host, replicated: {size: 3}}]
  metadataServer: {activeCount: 10}
"#;

#[test]
fn kubernetes_skips_the_one_host_rules() {
    let m = load_manifest(KUBERNETES_CLUSTER).unwrap();
    let local = m.validate().unwrap_err();
    let paths: Vec<&str> = local.errors.iter().map(|e| e.path.as_str()).collect();
    for expected in [
        "spec.mon.allowMultiplePerNode",
        "spec.mgr.allowMultiplePerNode",
        "spec.storage",
        "spec.failureDomain",
        "spec.metadataPool.failureDomain",
        "spec.metadataServer.activeCount",
    ] {
        assert!(paths.contains(&expected), "{expected} not in {paths:?}");
    }
    if let Err(e) = m.validate_for(Platform::Kubernetes) {
        panic!("valid on Kubernetes, but: {e}");
    }
}

#[test]
fn kubernetes_keeps_the_other_rules() {
    let yaml = KUBERNETES_CLUSTER
        .replace("mon: {count: 3", "mon: {count: 4")
        .replace(
            "size: 3}}\n---\napiVersion: ceph.rook.io/v1\nkind: CephFilesystem",
            "size: 9}}\n---\napiVersion: ceph.rook.io/v1\nkind: CephFilesystem",
        );
    let m = load_manifest(&yaml).unwrap();
    let errors = m.validate_for(Platform::Kubernetes).unwrap_err().errors;
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"spec.mon.count"), "{paths:?}");
    assert!(paths.contains(&"spec.replicated.size"), "{paths:?}");
}
