//! Tests across modules: loading, defaults, validation, round trips.

mod defaults;
mod filesystem;
mod loading;
mod platform;
mod rook_example;
mod roundtrip;
mod rules;

use crate::{load_manifest, FieldError, Manifest, Warning, WarningKind};

/// A manifest with one cluster whose `spec` is `spec` (YAML indented by two).
fn cluster_with_spec(spec: &str) -> Manifest {
    let yaml = format!(
        "apiVersion: ceph.rook.io/v1\nkind: CephCluster\nmetadata:\n  name: test\n  \
namespace: test\nspec:\n{spec}"
    );
    load_manifest(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// The validation errors; panics when the manifest is valid.
fn errors(m: &Manifest) -> Vec<FieldError> {
    match m.validate() {
        Ok(w) => panic!("expected errors, got none (warnings: {w:?})"),
        Err(e) => e.errors,
    }
}

/// Asserts there is an error at `path` whose text contains `needle`.
fn assert_error(m: &Manifest, path: &str, needle: &str) {
    let errs = errors(m);
    assert!(
        errs.iter()
            .any(|e| e.path == path && e.to_string().contains(needle)),
        "no error at {path} containing {needle:?}; got:\n{}",
        errs.iter().map(|e| format!("  {e}\n")).collect::<String>()
    );
}

/// Paths of warnings of one kind.
fn warning_paths(warnings: &[Warning], pick: fn(&WarningKind) -> bool) -> Vec<String> {
    warnings
        .iter()
        .filter(|w| pick(&w.kind))
        .map(|w| w.path.clone())
        .collect()
}

fn is_unknown(k: &WarningKind) -> bool {
    matches!(k, WarningKind::UnknownField { .. })
}
