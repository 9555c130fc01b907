//! Which mons exist, decided by `rookery_core::mons::decide` (the local
//! runtime's decision, not a second one) and carried out on Kubernetes step
//! by step across reconciles. The change in progress lives in the endpoints
//! ConfigMap's annotation, written in the same update as each step's
//! result, so a restarted operator resumes where it was:
//!
//! - Create: the new mon gets a node (in `mapping`) and its Service; once
//!   the Service has a ClusterIP, the address goes into `data`;
//! - Join: its Deployment runs (it is in `data`); wait until it is in quorum;
//! - Remove: `mon rm` of the old one (its Deployment scaled to 0 first when
//!   it is out of quorum, as the local runtime stops it first);
//! - Cleanup: the old one leaves `data` and `mapping`, so its Deployment and
//!   Service are deleted; the annotation is cleared.

use k8s_openapi::api::core::v1::Node;
use rookery_api::CephCluster;
use rookery_core::mons::{decide, ChangeReason, MonDecision};
use rookery_core::naming::letter_index;
use rookery_core::plan::mon_ids;
use rookery_core::{ChangeStep, MonChange};

use super::input::{CephObserved, Owned};
use super::mon::{self, Endpoints, Keys, NodeInfo};
use super::object::{Object, ObjectKey};
use super::ops::CephOp;
use super::pod::{Runtime, HOSTNAME_LABEL};
use super::Event;

/// The mons' part of a cluster plan.
#[derive(Debug, Clone, Default)]
pub struct MonPlan {
    /// Services, Deployments, the endpoints ConfigMap and the Secrets.
    pub objects: Vec<Object>,
    /// `mon rm`.
    pub ceph: Vec<CephOp>,
    /// Events.
    pub events: Vec<Event>,
    /// Look again soon (waiting for a timeout, a ClusterIP, a join).
    pub requeue_after_secs: Option<u64>,
    /// Why the mons are not as the spec asks, for the status; None: fine.
    pub problem: Option<String>,
    /// The problem is a failure, with this reason (else it is progress).
    pub failure: Option<&'static str>,
    /// The endpoints as this plan leaves them.
    pub endpoints: Endpoints,
    /// Objects to leave alone (the mons, when their endpoints are lost).
    pub keep: Vec<ObjectKey>,
}

/// Plans the mons.
pub fn plan_mons(
    rt: &Runtime,
    cluster: &CephCluster,
    keys: &Keys,
    owned: &Owned,
    nodes: &[Node],
    ceph: Option<&CephObserved>,
) -> MonPlan {
    let mut out = MonPlan::default();
    if owned.config_map(mon::ENDPOINTS).is_none() && ceph.is_some() {
        return endpoints_lost(rt, keys, owned);
    }
    let mut ep = Endpoints::read(owned);
    let spec = &cluster.spec;
    let allow_multiple = spec.mon.allow_multiple_per_node;
    if ep.nodes.is_empty() && ceph.is_none() {
        // A new cluster: the first mons, each on a node.
        for id in mon_ids(spec.mon.count) {
            match place(nodes, &ep, allow_multiple, None) {
                Some(node) => {
                    ep.nodes.insert(id.clone(), node);
                    ep.max_mon_id = ep.max_mon_id.max(letter_index(&id));
                }
                None => {
                    out.problem = Some(no_node(&id, allow_multiple));
                    out.events.push(Event::warning(
                        "MonPlacementFailed",
                        no_node(&id, allow_multiple),
                    ));
                    break;
                }
            }
        }
    }
    fill_addresses(rt, owned, &mut ep);
    if let Some(ceph) = ceph {
        decide_and_step(cluster, nodes, ceph, &mut ep, &mut out);
    }
    let bootstrap = !ep
        .nodes
        .keys()
        .any(|id| owned.deployment(&mon::mon_name(id)).is_some());
    let all_addressed = ep.nodes.keys().all(|id| ep.addrs.contains_key(id));
    if bootstrap && !all_addressed {
        out.requeue_after_secs = Some(5);
    }
    for id in ep.nodes.keys() {
        out.objects.push(mon::service(rt, id));
    }
    if !bootstrap || all_addressed {
        for (id, addr) in &ep.addrs {
            let node = ep.nodes.get(id).map(|n| n.hostname.as_str());
            let replicas = if stopped_for_removal(&ep, ceph, id) {
                0
            } else {
                1
            };
            out.objects
                .push(mon::deployment(rt, keys, id, addr, node, replicas));
        }
    }
    out.objects.push(ep.render(rt).into());
    out.objects.extend(keys.render(rt, &ep));
    out.endpoints = ep;
    out
}

