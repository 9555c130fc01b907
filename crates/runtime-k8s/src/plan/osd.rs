//! OSDs: the nodes the storage spec selects, their devices (discover's
//! inventory judged by [`rookery_discover::Selection`]), the disks already
//! OSDs (completed prepare reports), and core's
//! [`rookery_core::devices::plan_disks`] deciding, per disk, as the local
//! runtime does: a new usable disk is prepared (a Job), a prepared one gets a
//! Deployment `rook-ceph-osd-<id>`, a gone one is scaled to 0 and marked out
//! (and purged when `removeOSDsIfOutAndSafeToRemove` and core's removal check
//! allow), a disk back (maybe renamed) runs again.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use rookery_api::StorageSpec;
use rookery_core::devices::{
    plan_disks, DiskAction, DiskIdentity, DiskState, KnownDisk, SeenDevice,
};
use rookery_core::removal::{check_removal, PoolLoad};
use rookery_discover::{Device, Selection, Verdict};

use super::diff::all_objects;
use super::input::{CephObserved, ClusterInput, Owned};
use super::meta::{daemon_labels, selector_labels};
use super::mon::Keys;
use super::object::{Object, ObjectKey};
use super::ops::CephOp;
use super::pod::{self, Runtime, HOSTNAME_LABEL};
use super::prepare::{completed_osds, plan_prepare, ReportedOsd};
use super::{discover, Event};

/// Why an OSD's Deployment is scaled to 0 (its disk is gone), on the Deployment.
pub const GONE_ANNOTATION: &str = "rookery.io/disk-gone";

/// `rook-ceph-osd-<id>`.
pub fn osd_name(id: u32) -> String {
    format!("rook-ceph-osd-{id}")
}

/// The OSDs' part of a cluster plan.
#[derive(Debug, Clone, Default)]
pub struct OsdPlan {
    /// OSD Deployments and prepare Jobs to have.
    pub objects: Vec<Object>,
    /// Prepare Jobs to run again.
    pub replace: Vec<Object>,
    /// Objects to leave as they are.
    pub keep: Vec<ObjectKey>,
    /// OSD Deployments of purged OSDs.
    pub delete: Vec<ObjectKey>,
    /// `osd out`, `osd in`, `osd purge`.
    pub ceph: Vec<CephOp>,
    /// Events.
    pub events: Vec<Event>,
    /// Failures (prepare failed, bad selection), for the status.
    pub failures: Vec<String>,
    /// What is still under way (a node without inventory, a running prepare).
    pub waiting: Vec<String>,
    /// Look again then.
    pub requeue_after_secs: Option<u64>,
}

/// The nodes the storage spec selects, each with its selection, by name.
pub fn selected_nodes(spec: &StorageSpec, nodes: &[Node]) -> BTreeMap<String, StorageSpec> {
    let schedulable = nodes
        .iter()
        .filter(|n| {
            !n.spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false)
        })
        .filter_map(|n| n.metadata.name.clone());
    if spec.use_all_nodes == Some(true) {
        return schedulable.map(|n| (n, spec.clone())).collect();
    }
    let names: Vec<String> = schedulable.collect();
    spec.nodes
        .iter()
        .filter_map(|entry| {
            let name = entry.get("name")?.as_str()?.to_owned();
            names
                .contains(&name)
                .then(|| (name, node_storage(spec, entry)))
        })
        .collect()
}

/// A `nodes[]` entry's own selection when it has one (Rook's rule), else
/// the cluster's.
fn node_storage(spec: &StorageSpec, entry: &serde_json::Value) -> StorageSpec {
    const OWN: [&str; 4] = [
        "devices",
        "deviceFilter",
        "devicePathFilter",
        "useAllDevices",
    ];
    if !OWN.iter().any(|k| entry.get(*k).is_some()) {
        return spec.clone();
    }
    let own: StorageSpec = serde_json::from_value(entry.clone()).unwrap_or_default();
    StorageSpec {
        use_all_devices: own.use_all_devices,
        device_filter: own.device_filter,
        device_path_filter: own.device_path_filter,
        devices: own.devices,
        ..spec.clone()
    }
}

/// What core's disk plan needs of a device, judged by the selection.
pub fn seen(d: &Device, selection: &Selection) -> SeenDevice {
    SeenDevice {
        path: d.path.clone(),
        identity: DiskIdentity::of(
            d.wwn.as_deref(),
            d.serial.as_deref(),
            d.backing_file.as_deref(),
            &d.path,
        ),
        size_bytes: d.size_bytes,
        usable: selection.judge(d) == Verdict::Use,
        detaching: d.detaching,
        read: d.probe_error.is_none() && d.not_probed.is_none(),
        osd_uuid: d.bluestore_osd.clone(),
    }
}

