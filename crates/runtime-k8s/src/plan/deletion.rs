//! A CephCluster being deleted. While CephBlockPools or CephFilesystems of
//! its namespace exist, nothing is done: the finalizer stays, and a
//! condition and an Event name them. Then:
//!
//! - with `spec.cleanupPolicy.confirmation: yes-really-destroy-data`: the
//!   daemons' workloads are deleted; once none is left, one cleanup Job per
//!   node that ran a mon or an OSD (`cluster-cleanup-job-<node>`, Rook's
//!   name) deletes the cluster's state under `dataDirHostPath` (the mons'
//!   stores, the OSDs' directories); once every Job has finished, the rest
//!   (Secrets, ConfigMaps, Jobs) is deleted and the finalizer removed. The
//!   OSDs' disks are not wiped: their BlueStore labels stay, so discover
//!   reports them as used until someone wipes them (`wipefs -a`).
//! - without it: the workloads and the operator's objects are deleted, the
//!   data stays on the nodes, an Event says where, the finalizer goes.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Container;

use super::diff::{all_objects, converge, rendered_for};
use super::input::ClusterInput;
use super::meta::finalizers;
use super::mon::Endpoints;
use super::object::{Object, ObjectKey};
use super::osd::selected_nodes;
use super::pod::{self, Runtime};
use super::prepare::completed_osds;
use super::status::{changed, cluster_status, current, Phase};
use super::{Event, FinalizerChange, Plan, StatusWrite, CLUSTER_FINALIZER};

/// The confirmation `spec.cleanupPolicy.confirmation` must hold (Rook's).
pub const CONFIRMATION: &str = "yes-really-destroy-data";

/// `cluster-cleanup-job-<node>`.
pub fn cleanup_job_name(node: &str) -> String {
    format!("cluster-cleanup-job-{node}")
}

