//! A CephCluster's plan: the mons, the mgrs, the OSDs (discover, prepare,
//! Deployments), the CSI users, converged with what exists, and the status.

use rookery_api::status::ClusterStatus;

use super::deletion::plan_deletion;
use super::diff::converge;
use super::input::{CephObserved, ClusterInput, Owned};
use super::meta::{extra_str, finalizers, generation};
use super::mgr::{caps, plan_mgrs};
use super::mon::Keys;
use super::monmap::{plan_mons, MonPlan};
use super::ops::{CephOp, KeyFormat, KeySecret};
use super::osd::{orphans, plan_osds};
use super::pod::Runtime;
use super::status::{changed, cluster_status, current, Phase};
use super::{discover, FinalizerChange, Plan, StatusWrite, CLUSTER_FINALIZER};

/// Plans one reconcile of a CephCluster.
pub fn plan_cluster(input: &ClusterInput) -> Plan {
    let cluster = &input.cluster;
    if extra_str(&cluster.metadata, "deletionTimestamp").is_some() {
        return plan_deletion(input);
    }
    let rt = Runtime::of(cluster);
    let owned = &input.owned;
    let ceph = input.ceph.as_ref();
    let keys = Keys::read(owned, &input.fresh);
    let mut mons = plan_mons(&rt, cluster, &keys, owned, &input.nodes, ceph);
    let (mgr_objects, mgr_ops) = plan_mgrs(&rt, cluster, &keys, owned, ceph);
    let osds = plan_osds(&rt, &keys, input);
    let mut desired = std::mem::take(&mut mons.objects);
    desired.extend(mgr_objects);
    desired.extend(osds.objects);
    desired.push(discover::daemon_set(&rt, &input.operator_image));
    let mut keep = osds.keep;
    keep.extend(std::mem::take(&mut mons.keep));
    keep.extend(
        orphans(owned, &desired)
            .into_iter()
            .filter(|k| !osds.delete.contains(k)),
    );
    // A Job replaced is not to be created or deleted besides.
    keep.extend(osds.replace.iter().map(|o| o.key()));
    let mut plan = converge(desired, owned, &rt.owner, &keep);
    plan.replace = osds.replace;
    plan.delete.extend(osds.delete);
    plan.ceph.extend(std::mem::take(&mut mons.ceph));
    plan.ceph.extend(mgr_ops);
    if let Some(ceph) = ceph {
        plan.ceph.extend(csi_users(owned, ceph));
    }
    plan.ceph.extend(osds.ceph);
    plan.events.extend(std::mem::take(&mut mons.events));
    plan.events.extend(osds.events);
    plan.requeue_after_secs = [mons.requeue_after_secs, osds.requeue_after_secs]
        .into_iter()
        .flatten()
        .min();
    if !finalizers(&cluster.metadata)
        .iter()
        .any(|f| f == CLUSTER_FINALIZER)
    {
        plan.finalizer = Some(FinalizerChange::Add);
    }
    let phase = phase(&plan, ceph, &mons, &osds.failures, &osds.waiting);
    let previous: Option<ClusterStatus> = current(&cluster.extra);
    let status = cluster_status(
        &phase,
        previous.as_ref(),
        ceph,
        &rt.image,
        generation(&cluster.metadata),
        input.now,
    );
    if changed(previous.as_ref(), &status) {
        plan.status = Some(StatusWrite::Cluster(Box::new(status)));
    }
    plan.sort();
    plan
}

fn phase(
    plan: &Plan,
    ceph: Option<&CephObserved>,
    mons: &MonPlan,
    failures: &[String],
    waiting: &[String],
) -> Phase {
    if let (Some(reason), Some(message)) = (mons.failure, &mons.problem) {
        return Phase::new("Failure", reason, message.clone());
    }
    if !failures.is_empty() {
        let reason = if failures.iter().any(|f| f.contains("OSD prepare")) {
            "OSDPrepareFailed"
        } else {
            "ReconcileFailed"
        };
        return Phase::new("Failure", reason, failures.join("; "));
    }
    if ceph.is_none() {
        return Phase::new("Progressing", "ClusterProgressing", "Configuring Ceph Mons");
    }
    if let Some(problem) = &mons.problem {
        return Phase::new("Progressing", "MonProgressing", problem.clone());
    }
    let busy = !plan.create.is_empty()
        || !plan.update.is_empty()
        || !plan.replace.is_empty()
        || !plan.delete.is_empty()
        || !plan.ceph.is_empty();
    if busy || !waiting.is_empty() {
        let mut message = "Configuring the Ceph cluster".to_owned();
        if !waiting.is_empty() {
            message = format!("{message}: waiting for {}", waiting.join(", "));
        }
        return Phase::new("Progressing", "ClusterProgressing", message);
    }
    Phase::new("Ready", "ClusterCreated", "Cluster created successfully")
}

/// A ceph-csi user, as Rook makes it.
struct CsiUser {
    name: &'static str,
    caps: &'static [(&'static str, &'static str)],
    id_field: &'static str,
    key_field: &'static str,
}

/// Rook's four ceph-csi users; the Secret of each is `rook-<name>`.
const CSI_USERS: [CsiUser; 4] = [
    CsiUser {
        name: "csi-rbd-provisioner",
        caps: &[
            ("mgr", "allow rw"),
            ("mon", "profile rbd, allow command \"osd blocklist\""),
            ("osd", "profile rbd"),
        ],
        id_field: "userID",
        key_field: "userKey",
    },
    CsiUser {
        name: "csi-rbd-node",
        caps: &[("mon", "profile rbd"), ("osd", "profile rbd")],
        id_field: "userID",
        key_field: "userKey",
    },
    CsiUser {
        name: "csi-cephfs-provisioner",
        caps: &[
            ("mds", "allow *"),
            ("mgr", "allow rw"),
            ("mon", "allow r, allow command \"osd blocklist\""),
            ("osd", "allow rw tag cephfs metadata=*"),
        ],
        id_field: "adminID",
        key_field: "adminKey",
    },
    CsiUser {
        name: "csi-cephfs-node",
        caps: &[
            ("mds", "allow rw"),
            ("mgr", "allow rw"),
            ("mon", "allow r"),
            ("osd", "allow rw tag cephfs *=*"),
        ],
        id_field: "adminID",
        key_field: "adminKey",
    },
];

/// The ceph-csi users and their Secrets, made once; `auth get-or-create`
/// returns the existing key when the user exists and only its Secret is
/// missing.
pub fn csi_users(owned: &Owned, ceph: &CephObserved) -> Vec<CephOp> {
    CSI_USERS
        .iter()
        .filter_map(|u| {
            let secret = format!("rook-{}", u.name);
            let entity = format!("client.{}", u.name);
            if ceph.has_user(&entity) && owned.secret(&secret).is_some() {
                return None;
            }
            Some(CephOp::AuthGetOrCreate {
                entity,
                caps: caps(u.caps),
                secret: KeySecret {
                    name: secret,
                    format: KeyFormat::Csi {
                        user: u.name.into(),
                        id_field: u.id_field.into(),
                        key_field: u.key_field.into(),
                    },
                },
            })
        })
        .collect()
}
