//! `CephFilesystem`: loading with Rook's field names, defaults, pool and MDS
//! naming, validation rules, unknown fields.

use super::{assert_error, errors, is_unknown, warning_paths};
use crate::filesystem::replicated_pool;
use crate::{load_manifest, CephBlockPool, CephFilesystem, Manifest, WarningKind};

const CLUSTER: &str = "apiVersion: ceph.rook.io/v1\nkind: CephCluster\nmetadata:\n  name: c\n  \
namespace: ns\n";

/// Rook's `filesystem.yaml`, trimmed to what rookery reads plus two Rook-only
/// fields.
const ROOK_FILESYSTEM: &str = "\
apiVersion: ceph.rook.io/v1
kind: CephFilesystem
metadata:
  name: myfs
  namespace: ns
spec:
  metadataPool:
    replicated:
      size: 3
      requireSafeReplicaSize: true
    parameters:
      compression_mode: none
  dataPools:
    - name: replicated
      failureDomain: osd
      replicated:
        size: 3
    - replicated:
        size: 2
  preserveFilesystemOnDelete: true
  metadataServer:
    activeCount: 1
    activeStandby: true
    priorityClassName: system-cluster-critical
    resources:
      limits: {memory: 4Gi}
";

fn load(fs_yaml: &str) -> Manifest {
    let yaml = format!("{CLUSTER}---\n{fs_yaml}");
    load_manifest(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// The local default with its filesystem edited.
fn with_fs(edit: impl FnOnce(&mut CephFilesystem)) -> Manifest {
    let mut m = Manifest::local_default();
    edit(&mut m.filesystems[0]);
    m
}

#[test]
fn rook_fields_load_and_name_pools_and_daemons_as_rook_does() {
    let m = load(ROOK_FILESYSTEM);
    assert_eq!(m.filesystems.len(), 1);
    let fs = &m.filesystems[0];
    assert_eq!(fs.fs_name(), "myfs");
    assert_eq!(fs.metadata_pool_name(), "myfs-metadata");
    // A named data pool is <fs>-<name>; an unnamed one <fs>-data<index>.
    assert_eq!(fs.data_pool_names(), ["myfs-replicated", "myfs-data1"]);
    assert_eq!(fs.spec.data_pools[1].replicated.size, 2);
    assert!(fs.spec.preserve_filesystem_on_delete);
    assert_eq!(fs.spec.metadata_server.active_count, 1);
    assert!(fs.spec.metadata_server.active_standby);
    assert_eq!(fs.mds_count(), 2);
    let warnings = m.validate().unwrap();
    let rook_only = warning_paths(&warnings, |k| matches!(k, WarningKind::RookOnly));
    assert_eq!(
        rook_only,
        [
            "spec.metadataServer.priorityClassName",
            "spec.metadataServer.resources"
        ],
        "{warnings:#?}"
    );
    // Round trip: the stored spec keeps everything, Rook-only fields too.
    let again = load_manifest(&m.to_yaml().unwrap()).unwrap();
    assert_eq!(again.filesystems, m.filesystems);
}

#[test]
fn mds_count_is_twice_the_active_count_as_in_rook() {
    let m = load(
        "apiVersion: ceph.rook.io/v1\nkind: CephFilesystem\nmetadata: {name: f}\nspec:\n  \
metadataPool: {replicated: {size: 3}}\n  dataPools: [{replicated: {size: 3}}]\n  \
metadataServer: {activeCount: 2}\n",
    );
    let fs = &m.filesystems[0];
    assert!(!fs.spec.metadata_server.active_standby, "Rook's default");
    assert_eq!(fs.mds_count(), 4);
    // Without metadataServer: one active rank.
    let m = load(
        "apiVersion: ceph.rook.io/v1\nkind: CephFilesystem\nmetadata: {name: f}\nspec:\n  \
metadataPool: {}\n  dataPools: [{}]\n",
    );
    assert_eq!(m.filesystems[0].spec.metadata_server.active_count, 1);
    assert_eq!(m.filesystems[0].data_pool_names(), ["f-data0"]);
    assert!(m.validate().is_ok());
}

#[test]
fn unknown_fields_are_kept_and_reported_with_their_paths() {
    let m = load(
        "apiVersion: ceph.rook.io/v1\nkind: CephFilesystem\nmetadata: {name: f}\nspec:\n  \
metadataPool: {replicated: {size: 3}, colour: red}\n  dataPools: [{replicated: {size: 3}}]\n  \
metadataServer: {activeCount: 1, activeStandbye: true}\n  shiny: 1\n",
    );
    let warnings = m.validate().unwrap();
    let mut unknown = warning_paths(&warnings, is_unknown);
    unknown.sort();
    assert_eq!(
        unknown,
        [
            "spec.metadataPool.colour",
            "spec.metadataServer.activeStandbye",
            "spec.shiny"
        ]
    );
    let typo = warnings
        .iter()
        .find(|w| w.path == "spec.metadataServer.activeStandbye")
        .unwrap();
    assert!(typo.to_string().contains("did you mean \"activeStandby\""));
    let yaml = m.to_yaml().unwrap();
    assert!(yaml.contains("activeStandbye: true"), "{yaml}");
}

#[test]
fn active_count_must_be_at_least_one_and_bounded() {
    let m = with_fs(|f| f.spec.metadata_server.active_count = 0);
    let errs = errors(&m);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].to_string(),
        "CephFilesystem/myfs: spec.metadataServer.activeCount: 0; a filesystem needs at least \
one active metadata server: use 1"
    );
    let m = with_fs(|f| f.spec.metadata_server.active_count = 9);
    assert_error(&m, "spec.metadataServer.activeCount", "9 is more than 8");
    let m = with_fs(|f| f.spec.metadata_server.active_count = 2);
    assert!(m.validate().is_ok());
}

