//! Validation for the local runtime: every broken rule at once, each naming the
//! field, the value, the rule and what to do; plus the warnings.

use std::fmt;

use crate::{Manifest, ObjectRef, Warning};

mod cluster;
mod filesystem;
mod pool;

/// The limits [`Manifest::validate`] enforces.
pub mod limits {
    use crate::Quantity;

    /// Most monitors (Rook's limit).
    pub const MAX_MONS: u32 = 9;
    /// Most managers (Rook's limit: one active, one standby).
    pub const MAX_MGRS: u32 = 2;
    /// Most file-backed OSDs on one host.
    pub const MAX_FILE_OSDS: u32 = 64;
    /// Smallest OSD file: bluestore on smaller files hits ENOSPC and aborts.
    pub const MIN_FILE_SIZE: Quantity = Quantity::gib(10);
    /// Largest OSD file.
    pub const MAX_FILE_SIZE: Quantity = Quantity::tib(16);
    /// Most copies in a replicated pool.
    pub const MAX_REPLICAS: u32 = 7;
    /// Longest pool name: keeps it usable as a Kubernetes label value.
    pub const MAX_POOL_NAME: usize = 63;
    /// Pool names Rook accepts in `spec.name` (Ceph's built-in pools).
    pub const BUILTIN_POOL_NAMES: &[&str] = &[".mgr", ".nfs", "device_health_metrics"];
    /// Failure domains the local runtime supports.
    pub const FAILURE_DOMAINS: &[&str] = &["osd", "host"];
    /// Longest filesystem name: `<name>-metadata` must be a valid pool name.
    pub const MAX_FS_NAME: usize = MAX_POOL_NAME - "-metadata".len();
    /// Shortest mon health-check interval and failover timeout.
    pub const MIN_MON_HEALTH_DURATION: std::time::Duration = std::time::Duration::from_secs(1);
    /// Most active MDS ranks per filesystem. Each runs with a standby, and
    /// every MDS holds a metadata cache in memory on this one host.
    pub const MAX_ACTIVE_MDS: u32 = 8;
}

/// Where a manifest is meant to run: the rules that come from running on one
/// host apply to the local runtime only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// `rookery up`: every daemon on this host, file-backed OSDs, loopback ports.
    Local,
    /// The Kubernetes operator: daemons spread over nodes, OSDs found on the
    /// nodes. Skips the one-host rules (`allowMultiplePerNode`, failure domain
    /// `osd`, replicas at most the OSDs in the spec, `spec.network.ports`,
    /// `spec.storage.files`, the MDS limit of one host).
    Kubernetes,
}

/// One broken rule: where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The object.
    pub object: ObjectRef,
    /// The field path inside the object, e.g. `spec.mon.count`.
    pub path: String,
    /// The value, the rule and the fix, e.g. `2 is even; use an odd number ...`.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.object, self.path, self.message)
    }
}

/// Everything wrong with a manifest, and the warnings found along the way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors {
    /// All broken rules, in manifest order.
    pub errors: Vec<FieldError>,
    /// The warnings, as [`Manifest::validate`] would have returned them.
    pub warnings: Vec<Warning>,
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [one] => write!(f, "the manifest is not valid: {one}"),
            all => {
                write!(f, "the manifest has {} problems:", all.len())?;
                for e in all {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl Manifest {
    /// Checks the manifest against the local runtime's rules. Returns every
    /// warning (unknown and ignored fields with their paths, advice, and
    /// [`Manifest::warnings`]) or, when any rule is broken, all the errors
    /// together with those warnings.
    ///
    /// Choices that differ from Rook: an even `mon.count` is an error (Rook only
    /// warns): it tolerates no more failures than one mon less. Failure domains
    /// other than `osd` and `host` are errors, and `host` with more than one copy
    /// too: all local OSDs share one host, so such a pool could never be placed.
    pub fn validate(&self) -> Result<Vec<Warning>, ValidationErrors> {
        self.validate_for(Platform::Local)
    }

    /// [`Manifest::validate`] for a platform: [`Platform::Kubernetes`] leaves out
    /// the rules that only hold on one host.
    pub fn validate_for(&self, platform: Platform) -> Result<Vec<Warning>, ValidationErrors> {
        let mut warnings = self.warnings.clone();
        self.cluster.report(&mut warnings);
        for pool in &self.pools {
            pool.report(&mut warnings);
        }
        for fs in &self.filesystems {
            fs.report(&mut warnings);
        }
        let mut errors = Vec::new();
        cluster::check(&self.cluster, platform, &mut errors, &mut warnings);
        pool::check(self, platform, &mut errors);
        filesystem::check(self, platform, &mut errors);
        if errors.is_empty() {
            Ok(warnings)
        } else {
            Err(ValidationErrors { errors, warnings })
        }
    }
}

/// Collects errors about one object.
struct Checker<'a> {
    object: ObjectRef,
    platform: Platform,
    errors: &'a mut Vec<FieldError>,
}

impl Checker<'_> {
    /// The one-host rules apply.
    fn local(&self) -> bool {
        self.platform == Platform::Local
    }

    fn error(&mut self, path: &str, message: String) {
        self.errors.push(FieldError {
            object: self.object.clone(),
            path: path.to_owned(),
            message,
        });
    }
}
