use super::{is_unknown, warning_paths};
use crate::{load_manifest, Manifest};

/// Unknown fields at every level the model has.
const WITH_UNKNOWN: &str = "\
apiVersion: ceph.rook.io/v1
kind: CephCluster
topLevelThing: 1
metadata:
  name: c
  namespace: ns
  uid: 1234
  colour: blue
spec:
  shinyNewFeature: {a: [1, 2]}
  mon:
    count: 3
    cout: 5
  mgr:
    modules:
    - name: pg_autoscaler
      enabled: true
      flavour: x
  network:
    ports:
      monV3: 1
  storage:
    devices:
    - name: sdb
      weight: 2
    files:
      count: 2
      sparse: true
---
apiVersion: ceph.rook.io/v1
kind: CephBlockPool
metadata:
  name: p
  namespace: ns
spec:
  replicated:
    size: 3
    stretch: yes
  speed: fast
";

#[test]
fn unknown_fields_are_reported_with_full_paths() {
    let m = load_manifest(WITH_UNKNOWN).unwrap();
    let warnings = m.validate().unwrap();
    let mut paths = warning_paths(&warnings, is_unknown);
    paths.sort();
    assert_eq!(
        paths,
        [
            "metadata.colour",
            "spec.mgr.modules[0].flavour",
            "spec.mon.cout",
            "spec.network.ports.monV3",
            "spec.replicated.stretch",
            "spec.shinyNewFeature",
            "spec.speed",
            "spec.storage.devices[0].weight",
            "spec.storage.files.sparse",
            "topLevelThing",
        ]
    );
    let texts: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        texts.contains(
            &"CephCluster/c: spec.mon.cout: unknown field (kept, ignored); did you mean \"count\"?"
                .to_string()
        ),
        "{texts:#?}"
    );
    assert!(
        texts.contains(&"CephBlockPool/p: spec.speed: unknown field (kept, ignored)".to_string()),
        "{texts:#?}"
    );
    // Kubernetes bookkeeping in metadata is not worth a warning.
    assert!(
        !texts.iter().any(|t| t.contains("metadata.uid")),
        "{texts:#?}"
    );
}

#[test]
fn unknown_fields_survive_serialization() {
    let m = load_manifest(WITH_UNKNOWN).unwrap();
    let yaml = m.to_yaml().unwrap();
    for needle in [
        "topLevelThing: 1",
        "colour: blue",
        "uid: 1234",
        "cout: 5",
        "flavour: x",
        "weight: 2",
        "speed: fast",
        "stretch: yes",
    ] {
        assert!(yaml.contains(needle), "{needle} missing from:\n{yaml}");
    }
    let again = load_manifest(&yaml).unwrap();
    assert_eq!(again.cluster, m.cluster);
    assert_eq!(again.pools, m.pools);
    assert_eq!(again.to_yaml().unwrap(), yaml);
}

#[test]
fn the_effective_spec_round_trips() {
    let m = Manifest::local_default();
    let yaml = m.to_yaml().unwrap();
    assert!(yaml.contains("---\n"), "{yaml}");
    assert!(yaml.contains("size: 10Gi"), "{yaml}");
    assert!(yaml.contains("monV2: 3300"), "{yaml}");
    let again = load_manifest(&yaml).unwrap();
    assert_eq!(again.cluster, m.cluster);
    assert_eq!(again.pools, m.pools);
    assert_eq!(again.filesystems, m.filesystems);
    assert!(yaml.contains("kind: CephFilesystem"), "{yaml}");
    // The stored spec names its pool, so nothing is defaulted any more.
    assert!(!again.pools_defaulted);
    assert_eq!(again.validate().unwrap(), vec![]);
}

#[test]
fn every_modelled_field_is_known() {
    let yaml = "\
apiVersion: ceph.rook.io/v1
kind: CephCluster
metadata:
  name: c
  namespace: ns
  labels: {a: b}
  annotations: {c: d}
spec:
  cephVersion: {allowUnsupported: true}
  mon: {count: 1, allowMultiplePerNode: true}
  mgr:
    count: 1
    allowMultiplePerNode: true
    modules: [{name: prometheus, enabled: true}]
  dashboard: {enabled: true, urlPrefix: /ceph, port: 8443, ssl: true}
  network:
    provider: host
    hostNetwork: true
    ports: {monV2: 3300, monV1: 6789, prometheus: 9283, csiMetrics: 9080, csiNodeMetrics: 9081, csiCephfsMetrics: 9082, csiCephfsNodeMetrics: 9083}
  storage:
    useAllNodes: false
    useAllDevices: false
    deviceFilter: ''
    devicePathFilter: ''
    devices: [{name: sdb, fullpath: /dev/sdb, config: {deviceClass: ssd}}]
    config: {osdsPerDevice: '1'}
    fullRatio: 0.95
    backfillFullRatio: 0.9
    nearFullRatio: 0.85
    files: {count: 2, size: 20Gi}
---
apiVersion: ceph.rook.io/v1
kind: CephBlockPool
metadata: {name: p, namespace: ns}
spec:
  failureDomain: osd
  replicated: {size: 3, requireSafeReplicaSize: true}
  deviceClass: ssd
  parameters: {pg_num: '16'}
  application: rbd
";
    let m = load_manifest(yaml).unwrap();
    let warnings = m.validate().unwrap();
    assert_eq!(warnings, vec![], "{warnings:#?}");
    let again = load_manifest(&m.to_yaml().unwrap()).unwrap();
    assert_eq!(again.cluster, m.cluster);
}
