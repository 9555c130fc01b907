//! The generated CRDs: structural, Rook's names and columns, the committed
//! deploy/crds.yaml up to date; and the structural checker catches each
//! broken rule (so its silence on the CRDs means something).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use rookery_api::limits;
use rookery_runtime_k8s::{crds, crds_yaml, kind_info, structural};

fn schema(kind: &str) -> JSONSchemaProps {
    rookery_runtime_k8s::crd::openapi_schema(kind_info(kind).unwrap()).unwrap()
}

/// The schema node at a dotted path below the root (`spec.mon.count`).
fn node<'a>(root: &'a JSONSchemaProps, path: &str) -> &'a JSONSchemaProps {
    path.split('.').fold(root, |s, name| {
        s.properties
            .as_ref()
            .and_then(|p| p.get(name))
            .unwrap_or_else(|| panic!("no {name} in {path}"))
    })
}

#[test]
fn generated_crds_are_structural() {
    let crds = crds().unwrap();
    assert_eq!(crds.len(), 3);
    for crd in &crds {
        let name = crd.metadata.name.as_deref().unwrap();
        assert_eq!(crd.spec.group, "ceph.rook.io");
        let [version] = crd.spec.versions.as_slice() else {
            panic!("{name}: one version expected");
        };
        assert!(version.name == "v1" && version.served && version.storage);
        let subresources = version.subresources.as_ref().unwrap();
        assert!(
            subresources.status.is_some(),
            "{name}: no status subresource"
        );
        let root = version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .unwrap();
        let problems = structural::problems(root);
        assert!(
            problems.is_empty(),
            "{name} is not structural:\n{problems:#?}"
        );
        // Rook's fields we do not model must get through the API server.
        assert_eq!(
            node(root, "spec").x_kubernetes_preserve_unknown_fields,
            Some(true),
            "{name}"
        );
        assert_eq!(
            node(root, "status").x_kubernetes_preserve_unknown_fields,
            Some(true),
            "{name}"
        );
    }
}

#[test]
fn names_and_columns_are_rooks() {
    let crds = crds().unwrap();
    let summary: Vec<(String, Vec<String>, Vec<String>)> = crds
        .iter()
        .map(|c| {
            let columns = c.spec.versions[0]
                .additional_printer_columns
                .iter()
                .flatten()
                .filter(|col| col.priority.is_none())
                .map(|col| col.name.clone())
                .collect();
            (
                c.metadata.name.clone().unwrap(),
                c.spec.names.short_names.clone().unwrap(),
                columns,
            )
        })
        .collect();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        [
            (
                "cephclusters.ceph.rook.io".into(),
                strings(&["ceph"]),
                strings(&[
                    "DataDirHostPath",
                    "MonCount",
                    "Age",
                    "Phase",
                    "Message",
                    "Health",
                    "External",
                    "FSID"
                ])
            ),
            (
                "cephblockpools.ceph.rook.io".into(),
                strings(&["cephbp"]),
                strings(&["Phase", "Type", "FailureDomain", "Age"])
            ),
            (
                "cephfilesystems.ceph.rook.io".into(),
                strings(&["cephfs"]),
                strings(&["ActiveMDS", "Age", "Phase"])
            ),
        ]
    );
}

