//! Rules for the `CephFilesystem`s: names (the filesystem's, its pools' and
//! its MDS daemons'), pools, metadata servers.

use std::collections::BTreeMap;

use super::limits::*;
use super::pool::{check_replication, osd_summary};
use super::{Checker, FieldError, Platform};
use crate::filesystem::data_pool_name;
use crate::meta::{label_problem, subdomain_problem};
use crate::{CephFilesystem, Manifest, ObjectRef};

pub(super) fn check(m: &Manifest, platform: Platform, errors: &mut Vec<FieldError>) {
    let (osds, osd_summary) = osd_summary(m);
    // Every Ceph pool name in use, and who defines it: a filesystem pool must
    // not be a block pool or another filesystem's pool.
    let mut pools: BTreeMap<String, (ObjectRef, String)> = m
        .pools
        .iter()
        .map(|p| {
            (
                p.pool_name().to_owned(),
                (p.object_ref(), "metadata.name".to_owned()),
            )
        })
        .collect();
    let mut names: BTreeMap<&str, ObjectRef> = BTreeMap::new();
    for fs in &m.filesystems {
        let mut c = Checker {
            object: fs.object_ref(),
            platform,
            errors,
        };
        let name_ok = check_name(fs, m, &mut c);
        if let Some(first) = names.get(fs.fs_name()) {
            c.error(
                "metadata.name",
                format!(
                    "the filesystem {:?} is also defined by {first}; give each filesystem its \
own name",
                    fs.fs_name()
                ),
            );
        } else {
            names.insert(fs.fs_name(), fs.object_ref());
        }
        let spec = &fs.spec;
        match &spec.metadata_pool {
            None => c.error(
                "spec.metadataPool",
                format!(
                    "missing; a filesystem needs a metadata pool: add metadataPool: \
{{replicated: {{size: {}}}}}",
                    osds.clamp(1, 3)
                ),
            ),
            Some(meta) => {
                check_replication(meta, "spec.metadataPool", None, osds, &osd_summary, &mut c);
                if name_ok {
                    claim(&mut pools, fs.metadata_pool_name(), "metadata.name", &mut c);
                }
            }
        }
        if spec.data_pools.is_empty() {
            c.error(
                "spec.dataPools",
                format!(
                    "missing or empty; a filesystem needs at least one data pool: add dataPools: \
[{{name: replicated, replicated: {{size: {}}}}}]",
                    osds.clamp(1, 3)
                ),
            );
        }
        for (i, pool) in spec.data_pools.iter().enumerate() {
            let path = format!("spec.dataPools[{i}]");
            let named = pool.name.as_deref().filter(|n| !n.is_empty());
            let mut pool_name_ok = name_ok;
            if let Some(n) = named {
                if let Some(problem) = label_problem(n) {
                    pool_name_ok = false;
                    c.error(
                        &format!("{path}.name"),
                        format!("{n:?} is not a valid data pool name: {problem}"),
                    );
                }
            }
            check_replication(pool, &path, None, osds, &osd_summary, &mut c);
            if pool_name_ok {
                let field = if named.is_some() {
                    format!("{path}.name")
                } else {
                    "metadata.name".to_owned()
                };
                claim(
                    &mut pools,
                    data_pool_name(fs.fs_name(), i, pool),
                    &field,
                    &mut c,
                );
            }
        }
        check_mds(fs, &mut c);
    }
}

/// The filesystem's name becomes pool names (`<fs>-metadata`) and MDS
/// names (`<fs>-a`): it must suit all three. Returns whether it does.
fn check_name(fs: &CephFilesystem, m: &Manifest, c: &mut Checker<'_>) -> bool {
    let meta = &fs.metadata;
    let name = &meta.name;
    let mut ok = true;
    if let Some(problem) = subdomain_problem(name) {
        ok = false;
        c.error(
            "metadata.name",
            format!("{name:?} is not a valid Kubernetes name: {problem}"),
        );
    } else if name.starts_with(|ch: char| ch.is_ascii_digit()) {
        ok = false;
        c.error(
            "metadata.name",
            format!(
                "{name:?} starts with a digit; the MDS daemons are named after the filesystem \
({name}-a) and Ceph refuses MDS names that start with a digit: start it with a letter"
            ),
        );
    } else if name.len() > MAX_FS_NAME {
        ok = false;
        c.error(
            "metadata.name",
            format!(
                "the filesystem name is {} characters long; its metadata pool \
{name}-metadata must fit in {MAX_POOL_NAME}: use at most {MAX_FS_NAME}",
                name.len()
            ),
        );
    }
    if let (Some(ns), Some(cluster_ns)) = (&meta.namespace, &m.cluster.metadata.namespace) {
        if ns != cluster_ns {
            c.error(
                "metadata.namespace",
                format!(
                    "{ns:?} differs from the CephCluster's namespace {cluster_ns:?}; a filesystem \
belongs to the cluster of its namespace: use {cluster_ns:?} or leave it out"
                ),
            );
        }
    }
    ok
}

/// Records that `pool` is made from `field` of the checked object; an error
/// when another object (or field) already makes a pool of that name.
fn claim(
    pools: &mut BTreeMap<String, (ObjectRef, String)>,
    pool: String,
    field: &str,
    c: &mut Checker<'_>,
) {
    if pool.len() > MAX_POOL_NAME {
        c.error(
            field,
            format!(
                "makes the pool name {pool:?}, {} characters long; rookery allows at most \
{MAX_POOL_NAME}: use a shorter name",
                pool.len()
            ),
        );
        return;
    }
    match pools.get(&pool) {
        Some((owner, owner_field)) => {
            let by = if *owner == c.object {
                format!("this filesystem's {owner_field}")
            } else {
                owner.to_string()
            };
            c.error(
                field,
                format!("makes the pool {pool:?}, which {by} makes too; give each its own name"),
            );
        }
        None => {
            pools.insert(pool, (c.object.clone(), field.to_owned()));
        }
    }
}

fn check_mds(fs: &CephFilesystem, c: &mut Checker<'_>) {
    let path = "spec.metadataServer.activeCount";
    match fs.spec.metadata_server.active_count {
        0 => c.error(
            path,
            "0; a filesystem needs at least one active metadata server: use 1".into(),
        ),
        n if c.local() && n > MAX_ACTIVE_MDS => c.error(
            path,
            format!(
                "{n} is more than {MAX_ACTIVE_MDS}; each active rank runs with a standby, so \
{} MDS daemons would run on this host: use 1 (more ranks only help many busy clients)",
                n * 2
            ),
        ),
        _ => {}
    }
}
