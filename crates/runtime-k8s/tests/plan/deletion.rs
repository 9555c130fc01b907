//! Deleting a CephCluster: refused while pools or filesystems exist; with
//! the cleanup confirmation the data is wiped by Jobs; without it, kept.

use crate::fixtures::*;
use crate::world::{finish_job, steady, World};
use rookery_runtime_k8s::plan::FinalizerChange;
use serde_json::json;

fn deleting_cluster(w: &mut World) {
    deleting(&mut w.input.cluster.metadata, "cephcluster.ceph.rook.io");
}

#[test]
fn deletion_waits_for_the_pools_and_filesystems() {
    let mut w = steady();
    deleting_cluster(&mut w);
    w.input.pools = vec![pool()];
    w.input.filesystems = vec![filesystem()];
    let plan = w.reconcile();
    assert_eq!(plan.writes(), ["status"]);
    assert_eq!(plan.finalizer, None);
    assert_eq!(plan.events[0].reason, "ClusterDeletionBlocked");
    assert_eq!(
        plan.events[0].message,
        "CephCluster rook-ceph is not deleted while these exist: CephBlockPool/replicapool, \
CephFilesystem/myfs; delete them first"
    );
    let s = &w.input.cluster.extra["status"];
    assert_eq!(s["phase"], "Deleting");
    let blocked = s["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "DeletionIsBlocked")
        .unwrap();
    assert_eq!(blocked["status"], "True");
    assert_eq!(blocked["reason"], "ObjectHasDependents");
}

#[test]
fn without_confirmation_the_workloads_go_and_the_data_stays() {
    let mut w = steady();
    deleting_cluster(&mut w);
    let plan = w.reconcile();
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
    assert_eq!(
        plan.writes(),
        [
            "delete ConfigMap/rook-ceph-mon-endpoints",
            "delete DaemonSet/rook-discover",
            "delete Deployment/rook-ceph-mgr-a",
            "delete Deployment/rook-ceph-mgr-b",
            "delete Deployment/rook-ceph-mon-a",
            "delete Deployment/rook-ceph-mon-b",
            "delete Deployment/rook-ceph-mon-c",
            "delete Deployment/rook-ceph-osd-0",
            "delete Deployment/rook-ceph-osd-1",
            "delete Deployment/rook-ceph-osd-2",
            "delete Job/rook-ceph-osd-prepare-n1",
            "delete Job/rook-ceph-osd-prepare-n2",
            "delete Job/rook-ceph-osd-prepare-n3",
            "delete Secret/rook-ceph-admin-keyring",
            "delete Secret/rook-ceph-config",
            "delete Secret/rook-ceph-mon",
            "delete Secret/rook-ceph-mons-keyring",
            "delete Service/rook-ceph-mgr",
            "delete Service/rook-ceph-mgr-dashboard",
            "delete Service/rook-ceph-mon-a",
            "delete Service/rook-ceph-mon-b",
            "delete Service/rook-ceph-mon-c",
            "remove finalizer",
        ]
    );
    assert_eq!(plan.events[0].reason, "ClusterDataKept");
    assert_eq!(
        plan.events[0].message,
        "the daemons are removed; their data stays in /var/lib/rook on nodes n1, n2, n3 and on \
the OSDs' disks (spec.cleanupPolicy.confirmation was not \"yes-really-destroy-data\")"
    );
    // Once the finalizer is gone there is nothing more to do.
    assert!(w.plan().is_empty());
}

#[test]
fn with_confirmation_cleanup_jobs_wipe_the_data_after_the_daemons_stop() {
    let mut w = steady();
    w.input.cluster.spec.extra.insert(
        "cleanupPolicy".into(),
        json!({"confirmation": "yes-really-destroy-data"}),
    );
    deleting_cluster(&mut w);
    // 1. The daemons stop first.
    let plan = w.reconcile();
    let deleted: Vec<String> = plan.delete.iter().map(|k| k.to_string()).collect();
    assert_eq!(deleted.len(), 9, "{deleted:?}");
    assert!(deleted
        .iter()
        .all(|k| k.starts_with("Deployment/") || k.starts_with("DaemonSet/")));
    assert_eq!(plan.finalizer, None);
    // 2. Then one cleanup Job per node that held a mon or an OSD.
    let plan = w.reconcile();
    assert_eq!(
        plan.writes(),
        [
            "create Job/cluster-cleanup-job-n1",
            "create Job/cluster-cleanup-job-n2",
            "create Job/cluster-cleanup-job-n3",
        ]
    );
    let job = serde_json::to_value(w.input.owned.job("cluster-cleanup-job-n2").unwrap()).unwrap();
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["nodeSelector"]["kubernetes.io/hostname"], "n2");
    assert_eq!(
        pod["containers"][0]["args"][0],
        "rm -rf /var/lib/rook/mon-* /var/lib/rook/rook-ceph"
    );
    assert_eq!(pod["volumes"][0]["hostPath"]["path"], "/var/lib/rook");
    // 3. Running: wait.
    let plan = w.reconcile();
    assert!(plan.writes().is_empty(), "{:?}", plan.writes());
    // 4. Done (one failed): the rest goes, the finalizer too, and it is said.
    finish_job(&mut w, "cluster-cleanup-job-n1", "Complete", at(10));
    finish_job(&mut w, "cluster-cleanup-job-n2", "Complete", at(10));
    finish_job(&mut w, "cluster-cleanup-job-n3", "Failed", at(10));
    let plan = w.reconcile();
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
    assert!(plan
        .writes()
        .contains(&"delete Secret/rook-ceph-mon".to_owned()));
    assert!(plan
        .writes()
        .contains(&"delete Job/cluster-cleanup-job-n1".to_owned()));
    let reasons: Vec<&str> = plan.events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["CleanupFailed", "ClusterDeleted"]);
    assert_eq!(
        plan.events[0].message,
        "cleanup failed on cluster-cleanup-job-n3: data may remain in /var/lib/rook there"
    );
}
