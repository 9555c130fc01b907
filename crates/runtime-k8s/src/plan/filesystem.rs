//! CephFilesystem -> its pools (`<fs>-metadata`, `<fs>-<data pool>`), `fs
//! new`, `max_mds` and standby-replay, and one MDS Deployment per daemon
//! (`rook-ceph-mds-<fs>-a`...), owned by the CephFilesystem. On deletion the
//! MDS Deployments go; the Ceph filesystem and its pools are kept (rookery
//! never deletes a filesystem's data, whatever `preserveFilesystemOnDelete`).

use k8s_openapi::jiff::Timestamp;
use rookery_api::status::ObjectStatus;
use rookery_api::{CephCluster, CephFilesystem, CEPHFS_APPLICATION};
use rookery_core::naming::mds_ids;

use super::diff::converge;
use super::input::{CephObserved, Owned};
use super::meta::{daemon_labels, extra_str, finalizers, generation, selector_labels, Owner};
use super::mgr::{caps, keyring_secret};
use super::mon::KEYS_SECRET;
use super::object::Object;
use super::ops::{CephOp, KeyFormat, KeySecret};
use super::pod::{self, Runtime};
use super::pool::{object_status, pool_ops};
use super::status::{changed, current, Phase};
use super::{Event, FinalizerChange, Plan, StatusWrite, FILESYSTEM_FINALIZER};

/// `rook-ceph-mds-<mds id>` (the id is `<fs>-a`...).
pub fn mds_name(id: &str) -> String {
    format!("rook-ceph-mds-{id}")
}

/// Plans one CephFilesystem of `cluster`.
pub fn plan_filesystem(
    fs: &CephFilesystem,
    cluster: &CephCluster,
    owned: &Owned,
    ceph: Option<&CephObserved>,
    now: Timestamp,
) -> Plan {
    let mut rt = Runtime::of(cluster);
    rt.owner = Owner::filesystem(fs);
    let name = fs.fs_name().to_owned();
    let has_finalizer = finalizers(&fs.metadata)
        .iter()
        .any(|f| f == FILESYSTEM_FINALIZER);
    if extra_str(&fs.metadata, "deletionTimestamp").is_some() {
        if !has_finalizer {
            return Plan::default();
        }
        let mut plan = converge(Vec::new(), owned, &rt.owner, &[]);
        plan.events.push(Event::normal(
            "FilesystemKept",
            format!(
                "CephFilesystem {name} deleted: its MDS daemons are removed; the Ceph filesystem \
{name} and its pools are kept with their data"
            ),
        ));
        plan.finalizer = Some(FinalizerChange::Remove);
        return plan;
    }
    let mut desired = Vec::new();
    let mut ops = Vec::new();
    let fsid = owned.secret_value(KEYS_SECRET, "fsid");
    for id in mds_ids(&name, fs.mds_count()) {
        let secret = keyring_secret(&format!("mds-{id}"));
        match (&fsid, owned.secret(&secret)) {
            (Some(fsid), Some(_)) => desired.push(deployment(&rt, fsid, &name, &id)),
            _ if ceph.is_some() => ops.push(CephOp::AuthGetOrCreate {
                entity: format!("mds.{id}"),
                caps: caps(&[
                    ("mds", "allow"),
                    ("mon", "allow profile mds"),
                    ("osd", "allow *"),
                ]),
                secret: KeySecret {
                    name: secret,
                    format: KeyFormat::Keyring,
                },
            }),
            _ => {}
        }
    }
    let mut plan = converge(desired, owned, &rt.owner, &[]);
    if !has_finalizer {
        plan.finalizer = Some(FinalizerChange::Add);
    }
    let phase = match ceph {
        None => {
            plan.requeue_after_secs = Some(15);
            Phase::new(
                "Progressing",
                "FilesystemProgressing",
                "waiting for the Ceph cluster",
            )
        }
        Some(ceph) => {
            let mut fs_ops = pools_and_fs(fs, ceph);
            fs_ops.extend(ops);
            plan.ceph = fs_ops;
            if plan.ceph.is_empty() && plan.create.is_empty() && plan.update.is_empty() {
                Phase::new(
                    "Ready",
                    "FilesystemCreated",
                    format!("filesystem {name} is as specified"),
                )
            } else {
                Phase::new(
                    "Progressing",
                    "FilesystemProgressing",
                    format!("configuring filesystem {name}"),
                )
            }
        }
    };
    let previous: Option<ObjectStatus> = current(&fs.extra);
    let status = object_status(
        &phase,
        previous.as_ref(),
        Default::default(),
        generation(&fs.metadata),
        now,
    );
    if changed(previous.as_ref(), &status) {
        plan.status = Some(StatusWrite::Object(status));
    }
    plan
}

/// The pools, then `fs new` / `fs add_data_pool`, then `max_mds` and
/// `allow_standby_replay`.
fn pools_and_fs(fs: &CephFilesystem, ceph: &CephObserved) -> Vec<CephOp> {
    let name = fs.fs_name();
    let meta_name = fs.metadata_pool_name();
    let data_names = fs.data_pool_names();
    let meta_spec = fs.spec.metadata_pool.clone().unwrap_or_default();
    let mut ops = pool_ops(&meta_name, &meta_spec, CEPHFS_APPLICATION, ceph);
    for (spec, pool) in fs.spec.data_pools.iter().zip(&data_names) {
        ops.extend(pool_ops(pool, spec, CEPHFS_APPLICATION, ceph));
    }
    let server = &fs.spec.metadata_server;
    let set = |var: &str, value: String| CephOp::FsSet {
        fs: name.into(),
        var: var.into(),
        value,
    };
    let existing = ceph.filesystem(name);
    match (existing, data_names.first()) {
        (None, Some(first)) => {
            ops.push(CephOp::FsNew {
                fs: name.into(),
                metadata_pool: meta_name.clone(),
                data_pool: first.clone(),
            });
            for pool in &data_names[1..] {
                ops.push(CephOp::FsAddDataPool {
                    fs: name.into(),
                    pool: pool.clone(),
                });
            }
            ops.push(set("max_mds", server.active_count.to_string()));
            ops.push(set(
                "allow_standby_replay",
                server.active_standby.to_string(),
            ));
        }
        (Some(f), _) => {
            for pool in &data_names {
                if !f.data_pools.contains(pool) {
                    ops.push(CephOp::FsAddDataPool {
                        fs: name.into(),
                        pool: pool.clone(),
                    });
                }
            }
            if f.max_mds != server.active_count {
                ops.push(set("max_mds", server.active_count.to_string()));
            }
            if f.standby_replay != server.active_standby {
                ops.push(set(
                    "allow_standby_replay",
                    server.active_standby.to_string(),
                ));
            }
        }
        (None, None) => {}
    }
    ops
}

fn deployment(rt: &Runtime, fsid: &str, fs: &str, id: &str) -> Object {
    let (volumes, mounts) = pod::split(vec![
        pod::keyring(&keyring_secret(&format!("mds-{id}"))),
        pod::scratch_dir(&format!("/var/lib/ceph/mds/ceph-{id}")),
    ]);
    let mut mds = rt.container("mds", &["ceph-mds"], rt.daemon_args(fsid, id));
    mds.volume_mounts = Some(mounts);
    let pod = rt.pod(Vec::new(), vec![mds], volumes, None);
    let mut labels = daemon_labels(&rt.owner, "mds", id);
    labels.insert("rook_file_system".into(), fs.into());
    rt.deployment(
        &mds_name(id),
        labels,
        selector_labels(&rt.owner, "mds", id),
        pod,
        1,
    )
    .into()
}
