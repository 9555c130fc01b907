//! Each validation rule produces an error naming its field.

use super::{assert_error, cluster_with_spec, errors};
use crate::{load_manifest, CephBlockPool, DeviceSpec, Manifest, Quantity};

fn local() -> Manifest {
    Manifest::local_default()
}

fn with_pool(edit: impl FnOnce(&mut CephBlockPool)) -> Manifest {
    let mut m = local();
    let mut pool = CephBlockPool::new("replicapool", "rookery");
    edit(&mut pool);
    m.pools = vec![pool];
    m.pools_defaulted = false;
    m
}

#[test]
fn mon_count() {
    let mut m = local();
    m.cluster.spec.mon.count = 2;
    let errs = errors(&m);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].to_string(),
        "CephCluster/rookery: spec.mon.count: 2 is even; use an odd number (1, 3, 5) so the \
monitors can form a majority"
    );
    m.cluster.spec.mon.count = 0;
    assert_error(&m, "spec.mon.count", "0 monitors");
    m.cluster.spec.mon.count = 11;
    assert_error(&m, "spec.mon.count", "11 is more than 9");
    m.cluster.spec.mon.count = 3;
    assert!(m.validate().is_ok());
    m.cluster.spec.mon.allow_multiple_per_node = false;
    assert_error(
        &m,
        "spec.mon.allowMultiplePerNode",
        "all 3 monitors on this host",
    );
}

#[test]
fn mgr_count() {
    let mut m = local();
    m.cluster.spec.mgr.count = 0;
    assert_error(&m, "spec.mgr.count", "use 1 or 2");
    m.cluster.spec.mgr.count = 3;
    assert_error(&m, "spec.mgr.count", "3 is more than 2");
    m.cluster.spec.mgr.count = 2;
    assert!(m.validate().is_ok());
    m.cluster.spec.mgr.allow_multiple_per_node = false;
    assert_error(&m, "spec.mgr.allowMultiplePerNode", "all 2 managers");
}

#[test]
fn mgr_module_names() {
    let m = cluster_with_spec("  mgr:\n    modules:\n    - {name: '', enabled: true}\n");
    assert_error(&m, "spec.mgr.modules[0].name", "empty");
    let m = cluster_with_spec(
        "  mgr:\n    modules:\n    - {name: k8sevents}\n    - {name: Pg-Autoscaler, enabled: true}\n",
    );
    assert_error(
        &m,
        "spec.mgr.modules[1].name",
        "\"Pg-Autoscaler\" is not a mgr module name",
    );
    assert_eq!(errors(&m).len(), 1);
}

#[test]
fn file_osds() {
    let mut m = local();
    m.cluster.spec.storage.files.count = 65;
    assert_error(&m, "spec.storage.files.count", "65 is more than 64");
    m.cluster.spec.storage.files.count = 3;
    m.cluster.spec.storage.files.size = Quantity::gib(5);
    assert_error(&m, "spec.storage.files.size", "5Gi is smaller than 10Gi");
    assert_error(&m, "spec.storage.files.size", "ENOSPC");
    m.cluster.spec.storage.files.size = Quantity::tib(17);
    assert_error(&m, "spec.storage.files.size", "17Ti is larger than 16Ti");
    m.cluster.spec.storage.files.size = Quantity::tib(16);
    assert!(m.validate().is_ok());
}

#[test]
fn small_files_do_not_matter_when_there_are_none() {
    let mut m = local();
    m.cluster.spec.storage.files.count = 0;
    m.cluster.spec.storage.files.size = Quantity::gib(1);
    m.cluster.spec.storage.devices = ["sdb", "sdc", "sdd"].map(DeviceSpec::named).to_vec();
    assert!(m.validate().is_ok());
    assert_eq!(
        m.cluster.spec.storage.device_paths(),
        ["/dev/sdb", "/dev/sdc", "/dev/sdd"]
    );
}

