use crate::{load_manifest, ApiError};

const CLUSTER: &str = "apiVersion: ceph.rook.io/v1\nkind: CephCluster\nmetadata:\n  name: c\n";
const POOL: &str = "apiVersion: ceph.rook.io/v1\nkind: CephBlockPool\nmetadata:\n  name: p\n";

fn load_err(yaml: &str) -> (ApiError, String) {
    let err = load_manifest(yaml).unwrap_err();
    let text = err.to_string();
    (err, text)
}

#[test]
fn cluster_and_pools_in_any_order() {
    let m = load_manifest(&format!("---\n{POOL}---\n{CLUSTER}---\n")).unwrap();
    assert_eq!(m.cluster.metadata.name, "c");
    assert_eq!(m.pools.len(), 1);
    assert_eq!(m.pools[0].pool_name(), "p");
    assert!(!m.pools_defaulted);
    assert!(m.warnings.is_empty());
}

#[test]
fn two_clusters_name_both_documents() {
    let (err, text) = load_err(&format!("{CLUSTER}---\n{POOL}---\n{CLUSTER}"));
    assert!(
        matches!(
            err,
            ApiError::DuplicateCluster {
                first: 1,
                second: 3
            }
        ),
        "{err:?}"
    );
    assert!(
        text.contains("documents 1 and 3") && text.contains("keep one"),
        "{text}"
    );
}

#[test]
fn a_missing_cluster_says_what_to_add() {
    for yaml in ["", "---\n", POOL] {
        let (err, text) = load_err(yaml);
        assert!(matches!(err, ApiError::MissingCluster), "{yaml:?}: {err:?}");
        assert!(text.contains("add one"), "{text}");
    }
}

#[test]
fn wrong_or_missing_api_version() {
    let (err, text) = load_err(&CLUSTER.replace("ceph.rook.io/v1", "ceph.rook.io/v1beta1"));
    assert!(
        matches!(err, ApiError::WrongApiVersion { document: 1, .. }),
        "{err:?}"
    );
    assert!(
        text.contains("document 1 (CephCluster)")
            && text.contains("\"ceph.rook.io/v1beta1\"")
            && text.contains("change it to"),
        "{text}"
    );
    let (_, text) = load_err(&format!("{CLUSTER}---\nkind: CephBlockPool\n"));
    assert!(
        text.contains("document 2 (CephBlockPool): no apiVersion; add apiVersion: ceph.rook.io/v1"),
        "{text}"
    );
}

#[test]
fn unknown_and_unsupported_kinds() {
    let (err, text) = load_err(&format!(
        "{CLUSTER}---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
    ));
    assert!(
        matches!(err, ApiError::UnsupportedKind { document: 2, .. }),
        "{err:?}"
    );
    assert!(
        text.contains("\"StorageClass\"") && text.contains("remove this document"),
        "{text}"
    );
    let (_, text) = load_err(&format!(
        "{CLUSTER}---\n{}",
        POOL.replace("CephBlockPool", "CephObjectStore")
    ));
    assert!(
        text.contains("Rook kind rookery does not support yet"),
        "{text}"
    );
    let (err, text) = load_err("apiVersion: ceph.rook.io/v1\nmetadata: {}\n");
    assert!(
        matches!(err, ApiError::MissingKind { document: 1 }),
        "{err:?}"
    );
    assert!(text.contains("kind: CephCluster"), "{text}");
}

#[test]
fn documents_that_are_not_objects() {
    let (err, text) = load_err(&format!("{CLUSTER}---\n- a\n- b\n"));
    assert!(
        matches!(err, ApiError::NotAnObject { document: 2, .. }),
        "{err:?}"
    );
    assert!(text.contains("found a list"), "{text}");
    let (err, _) = load_err("just text\n");
    assert!(
        matches!(err, ApiError::NotAnObject { document: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn broken_yaml_names_the_document_and_stops() {
    let (err, text) = load_err(&format!("{CLUSTER}---\nspec: [unclosed\n"));
    assert!(matches!(err, ApiError::Yaml { document: 2, .. }), "{err:?}");
    assert!(text.starts_with("document 2: not valid YAML"), "{text}");
    let (err, _) = load_err(&format!("{CLUSTER}spec:\n  mon: {{}}\n  mon: {{}}\n"));
    assert!(
        matches!(err, ApiError::Yaml { document: 1, .. }),
        "duplicate key: {err:?}"
    );
}

#[test]
fn a_badly_typed_field_is_named_with_its_path() {
    let (err, text) = load_err(&format!("{CLUSTER}spec:\n  mon:\n    count: three\n"));
    assert!(
        matches!(err, ApiError::InvalidObject { document: 1, .. }),
        "{err:?}"
    );
    assert!(
        text.starts_with("document 1 (CephCluster): spec.mon.count: invalid type"),
        "{text}"
    );
    let (_, text) = load_err(&format!("{CLUSTER}spec:\n  mon:\n    count: -1\n"));
    assert!(text.contains("spec.mon.count"), "{text}");
    let (_, text) = load_err(&format!(
        "{CLUSTER}---\n{POOL}spec:\n  replicated:\n    size: [3]\n"
    ));
    assert!(
        text.starts_with("document 2 (CephBlockPool): spec.replicated.size: invalid type"),
        "{text}"
    );
}

#[test]
fn a_bad_quantity_names_the_field_and_the_forms() {
    let (_, text) = load_err(&format!(
        "{CLUSTER}spec:\n  storage:\n    files:\n      size: 10GB\n"
    ));
    assert!(
        text.contains("spec.storage.files.size: invalid quantity \"10GB\"")
            && text.contains("Ki, Mi, Gi")
            && text.contains("line 8"),
        "{text}"
    );
}

#[test]
fn string_maps_take_plain_scalars() {
    let m = load_manifest(&format!(
        "{CLUSTER}---\n{POOL}spec:\n  parameters:\n    pg_num: 16\n    bulk: true\n    \
compression_mode: none\n"
    ))
    .unwrap();
    let params = &m.pools[0].spec.parameters;
    assert_eq!(params["pg_num"], "16");
    assert_eq!(params["bulk"], "true");
    assert_eq!(params["compression_mode"], "none");
}