/// Plans a reconcile of a CephCluster that is being deleted.
pub fn plan_deletion(input: &ClusterInput) -> Plan {
    let cluster = &input.cluster;
    if !finalizers(&cluster.metadata)
        .iter()
        .any(|f| f == CLUSTER_FINALIZER)
    {
        return Plan::default();
    }
    let rt = Runtime::of(cluster);
    let mut dependents: Vec<String> = input
        .pools
        .iter()
        .map(|p| p.object_ref().to_string())
        .chain(input.filesystems.iter().map(|f| f.object_ref().to_string()))
        .collect();
    dependents.sort();
    if !dependents.is_empty() {
        let why = format!(
            "CephCluster {} is not deleted while these exist: {}; delete them first",
            cluster.metadata.name,
            dependents.join(", ")
        );
        let mut plan = Plan {
            events: vec![Event::warning("ClusterDeletionBlocked", &why)],
            requeue_after_secs: Some(15),
            ..Plan::default()
        };
        let mut phase = Phase::new("Deleting", "ObjectHasDependents", why);
        phase.condition = "DeletionIsBlocked".into();
        plan.status = status(input, &rt, &phase);
        return plan;
    }
    let confirmed = cluster
        .spec
        .extra
        .get("cleanupPolicy")
        .and_then(|c| c.get("confirmation"))
        .and_then(|c| c.as_str())
        == Some(CONFIRMATION);
    let mut plan = if confirmed {
        cleanup(input, &rt)
    } else {
        let mut plan = converge(Vec::new(), &input.owned, &rt.owner, &[]);
        plan.events.push(Event::normal(
            "ClusterDataKept",
            format!(
                "the daemons are removed; their data stays in {} on nodes {} and on the OSDs' \
disks (spec.cleanupPolicy.confirmation was not {CONFIRMATION:?})",
                rt.data_dir,
                nodes_with_data(input)
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
        plan.finalizer = Some(FinalizerChange::Remove);
        plan
    };
    if plan.finalizer.is_none() {
        let phase = Phase::new("Deleting", "ClusterDeleting", "Deleting the CephCluster");
        plan.status = status(input, &rt, &phase);
    }
    plan.sort();
    plan
}

fn status(input: &ClusterInput, rt: &Runtime, phase: &Phase) -> Option<StatusWrite> {
    let previous = current(&input.cluster.extra);
    let s = cluster_status(phase, previous.as_ref(), None, &rt.image, None, input.now);
    changed(previous.as_ref(), &s).then_some(StatusWrite::Cluster(Box::new(s)))
}

/// Nodes that ran a mon (the endpoints' mapping) or an OSD (a report).
fn nodes_with_data(input: &ClusterInput) -> BTreeSet<String> {
    let mut nodes: BTreeSet<String> = Endpoints::read(&input.owned)
        .nodes
        .values()
        .map(|n| n.name.clone())
        .collect();
    for node in selected_nodes(&input.cluster.spec.storage, &input.nodes).keys() {
        if !completed_osds(&input.owned, node).is_empty() {
            nodes.insert(node.clone());
        }
    }
    nodes
}

fn cleanup(input: &ClusterInput, rt: &Runtime) -> Plan {
    let owned = &input.owned;
    let workloads: Vec<ObjectKey> = all_objects(owned)
        .iter()
        .filter(|o| rendered_for(o, &rt.owner))
        .filter(|o| matches!(o, Object::Deployment(_) | Object::DaemonSet(_)))
        .map(Object::key)
        .collect();
    let mut plan = Plan::default();
    if !workloads.is_empty() {
        plan.delete = workloads;
        plan.requeue_after_secs = Some(5);
        return plan;
    }
    let jobs: Vec<Object> = nodes_with_data(input)
        .iter()
        .map(|n| cleanup_job(input, rt, n))
        .collect();
    let mut unfinished = Vec::new();
    let mut failed = Vec::new();
    for job in &jobs {
        let name = job.key().name;
        match owned.job(&name).and_then(|j| j.status.as_ref()) {
            None => unfinished.push(job.clone()),
            Some(s) if s.succeeded.unwrap_or(0) > 0 => {}
            Some(s) if s.failed.unwrap_or(0) > 0 => failed.push(name),
            Some(_) => unfinished.push(job.clone()),
        }
    }
    if !unfinished.is_empty() {
        // Create the missing ones; wait for the running ones.
        plan.create = unfinished
            .into_iter()
            .filter(|j| owned.job(&j.key().name).is_none())
            .collect();
        plan.requeue_after_secs = Some(10);
        return plan;
    }
    let mut plan = converge(Vec::new(), owned, &rt.owner, &[]);
    if !failed.is_empty() {
        plan.events.push(Event::warning(
            "CleanupFailed",
            format!(
                "cleanup failed on {}: data may remain in {} there",
                failed.join(", "),
                rt.data_dir
            ),
        ));
    }
    plan.events.push(Event::normal(
        "ClusterDeleted",
        format!(
            "cluster data under {} deleted on every node that had some; the OSDs' disks were \
not wiped",
            rt.data_dir
        ),
    ));
    plan.finalizer = Some(FinalizerChange::Remove);
    plan
}

fn cleanup_job(input: &ClusterInput, rt: &Runtime, node: &str) -> Object {
    let labels = BTreeMap::from([
        ("app".to_owned(), "rook-ceph-cleanup".to_owned()),
        ("rook-ceph-cleanup".to_owned(), "true".to_owned()),
        ("rook_cluster".to_owned(), rt.owner.namespace.clone()),
        ("node".to_owned(), node.to_owned()),
    ]);
    let (volumes, mounts) = pod::split(vec![pod::host_path(
        "data-dir",
        &rt.data_dir,
        "/var/lib/rook",
    )]);
    let script = format!(
        "rm -rf /var/lib/rook/mon-* /var/lib/rook/{ns}",
        ns = rt.owner.namespace
    );
    let container = Container {
        name: "host-cleanup".into(),
        image: Some(rt.image.clone()),
        command: Some(vec!["sh".into(), "-c".into()]),
        args: Some(vec![script]),
        security_context: Some(pod::privileged()),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    let hostname = input
        .nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(node))
        .and_then(|n| {
            n.metadata
                .labels
                .as_ref()?
                .get(pod::HOSTNAME_LABEL)
                .cloned()
        })
        .unwrap_or_else(|| node.to_owned());
    let mut spec = rt.pod(Vec::new(), vec![container], volumes, Some(&hostname));
    spec.restart_policy = Some("OnFailure".into());
    spec.host_network = None;
    spec.dns_policy = None;
    pod::job(
        rt.owner.meta(&cleanup_job_name(node), labels.clone()),
        labels,
        spec,
        3,
    )
    .into()
}
