//! Kubernetes' *structural schema* rules for `apiextensions.k8s.io/v1` CRDs:
//! [`rewrite`] turns a schemars schema into one, [`problems`] checks one.
//!
//! The rules (Kubernetes docs, "Specifying a structural schema", and the
//! apiextensions validation): every node has a `type`, unless it is
//! `x-kubernetes-int-or-string` or `x-kubernetes-preserve-unknown-fields`;
//! no `$ref`; `additionalProperties` never beside `properties` and never
//! `false`; no `uniqueItems: true`; `x-kubernetes-preserve-unknown-fields`
//! only `true`; `items` one schema, not a list; junctors (`anyOf`...) set no
//! `type`, `description`, `default`, `additionalProperties` or `nullable`
//! (rookery uses none but the int-or-string pattern); at the root, `metadata`
//! is `type: object` with nothing else. rookery adds one rule of its own: no
//! `default` (see [`rewrite`]).

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use serde_json::{Map, Value};

/// The `format`s Kubernetes knows for CRD fields that rookery's types map to.
/// Others (schemars' `uint32`, `uint64`...) are dropped: the range is in
/// `minimum`/`maximum` already.
const FORMATS: &[&str] = &[
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "date",
    "date-time",
];

/// JSON Schema keywords with no place in a CRD schema, or not wanted there:
/// `default` because the API server would write it into stored objects, and
/// some of rookery's defaults are the local runtime's (failure domain `osd`,
/// several mons per node, three file OSDs); the operator applies defaults when
/// it reads an object, as Rook does. The doc comments, and so the
/// descriptions, say what the default is.
const DROPPED: &[&str] = &[
    "$schema",
    "$defs",
    "definitions",
    "title",
    "default",
    "examples",
    "example",
    "uniqueItems",
    "readOnly",
    "writeOnly",
];

/// Rewrites a schemars schema (OpenAPI 3 settings, subschemas inlined) in
/// place into a structural one:
/// - `Option<T>`'s `anyOf: [T, null]` becomes `T` with `nullable: true`;
/// - a flattened map of unknown fields (`additionalProperties: true` beside
///   `properties`) becomes `x-kubernetes-preserve-unknown-fields: true`, as
///   does any other "anything goes" node (`serde_json::Value`);
/// - `format`s Kubernetes does not know and the [`DROPPED`] keywords go;
/// - rustdoc links in descriptions (`` [`X`] ``) become plain code (`` `X` ``).
pub fn rewrite(schema: &mut Value) {
    let Value::Object(map) = schema else {
        // `true` (anything) — the only boolean schema schemars emits here.
        *schema = preserve_unknown();
        return;
    };
    for key in DROPPED {
        map.remove(*key);
    }
    merge_nullable_any_of(map);
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props.values_mut().for_each(rewrite);
    }
    if let Some(items) = map.get_mut("items") {
        rewrite(items);
    }
    for junctor in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(list)) = map.get_mut(junctor) {
            list.iter_mut().for_each(rewrite);
        }
    }
    open_maps(map);
    if map
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !FORMATS.contains(&f))
    {
        map.remove("format");
    }
    if let Some(Value::String(text)) = map.get_mut("description") {
        *text = plain_description(text);
    }
    if map.is_empty() {
        *schema = preserve_unknown();
    }
}