/// Plans the OSDs of every selected node.
pub fn plan_osds(rt: &Runtime, keys: &Keys, input: &ClusterInput) -> OsdPlan {
    let (cluster, owned, nodes) = (&input.cluster, &input.owned, &input.nodes[..]);
    let (ceph, image, now) = (input.ceph.as_ref(), &input.operator_image, input.now);
    let mut out = OsdPlan::default();
    let remove_safe = cluster
        .spec
        .extra
        .get("removeOSDsIfOutAndSafeToRemove")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let selected = selected_nodes(&cluster.spec.storage, nodes);
    for entry in &cluster.spec.storage.nodes {
        let name = entry
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or_default();
        if cluster.spec.storage.use_all_nodes != Some(true) && !selected.contains_key(name) {
            out.waiting.push(format!(
                "node {name:?} of spec.storage.nodes (not a schedulable node of the cluster)"
            ));
        }
    }
    for (node, storage) in &selected {
        let hostname = hostname(nodes, node);
        let reported = completed_osds(owned, node);
        let Some(devices) = discover::devices(owned, node) else {
            out.waiting
                .push(format!("the device inventory of node {node}"));
            // Keep what runs there as it is until discover reports.
            for o in &reported {
                out.keep.push(ObjectKey::new("Deployment", osd_name(o.id)));
            }
            continue;
        };
        let selection = match Selection::from_spec(storage) {
            Ok(s) => s,
            Err(e) => {
                out.failures.push(format!("node {node}: {e}"));
                continue;
            }
        };
        let seen: Vec<SeenDevice> = devices.iter().map(|d| seen(d, &selection)).collect();
        let known: Vec<KnownDisk> = reported.iter().map(|o| known(o, owned, ceph)).collect();
        let actions = plan_disks(&seen, &known);
        let mut prepare = Vec::new();
        for action in &actions {
            if let DiskAction::Create { path, .. } = action {
                prepare.push(path.clone());
            }
        }
        for (o, k) in reported.iter().zip(&known) {
            if k.state == DiskState::Removed {
                continue;
            }
            let mut path = o.device_path.clone();
            let mut gone = k.gone_why.clone().filter(|_| k.state == DiskState::Gone);
            for action in &actions {
                match action {
                    DiskAction::Gone { key, why, .. } if *key == k.key => {
                        if gone.is_none() {
                            out.ceph.push(CephOp::OsdOut { id: o.id });
                            out.events.push(Event::warning(
                                "OSDDiskGone",
                                format!(
                                    "osd.{} on node {node}: {why}; scaled to 0 and marked out",
                                    o.id
                                ),
                            ));
                        }
                        gone = Some(why.clone());
                    }
                    DiskAction::Back { key, path: p, .. } if *key == k.key => {
                        out.ceph.push(CephOp::OsdIn { id: o.id });
                        out.events.push(Event::normal(
                            "OSDDiskBack",
                            format!("osd.{} on node {node}: its disk is back at {p}", o.id),
                        ));
                        path = p.clone();
                        gone = None;
                    }
                    _ => {}
                }
            }
            if gone.is_some() && remove_safe && purge(&mut out, ceph, o.id) {
                out.delete
                    .push(ObjectKey::new("Deployment", osd_name(o.id)));
                continue;
            }
            out.objects
                .push(deployment(rt, keys, o, &path, &hostname, gone.as_deref()));
        }
        let p = plan_prepare(rt, image, owned, node, &hostname, &prepare, now);
        out.objects.extend(p.create);
        out.replace.extend(p.replace);
        out.keep.extend(p.keep);
        out.events.extend(p.events);
        out.failures.extend(p.failure);
        if !prepare.is_empty() {
            out.waiting.push(format!("OSD prepare on node {node}"));
        }
        out.requeue_after_secs = min(out.requeue_after_secs, p.requeue_after_secs);
    }
    out
}

