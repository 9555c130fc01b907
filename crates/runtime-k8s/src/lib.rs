//! rookery on Kubernetes. For now: the CustomResourceDefinitions generated
//! from `rookery_api`'s types ([`crd`]), the structural-schema rules they
//! must follow ([`structural`]), a check of objects against them
//! ([`openapi`]), and a strict reader of the manifests in deploy/ ([`objects`]). The operator (`rookery operator`: kube-runtime
//! controllers) comes later and builds on these.
//!
//! Pure functions, no I/O: the CLI prints, tests compare.

pub mod crd;
pub mod objects;
pub mod openapi;
pub mod plan;
pub mod structural;

pub use crd::{crds, crds_yaml, kind_info, KindInfo, GROUP, KINDS, VERSION};

/// Why the CRDs could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A derived schema did not fit `JSONSchemaProps` (a bug in the rewrite).
    #[error("the {part} schema of {kind} is not a valid OpenAPI schema: {source}")]
    Schema {
        /// The kind.
        kind: String,
        /// `spec` or `status`.
        part: String,
        /// serde_json's error.
        source: serde_json::Error,
    },
    /// Writing YAML failed.
    #[error("cannot write the CRDs as YAML: {0}")]
    Yaml(serde_yaml::Error),
}