#[test]
fn pools_are_required_and_sized_for_the_osds() {
    let m = with_fs(|f| {
        f.spec.metadata_pool = None;
        f.spec.data_pools.clear();
    });
    assert_error(
        &m,
        "spec.metadataPool",
        "missing; a filesystem needs a metadata pool",
    );
    assert_error(&m, "spec.dataPools", "needs at least one data pool");
    assert_eq!(errors(&m).len(), 2);

    let m = with_fs(|f| {
        f.spec.metadata_pool = Some(replicated_pool(None, 4));
        f.spec.data_pools.push(replicated_pool(Some("big"), 5));
    });
    assert_error(
        &m,
        "spec.metadataPool.replicated.size",
        "CephFilesystem/myfs: spec.metadataPool.replicated.size: 4 copies need 4 OSDs, but the \
cluster has 3 (spec.storage: 3 files, 0 devices); add OSDs or set \
spec.metadataPool.replicated.size to 3 or less",
    );
    assert_error(
        &m,
        "spec.dataPools[1].replicated.size",
        "5 copies need 5 OSDs",
    );
    let m = with_fs(|f| f.spec.data_pools[0].replicated.size = 1);
    assert_error(
        &m,
        "spec.dataPools[0].replicated.size",
        "spec.dataPools[0].replicated.requireSafeReplicaSize: false",
    );
    let m = with_fs(|f| f.spec.data_pools[0] = replicated_pool(Some("one"), 1));
    assert!(m.validate().is_ok());
}

#[test]
fn names_must_make_valid_distinct_pools_and_mds_names() {
    let m = with_fs(|f| f.metadata.name = "My_FS".into());
    assert_error(
        &m,
        "metadata.name",
        "\"My_FS\" is not a valid Kubernetes name",
    );
    let m = with_fs(|f| f.metadata.name = "1fs".into());
    assert_error(
        &m,
        "metadata.name",
        "Ceph refuses MDS names that start with a digit",
    );
    let m = with_fs(|f| f.metadata.name = "f".repeat(55));
    assert_error(&m, "metadata.name", "use at most 54");
    let m = with_fs(|f| f.spec.data_pools[0].name = Some("Data.Pool".into()));
    assert_error(&m, "spec.dataPools[0].name", "not a valid data pool name");
    let m = with_fs(|f| f.metadata.namespace = Some("elsewhere".into()));
    assert_error(
        &m,
        "metadata.namespace",
        "differs from the CephCluster's namespace",
    );

    // Two data pools with one name.
    let m = with_fs(|f| {
        f.spec
            .data_pools
            .push(replicated_pool(Some("replicated"), 3))
    });
    assert_error(
        &m,
        "spec.dataPools[1].name",
        "makes the pool \"myfs-replicated\", which this filesystem's spec.dataPools[0].name makes too",
    );
    // A data pool named like the metadata pool.
    let m = with_fs(|f| f.spec.data_pools[0].name = Some("metadata".into()));
    assert_error(
        &m,
        "spec.dataPools[0].name",
        "makes the pool \"myfs-metadata\"",
    );
    // A block pool with a filesystem pool's name.
    let mut m = with_fs(|_| {});
    m.pools
        .push(CephBlockPool::new("myfs-replicated", "rookery"));
    assert_error(
        &m,
        "spec.dataPools[0].name",
        "which CephBlockPool/myfs-replicated makes too",
    );
    // Two filesystems of one name.
    let mut m = with_fs(|_| {});
    m.filesystems.push(m.filesystems[0].clone());
    assert_error(
        &m,
        "metadata.name",
        "the filesystem \"myfs\" is also defined by",
    );
}

#[test]
fn a_bad_filesystem_reports_every_field_at_once() {
    let yaml = format!(
        "{CLUSTER}---\napiVersion: ceph.rook.io/v1\nkind: CephFilesystem\nmetadata: \
{{name: bad}}\nspec:\n  metadataPool: {{replicated: {{size: 5}}}}\n  metadataServer: \
{{activeCount: 0}}\n"
    );
    let m = load_manifest(&yaml).unwrap();
    let err = m.validate().unwrap_err();
    let paths: Vec<&str> = err.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.metadataPool.replicated.size",
            "spec.dataPools",
            "spec.metadataServer.activeCount"
        ]
    );
    assert!(err.errors.iter().all(|e| e.object.kind == "CephFilesystem"));
}

#[test]
fn a_badly_typed_field_names_the_document_and_path() {
    let err = load_manifest(&format!(
        "{CLUSTER}---\napiVersion: ceph.rook.io/v1\nkind: CephFilesystem\nmetadata: {{name: f}}\n\
spec:\n  metadataServer: {{activeCount: -1}}\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("document 2 (CephFilesystem)"), "{err}");
    assert!(err.contains("spec.metadataServer.activeCount"), "{err}");
}