/// A doc comment as a description: rustdoc links as plain code, lines of a
/// paragraph joined (paragraphs stay apart).
fn plain_description(doc: &str) -> String {
    let text = doc.replace("[`", "`").replace("`]", "`");
    text.split("\n\n")
        .map(|para| {
            para.split('\n')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn preserve_unknown() -> Value {
    serde_json::json!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// `anyOf: [T, {nullable, enum: [null]}]` (what schemars writes for
/// `Option<T>` when `T` is a struct) -> `T` with `nullable: true`.
fn merge_nullable_any_of(map: &mut Map<String, Value>) {
    let Some(Value::Array(list)) = map.get("anyOf") else {
        return;
    };
    let is_null = |v: &Value| {
        v.get("enum") == Some(&serde_json::json!([null]))
            || v.get("type") == Some(&Value::String("null".into()))
    };
    let [a, b] = list.as_slice() else { return };
    let other = match (is_null(a), is_null(b)) {
        (false, true) => a.clone(),
        (true, false) => b.clone(),
        _ => return,
    };
    let Value::Object(other) = other else { return };
    map.remove("anyOf");
    for (k, v) in other {
        // The field's own description wins over the type's.
        map.entry(k).or_insert(v);
    }
    map.insert("nullable".into(), Value::Bool(true));
}

/// `additionalProperties: true` (a flattened `Extra`, or a map of anything).
fn open_maps(map: &mut Map<String, Value>) {
    let additional = map.get_mut("additionalProperties");
    let anything = match additional {
        Some(Value::Bool(true)) => true,
        Some(Value::Object(m)) if m.is_empty() => true,
        Some(v) => {
            rewrite(v);
            false
        }
        None => false,
    };
    if anything {
        map.remove("additionalProperties");
        map.insert("type".into(), Value::String("object".into()));
        map.insert(
            "x-kubernetes-preserve-unknown-fields".into(),
            Value::Bool(true),
        );
    }
}

/// Every way `schema` (a CRD's `openAPIV3Schema`) breaks the structural rules,
/// each with its path (`.spec.mon.count`). Empty when it is structural.
pub fn problems(schema: &JSONSchemaProps) -> Vec<String> {
    let mut out = Vec::new();
    if schema.type_.as_deref() != Some("object") {
        out.push("(root): type must be object".to_owned());
    }
    if let Some(meta) = schema.properties.as_ref().and_then(|p| p.get("metadata")) {
        let only_type = JSONSchemaProps {
            type_: Some("object".into()),
            ..JSONSchemaProps::default()
        };
        if *meta != only_type {
            out.push(".metadata: only `type: object` is allowed at the root's metadata".into());
        }
    }
    check(schema, "", &mut out);
    out
}

fn check(s: &JSONSchemaProps, path: &str, out: &mut Vec<String>) {
    let mut bad = |what: &str| out.push(format!("{}: {what}", display(path)));
    let preserve = s.x_kubernetes_preserve_unknown_fields;
    let int_or_string = s.x_kubernetes_int_or_string == Some(true);
    if preserve == Some(false) {
        bad("x-kubernetes-preserve-unknown-fields must be true or unset");
    }
    if s.ref_path.is_some() {
        bad("$ref is not allowed");
    }
    let unsupported = [
        ("$schema", s.schema.is_some()),
        ("definitions", s.definitions.is_some()),
        ("dependencies", s.dependencies.is_some()),
        ("patternProperties", s.pattern_properties.is_some()),
        ("additionalItems", s.additional_items.is_some()),
        ("id", s.id.is_some()),
    ];
    for (key, _) in unsupported.iter().filter(|(_, set)| *set) {
        bad(&format!("{key} is not allowed in a CRD schema"));
    }
    match s.type_.as_deref() {
        None if preserve != Some(true) && !int_or_string => bad("no type"),
        None => {}
        Some("object" | "array" | "string" | "integer" | "number" | "boolean") => {}
        Some(other) => bad(&format!("type {other:?} is not a Kubernetes type")),
    }
    if s.default.is_some() {
        bad("default is not allowed (the operator applies defaults)");
    }
    if s.unique_items == Some(true) {
        bad("uniqueItems: true is not allowed");
    }
    if let Some(f) = s.format.as_deref().filter(|f| !FORMATS.contains(f)) {
        bad(&format!("format {f:?} is not one Kubernetes knows"));
    }
    let has_props = s.properties.as_ref().is_some_and(|p| !p.is_empty());
    match &s.additional_properties {
        Some(JSONSchemaPropsOrBool::Bool(false)) => bad("additionalProperties: false"),
        Some(_) if has_props => bad("additionalProperties beside properties"),
        _ => {}
    }
    if (has_props || s.additional_properties.is_some()) && s.type_.as_deref() != Some("object") {
        bad("properties on a node that is not type object");
    }
    if let Some(required) = &s.required {
        for r in required {
            if !s.properties.as_ref().is_some_and(|p| p.contains_key(r)) {
                bad(&format!("required field {r:?} is not in properties"));
            }
        }
    }
    check_enum(s, &mut bad);
    if s.pattern
        .as_deref()
        .is_some_and(|p| regex::Regex::new(p).is_err())
    {
        bad("pattern is not a valid regular expression");
    }
    if let Some(items) = &s.items {
        if s.type_.as_deref() != Some("array") {
            bad("items on a node that is not type array");
        }
        match items {
            JSONSchemaPropsOrArray::Schema(item) => check(item, &format!("{path}[]"), out),
            JSONSchemaPropsOrArray::Schemas(_) => {
                out.push(format!("{}: items must be one schema", display(path)))
            }
        }
    } else if s.type_.as_deref() == Some("array") {
        bad("an array without items");
    }
    check_junctors(s, path, int_or_string, out);
    for (name, prop) in s.properties.iter().flat_map(BTreeMap::iter) {
        check(prop, &format!("{path}.{name}"), out);
    }
    if let Some(JSONSchemaPropsOrBool::Schema(value)) = &s.additional_properties {
        check(value, &format!("{path}.*"), out);
    }
}

fn check_enum(s: &JSONSchemaProps, bad: &mut impl FnMut(&str)) {
    let Some(values) = &s.enum_ else { return };
    let fits = |v: &Value| match s.type_.as_deref() {
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        _ => true,
    };
    if let Some(v) = values.iter().map(|j| &j.0).find(|v| !fits(v)) {
        bad(&format!("enum value {v} does not fit the type"));
    }
}

/// The one junctor allowed: `x-kubernetes-int-or-string` with
/// `anyOf: [{type: integer}, {type: string}]`.
fn check_junctors(s: &JSONSchemaProps, path: &str, int_or_string: bool, out: &mut Vec<String>) {
    let int_or_string_any_of = || {
        let types: Vec<_> = s
            .any_of
            .iter()
            .flatten()
            .map(|b| {
                let only_type = JSONSchemaProps {
                    type_: b.type_.clone(),
                    ..JSONSchemaProps::default()
                };
                (b == &only_type).then(|| b.type_.clone()).flatten()
            })
            .collect();
        types == [Some("integer".into()), Some("string".into())]
    };
    let junctors = s.all_of.is_some() || s.one_of.is_some() || s.not.is_some();
    if junctors || (s.any_of.is_some() && !(int_or_string && int_or_string_any_of())) {
        out.push(format!(
            "{}: allOf/anyOf/oneOf/not are not used by rookery's schemas (only the \
int-or-string anyOf)",
            display(path)
        ));
    }
}

fn display(path: &str) -> &str {
    if path.is_empty() {
        "(root)"
    } else {
        path
    }
}