#[test]
fn devices() {
    let mut m = local();
    m.cluster.spec.storage.devices = vec![
        DeviceSpec::named("sdb"),
        DeviceSpec::named("/tmp/disk.img"),
        DeviceSpec::named("/dev/sdb"),
        DeviceSpec {
            fullpath: Some("disk/by-id/x".into()),
            ..DeviceSpec::default()
        },
    ];
    assert_error(
        &m,
        "spec.storage.devices[1].name",
        "\"/tmp/disk.img\" is not a device path under /dev/",
    );
    assert_error(
        &m,
        "spec.storage.devices[2].name",
        "/dev/sdb is already listed as spec.storage.devices[0]",
    );
    assert_error(&m, "spec.storage.devices[3].fullpath", "relative path");
    assert_eq!(errors(&m).len(), 3);
}

#[test]
fn at_least_one_osd() {
    let mut m = local();
    m.cluster.spec.storage.files.count = 0;
    assert_error(&m, "spec.storage", "no OSDs");
    // The pool's size is not compared with zero OSDs: one error says it all.
    assert_eq!(errors(&m).len(), 1);
}

#[test]
fn ports() {
    let mut m = local();
    m.cluster.spec.network.ports.mon_v2 = 0;
    m.cluster.spec.network.ports.mon_v1 = 70000;
    assert_error(
        &m,
        "spec.network.ports.monV2",
        "0 is not a port; use 1 to 65535",
    );
    assert_error(&m, "spec.network.ports.monV1", "70000 is not a port");

    let mut m = local();
    m.cluster.spec.mon.count = 3;
    m.cluster.spec.network.ports.mon_v1 = 65534;
    assert_error(&m, "spec.network.ports.monV1", "no room for 3 monitors");

    let mut m = local();
    m.cluster.spec.mon.count = 3;
    m.cluster.spec.network.ports.prometheus = 3302;
    m.cluster.spec.dashboard.port = Some(9283);
    m.cluster.spec.dashboard.ssl = true;
    assert_error(
        &m,
        "spec.network.ports.prometheus",
        "port 3302 overlaps spec.network.ports.monV2 (ports 3300 to 3302 for 3 monitors)",
    );
    assert_eq!(errors(&m).len(), 1, "{:?}", errors(&m));

    m.cluster.spec.network.ports.prometheus = 9283;
    assert_error(
        &m,
        "spec.dashboard.port",
        "port 9283 overlaps spec.network.ports.prometheus",
    );

    // A port only matters while its service is on.
    m.cluster.spec.dashboard.enabled = false;
    assert!(m.validate().is_ok());

    // The CSI plugin's metrics port is always in use.
    m.cluster.spec.network.ports.csi_metrics = 9283;
    assert_error(
        &m,
        "spec.network.ports.prometheus",
        "port 9283 overlaps spec.network.ports.csiMetrics",
    );
    m.cluster.spec.network.ports.csi_metrics = 0;
    assert_error(&m, "spec.network.ports.csiMetrics", "0 is not a port");
    m.cluster.spec.network.ports.csi_metrics = 9080;
    m.cluster.spec.network.ports.csi_node_metrics = 9080;
    assert_error(
        &m,
        "spec.network.ports.csiNodeMetrics",
        "port 9080 overlaps spec.network.ports.csiMetrics",
    );
    m.cluster.spec.network.ports.csi_node_metrics = 9081;

    // So are the CephFS plugins' ports, filesystem or not.
    m.cluster.spec.network.ports.csi_cephfs_metrics = 9081;
    assert_error(
        &m,
        "spec.network.ports.csiCephfsMetrics",
        "port 9081 overlaps spec.network.ports.csiNodeMetrics",
    );
    m.cluster.spec.network.ports.csi_cephfs_metrics = 70000;
    assert_error(
        &m,
        "spec.network.ports.csiCephfsMetrics",
        "70000 is not a port",
    );
    m.cluster.spec.network.ports.csi_cephfs_metrics = 9082;
    m.cluster.spec.network.ports.csi_cephfs_node_metrics = 9082;
    assert_error(
        &m,
        "spec.network.ports.csiCephfsNodeMetrics",
        "port 9082 overlaps spec.network.ports.csiCephfsMetrics",
    );
    m.cluster.spec.network.ports.csi_cephfs_node_metrics = 9083;
    assert!(m.validate().is_ok());
}