/// Mons run but their record is gone: which mon is where cannot be told,
/// so nothing of them is touched (nor `rook-ceph-config`) until it is
/// restored; the keys stay as they are.
fn endpoints_lost(rt: &Runtime, keys: &Keys, owned: &Owned) -> MonPlan {
    let message = format!(
        "the ConfigMap {} is missing while the mons run; restore it (from a backup, or from \
the mon Services' ClusterIPs): the mons are left as they are",
        mon::ENDPOINTS
    );
    let is_mon = |name: &Option<String>| {
        name.as_deref()
            .filter(|n| n.starts_with("rook-ceph-mon-"))
            .map(str::to_owned)
    };
    let mut keep: Vec<ObjectKey> = owned
        .deployments
        .iter()
        .filter_map(|d| is_mon(&d.metadata.name))
        .map(|n| ObjectKey::new("Deployment", n))
        .collect();
    keep.extend(
        owned
            .services
            .iter()
            .filter_map(|s| is_mon(&s.metadata.name))
            .map(|n| ObjectKey::new("Service", n)),
    );
    keep.push(ObjectKey::new("Secret", super::pod::CONFIG_SECRET));
    let objects = keys
        .render(rt, &Endpoints::default())
        .into_iter()
        .filter(|o| o.key().name != super::pod::CONFIG_SECRET)
        .collect();
    MonPlan {
        objects,
        events: vec![Event::warning("MonEndpointsMissing", &message)],
        problem: Some(message),
        failure: Some("MonEndpointsMissing"),
        keep,
        ..MonPlan::default()
    }
}

/// The old mon of a change at its Remove step, out of quorum: stopped
/// before `mon rm` so it does not ask the quorum to take it back.
fn stopped_for_removal(ep: &Endpoints, ceph: Option<&CephObserved>, id: &str) -> bool {
    let Some(change) = &ep.change else {
        return false;
    };
    let out_of_quorum = ceph.is_some_and(|c| !c.mons.quorum.iter().any(|q| q == id));
    change.remove.as_deref() == Some(id)
        && matches!(change.step, ChangeStep::Remove | ChangeStep::Cleanup)
        && out_of_quorum
}

fn no_node(id: &str, allow_multiple: bool) -> String {
    if allow_multiple {
        format!("no schedulable node for mon.{id}")
    } else {
        format!(
            "no schedulable node without a mon for mon.{id}; add a node or set \
spec.mon.allowMultiplePerNode: true"
        )
    }
}

/// Each mon with a node but no address yet gets one once known: its
/// Service's ClusterIP, or its node's address on the host network.
fn fill_addresses(rt: &Runtime, owned: &Owned, ep: &mut Endpoints) {
    for (id, node) in &ep.nodes {
        if ep.addrs.contains_key(id) {
            continue;
        }
        let addr = if rt.host_network {
            Some(node.address.as_str()).filter(|a| !a.is_empty())
        } else {
            owned.cluster_ip(&mon::mon_name(id))
        };
        if let Some(addr) = addr {
            ep.addrs.insert(id.clone(), addr.to_owned());
        }
    }
}