fn min(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Purges a gone, out OSD when core's removal check allows; true when it
/// is purged (its Deployment goes).
fn purge(out: &mut OsdPlan, ceph: Option<&CephObserved>, id: u32) -> bool {
    let Some(ceph) = ceph else { return false };
    if ceph.osd(id).is_none_or(|o| o.in_) {
        return false;
    }
    let pools: Vec<PoolLoad> = ceph
        .pools
        .iter()
        .map(|p| PoolLoad {
            name: p.name.clone(),
            size: p.size,
            stored: p.stored,
        })
        .collect();
    match check_removal(id, &ceph.osds, &pools, ceph.backfillfull_ratio) {
        Ok(()) => {
            out.ceph.push(CephOp::OsdPurge { id });
            out.events.push(Event::normal(
                "OSDRemoved",
                format!("osd.{id}: its disk is gone and it was out; purged (removeOSDsIfOutAndSafeToRemove)"),
            ));
            true
        }
        Err(refusal) => {
            out.events.push(Event::warning(
                "OSDRemovalRefused",
                format!("osd.{id} is not purged: {}", refusal.reason),
            ));
            false
        }
    }
}

fn known(o: &ReportedOsd, owned: &Owned, ceph: Option<&CephObserved>) -> KnownDisk {
    let gone_why = owned.deployment(&osd_name(o.id)).and_then(|d| {
        d.metadata
            .annotations
            .as_ref()?
            .get(GONE_ANNOTATION)
            .cloned()
            .filter(|why| !why.is_empty())
    });
    let removed = ceph.is_some_and(|c| c.osd(o.id).is_none());
    KnownDisk {
        key: osd_name(o.id),
        osd: Some(o.id),
        uuid: o.uuid.clone(),
        identity: o.identity.clone(),
        path: o.device_path.clone(),
        size_bytes: o.size,
        state: match (&gone_why, removed) {
            (_, true) => DiskState::Removed,
            (Some(_), _) => DiskState::Gone,
            (None, _) => DiskState::Active,
        },
        gone_why,
    }
}

fn hostname(nodes: &[Node], node: &str) -> String {
    nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(node))
        .and_then(|n| n.metadata.labels.as_ref()?.get(HOSTNAME_LABEL).cloned())
        .unwrap_or_else(|| node.to_owned())
}

/// The OSD's Deployment: `ceph-volume raw activate` of its device, then
/// `ceph-osd` in the foreground, on its node; 0 replicas while its disk is gone.
fn deployment(
    rt: &Runtime,
    keys: &Keys,
    o: &ReportedOsd,
    path: &str,
    hostname: &str,
    gone: Option<&str>,
) -> Object {
    let id = o.id.to_string();
    let data = format!("/var/lib/ceph/osd/ceph-{id}");
    let (volumes, mounts) = pod::split(vec![
        pod::host_path("dev", "/dev", "/dev"),
        rt.host_dir(
            "osd-data",
            &format!("{}/osd-{id}", rt.owner.namespace),
            &data,
        ),
    ]);
    let activate = format!("ceph-volume raw activate --device {path} --no-systemd --no-tmpfs");
    let mut init = rt.container("activate", &["sh", "-c"], vec![activate]);
    init.security_context = Some(pod::privileged());
    init.volume_mounts = Some(mounts.clone());
    let mut args = rt.daemon_args(&keys.fsid, &id);
    for a in &mut args {
        if a.starts_with("--keyring=") {
            *a = format!("--keyring={data}/keyring");
        }
    }
    args.push(format!("--osd-uuid={}", o.uuid));
    let mut osd = rt.container("osd", &["ceph-osd"], args);
    osd.security_context = Some(pod::privileged());
    osd.volume_mounts = Some(mounts);
    let pod = rt.pod(vec![init], vec![osd], volumes, Some(hostname));
    let mut labels = daemon_labels(&rt.owner, "osd", &id);
    labels.insert("ceph-osd-id".into(), id.clone());
    labels.insert("topology-location-host".into(), hostname.to_owned());
    let mut d = rt.deployment(
        &osd_name(o.id),
        labels,
        selector_labels(&rt.owner, "osd", &id),
        pod,
        if gone.is_some() { 0 } else { 1 },
    );
    // Always written (empty: not gone), so a disk back clears it.
    d.metadata.annotations = Some(BTreeMap::from([(
        GONE_ANNOTATION.into(),
        gone.unwrap_or_default().into(),
    )]));
    d.into()
}

/// OSD Deployments the operator made that no report names any more are
/// left alone rather than deleted: an OSD is removed only by the removal
/// path above (or by people), never because a report went missing.
pub fn orphans(owned: &Owned, rendered: &[Object]) -> Vec<ObjectKey> {
    all_objects(owned)
        .iter()
        .map(Object::key)
        .filter(|k| k.kind == "Deployment" && k.name.starts_with("rook-ceph-osd-"))
        .filter(|k| !rendered.iter().any(|o| &o.key() == k))
        .collect()
}
