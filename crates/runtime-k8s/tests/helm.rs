//! The Helm chart (deploy/charts/rookery), checked without helm (none is
//! installed here). What is checked: Chart.yaml and values.yaml parse into
//! typed structs that refuse unknown keys; crds/ holds deploy/crds.yaml;
//! every template renders with a small renderer that knows only value
//! substitution (`{{ .Values.a.b }}`, with `| quote`) and refuses any other
//! expression, so the templates are kept to that; the rendered documents
//! parse strictly into their typed structs, equal deploy/common.yaml and
//! deploy/operator.yaml with the default values, and follow other values.
//! What is not: Helm's own rendering and `helm lint`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rookery_runtime_k8s::objects::check_document;
use serde::Deserialize;
use serde_json::Value;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(deploy(path)).unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{e}\n{yaml}")))
        .filter(|v| !v.is_null())
        .collect()
}

/// Helm's Chart.yaml (apiVersion v2), the fields this chart uses and the
/// other documented ones; unknown keys are refused.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
struct Chart {
    api_version: String,
    name: String,
    version: String,
    description: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    app_version: Option<String>,
    kube_version: Option<String>,
    keywords: Option<Vec<String>>,
    home: Option<String>,
    sources: Option<Vec<String>>,
    icon: Option<String>,
    deprecated: Option<bool>,
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Values {
    namespace: String,
    image: Image,
    csi: Csi,
    log_level: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Image {
    repository: String,
    tag: String,
    pull_policy: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Csi {
    rbd_driver_name: String,
    cephfs_driver_name: String,
}

#[test]
fn chart_and_values_are_well_formed() {
    let chart: Chart = serde_yaml::from_str(&read("charts/rookery/Chart.yaml")).unwrap();
    assert_eq!(chart.api_version, "v2");
    assert_eq!(chart.name, "rookery");
    let release = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(chart.app_version.as_deref(), Some(release.as_str()));
    let values: Values = serde_yaml::from_str(&read("charts/rookery/values.yaml")).unwrap();
    assert_eq!(
        values.image.tag, release,
        "the image tag follows the release"
    );
    assert_eq!(values.namespace, "rook-ceph");
    assert_eq!(values.csi.rbd_driver_name, "rbd.csi.ceph.com");
    assert_eq!(values.csi.cephfs_driver_name, "cephfs.csi.ceph.com");
    assert!(!values.log_level.is_empty() && !values.image.pull_policy.is_empty());
    assert!(!values.image.repository.is_empty());
}

#[test]
fn chart_crds_are_deploy_crds() {
    assert!(
        read("charts/rookery/crds/crds.yaml") == read("crds.yaml"),
        "deploy/charts/rookery/crds/crds.yaml differs from deploy/crds.yaml; copy it: \
cp deploy/crds.yaml deploy/charts/rookery/crds/crds.yaml"
    );
}

/// `{{ .Values.a.b }}` and `{{ .Values.a.b | quote }}` replaced from
/// `values`; any other `{{ }}` is an error.
fn render(template: &str, values: &Value) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").ok_or("an unclosed {{")? + start;
        let expr = rest[start + 2..end].trim();
        let (path, quote) = match expr.split_once('|') {
            Some((p, f)) if f.trim() == "quote" => (p.trim(), true),
            Some(_) => return Err(format!("{{{{ {expr} }}}}: only `| quote` is supported")),
            None => (expr, false),
        };
        let keys = path
            .strip_prefix(".Values.")
            .ok_or_else(|| format!("{{{{ {expr} }}}}: only .Values substitutions are supported"))?;
        let value = keys
            .split('.')
            .try_fold(values, |v, k| v.get(k))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{{{{ {expr} }}}}: no string {path} in values.yaml"))?;
        if quote {
            out.push_str(&serde_json::to_string(value).unwrap());
        } else {
            out.push_str(value);
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn values(overrides: &[(&str, &str)]) -> Value {
    let mut v: Value = serde_yaml::from_str(&read("charts/rookery/values.yaml")).unwrap();
    for (path, value) in overrides {
        let pointer = format!("/{}", path.replace('.', "/"));
        *v.pointer_mut(&pointer).unwrap() = Value::String((*value).into());
    }
    v
}

fn rendered(values: &Value) -> Vec<Value> {
    let mut docs = Vec::new();
    for template in ["serviceaccounts.yaml", "rbac.yaml", "deployment.yaml"] {
        let text = read(&format!("charts/rookery/templates/{template}"));
        let out = render(&text, values).unwrap_or_else(|e| panic!("{template}: {e}"));
        for doc in documents(&out) {
            if let Err(problems) = check_document(&doc) {
                panic!("{template}: {problems:#?}");
            }
            docs.push(doc);
        }
    }
    docs
}

#[test]
fn templates_render_to_the_plain_manifests() {
    let chart = rendered(&values(&[]));
    let mut plain = documents(&read("common.yaml"));
    plain.retain(|d| d["kind"] != "Namespace");
    plain.extend(documents(&read("operator.yaml")));
    assert_eq!(chart.len(), plain.len());
    for (c, p) in chart.iter().zip(&plain) {
        assert_eq!(
            c, p,
            "the chart and deploy/ differ for {}",
            p["metadata"]["name"]
        );
    }
}

#[test]
fn templates_follow_the_values() {
    let docs = rendered(&values(&[
        ("namespace", "storage"),
        ("image.tag", "v9"),
        ("csi.rbdDriverName", "rook-ceph.rbd.csi.ceph.com"),
    ]));
    for doc in &docs {
        let cluster_scoped =
            ["ClusterRole", "ClusterRoleBinding"].contains(&doc["kind"].as_str().unwrap());
        if !cluster_scoped {
            assert_eq!(doc["metadata"]["namespace"], "storage", "{doc}");
        }
        for subject in doc["subjects"].as_array().into_iter().flatten() {
            assert_eq!(subject["namespace"], "storage");
        }
    }
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "rookery/rookery:v9");
    assert_eq!(container["env"][1]["value"], "rook-ceph.rbd.csi.ceph.com");
}

#[test]
fn the_renderer_refuses_what_it_does_not_know() {
    let v = values(&[]);
    assert!(render("a: {{ .Values.nope }}", &v)
        .unwrap_err()
        .contains("no string"));
    assert!(render("{{- if .Values.x }}", &v)
        .unwrap_err()
        .contains("only .Values"));
    assert!(render("{{ .Values.namespace | upper }}", &v)
        .unwrap_err()
        .contains("quote"));
    assert_eq!(
        render("ns: {{ .Values.namespace | quote }}", &v).unwrap(),
        "ns: \"rook-ceph\""
    );
}
