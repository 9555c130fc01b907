//! A manifest shaped like Rook's single-node test cluster, as people would
//! bring it: it loads, it is valid once storage names files or devices, and
//! everything the local runtime does not use is reported.

use super::{assert_error, is_unknown, warning_paths};
use crate::{load_manifest, WarningKind};

/// Shared with crates/runtime-k8s's test that checks it against the CRDs.
const ROOK_TEST_CLUSTER: &str = include_str!("rook-cluster-test.yaml");

#[test]
fn rook_test_cluster_loads_valid_with_warnings() {
    let m = load_manifest(ROOK_TEST_CLUSTER).unwrap();
    assert!(!m.pools_defaulted);
    let names: Vec<&str> = m.pools.iter().map(|p| p.pool_name()).collect();
    assert_eq!(names, [".mgr", "replicapool"]);
    assert_eq!(
        m.cluster.spec.mgr_modules_enabled(),
        ["rook", "pg_autoscaler", "dashboard"]
    );
    assert_eq!(
        m.cluster.spec.local_mgr_modules(),
        ["pg_autoscaler", "dashboard"]
    );
    assert!(m.cluster.spec.ceph_version.allow_unsupported);

    let warnings = m.validate().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(warning_paths(&warnings, is_unknown), Vec::<String>::new());

    let mut rook_only = warning_paths(&warnings, |k| matches!(k, WarningKind::RookOnly));
    rook_only.sort();
    assert_eq!(
        rook_only,
        [
            "spec.cephConfig",
            "spec.crashCollector",
            "spec.disruptionManagement",
            "spec.monitoring",
            "spec.network.connections",
            "spec.priorityClassNames",
            "spec.security",
            "spec.skipUpgradeChecks",
            "spec.storage.allowDeviceClassUpdate",
            "spec.storage.allowOsdCrushWeightUpdate",
        ]
    );
    let mut ignored = warning_paths(&warnings, |k| matches!(k, WarningKind::Ignored { .. }));
    ignored.sort();
    assert_eq!(
        ignored,
        [
            "spec.cephVersion.image",
            "spec.dataDirHostPath",
            "spec.storage.useAllNodes",
        ]
    );
    let texts: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        texts.iter().any(|t| t.starts_with("CephCluster/my-cluster: spec.mgr.modules[0]: the \"rook\" module works only inside Kubernetes")),
        "{texts:#?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with(
            "CephCluster/my-cluster: spec.dataDirHostPath: ignored by the local runtime (kept): "
        ) && t.contains("--dir")),
        "{texts:#?}"
    );
}

#[test]
fn rook_defaults_that_cannot_work_on_one_host_are_errors() {
    // Rook's pool example spreads copies over hosts; the local runtime has one.
    let yaml = ROOK_TEST_CLUSTER.replace("failureDomain: osd", "failureDomain: host");
    let m = load_manifest(&yaml).unwrap();
    assert_error(
        &m,
        "spec.failureDomain",
        "\"host\" with 3 copies cannot work",
    );
    // Without files, useAllDevices selects the host's disks (counted at `up`);
    // without it nothing would.
    let yaml = ROOK_TEST_CLUSTER.replace("count: 3\n      size: 10Gi", "count: 0");
    let m = load_manifest(&yaml).unwrap();
    m.validate()
        .expect("useAllDevices alone is a valid storage spec");
    let yaml = yaml.replace("useAllDevices: true", "useAllDevices: false");
    let m = load_manifest(&yaml).unwrap();
    assert_error(&m, "spec.storage", "no OSDs");
    // A deviceFilter: the disks are counted on the host, at `up`.
    let yaml = yaml.replace("#deviceFilter:", "deviceFilter: ^loop9$");
    let m = load_manifest(&yaml).unwrap();
    let warnings = m
        .validate()
        .expect("a filter alone is a valid storage spec");
    assert!(
        !warnings
            .iter()
            .any(|w| w.path == "spec.storage.deviceFilter"),
        "{warnings:?}"
    );
}
