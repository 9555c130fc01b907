//! CephBlockPool -> Ceph operations, status, finalizer, deletion.

use crate::fixtures::*;
use rookery_runtime_k8s::plan::{plan_pool, CephOp, FinalizerChange, StatusWrite};
use serde_json::json;

fn set(pool: &str, var: &str, value: &str) -> CephOp {
    CephOp::PoolSet {
        pool: pool.into(),
        var: var.into(),
        value: value.into(),
    }
}

#[test]
fn a_new_pool_gets_its_rule_then_the_pool_then_its_settings() {
    let p = pool();
    let ceph = healthy(&["a", "b", "c"], &[0, 1, 2]);
    let plan = plan_pool(&p, Some(&ceph), at(0));
    assert_eq!(plan.finalizer, Some(FinalizerChange::Add));
    assert_eq!(
        plan.ceph,
        [
            CephOp::CrushRuleCreate {
                rule: "replicapool_host".into(),
                failure_domain: "host".into(),
                device_class: None
            },
            CephOp::PoolCreate {
                pool: "replicapool".into(),
                pg_num: 16,
                rule: "replicapool_host".into()
            },
            set("replicapool", "size", "3"),
            set("replicapool", "min_size", "2"),
            CephOp::PoolApplicationEnable {
                pool: "replicapool".into(),
                application: "rbd".into()
            },
        ]
    );
    let Some(StatusWrite::Object(s)) = plan.status else {
        panic!("no status")
    };
    assert_eq!(s.phase.as_deref(), Some("Progressing"));
    assert_eq!(s.info["failureDomain"], "host");
    assert_eq!(s.info["type"], "Replicated");
}

fn made(p: &mut rookery_api::CephBlockPool) -> rookery_runtime_k8s::plan::CephObserved {
    let mut ceph = healthy(&["a", "b", "c"], &[0, 1, 2]);
    ceph.crush_rules
        .push(rookery_runtime_k8s::plan::input::CrushRule {
            name: "replicapool_host".into(),
            failure_domain: "host".into(),
            device_class: None,
        });
    ceph.pools
        .push(pool_state("replicapool", 3, 2, "replicapool_host", "rbd"));
    p.metadata
        .extra
        .insert("finalizers".into(), json!(["cephblockpool.ceph.rook.io"]));
    let plan = plan_pool(p, Some(&ceph), at(0));
    let Some(StatusWrite::Object(s)) = plan.status else {
        panic!("no status")
    };
    assert_eq!(s.phase.as_deref(), Some("Ready"));
    p.extra
        .insert("status".into(), serde_json::to_value(&s).unwrap());
    ceph
}

#[test]
fn a_pool_as_specified_plans_nothing_and_a_changed_size_is_set() {
    let mut p = pool();
    let ceph = made(&mut p);
    let plan = plan_pool(&p, Some(&ceph), at(60));
    assert!(plan.is_empty(), "{plan:?}");
    p.spec.replicated.size = 2;
    p.spec.failure_domain = "osd".into();
    let plan = plan_pool(&p, Some(&ceph), at(60));
    assert_eq!(
        plan.ceph,
        [
            CephOp::CrushRuleCreate {
                rule: "replicapool_osd".into(),
                failure_domain: "osd".into(),
                device_class: None
            },
            set("replicapool", "size", "2"),
            set("replicapool", "min_size", "1"),
            set("replicapool", "crush_rule", "replicapool_osd"),
        ]
    );
}

#[test]
fn a_pool_is_deleted_only_without_images() {
    let mut p = pool();
    let mut ceph = made(&mut p);
    deleting(&mut p.metadata, "cephblockpool.ceph.rook.io");

    ceph.pools[0].images = Some(2);
    let plan = plan_pool(&p, Some(&ceph), at(0));
    assert_eq!(plan.finalizer, None);
    assert!(plan.ceph.is_empty());
    assert_eq!(plan.events[0].reason, "PoolDeletionBlocked");
    assert_eq!(
        plan.events[0].message,
        "pool replicapool still holds 2 RBD image(s); delete the PersistentVolumeClaims (or \
images) that use it, then the pool is deleted"
    );
    let Some(StatusWrite::Object(s)) = plan.status else {
        panic!("no status")
    };
    assert_eq!(s.phase.as_deref(), Some("Deleting"));
    assert!(s
        .conditions
        .iter()
        .any(|c| c.type_ == "DeletionIsBlocked" && c.status == "True"));

    ceph.pools[0].images = None;
    let plan = plan_pool(&p, Some(&ceph), at(0));
    assert!(plan.events[0].message.contains("could not be listed"));
    assert!(plan_pool(&p, None, at(0)).finalizer.is_none());

    ceph.pools[0].images = Some(0);
    let plan = plan_pool(&p, Some(&ceph), at(0));
    assert_eq!(
        plan.ceph,
        [CephOp::PoolDelete {
            pool: "replicapool".into()
        }]
    );
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));

    // Already gone from Ceph: just the finalizer.
    ceph.pools.clear();
    let plan = plan_pool(&p, Some(&ceph), at(0));
    assert!(plan.ceph.is_empty());
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
}
