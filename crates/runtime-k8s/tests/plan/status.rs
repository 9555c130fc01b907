//! A steady cluster writes nothing; its status says Ready with what Ceph
//! reports, in Rook's shape.

use crate::fixtures::*;
use crate::world::steady;

#[test]
fn a_steady_three_mon_three_osd_cluster_plans_nothing() {
    let mut w = steady();
    for d in [
        "rook-ceph-mon-a",
        "rook-ceph-mon-b",
        "rook-ceph-mon-c",
        "rook-ceph-mgr-a",
        "rook-ceph-mgr-b",
        "rook-ceph-osd-0",
        "rook-ceph-osd-1",
        "rook-ceph-osd-2",
    ] {
        assert!(w.input.owned.deployment(d).is_some(), "{d} missing");
    }
    // Later reconciles, later times: still nothing to write.
    for t in [120, 3600] {
        w.input.now = at(t);
        let plan = w.plan();
        assert!(
            plan.is_empty(),
            "{:?} {:?} {:?}",
            plan.writes(),
            plan.ceph,
            plan.events
        );
    }
}

#[test]
fn the_status_of_a_steady_cluster_is_ready_with_cephs_facts() {
    let w = steady();
    let s = &w.input.cluster.extra["status"];
    assert_eq!(s["phase"], "Ready");
    assert_eq!(s["state"], "Created");
    assert_eq!(s["message"], "Cluster created successfully");
    let conditions: Vec<(String, String, String)> = s["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
                c["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        conditions,
        [
            ("Progressing".into(), "False".into(), "".into()),
            ("Ready".into(), "True".into(), "ClusterCreated".into()),
            ("Failure".into(), "False".into(), "".into()),
        ]
    );
    assert_eq!(s["ceph"]["health"], "HEALTH_OK");
    assert_eq!(s["ceph"]["fsid"], "fsid-1");
    assert_eq!(s["ceph"]["capacity"]["bytesTotal"], 300 * GIB);
    assert_eq!(s["version"]["image"], "quay.io/ceph/ceph:v16.2.15");
    assert_eq!(s["version"]["version"], "16.2.15");
    assert_eq!(s["observedGeneration"], 1);
}

#[test]
fn a_health_change_is_written_with_the_previous_health() {
    let mut w = steady();
    let ceph = w.ceph();
    ceph.health = "HEALTH_WARN".into();
    ceph.checks.insert(
        "OSD_NEARFULL".into(),
        ("HEALTH_WARN".into(), "1 nearfull osd(s)".into()),
    );
    let plan = w.reconcile();
    assert_eq!(plan.writes(), ["status"]);
    let s = &w.input.cluster.extra["status"]["ceph"];
    assert_eq!(s["health"], "HEALTH_WARN");
    assert_eq!(s["previousHealth"], "HEALTH_OK");
    assert_eq!(s["details"]["OSD_NEARFULL"]["message"], "1 nearfull osd(s)");
    assert!(w.plan().is_empty());
}

#[test]
fn a_lost_quorum_is_a_failure() {
    let mut w = steady();
    out_of_quorum(w.ceph(), "b", 30);
    out_of_quorum(w.ceph(), "c", 30);
    let plan = w.reconcile();
    assert!(plan.ceph.is_empty(), "{:?}", plan.ceph);
    let s = &w.input.cluster.extra["status"];
    assert_eq!(s["phase"], "Failure");
    assert_eq!(s["conditions"][2]["reason"], "MonQuorumLost");
    assert!(s["message"]
        .as_str()
        .unwrap()
        .contains("1 of 3 mons in quorum"));
}
