//! Devices becoming OSDs on Kubernetes: discover's inventory, a prepare
//! Job, its report, the OSD Deployment; gone and returning disks; a failed
//! prepare retried with backoff.

use crate::fixtures::*;
use crate::world::{finish_job, put_config_map, steady, World};
use rookery_runtime_k8s::plan::input::PoolState;
use rookery_runtime_k8s::plan::CephOp;

fn args(w: &World, kind: &str, name: &str) -> Vec<String> {
    let v = match kind {
        "Job" => serde_json::to_value(w.input.owned.job(name).unwrap()).unwrap(),
        _ => w.deployment(name),
    };
    let spec = &v["spec"]["template"]["spec"];
    let c = if kind == "Job" {
        &spec["containers"][0]
    } else {
        &spec["initContainers"][0]
    };
    c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// Steady, then a blank disk sdc appears on n1.
fn with_new_disk() -> World {
    let mut w = steady();
    put_config_map(
        &mut w,
        inventory(
            "n1",
            &[osd_disk("sdb", "wwn-1", "uuid-0"), disk("sdc", "wwn-1c")],
        ),
    );
    w
}

#[test]
fn a_new_device_gets_a_prepare_job_then_an_osd() {
    let mut w = with_new_disk();
    let plan = w.reconcile();
    assert_eq!(
        plan.writes(),
        ["replace Job/rook-ceph-osd-prepare-n1", "status"]
    );
    assert_eq!(
        args(&w, "Job", "rook-ceph-osd-prepare-n1"),
        [
            "osd",
            "prepare",
            "--node=n1",
            "--report=rook-ceph-osd-n1-status",
            "--device=/dev/sdc"
        ]
    );
    // Running: nothing to do but wait.
    assert!(w.reconcile().writes().is_empty());
    // Done: the report names the new OSD; its Deployment is made.
    finish_job(&mut w, "rook-ceph-osd-prepare-n1", "Complete", at(90));
    put_config_map(
        &mut w,
        report(
            "n1",
            "completed",
            "",
            vec![reported(0, "sdb", "wwn-1"), reported(3, "sdc", "wwn-1c")],
        ),
    );
    put_config_map(
        &mut w,
        inventory(
            "n1",
            &[
                osd_disk("sdb", "wwn-1", "uuid-0"),
                osd_disk("sdc", "wwn-1c", "uuid-3"),
            ],
        ),
    );
    let mut osd3 = w.ceph().osds[0].clone();
    osd3.id = 3;
    w.ceph().osds.push(osd3);
    let plan = w.reconcile();
    assert_eq!(
        plan.writes(),
        ["create Deployment/rook-ceph-osd-3", "status"]
    );
    let osd = w.deployment("rook-ceph-osd-3");
    assert_eq!(osd["metadata"]["labels"]["ceph-osd-id"], "3");
    assert_eq!(osd["metadata"]["labels"]["topology-location-host"], "n1");
    assert_eq!(
        osd["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/hostname"],
        "n1"
    );
    assert_eq!(
        args(&w, "Deployment", "rook-ceph-osd-3"),
        ["ceph-volume raw activate --device /dev/sdc --no-systemd --no-tmpfs"]
    );
    assert_eq!(w.reconcile().writes(), ["status"]);
    assert_eq!(w.input.cluster.extra["status"]["phase"], "Ready");
    assert!(w.plan().is_empty(), "{:?}", w.plan().writes());
}

#[test]
fn a_failed_prepare_is_reported_and_retried_with_backoff() {
    let mut w = with_new_disk();
    w.reconcile();
    finish_job(&mut w, "rook-ceph-osd-prepare-n1", "Failed", at(100));
    // Even an OSD the failed report names is not trusted: nothing half-made.
    put_config_map(
        &mut w,
        report(
            "n1",
            "failed",
            "ceph-volume raw prepare /dev/sdc: device busy",
            vec![reported(0, "sdb", "wwn-1"), reported(3, "sdc", "wwn-1c")],
        ),
    );
    w.input.now = at(110);
    let plan = w.reconcile();
    assert_eq!(plan.writes(), ["status"]);
    assert_eq!(plan.requeue_after_secs, Some(20));
    let s = &w.input.cluster.extra["status"];
    assert_eq!(s["phase"], "Failure");
    assert_eq!(s["conditions"][2]["reason"], "OSDPrepareFailed");
    assert_eq!(
        s["message"],
        "OSD prepare on node n1 failed (attempt 1): ceph-volume raw prepare /dev/sdc: device busy"
    );
    // The OSDs of the last completed run are gone with the report: they
    // are left running, not deleted.
    assert!(w.input.owned.deployment("rook-ceph-osd-0").is_some());
    assert!(w.input.owned.deployment("rook-ceph-osd-3").is_none());

    // After 30 s: run again, attempt 2, and say so.
    w.input.now = at(131);
    let plan = w.reconcile();
    assert_eq!(plan.writes(), ["replace Job/rook-ceph-osd-prepare-n1"]);
    assert_eq!(plan.events[0].reason, "OSDPrepareFailed");
    let job = w.input.owned.job("rook-ceph-osd-prepare-n1").unwrap();
    assert_eq!(
        job.metadata.annotations.as_ref().unwrap()["rookery.io/attempt"],
        "2"
    );

    // It fails again: the next wait is a minute.
    finish_job(&mut w, "rook-ceph-osd-prepare-n1", "Failed", at(200));
    w.input.now = at(230);
    let plan = w.reconcile();
    assert!(plan.replace.is_empty());
    assert_eq!(plan.requeue_after_secs, Some(30));
    w.input.now = at(261);
    assert_eq!(
        w.reconcile().writes(),
        ["replace Job/rook-ceph-osd-prepare-n1"]
    );
    // Running again: progressing.
    w.reconcile();
    assert_eq!(w.input.cluster.extra["status"]["phase"], "Progressing");
}

#[test]
fn a_gone_disk_scales_its_osd_to_zero_and_out_and_back_in() {
    let mut w = steady();
    put_config_map(&mut w, inventory("n2", &[]));
    let plan = w.reconcile();
    assert_eq!(
        plan.writes(),
        ["update Deployment/rook-ceph-osd-1", "status"]
    );
    assert_eq!(plan.ceph, [CephOp::OsdOut { id: 1 }]);
    assert_eq!(plan.events[0].reason, "OSDDiskGone");
    assert_eq!(
        plan.events[0].message,
        "osd.1 on node n2: disk gone: /dev/sdb (WWN wwn-2); scaled to 0 and marked out"
    );
    assert_eq!(w.deployment("rook-ceph-osd-1")["spec"]["replicas"], 0);
    // Said once.
    let plan = w.reconcile();
    assert!(plan.events.is_empty() && plan.ceph.is_empty(), "{plan:?}");

    // Back under another name.
    put_config_map(
        &mut w,
        inventory("n2", &[osd_disk("sdd", "wwn-2", "uuid-1")]),
    );
    let plan = w.reconcile();
    assert_eq!(plan.ceph, [CephOp::OsdIn { id: 1 }]);
    assert_eq!(w.deployment("rook-ceph-osd-1")["spec"]["replicas"], 1);
    assert_eq!(
        args(&w, "Deployment", "rook-ceph-osd-1"),
        ["ceph-volume raw activate --device /dev/sdd --no-systemd --no-tmpfs"]
    );
}

#[test]
fn a_gone_out_osd_is_purged_only_when_core_says_it_is_safe() {
    let mut w = steady();
    w.input
        .cluster
        .spec
        .extra
        .insert("removeOSDsIfOutAndSafeToRemove".into(), true.into());
    put_config_map(&mut w, inventory("n3", &[]));
    w.reconcile();
    w.ceph().osds[2].in_ = false;
    w.ceph().osds[2].up = false;
    w.ceph().pools = vec![PoolState {
        size: 3,
        ..pool_state("replicapool", 3, 2, "replicapool_host", "rbd")
    }];
    let plan = w.reconcile();
    assert!(plan.ceph.is_empty());
    assert_eq!(plan.events[0].reason, "OSDRemovalRefused");
    assert_eq!(
        plan.events[0].message,
        "osd.2 is not purged: pool replicapool has size 3 and only 2 OSDs would remain up and in"
    );
    w.ceph().pools[0].size = 2;
    let plan = w.reconcile();
    assert_eq!(plan.ceph, [CephOp::OsdPurge { id: 2 }]);
    assert!(plan
        .writes()
        .contains(&"delete Deployment/rook-ceph-osd-2".to_owned()));
}

#[test]
fn nodes_are_waited_for_until_discover_reports() {
    let mut w = World::new(cluster(), three_nodes());
    w.reconcile();
    w.reconcile();
    w.input.ceph = Some(healthy(&["a", "b", "c"], &[]));
    w.settle(4);
    assert!(w.input.owned.jobs.is_empty());
    let message = w.input.cluster.extra["status"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.ends_with(
            "waiting for the device inventory of node n1, the device inventory of node n2, \
the device inventory of node n3"
        ),
        "{message}"
    );
}

#[test]
fn only_the_nodes_and_devices_the_spec_selects_are_prepared() {
    let mut c = cluster();
    c.spec.storage.use_all_nodes = Some(false);
    c.spec.storage.nodes = vec![
        serde_json::json!({"name": "n2", "devices": [{"name": "sdc"}]}),
        serde_json::json!({"name": "n9"}),
    ];
    let mut w = World::new(c, three_nodes());
    for i in 1..=3 {
        put_config_map(
            &mut w,
            inventory(&format!("n{i}"), &[disk("sdb", "b"), disk("sdc", "c")]),
        );
    }
    w.reconcile();
    w.reconcile();
    w.input.ceph = Some(healthy(&["a", "b", "c"], &[]));
    w.settle(4);
    let jobs: Vec<_> = w
        .input
        .owned
        .jobs
        .iter()
        .map(|j| j.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(jobs, ["rook-ceph-osd-prepare-n2"]);
    assert_eq!(
        args(&w, "Job", "rook-ceph-osd-prepare-n2")[4],
        "--device=/dev/sdc"
    );
}