fn decide_and_step(
    cluster: &CephCluster,
    nodes: &[Node],
    ceph: &CephObserved,
    ep: &mut Endpoints,
    out: &mut MonPlan,
) {
    let health = &cluster.spec.health_check.daemon_health.mon;
    let policy = rookery_core::MonPolicy {
        count: cluster.spec.mon.count,
        timeout: health.timeout(),
        failover: !health.disabled,
    };
    let change = match decide(&ceph.mons, &policy, ep.change.as_ref(), ep.max_mon_id) {
        MonDecision::Healthy => return,
        MonDecision::NoQuorum { in_quorum, monmap } => {
            out.problem = Some(format!(
                "no mon quorum: {in_quorum} of {monmap} mons in quorum; nothing is changed \
until a majority is back"
            ));
            out.requeue_after_secs = Some(15);
            out.failure = Some("MonQuorumLost");
            return;
        }
        MonDecision::Wait {
            mon,
            out_for,
            timeout,
        } => {
            out.problem = Some(format!(
                "mon.{mon} out of quorum for {}s; replaced after {}s",
                out_for.as_secs(),
                timeout.as_secs()
            ));
            out.requeue_after_secs = Some(timeout.saturating_sub(out_for).as_secs().max(1));
            return;
        }
        MonDecision::Hold { mon, reason } => {
            let message = format!("mon.{mon} is out of quorum and is not replaced: {reason}");
            out.events.push(Event::warning("MonFailoverHeld", &message));
            out.problem = Some(message);
            return;
        }
        MonDecision::Start(change) => {
            let mut change = change;
            if let Some(add) = &change.add {
                let avoid = change.remove.as_deref();
                let allow = cluster.spec.mon.allow_multiple_per_node;
                let Some(node) = place(nodes, ep, allow, avoid) else {
                    let message = no_node(add, allow);
                    out.events
                        .push(Event::warning("MonPlacementFailed", &message));
                    out.problem = Some(message);
                    return;
                };
                ep.nodes.insert(add.clone(), node);
                ep.max_mon_id = ep.max_mon_id.max(letter_index(add));
            }
            change.step = first_step(&change);
            out.events
                .push(Event::normal("MonChangeStarted", change.describe_action()));
            change
        }
        MonDecision::Continue(change) => change,
    };
    step(change, ceph, ep, out);
}

fn first_step(change: &MonChange) -> ChangeStep {
    if change.add.is_some() {
        ChangeStep::Create
    } else {
        ChangeStep::Remove
    }
}

/// Carries `change` as far as the observations allow; records where it is.
fn step(mut change: MonChange, ceph: &CephObserved, ep: &mut Endpoints, out: &mut MonPlan) {
    loop {
        let done_here = match (change.step, &change.add, &change.remove) {
            (ChangeStep::Create, Some(add), _) => ep.addrs.contains_key(add),
            (ChangeStep::Join, Some(add), _) => ceph.mons.quorum.contains(add),
            (ChangeStep::Remove, _, Some(old)) => {
                let in_map = ceph.mons.monmap.contains(old);
                if in_map {
                    out.ceph.push(CephOp::MonRemove { name: old.clone() });
                }
                !in_map
            }
            (ChangeStep::Cleanup, _, old) => {
                if let Some(old) = old {
                    ep.addrs.remove(old);
                    ep.nodes.remove(old);
                }
                let reason = match (&change.reason, &change.add, &change.remove) {
                    (ChangeReason::OutOfQuorum { .. }, Some(_), Some(_)) => "MonFailover",
                    (_, Some(_), None) => "MonAdded",
                    _ => "MonRemoved",
                };
                out.events.push(Event::normal(reason, change.describe()));
                ep.change = None;
                return;
            }
            // A step this change has no part in.
            _ => true,
        };
        if !done_here {
            out.requeue_after_secs = Some(10);
            out.problem = Some(format!(
                "{} (step {:?})",
                change.describe_action(),
                change.step
            ));
            ep.change = Some(change);
            return;
        }
        match change.next_step() {
            Some(next) => change.step = next,
            None => {
                ep.change = None;
                return;
            }
        }
    }
}

/// The node for a new mon: schedulable, the fewest mons (none unless
/// several per node are allowed), not the node of the mon it replaces when
/// another will do; ties by name.
pub fn place(
    nodes: &[Node],
    ep: &Endpoints,
    allow_multiple: bool,
    avoid_mon: Option<&str>,
) -> Option<NodeInfo> {
    let avoid_node = avoid_mon
        .and_then(|m| ep.nodes.get(m))
        .map(|n| n.name.clone());
    let count = |name: &str| {
        ep.nodes
            .iter()
            .filter(|(id, n)| n.name == name && Some(id.as_str()) != avoid_mon)
            .count()
    };
    nodes
        .iter()
        .filter(|n| {
            !n.spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false)
        })
        .filter_map(|n| n.metadata.name.as_deref().map(|name| (n, name)))
        .filter(|(_, name)| allow_multiple || count(name) == 0)
        .min_by_key(|(_, name)| (count(name), Some(name.to_string()) == avoid_node, *name))
        .map(|(n, name)| node_info(n, name))
}

fn node_info(n: &Node, name: &str) -> NodeInfo {
    let hostname = n
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(HOSTNAME_LABEL))
        .cloned()
        .unwrap_or_else(|| name.to_owned());
    let address = n
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .map(|a| a.address.clone())
        .unwrap_or_default();
    NodeInfo {
        name: name.to_owned(),
        hostname,
        address,
    }
}
