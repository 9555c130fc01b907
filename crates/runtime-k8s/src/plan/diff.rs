//! Rendered objects against existing ones: create what is missing, update
//! only what differs in a field the operator sets, delete what the operator
//! made and no longer renders. Fields the API server or others add
//! (defaults, status, other labels) are not the operator's and never cause a
//! write, so a steady cluster plans no write.

use std::collections::BTreeSet;

use serde_json::Value;

use super::input::Owned;
use super::meta::{Owner, MANAGED_BY, MANAGER};
use super::object::{Object, ObjectKey};
use super::{Plan, Update};

/// The first field `desired` sets that `existing` lacks or holds otherwise,
/// as a path (`.spec.replicas`); None when every field the operator sets is
/// as rendered. Lists compare item by item and must have the same length.
pub fn owned_field_differs(desired: &Value, existing: &Value) -> Option<String> {
    differs(desired, existing, String::new())
}

fn differs(desired: &Value, existing: &Value, path: String) -> Option<String> {
    match (desired, existing) {
        (Value::Null, _) => None,
        (Value::Object(d), Value::Object(e)) => d.iter().find_map(|(k, v)| {
            let field = format!("{path}.{k}");
            match e.get(k) {
                Some(ev) => differs(v, ev, field),
                None if v.is_null() => None,
                None => Some(field),
            }
        }),
        (Value::Array(d), Value::Array(e)) if d.len() == e.len() => d
            .iter()
            .zip(e)
            .enumerate()
            .find_map(|(i, (a, b))| differs(a, b, format!("{path}[{i}]"))),
        (d, e) if d == e => None,
        _ => Some(if path.is_empty() { ".".into() } else { path }),
    }
}

/// Every object of `owned`, as [`Object`]s.
pub fn all_objects(owned: &Owned) -> Vec<Object> {
    let mut out: Vec<Object> = Vec::new();
    out.extend(owned.deployments.iter().cloned().map(Object::from));
    out.extend(owned.services.iter().cloned().map(Object::from));
    out.extend(owned.config_maps.iter().cloned().map(Object::from));
    out.extend(owned.secrets.iter().cloned().map(Object::from));
    out.extend(owned.jobs.iter().cloned().map(Object::from));
    out.extend(owned.daemon_sets.iter().cloned().map(Object::from));
    out
}

/// Whether `o` was rendered by the operator for `owner`.
pub fn rendered_for(o: &Object, owner: &Owner) -> bool {
    let meta = o.meta();
    let managed = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY))
        .is_some_and(|v| v == MANAGER);
    let owned = meta
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.uid == owner.uid && r.kind == owner.kind);
    managed && owned
}

/// The writes that bring `owned` to `desired`. Objects in `keep` are left as
/// they are (neither updated nor deleted: e.g. a running Job). Jobs are
/// never updated (their spec is immutable): the OSD plan replaces them.
pub fn converge(desired: Vec<Object>, owned: &Owned, owner: &Owner, keep: &[ObjectKey]) -> Plan {
    let existing = all_objects(owned);
    let find = |key: &ObjectKey| existing.iter().find(|o| &o.key() == key);
    let mut plan = Plan::default();
    let mut wanted = BTreeSet::new();
    for object in desired {
        let key = object.key();
        wanted.insert(key.clone());
        if keep.contains(&key) {
            continue;
        }
        match find(&key) {
            None => plan.create.push(object),
            Some(_) if key.kind == "Job" => {}
            Some(current) => {
                if let Some(field) = owned_field_differs(&object.to_value(), &current.to_value()) {
                    plan.update.push(Update { object, field });
                }
            }
        }
    }
    for o in &existing {
        let key = o.key();
        if !wanted.contains(&key) && !keep.contains(&key) && rendered_for(o, owner) {
            plan.delete.push(key);
        }
    }
    plan.sort();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_fields_the_operator_sets_count() {
        let desired = json!({"spec": {"replicas": 1, "template": {"c": [{"image": "x"}]}}});
        let defaulted = json!({"spec": {"replicas": 1, "progressDeadlineSeconds": 600,
            "template": {"c": [{"image": "x", "imagePullPolicy": "IfNotPresent"}]}},
            "status": {"ready": 1}});
        assert_eq!(owned_field_differs(&desired, &defaulted), None);
        let scaled = json!({"spec": {"replicas": 0, "template": {"c": [{"image": "x"}]}}});
        assert_eq!(
            owned_field_differs(&desired, &scaled).as_deref(),
            Some(".spec.replicas")
        );
        let image = json!({"spec": {"replicas": 1, "template": {"c": [{"image": "y"}]}}});
        assert_eq!(
            owned_field_differs(&desired, &image).as_deref(),
            Some(".spec.template.c[0].image")
        );
        let more = json!({"spec": {"replicas": 1, "template": {"c": [{"image": "x"}, {}]}}});
        assert_eq!(
            owned_field_differs(&desired, &more).as_deref(),
            Some(".spec.template.c")
        );
        let missing = json!({"spec": {"template": {"c": [{"image": "x"}]}}});
        assert_eq!(
            owned_field_differs(&desired, &missing).as_deref(),
            Some(".spec.replicas")
        );
    }
}
