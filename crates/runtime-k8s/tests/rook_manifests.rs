//! Rook's manifests for the fields rookery supports apply unchanged: each
//! document passes the generated CRD schema as the API server checks it
//! (crates/runtime-k8s/src/openapi.rs), and loads and validates for
//! Kubernetes. Broken ones are refused, with the field's path.

use rookery_api::{load_manifest, Platform};
use rookery_runtime_k8s::{crd::openapi_schema, kind_info, openapi::check_object};
use serde::Deserialize;
use serde_json::{json, Value};

const CLUSTER: &str = include_str!("../../api/src/tests/rook-cluster-test.yaml");
const POOL: &str = include_str!("rook/pool.yaml");
const FILESYSTEM: &str = include_str!("rook/filesystem.yaml");

fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// What the API server would say about `doc` under its kind's CRD.
fn api_server_problems(doc: &Value) -> Vec<String> {
    let kind = doc["kind"].as_str().expect("a kind");
    let info = kind_info(kind).unwrap_or_else(|| panic!("no CRD for {kind}"));
    check_object(doc, &openapi_schema(info).unwrap())
}

#[test]
fn rook_manifests_fit_the_crds() {
    let mut checked = 0;
    for (file, yaml) in [
        ("cluster", CLUSTER),
        ("pool", POOL),
        ("filesystem", FILESYSTEM),
    ] {
        for doc in documents(yaml) {
            let problems = api_server_problems(&doc);
            assert!(
                problems.is_empty(),
                "{file}: {} {} refused: {problems:#?}",
                doc["kind"],
                doc["metadata"]["name"]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 5, "1 cluster + 2 pools, 1 pool, 1 filesystem");
    // And rookery reads them: valid for Kubernetes (the local runtime's
    // one-host rules aside).
    // (The cluster file has its own `replicapool`: the pool file goes with
    // the cluster document alone.)
    let cluster_only = CLUSTER.split("\n---\n").next().unwrap();
    for yaml in [
        CLUSTER.to_owned(),
        format!("{cluster_only}\n---\n{POOL}\n---\n{FILESYSTEM}"),
    ] {
        let manifest = load_manifest(&yaml).unwrap();
        if let Err(e) = manifest.validate_for(Platform::Kubernetes) {
            panic!("{e}");
        }
    }
}

/// `doc` with the value at a JSON pointer replaced (or the field added, with
/// its parent objects).
fn with(doc: &Value, pointer: &str, value: Value) -> Value {
    let mut doc = doc.clone();
    let mut node = &mut doc;
    let names: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for name in &names[..names.len() - 1] {
        node = node
            .as_object_mut()
            .unwrap()
            .entry(*name)
            .or_insert_with(|| json!({}));
    }
    node.as_object_mut()
        .unwrap()
        .insert(names[names.len() - 1].to_owned(), value);
    doc
}

#[test]
fn broken_manifests_are_refused() {
    let cluster = documents(CLUSTER).remove(0);
    let pool = documents(POOL).remove(0);
    let fs = documents(FILESYSTEM).remove(0);
    let cases = [
        (
            with(&cluster, "/spec/mon/count", json!("three")),
            ".spec.mon.count: \"three\" is not of type integer",
        ),
        (
            with(&cluster, "/spec/mon/count", json!(11)),
            ".spec.mon.count: 11 is more than the maximum 9",
        ),
        (
            with(&cluster, "/spec/mgr/modules", json!({"name": "x"})),
            ".spec.mgr.modules: {\"name\":\"x\"} is not of type array",
        ),
        (
            with(&cluster, "/spec/mgr/modules", json!([{"name": "Bad-Name"}])),
            ".spec.mgr.modules[0].name: \"Bad-Name\" does not match",
        ),
        (
            with(&cluster, "/spec/network/provider", json!("calico")),
            ".spec.network.provider: \"calico\" is not one of",
        ),
        (
            with(&cluster, "/spec/storage/files/size", json!(true)),
            ".spec.storage.files.size: true is neither an integer nor a string",
        ),
        (with(&cluster, "/specs", json!({})), ".specs: unknown field"),
        (
            with(&pool, "/spec/replicated/size", json!(0)),
            ".spec.replicated.size: 0 is less than the minimum 1",
        ),
        (
            with(&pool, "/spec/failureDomain", json!(["host"])),
            ".spec.failureDomain: [\"host\"] is not of type string",
        ),
        (
            with(&pool, "/spec/parameters/pg_num", json!(32)),
            ".spec.parameters.pg_num: 32 is not of type string",
        ),
        (
            with(
                &fs,
                "/spec/dataPools",
                json!([{"replicated": {"size": "3"}}]),
            ),
            ".spec.dataPools[0].replicated.size: \"3\" is not of type integer",
        ),
        (
            with(&fs, "/status/conditions", json!("Ready")),
            ".status.conditions: \"Ready\" is not of type array",
        ),
    ];
    for (doc, expected) in cases {
        let problems = api_server_problems(&doc);
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "expected {expected:?}, got {problems:#?}"
        );
    }
}

#[test]
fn unknown_fields_inside_spec_are_kept_not_refused() {
    // Rook fields rookery does not model, and typos, reach the operator,
    // which keeps them and warns (crates/api): the schema preserves them.
    let cluster = documents(CLUSTER).remove(0);
    let doc = with(&cluster, "/spec/mon/cout", json!(3));
    assert_eq!(api_server_problems(&doc), Vec::<String>::new());
}
