//! Every object the plan renders parses back into its typed Kubernetes
//! struct and comes out unchanged: the strict check deploy/'s manifests
//! pass (`objects::check_document`, one mechanism).

use crate::fixtures::*;
use crate::world::{finish_job, put_config_map, round_trip_ok, steady};

#[test]
fn every_rendered_object_round_trips() {
    let mut w = steady();
    // A failover, a new disk and a cleanup add the remaining shapes.
    out_of_quorum(w.ceph(), "b", 700);
    w.reconcile();
    w.reconcile();
    put_config_map(
        &mut w,
        inventory(
            "n1",
            &[osd_disk("sdb", "wwn-1", "uuid-0"), disk("sdc", "x")],
        ),
    );
    w.reconcile();
    finish_job(&mut w, "rook-ceph-osd-prepare-n1", "Failed", at(1));
    w.input.now = at(100);
    w.reconcile();
    let mut kinds: Vec<&str> = w.written.iter().map(|o| o.kind()).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "DaemonSet",
            "Deployment",
            "Job",
            "Secret",
            "Service"
        ]
    );
    for o in &w.written {
        assert!(round_trip_ok(o), "{}", o.key());
    }
    assert!(w.written.len() > 30, "{}", w.written.len());
}
