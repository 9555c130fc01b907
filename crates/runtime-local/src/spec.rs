//! The cluster's spec: given with `-f`, else the one stored with the cluster,
//! else the defaults. The effective spec is stored in the cluster directory
//! so a later `up` without `-f` resumes exactly this cluster.

use rookery_api::Manifest;
use rookery_core::DesiredCluster;

use crate::error::{Error, IoContext, Result};
use crate::layout::{write_atomic, Layout};
use crate::progress::Progress;

/// Parses and validates a spec; returns its warnings, or every error at once.
pub fn check(yaml: &str) -> Result<Vec<String>> {
    let manifest = parse(yaml)?;
    validate(&manifest)
}

fn parse(yaml: &str) -> Result<Manifest> {
    rookery_api::load_manifest(yaml).map_err(|e| Error::Spec(format!("invalid cluster spec: {e}")))
}

fn validate(manifest: &Manifest) -> Result<Vec<String>> {
    let mut warnings: Vec<String> = manifest.warnings.iter().map(|w| w.to_string()).collect();
    match manifest.validate() {
        Ok(w) => {
            warnings.extend(w.iter().map(|w| w.to_string()));
            warnings.dedup();
            Ok(warnings)
        }
        Err(errors) => Err(Error::Spec(format!("invalid cluster spec:\n{errors}"))),
    }
}

/// Chooses, validates and stores the spec; returns what the plan works from.
pub fn load(layout: &Layout, given: Option<&str>, progress: &Progress) -> Result<DesiredCluster> {
    let stored = layout.spec();
    let manifest = match given {
        Some(yaml) => parse(yaml)?,
        None if stored.exists() => {
            let text = std::fs::read_to_string(&stored).ctx("cannot read", &stored)?;
            parse(&text)?
        }
        None => Manifest::local_default(),
    };
    for w in validate(&manifest)? {
        progress.warn("spec", w);
    }
    let yaml = manifest
        .to_yaml()
        .map_err(|e| Error::Spec(format!("cannot store the spec: {e}")))?;
    write_atomic(&stored, yaml.as_bytes(), 0o644).ctx("cannot write", &stored)?;
    Ok(rookery_core::desired::from_manifest(&manifest))
}