#[test]
fn storage_ratios() {
    let m = cluster_with_spec("  storage:\n    fullRatio: 1.5\n");
    assert_error(&m, "spec.storage.fullRatio", "1.5 is not a ratio");
    let m = cluster_with_spec("  storage:\n    nearFullRatio: 0.96\n    fullRatio: 0.95\n");
    assert_error(
        &m,
        "spec.storage.nearFullRatio",
        "0.96 is above fullRatio 0.95",
    );
}

#[test]
fn metadata_names() {
    let mut m = local();
    m.cluster.metadata.name = "My_Cluster".into();
    m.cluster.metadata.namespace = Some("a.b".into());
    assert_error(
        &m,
        "metadata.name",
        "\"My_Cluster\" is not a valid Kubernetes name",
    );
    assert_error(
        &m,
        "metadata.namespace",
        "\"a.b\" is not a valid Kubernetes namespace",
    );
}

#[test]
fn pool_names() {
    let m = with_pool(|p| p.metadata.name = "My_Pool".into());
    assert_error(
        &m,
        "metadata.name",
        "\"My_Pool\" is not a valid Kubernetes name",
    );
    let m = with_pool(|p| p.metadata.name = "a".repeat(64));
    assert_error(
        &m,
        "metadata.name",
        "64 characters long; rookery allows at most 63",
    );
    let m = with_pool(|p| p.spec.name = Some("other".into()));
    assert_error(&m, "spec.name", "\"other\" is not allowed");
    let m = with_pool(|p| p.metadata.namespace = Some("elsewhere".into()));
    assert_error(
        &m,
        "metadata.namespace",
        "differs from the CephCluster's namespace \"rookery\"",
    );

    let mut m = local();
    m.pools.push(CephBlockPool::new("rbd", "rookery"));
    let errs = errors(&m);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].to_string(),
        "CephBlockPool/rbd: metadata.name: the pool \"rbd\" is also defined by CephBlockPool/rbd; \
give each pool its own name"
    );
}

#[test]
fn replica_size() {
    let m = with_pool(|p| p.spec.replicated.size = 0);
    assert_error(&m, "spec.replicated.size", "at least one copy");
    let m = with_pool(|p| p.spec.replicated.size = 8);
    assert_error(&m, "spec.replicated.size", "8 is more than 7");
    let m = with_pool(|p| p.spec.replicated.size = 4);
    assert_error(
        &m,
        "spec.replicated.size",
        "CephBlockPool/replicapool: spec.replicated.size: 4 copies need 4 OSDs, but the cluster \
has 3 (spec.storage: 3 files, 0 devices)",
    );
    let m = with_pool(|p| p.spec.replicated.size = 1);
    assert_error(&m, "spec.replicated.size", "requireSafeReplicaSize: false");
    let m = with_pool(|p| {
        p.spec.replicated.size = 1;
        p.spec.replicated.require_safe_replica_size = false;
    });
    assert!(m.validate().is_ok());
}

#[test]
fn the_default_pool_needs_enough_osds() {
    let m = cluster_with_spec("  storage:\n    files:\n      count: 1\n");
    assert_error(&m, "spec.replicated.size", "this is the default pool");
    assert_eq!(errors(&m)[0].object.to_string(), "CephBlockPool/rbd");
}

#[test]
fn failure_domains() {
    let m = with_pool(|p| p.spec.failure_domain = "zone".into());
    assert_error(
        &m,
        "spec.failureDomain",
        "\"zone\" is not supported by the local runtime",
    );
    let m = with_pool(|p| p.spec.failure_domain = "host".into());
    assert_error(&m, "spec.failureDomain", "use osd");
    let m = with_pool(|p| {
        p.spec.failure_domain = "host".into();
        p.spec.replicated.size = 1;
        p.spec.replicated.require_safe_replica_size = false;
    });
    assert!(m.validate().is_ok());
    let m = with_pool(|p| p.spec.failure_domain = String::new());
    assert!(m.validate().is_ok());
}

