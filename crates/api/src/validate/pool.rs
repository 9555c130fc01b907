//! Rules for the `CephBlockPool`s: names, namespace, replication.

use std::collections::BTreeMap;

use super::limits::*;
use super::{Checker, FieldError, Platform};
use crate::meta::subdomain_problem;
use crate::warnings::join;
use crate::{CephBlockPool, Manifest, ObjectRef, PoolSpec};

/// The OSD count, and how the spec arrives at it, for messages.
pub(super) fn osd_summary(m: &Manifest) -> (u32, String) {
    let osds = m.cluster.spec.osd_count();
    let storage = &m.cluster.spec.storage;
    let summary = format!(
        "{osds} (spec.storage: {} file{}, {} device{})",
        storage.files.count,
        plural(storage.files.count as usize),
        storage.devices.len(),
        plural(storage.devices.len())
    );
    (osds, summary)
}

pub(super) fn check(m: &Manifest, platform: Platform, errors: &mut Vec<FieldError>) {
    let (osds, osd_summary) = osd_summary(m);
    let mut names: BTreeMap<&str, ObjectRef> = BTreeMap::new();
    for pool in &m.pools {
        let mut c = Checker {
            object: pool.object_ref(),
            platform,
            errors,
        };
        check_pool_names(pool, m, &mut c);
        let name = pool.pool_name();
        if let Some(first) = names.get(name) {
            c.error(
                name_field(pool),
                format!(
                    "the pool {name:?} is also defined by {first}; give each pool its own name"
                ),
            );
        } else {
            names.insert(name, pool.object_ref());
        }
        let defaulted = m.pools_defaulted.then_some(
            "this is the default pool, added because the manifest has no CephBlockPool: \
add OSDs, or add a CephBlockPool with",
        );
        check_replication(&pool.spec, "spec", defaulted, osds, &osd_summary, &mut c);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The field the Ceph pool name comes from.
fn name_field(pool: &CephBlockPool) -> &'static str {
    if pool.spec.name.as_deref().is_some_and(|n| !n.is_empty()) {
        "spec.name"
    } else {
        "metadata.name"
    }
}

fn check_pool_names(pool: &CephBlockPool, m: &Manifest, c: &mut Checker<'_>) {
    let meta = &pool.metadata;
    match subdomain_problem(&meta.name) {
        Some(problem) => c.error(
            "metadata.name",
            format!("{:?} is not a valid Kubernetes name: {problem}", meta.name),
        ),
        None if name_field(pool) == "metadata.name" && meta.name.len() > MAX_POOL_NAME => c.error(
            "metadata.name",
            format!(
                "the pool name is {} characters long; rookery allows at most {MAX_POOL_NAME}: \
use a shorter name",
                meta.name.len()
            ),
        ),
        None => {}
    }
    if let Some(name) = pool.spec.name.as_deref().filter(|n| !n.is_empty()) {
        if !BUILTIN_POOL_NAMES.contains(&name) {
            c.error(
                "spec.name",
                format!(
                    "{name:?} is not allowed; Rook takes spec.name only for the built-in pools \
{}: remove spec.name and set metadata.name instead",
                    BUILTIN_POOL_NAMES.join(", ")
                ),
            );
        }
    }
    if let (Some(ns), Some(cluster_ns)) = (&meta.namespace, &m.cluster.metadata.namespace) {
        if ns != cluster_ns {
            c.error(
                "metadata.namespace",
                format!(
                    "{ns:?} differs from the CephCluster's namespace {cluster_ns:?}; a pool \
belongs to the cluster of its namespace: use {cluster_ns:?} or leave it out"
                ),
            );
        }
    }
}

/// Size, failure domain and erasure coding of the pool spec at `path`.
/// `defaulted` is the start of the fix when the pool was added by default
/// (it is followed by `replicated.size N or less`).
pub(super) fn check_replication(
    spec: &PoolSpec,
    path: &str,
    defaulted: Option<&str>,
    osds: u32,
    osd_summary: &str,
    c: &mut Checker<'_>,
) {
    let rep = &spec.replicated;
    let size = rep.size;
    let size_path = join(path, "replicated.size");
    match size {
        0 => c.error(
            &size_path,
            "0; a pool keeps at least one copy: use 3 (or 2, or 1 with \
requireSafeReplicaSize: false)"
                .into(),
        ),
        n if n > MAX_REPLICAS => c.error(
            &size_path,
            format!("{n} is more than {MAX_REPLICAS} copies; use 3"),
        ),
        n if c.local() && osds > 0 && n > osds => {
            let fix = match defaulted {
                Some(start) => format!("{start} replicated.size {osds} or less"),
                None => format!("add OSDs or set {size_path} to {osds} or less"),
            };
            c.error(
                &size_path,
                format!("{n} copies need {n} OSDs, but the cluster has {osd_summary}; {fix}"),
            );
        }
        _ => {}
    }
    if size == 1 && rep.require_safe_replica_size {
        c.error(
            &size_path,
            format!(
                "1 keeps a single copy, so losing one OSD loses data; as in Rook, this needs \
{}: false, or use size 3",
                join(path, "replicated.requireSafeReplicaSize")
            ),
        );
    }
    let domain = spec.failure_domain();
    let domain_path = join(path, "failureDomain");
    if !c.local() {
        // Across nodes any CRUSH bucket type works; Ceph refuses an unknown one.
    } else if !FAILURE_DOMAINS.contains(&domain) {
        c.error(
            &domain_path,
            format!(
                "{domain:?} is not supported by the local runtime, which has one host; use osd"
            ),
        );
    } else if domain == "host" && size > 1 {
        c.error(
            &domain_path,
            format!(
                "\"host\" with {size} copies cannot work on the local runtime: all OSDs are on \
this host, so only one copy could be placed and the pool would block I/O; use osd"
            ),
        );
    }
    if let Some(ec) = spec.extra.get("erasureCoded") {
        let chunks = |k: &str| ec.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        if chunks("dataChunks") > 0 || chunks("codingChunks") > 0 {
            let ec_path = join(path, "erasureCoded");
            c.error(
                &ec_path,
                format!(
                    "erasure-coded pools are not supported by rookery yet; remove {ec_path} \
to get a replicated pool"
                ),
            );
        }
    }
}
