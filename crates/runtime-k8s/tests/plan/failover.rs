//! Mon failover and mon count changes: core's decision, carried out step
//! by step across reconciles, the step recorded on the endpoints ConfigMap.

use crate::fixtures::*;
use crate::world::{steady, World};
use rookery_runtime_k8s::plan::mon::CHANGE_ANNOTATION;
use rookery_runtime_k8s::plan::{plan_cluster, CephOp};

fn step(w: &World) -> Option<String> {
    let cm = w.input.owned.config_map("rook-ceph-mon-endpoints")?;
    let text = cm.metadata.annotations.as_ref()?.get(CHANGE_ANNOTATION)?;
    if text.is_empty() {
        return None;
    }
    let change: serde_json::Value = serde_json::from_str(text).unwrap();
    Some(change["step"].as_str().unwrap().to_owned())
}

fn reasons(plan: &rookery_runtime_k8s::plan::Plan) -> Vec<&str> {
    plan.events.iter().map(|e| e.reason.as_str()).collect()
}

#[test]
fn a_mon_out_of_quorum_waits_for_the_timeout() {
    let mut w = steady();
    out_of_quorum(w.ceph(), "b", 300);
    let plan = w.reconcile();
    assert_eq!(plan.writes(), ["status"]);
    assert_eq!(plan.requeue_after_secs, Some(300));
    let message = w.input.cluster.extra["status"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(message, "mon.b out of quorum for 300s; replaced after 600s");
}

#[test]
fn failover_replaces_the_mon_step_by_step() {
    let mut w = steady();
    out_of_quorum(w.ceph(), "b", 601);

    // 1. Start: record the change (Create), the new mon's Service, on n2
    //    (the only node without a mon once b goes: b's own node).
    let plan = w.reconcile();
    assert_eq!(
        plan.writes(),
        [
            "create Service/rook-ceph-mon-d",
            "update ConfigMap/rook-ceph-mon-endpoints",
            "status"
        ]
    );
    assert_eq!(reasons(&plan), ["MonChangeStarted"]);
    assert_eq!(
        plan.events[0].message,
        "replacing mon.b by mon.d (out of quorum for 601s)"
    );
    assert_eq!(step(&w).as_deref(), Some("create"));
    assert_eq!(w.config("rook-ceph-mon-endpoints", "maxMonId"), "3");

    // A restarted operator plans the same from the same objects.
    let again = plan_cluster(&w.input.clone());
    assert_eq!(again.writes(), w.plan().writes());

    // 2. The Service has its ClusterIP: d's address is recorded, it runs (Join).
    let plan = w.reconcile();
    assert_eq!(
        plan.writes(),
        [
            "create Deployment/rook-ceph-mon-d",
            "update ConfigMap/rook-ceph-mon-endpoints",
            "update Secret/rook-ceph-config",
            "status"
        ]
    );
    assert_eq!(step(&w).as_deref(), Some("join"));
    let d = w.deployment("rook-ceph-mon-d");
    assert_eq!(
        d["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/hostname"],
        "n2"
    );

    // Not in quorum yet: nothing changes.
    let plan = w.reconcile();
    assert!(plan.writes().is_empty(), "{:?}", plan.writes());
    assert_eq!(plan.requeue_after_secs, Some(10));

    // 3. d joined: b is stopped (out of quorum) and removed from the monmap.
    let ceph = w.ceph();
    ceph.mons.monmap.push("d".into());
    ceph.mons.quorum.push("d".into());
    let plan = w.reconcile();
    assert_eq!(plan.ceph, [CephOp::MonRemove { name: "b".into() }]);
    assert_eq!(
        plan.writes(),
        [
            "update ConfigMap/rook-ceph-mon-endpoints",
            "update Deployment/rook-ceph-mon-b",
            "status"
        ]
    );
    assert_eq!(w.deployment("rook-ceph-mon-b")["spec"]["replicas"], 0);
    assert_eq!(step(&w).as_deref(), Some("remove"));

    // 4. The monmap no longer has b: its Deployment and Service go.
    let ceph = w.ceph();
    ceph.mons.monmap.retain(|m| m != "b");
    ceph.mons.out_for.clear();
    let plan = w.reconcile();
    assert_eq!(
        plan.writes(),
        [
            "update ConfigMap/rook-ceph-mon-endpoints",
            "update Secret/rook-ceph-config",
            "delete Deployment/rook-ceph-mon-b",
            "delete Service/rook-ceph-mon-b",
            "status"
        ]
    );
    assert_eq!(reasons(&plan), ["MonFailover"]);
    assert_eq!(
        plan.events[0].message,
        "mon.b out of quorum for 601s: replaced by mon.d"
    );
    assert_eq!(step(&w), None);
    assert_eq!(
        w.config("rook-ceph-mon-endpoints", "data"),
        "a=10.96.0.3:6789,c=10.96.0.5:6789,d=10.96.0.6:6789"
    );
    // Ready again, then steady.
    assert_eq!(w.reconcile().writes(), ["status"]);
    assert_eq!(w.input.cluster.extra["status"]["phase"], "Ready");
    assert!(w.plan().is_empty(), "{:?}", w.plan().writes());
}

#[test]
fn failover_that_is_disabled_is_held_and_said() {
    let mut w = steady();
    w.input.cluster.spec.health_check.daemon_health.mon.disabled = true;
    out_of_quorum(w.ceph(), "c", 700);
    let plan = w.reconcile();
    assert_eq!(reasons(&plan), ["MonFailoverHeld"]);
    assert!(plan.ceph.is_empty());
    assert!(w.input.owned.service("rook-ceph-mon-d").is_none());
}

#[test]
fn scale_from_one_mon_to_three_adds_one_at_a_time() {
    let mut c = cluster();
    c.spec.mon.count = 1;
    let mut w = World::new(c, three_nodes());
    w.reconcile();
    w.reconcile();
    w.input.ceph = Some(healthy(&["a"], &[]));
    w.settle(4);
    assert_eq!(
        w.config("rook-ceph-mon-endpoints", "data"),
        "a=10.96.0.3:6789"
    );

    w.input.cluster.spec.mon.count = 3;
    let mut added = Vec::new();
    for _ in 0..12 {
        let plan = w.reconcile();
        for e in &plan.events {
            added.push(format!("{}: {}", e.reason, e.message));
        }
        // Each new mon joins as soon as it runs.
        let running: Vec<String> = w
            .input
            .owned
            .deployments
            .iter()
            .filter_map(|d| d.metadata.name.as_deref()?.strip_prefix("rook-ceph-mon-"))
            .map(str::to_owned)
            .collect();
        let ceph = w.ceph();
        for id in running {
            if !ceph.mons.monmap.contains(&id) {
                ceph.mons.monmap.push(id.clone());
                ceph.mons.quorum.push(id);
            }
        }
    }
    assert_eq!(
        added,
        [
            "MonChangeStarted: adding mon.b (spec.mon.count is 3)",
            "MonAdded: mon.b added (spec.mon.count is 3)",
            "MonChangeStarted: adding mon.c (spec.mon.count is 3)",
            "MonAdded: mon.c added (spec.mon.count is 3)",
        ]
    );
    let mapping = w.config("rook-ceph-mon-endpoints", "mapping");
    for node in ["n1", "n2", "n3"] {
        assert!(mapping.contains(node), "{mapping}");
    }
    assert_eq!(w.config("rook-ceph-mon-endpoints", "maxMonId"), "2");
    assert!(w.plan().is_empty(), "{:?}", w.plan().writes());
}

#[test]
fn scale_down_removes_the_newest_mon_from_the_monmap_first() {
    let mut w = steady();
    w.input.cluster.spec.mon.count = 1;
    let plan = w.reconcile();
    assert_eq!(plan.ceph, [CephOp::MonRemove { name: "c".into() }]);
    // c is in quorum: it keeps running until the monmap is without it.
    assert_eq!(w.deployment("rook-ceph-mon-c")["spec"]["replicas"], 1);
    w.ceph().mons.monmap.retain(|m| m != "c");
    w.ceph().mons.quorum.retain(|m| m != "c");
    let plan = w.reconcile();
    assert!(plan
        .writes()
        .contains(&"delete Deployment/rook-ceph-mon-c".to_owned()));
    assert_eq!(reasons(&plan), ["MonRemoved"]);
    // Then the next one, b.
    let plan = w.reconcile();
    assert_eq!(plan.ceph, [CephOp::MonRemove { name: "b".into() }]);
}

#[test]
fn lost_endpoints_leave_the_running_mons_alone_and_fail_loudly() {
    let mut w = steady();
    w.remove("ConfigMap", "rook-ceph-mon-endpoints");
    let plan = w.reconcile();
    assert!(
        plan.delete
            .iter()
            .all(|k| !k.name.starts_with("rook-ceph-mon")),
        "{:?}",
        plan.delete
    );
    assert!(plan.create.is_empty(), "{:?}", plan.writes());
    assert_eq!(reasons(&plan), ["MonEndpointsMissing"]);
    let s = &w.input.cluster.extra["status"];
    assert_eq!(s["phase"], "Failure");
    assert_eq!(s["conditions"][2]["reason"], "MonEndpointsMissing");
}
