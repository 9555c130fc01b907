use super::cluster_with_spec;
use crate::{ClusterSpec, Manifest, Quantity};

#[test]
fn an_empty_spec_gets_the_local_defaults() {
    let m = cluster_with_spec("  {}\n");
    let s = &m.cluster.spec;
    assert_eq!(s.mon.count, 1);
    assert!(s.mon.allow_multiple_per_node);
    assert_eq!(s.mgr.count, 1);
    assert!(s.mgr.allow_multiple_per_node);
    assert_eq!(s.mgr.modules.len(), 1);
    assert_eq!(s.mgr.modules[0].name, "prometheus");
    assert!(s.mgr.modules[0].enabled);
    assert!(s.dashboard.enabled);
    assert!(s.dashboard.ssl);
    assert_eq!(s.dashboard.port(), 8443);
    assert_eq!(s.network.ports.mon_v2, 3300);
    assert_eq!(s.network.ports.mon_v1, 6789);
    assert_eq!(s.network.ports.prometheus, 9283);
    assert_eq!(s.network.ports.csi_metrics, 9080);
    assert_eq!(s.network.ports.csi_node_metrics, 9081);
    assert_eq!(s.network.ports.csi_cephfs_metrics, 9082);
    assert_eq!(s.network.ports.csi_cephfs_node_metrics, 9083);
    assert_eq!(s.storage.files.count, 3);
    assert_eq!(s.storage.files.size, Quantity::gib(10));
    assert!(s.storage.devices.is_empty());
    assert_eq!(s.osd_count(), 3);
    assert_eq!(s.mgr_modules_enabled(), ["prometheus", "dashboard"]);
    assert_eq!(*s, ClusterSpec::default());

    assert!(m.pools_defaulted);
    assert_eq!(m.pools.len(), 1);
    let pool = &m.pools[0];
    assert_eq!(pool.pool_name(), "rbd");
    assert_eq!(pool.metadata.namespace.as_deref(), Some("test"));
    assert_eq!(pool.spec.replicated.size, 3);
    assert!(pool.spec.replicated.require_safe_replica_size);
    assert_eq!(pool.spec.failure_domain(), "osd");
    assert_eq!(pool.spec.application(), "rbd");

    // A manifest gets no filesystem unless it has one.
    assert!(m.filesystems.is_empty());

    // The only warning says the pool was added.
    let warnings = m.validate().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].to_string().contains("adds the pool \"rbd\""));
}

#[test]
fn missing_and_null_sections_are_defaults() {
    let m = cluster_with_spec("  mon:\n  storage:\n    files:\n  mgr:\n    count: 2\n");
    assert_eq!(m.cluster.spec.mon.count, 1);
    assert_eq!(m.cluster.spec.storage.files.count, 3);
    assert_eq!(m.cluster.spec.mgr.count, 2);
    assert_eq!(m.cluster.spec.mgr.modules[0].name, "prometheus");
    let no_spec = crate::load_manifest("apiVersion: ceph.rook.io/v1\nkind: CephCluster\n");
    assert_eq!(no_spec.unwrap().cluster.spec, ClusterSpec::default());
}

#[test]
fn local_default_is_valid_and_quiet() {
    let m = Manifest::local_default();
    assert_eq!(m.cluster.metadata.name, "rookery");
    assert_eq!(m.cluster.metadata.namespace.as_deref(), Some("rookery"));
    assert_eq!(m.cluster.api_version, "ceph.rook.io/v1");
    assert_eq!(m.cluster.kind, "CephCluster");
    assert!(m.pools_defaulted);
    assert_eq!(m.pools[0].pool_name(), "rbd");
    assert_eq!(m.pools[0].kind, "CephBlockPool");
    let fs = m.filesystem("myfs").expect("the default filesystem");
    assert_eq!(fs.kind, "CephFilesystem");
    assert_eq!(fs.metadata_pool_name(), "myfs-metadata");
    assert_eq!(fs.data_pool_names(), ["myfs-replicated"]);
    assert_eq!(fs.spec.metadata_server.active_count, 1);
    assert!(fs.spec.metadata_server.active_standby);
    assert_eq!(fs.mds_count(), 2);
    let meta = fs.spec.metadata_pool.as_ref().unwrap();
    assert_eq!(meta.replicated.size, m.pools[0].spec.replicated.size);
    assert_eq!(m.validate().unwrap(), vec![]);
}

#[test]
fn dashboard_port_follows_ssl() {
    let m = cluster_with_spec("  dashboard:\n    ssl: false\n");
    assert_eq!(m.cluster.spec.dashboard.port(), 8080);
    let m = cluster_with_spec("  dashboard:\n    ssl: false\n    port: 0\n");
    assert_eq!(m.cluster.spec.dashboard.port(), 8080);
    let m = cluster_with_spec("  dashboard:\n    port: 7443\n");
    assert_eq!(m.cluster.spec.dashboard.port(), 7443);
}

#[test]
fn mgr_modules_enabled_dedups_and_keeps_order() {
    let m = cluster_with_spec(
        "  mgr:\n    modules:\n    - {name: pg_autoscaler, enabled: true}\n    \
- {name: iostat, enabled: false}\n    - {name: dashboard, enabled: true}\n    \
- {name: pg_autoscaler, enabled: true}\n    - {name: prometheus}\n",
    );
    assert_eq!(
        m.cluster.spec.mgr_modules_enabled(),
        ["pg_autoscaler", "dashboard"]
    );
    let m = cluster_with_spec("  dashboard:\n    enabled: false\n");
    assert_eq!(m.cluster.spec.mgr_modules_enabled(), ["prometheus"]);
}