#[test]
fn erasure_coding_is_refused_but_empty_settings_pass() {
    let base = "apiVersion: ceph.rook.io/v1\nkind: CephCluster\nmetadata: {name: c}\n---\n\
apiVersion: ceph.rook.io/v1\nkind: CephBlockPool\nmetadata: {name: p}\nspec:\n  erasureCoded:\n";
    let m = load_manifest(&format!("{base}    dataChunks: 2\n    codingChunks: 1\n")).unwrap();
    assert_error(&m, "spec.erasureCoded", "not supported by rookery yet");
    let m = load_manifest(&format!("{base}    dataChunks: 0\n    codingChunks: 0\n")).unwrap();
    assert!(m.validate().is_ok());
}

#[test]
fn all_errors_are_reported_together() {
    let m = load_manifest(
        "apiVersion: ceph.rook.io/v1\nkind: CephCluster\nmetadata: {name: c}\nspec:\n  \
mon: {count: 4}\n  mgr: {count: 0}\n  storage:\n    files: {size: 1Gi}\n    \
devices: [{name: ../sdb}]\n---\napiVersion: ceph.rook.io/v1\nkind: CephBlockPool\n\
metadata: {name: p}\nspec:\n  replicated: {size: 9}\n  failureDomain: rack\n  colour: red\n",
    )
    .unwrap();
    let err = m.validate().unwrap_err();
    let paths: Vec<&str> = err.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.mon.count",
            "spec.mgr.count",
            "spec.storage.files.size",
            "spec.storage.devices[0].name",
            "spec.replicated.size",
            "spec.failureDomain",
        ]
    );
    let text = err.to_string();
    assert!(
        text.starts_with(
            "the manifest has 6 problems:\n  - CephCluster/c: spec.mon.count: 4 is even"
        ),
        "{text}"
    );
    // The warnings come along, so they can be shown next to the errors.
    let warnings: Vec<String> = err.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        ["CephBlockPool/p: spec.colour: unknown field (kept, ignored)"]
    );
}

#[test]
fn mon_health_check_durations() {
    let m = cluster_with_spec(
        "  healthCheck:\n    daemonHealth:\n      mon:\n        interval: 2s\n        timeout: 10s\n",
    );
    assert!(m.validate().is_ok());
    let mon = &m.cluster.spec.health_check.daemon_health.mon;
    assert_eq!(mon.timeout(), std::time::Duration::from_secs(10));
    let m = cluster_with_spec(
        "  healthCheck:\n    daemonHealth:\n      mon:\n        timeout: 10\n        interval: 0s\n",
    );
    assert_error(
        &m,
        "spec.healthCheck.daemonHealth.mon.timeout",
        "\"10\" has a number without a unit; write a number with a unit",
    );
    assert_error(
        &m,
        "spec.healthCheck.daemonHealth.mon.interval",
        "shorter than 1s",
    );
    // Rook's own fields beside `mon` are kept and reported, not rejected.
    let m = cluster_with_spec("  healthCheck:\n    daemonHealth:\n      osd: {interval: 60s}\n");
    assert!(m.validate().is_ok());
}

#[test]
fn first_mon_address_is_loopback_with_room_to_count_up() {
    let m = cluster_with_spec("  network:\n    firstMonAddress: 127.0.10.1\n");
    assert!(m.validate().is_ok());
    assert_eq!(
        m.cluster.spec.network.first_mon_ip(),
        Ok(Some([127, 0, 10, 1].into()))
    );
    for (bad, why) in [
        ("10.0.0.1", "not a loopback address"),
        ("localhost", "not an IPv4 address"),
        ("127.255.255.250", "no room"),
        ("127.0.0.0", "loopback network itself"),
    ] {
        let m = cluster_with_spec(&format!("  network:\n    firstMonAddress: {bad}\n"));
        assert_error(&m, "spec.network.firstMonAddress", why);
    }
}

#[test]
fn mons_on_their_own_addresses_share_one_port_pair() {
    // monV2 + 1 would be mon.b's port without per-mon addresses.
    let m = cluster_with_spec(
        "  mon: {count: 3}\n  network:\n    firstMonAddress: 127.0.10.1\n    ports: {monV2: 3300, csiMetrics: 3301}\n",
    );
    assert!(m.validate().is_ok(), "{:?}", m.validate());
}
