//! CephBlockPool -> a replicated Ceph pool: its CRUSH rule (the failure
//! domain, the device class), size and min_size, the application; its own
//! finalizer; on deletion the pool is deleted only when it holds no RBD
//! image (the controller lists them with librbd, trash included), else the
//! deletion is refused and says why.

use k8s_openapi::jiff::Timestamp;
use rookery_api::status::ObjectStatus;
use rookery_api::{CephBlockPool, PoolSpec};
use rookery_core::desired::min_size;
use rookery_core::DesiredCluster;

use super::input::CephObserved;
use super::meta::{extra_str, finalizers, generation};
use super::ops::CephOp;
use super::status::{changed, conditions, current, Phase};
use super::{Event, FinalizerChange, Plan, StatusWrite, POOL_FINALIZER};

/// The CRUSH rule of a pool: `<pool>_<failure domain>[_<device class>]`,
/// so a new failure domain or class makes a new rule rather than changing
/// one other pools may use.
pub fn rule_name(pool: &str, spec: &PoolSpec) -> String {
    match spec.device_class.as_deref().filter(|c| !c.is_empty()) {
        Some(class) => format!("{pool}_{}_{class}", spec.failure_domain()),
        None => format!("{pool}_{}", spec.failure_domain()),
    }
}

/// The Ceph operations that make `name` as `spec` says (nothing when it
/// is so already). `parameters` are set when the pool is made only: Ceph's
/// current values of arbitrary keys are not observed.
pub fn pool_ops(
    name: &str,
    spec: &PoolSpec,
    application: &str,
    ceph: &CephObserved,
) -> Vec<CephOp> {
    let mut ops = Vec::new();
    let rule = rule_name(name, spec);
    if ceph.rule(&rule).is_none() {
        ops.push(CephOp::CrushRuleCreate {
            rule: rule.clone(),
            failure_domain: spec.failure_domain().into(),
            device_class: spec.device_class.clone().filter(|c| !c.is_empty()),
        });
    }
    let size = spec.replicated.size;
    let set = |var: &str, value: String| CephOp::PoolSet {
        pool: name.into(),
        var: var.into(),
        value,
    };
    match ceph.pool(name) {
        None => {
            ops.push(CephOp::PoolCreate {
                pool: name.into(),
                pg_num: DesiredCluster::pg_num_for(ceph.osds.len()),
                rule,
            });
            ops.push(set("size", size.to_string()));
            ops.push(set("min_size", min_size(size).to_string()));
            for (k, v) in &spec.parameters {
                ops.push(set(k, v.clone()));
            }
            ops.push(CephOp::PoolApplicationEnable {
                pool: name.into(),
                application: application.into(),
            });
        }
        Some(p) => {
            if p.size != size {
                ops.push(set("size", size.to_string()));
            }
            if p.min_size != min_size(size) {
                ops.push(set("min_size", min_size(size).to_string()));
            }
            if p.crush_rule != rule {
                ops.push(set("crush_rule", rule));
            }
            if !p.applications.iter().any(|a| a == application) {
                ops.push(CephOp::PoolApplicationEnable {
                    pool: name.into(),
                    application: application.into(),
                });
            }
        }
    }
    ops
}

/// Plans one CephBlockPool. `ceph` is None while the cluster cannot be reached.
pub fn plan_pool(pool: &CephBlockPool, ceph: Option<&CephObserved>, now: Timestamp) -> Plan {
    let mut plan = Plan::default();
    let name = pool.pool_name().to_owned();
    let has_finalizer = finalizers(&pool.metadata)
        .iter()
        .any(|f| f == POOL_FINALIZER);
    let previous: Option<ObjectStatus> = current(&pool.extra);
    let deleting = extra_str(&pool.metadata, "deletionTimestamp").is_some();
    let phase = if deleting {
        if !has_finalizer {
            return plan;
        }
        match delete(&name, ceph) {
            Ok(ops) => {
                plan.ceph = ops;
                plan.finalizer = Some(FinalizerChange::Remove);
                return plan;
            }
            Err(why) => {
                plan.events
                    .push(Event::warning("PoolDeletionBlocked", &why));
                plan.requeue_after_secs = Some(30);
                let mut p = Phase::new("Deleting", "PoolHasImages", why);
                p.condition = "DeletionIsBlocked".into();
                p
            }
        }
    } else {
        if !has_finalizer {
            plan.finalizer = Some(FinalizerChange::Add);
        }
        match ceph {
            None => {
                plan.requeue_after_secs = Some(15);
                Phase::new(
                    "Progressing",
                    "PoolProgressing",
                    "waiting for the Ceph cluster",
                )
            }
            Some(ceph) => {
                plan.ceph = pool_ops(&name, &pool.spec, pool.spec.application(), ceph);
                if plan.ceph.is_empty() {
                    Phase::new(
                        "Ready",
                        "PoolCreated",
                        format!("pool {name} is as specified"),
                    )
                } else {
                    Phase::new(
                        "Progressing",
                        "PoolProgressing",
                        format!("configuring pool {name}"),
                    )
                }
            }
        }
    };
    let info = [
        ("type".to_owned(), "Replicated".to_owned()),
        (
            "failureDomain".to_owned(),
            pool.spec.failure_domain().to_owned(),
        ),
    ];
    let status = object_status(
        &phase,
        previous.as_ref(),
        info.into(),
        generation(&pool.metadata),
        now,
    );
    if changed(previous.as_ref(), &status) {
        plan.status = Some(StatusWrite::Object(status));
    }
    plan
}

/// The status of a pool or filesystem.
pub fn object_status(
    phase: &Phase,
    previous: Option<&ObjectStatus>,
    info: std::collections::BTreeMap<String, String>,
    generation: Option<i64>,
    now: Timestamp,
) -> ObjectStatus {
    let before = previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or_default();
    ObjectStatus {
        phase: Some(phase.phase.clone()),
        info,
        conditions: conditions(phase, before, now),
        observed_generation: generation,
    }
}

/// `osd pool delete` when the pool holds no image; why not otherwise.
fn delete(name: &str, ceph: Option<&CephObserved>) -> Result<Vec<CephOp>, String> {
    let Some(ceph) = ceph else {
        return Err(format!(
            "pool {name} is not deleted: the Ceph cluster cannot be reached to check it for \
RBD images; it is tried again"
        ));
    };
    let Some(p) = ceph.pool(name) else {
        return Ok(Vec::new());
    };
    match p.images {
        Some(0) => Ok(vec![CephOp::PoolDelete { pool: name.into() }]),
        Some(n) => Err(format!(
            "pool {name} still holds {n} RBD image(s); delete the PersistentVolumeClaims (or \
images) that use it, then the pool is deleted"
        )),
        None => Err(format!(
            "pool {name} is not deleted: its RBD images could not be listed; it is tried again"
        )),
    }
}