#[test]
fn schemas_carry_docs_ranges_and_enums() {
    let cluster = schema("CephCluster");
    let count = node(&cluster, "spec.mon.count");
    assert_eq!(count.type_.as_deref(), Some("integer"));
    assert_eq!(count.minimum, Some(1.0));
    assert_eq!(count.maximum, Some(f64::from(limits::MAX_MONS)));
    assert!(count
        .description
        .as_deref()
        .unwrap()
        .contains("How many monitors"));
    let mgrs = node(&cluster, "spec.mgr.count");
    assert_eq!(mgrs.maximum, Some(f64::from(limits::MAX_MGRS)));
    let provider = node(&cluster, "spec.network.provider");
    let values: Vec<_> = provider
        .enum_
        .iter()
        .flatten()
        .map(|j| j.0.clone())
        .collect();
    assert_eq!(values, ["", "host", "multus"]);
    let size = node(&cluster, "spec.storage.files.size");
    assert_eq!(size.x_kubernetes_int_or_string, Some(true));
    let pool = schema("CephBlockPool");
    let replicas = node(&pool, "spec.replicated.size");
    assert_eq!(replicas.maximum, Some(f64::from(limits::MAX_REPLICAS)));
    // No server-side defaults: some of rookery's are the local runtime's.
    let failure_domain = node(&pool, "spec.failureDomain");
    assert!(failure_domain.default.is_none());
    let fs = schema("CephFilesystem");
    let heartbeat = fs
        .properties
        .as_ref()
        .and_then(|p| p.get("status"))
        .and_then(|s| s.properties.as_ref())
        .and_then(|p| p.get("conditions"))
        .and_then(|c| c.items.as_ref());
    let Some(k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrArray::Schema(item)) = heartbeat else {
        panic!("status.conditions has no item schema");
    };
    assert_eq!(
        node(item, "lastTransitionTime").format.as_deref(),
        Some("date-time")
    );
}

#[test]
fn committed_crds_match_crdgen() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/crds.yaml");
    let committed = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let generated = crds_yaml().unwrap();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(generated.lines().count()),
                |i| i,
            );
        panic!(
            "deploy/crds.yaml differs from what `rookery crdgen` prints (first at line {}); \
regenerate it: cargo run -q -p rookery -- crdgen > deploy/crds.yaml",
            line + 1
        );
    }
}

fn props(json: serde_json::Value) -> JSONSchemaProps {
    serde_json::from_value(json).unwrap()
}

#[test]
fn the_checker_finds_each_broken_rule() {
    let cases = [
        (
            serde_json::json!({"type": "object", "properties": {"a": {}}}),
            ".a: no type",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"$ref": "#/x"}}}),
            "$ref",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"type": "string"}},
                "additionalProperties": {"type": "string"}}),
            "additionalProperties beside properties",
        ),
        (
            serde_json::json!({"type": "object", "additionalProperties": false}),
            "additionalProperties: false",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"type": "integer", "default": 1}}}),
            "default",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "object"}]}}}),
            "allOf/anyOf",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"metadata": {"type": "object", "properties": {"name": {"type": "string"}}}}}),
            ".metadata",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}}}),
            "uniqueItems",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"type": "integer", "format": "uint32"}}}),
            "format",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"type": "string", "enum": [1]}}}),
            "enum value 1",
        ),
        (
            serde_json::json!({"type": "object", "x-kubernetes-preserve-unknown-fields": false}),
            "must be true",
        ),
        (
            serde_json::json!({"type": "string"}),
            "(root): type must be object",
        ),
    ];
    for (schema, needle) in cases {
        let problems = structural::problems(&props(schema.clone()));
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "{schema}: expected a problem with {needle:?}, got {problems:?}"
        );
    }
}

#[test]
fn rewrite_is_what_makes_schemars_output_structural() {
    // Option<struct>, a flattened map of anything, a serde_json::Value, an
    // unsigned number: each breaks a rule as schemars writes it.
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        /// A number.
        n: u32,
    }
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Outer {
        inner: Option<Inner>,
        any: serde_json::Value,
        #[serde(flatten)]
        extra: std::collections::BTreeMap<String, serde_json::Value>,
    }
    let settings = schemars::generate::SchemaSettings::openapi3().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let mut value = settings
        .into_generator()
        .into_root_schema_for::<Outer>()
        .to_value();
    assert!(!structural::problems(&props(value.clone())).is_empty());
    structural::rewrite(&mut value);
    let rewritten = props(value);
    assert_eq!(structural::problems(&rewritten), Vec::<String>::new());
    assert_eq!(rewritten.x_kubernetes_preserve_unknown_fields, Some(true));
    let inner = node(&rewritten, "inner");
    assert_eq!(inner.nullable, Some(true));
    assert_eq!(node(inner, "n").description.as_deref(), Some("A number."));
}
