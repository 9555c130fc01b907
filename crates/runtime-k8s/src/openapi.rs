//! Checks an object against a CRD's OpenAPI schema the way the API server
//! does for the structural subset rookery generates: types, `required`,
//! `enum`, `minimum`/`maximum`, `pattern`, string lengths, int-or-string,
//! and unknown fields — refused where the schema does not preserve them, as
//! `kubectl apply` (strict field validation, its default since 1.27) refuses
//! them. `null` is accepted anywhere: the API server prunes a null it may
//! not store. CEL rules, formats and `metadata` (checked by Kubernetes
//! itself) are not checked.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use serde_json::Value;

/// Every way `value` breaks `schema`, each as `<path>: <problem>`. Empty when
/// the API server would take it.
pub fn check_object(value: &Value, schema: &JSONSchemaProps) -> Vec<String> {
    let mut out = Vec::new();
    check(value, schema, "", &mut out);
    out
}

fn check(v: &Value, s: &JSONSchemaProps, path: &str, out: &mut Vec<String>) {
    if v.is_null() {
        return;
    }
    let mut bad = |what: String| {
        let at = if path.is_empty() { "(root)" } else { path };
        out.push(format!("{at}: {what}"));
    };
    if s.x_kubernetes_int_or_string == Some(true) {
        if !(v.is_i64() || v.is_u64() || v.is_string()) {
            bad(format!("{v} is neither an integer nor a string"));
        }
        return;
    }
    let type_ok = match s.type_.as_deref() {
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        _ => true,
    };
    if !type_ok {
        let wanted = s.type_.as_deref().unwrap_or("?");
        bad(format!("{v} is not of type {wanted}"));
        return;
    }
    if let Some(values) = &s.enum_ {
        if !values.iter().any(|e| &e.0 == v) {
            let allowed: Vec<String> = values.iter().map(|e| e.0.to_string()).collect();
            bad(format!("{v} is not one of {}", allowed.join(", ")));
        }
    }
    if let Some(n) = v.as_f64() {
        if s.minimum.is_some_and(|min| n < min) {
            bad(format!(
                "{v} is less than the minimum {}",
                s.minimum.unwrap_or_default()
            ));
        }
        if s.maximum.is_some_and(|max| n > max) {
            bad(format!(
                "{v} is more than the maximum {}",
                s.maximum.unwrap_or_default()
            ));
        }
    }
    if let Some(text) = v.as_str() {
        check_string(text, s, &mut bad);
    }
    match v {
        Value::Object(map) => check_fields(map, s, path, out),
        Value::Array(items) => {
            if let Some(JSONSchemaPropsOrArray::Schema(item)) = &s.items {
                for (i, item_value) in items.iter().enumerate() {
                    check(item_value, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

fn check_string(text: &str, s: &JSONSchemaProps, bad: &mut impl FnMut(String)) {
    let len = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
    if s.min_length.is_some_and(|m| len < m) {
        bad(format!(
            "{text:?} is shorter than {} characters",
            s.min_length.unwrap_or(0)
        ));
    }
    if s.max_length.is_some_and(|m| len > m) {
        bad(format!(
            "{text:?} is longer than {} characters",
            s.max_length.unwrap_or(0)
        ));
    }
    if let Some(pattern) = &s.pattern {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(text) => bad(format!("{text:?} does not match {pattern}")),
            Ok(_) => {}
            Err(e) => bad(format!("the schema's pattern {pattern:?} is broken: {e}")),
        }
    }
}

fn check_fields(
    map: &serde_json::Map<String, Value>,
    s: &JSONSchemaProps,
    path: &str,
    out: &mut Vec<String>,
) {
    for name in s.required.iter().flatten() {
        if map.get(name).is_none_or(Value::is_null) {
            out.push(format!("{path}.{name}: required, but missing"));
        }
    }
    // At the root, `metadata` is Kubernetes' own: its schema only says "object".
    let is_metadata = path == ".metadata";
    for (name, field) in map {
        let field_path = format!("{path}.{name}");
        if let Some(prop) = s.properties.as_ref().and_then(|p| p.get(name)) {
            check(field, prop, &field_path, out);
        } else if let Some(JSONSchemaPropsOrBool::Schema(value)) = &s.additional_properties {
            check(field, value, &field_path, out);
        } else if s.x_kubernetes_preserve_unknown_fields != Some(true)
            && s.additional_properties.is_none()
            && !is_metadata
        {
            out.push(format!(
                "{field_path}: unknown field (the schema neither lists nor preserves it)"
            ));
        }
    }
}
