//! Builders for plan inputs: the shipped manifests (deploy/), nodes,
//! discover inventories, prepare reports, Ceph's state.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Node, NodeAddress, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use rookery_api::{load_manifest, CephBlockPool, CephCluster, CephFilesystem, Manifest, Platform};
use rookery_core::devices::DiskIdentity;
use rookery_core::removal::OsdLoad;
use rookery_core::MonObservation;
use rookery_discover::{Device, DeviceKind};
use rookery_runtime_k8s::plan::input::{CephObserved, PoolState};
use rookery_runtime_k8s::plan::prepare::{Report, ReportedOsd};
use serde_json::json;

pub const NS: &str = "rook-ceph";
pub const OPERATOR_IMAGE: &str = "rookery/rookery:v0.1.0";
pub const GIB: u64 = 1 << 30;

/// deploy/'s cluster, pool and filesystem, loaded and validated for
/// Kubernetes, as the API server would hand them (uid, generation).
pub fn manifest() -> Manifest {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/");
    let mut yaml = String::new();
    for f in ["cluster.yaml", "pool.yaml", "filesystem.yaml"] {
        yaml.push_str("---\n");
        yaml.push_str(&std::fs::read_to_string(format!("{dir}{f}")).unwrap());
    }
    let mut m = load_manifest(&yaml).unwrap();
    m.validate_for(Platform::Kubernetes).unwrap();
    served(&mut m.cluster.metadata, "uid-cluster");
    for p in &mut m.pools {
        served(&mut p.metadata, "uid-pool");
    }
    for f in &mut m.filesystems {
        served(&mut f.metadata, "uid-fs");
    }
    m
}

fn served(meta: &mut rookery_api::ObjectMeta, uid: &str) {
    meta.extra.insert("uid".into(), json!(uid));
    meta.extra.insert("generation".into(), json!(1));
}

/// The shipped cluster with mons on ClusterIP Services (not the host network).
pub fn cluster() -> CephCluster {
    let mut c = manifest().cluster;
    c.spec.network.provider = None;
    c
}

/// The shipped pool.
pub fn pool() -> CephBlockPool {
    manifest().pools.remove(0)
}

/// The shipped filesystem.
pub fn filesystem() -> CephFilesystem {
    manifest().filesystems.remove(0)
}

/// Marks a Ceph object as being deleted (and carrying `finalizer`).
pub fn deleting(meta: &mut rookery_api::ObjectMeta, finalizer: &str) {
    meta.extra
        .insert("deletionTimestamp".into(), json!("2027-01-15T08:00:00Z"));
    meta.extra.insert("finalizers".into(), json!([finalizer]));
}

/// A node with an InternalIP and its hostname label.
pub fn node(name: &str, ip: &str) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(
                "kubernetes.io/hostname".into(),
                name.into(),
            )])),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(NodeStatus {
            addresses: Some(vec![NodeAddress {
                type_: "InternalIP".into(),
                address: ip.into(),
            }]),
            ..NodeStatus::default()
        }),
    }
}

/// Nodes n1, n2, n3.
pub fn three_nodes() -> Vec<Node> {
    (1..=3)
        .map(|i| node(&format!("n{i}"), &format!("192.168.0.1{i}")))
        .collect()
}

/// A blank 100 GiB disk with a WWN.
pub fn disk(name: &str, wwn: &str) -> Device {
    Device {
        name: name.into(),
        path: format!("/dev/{name}"),
        kind: DeviceKind::Disk,
        dev: "8:16".into(),
        size_bytes: 100 * GIB,
        rotational: true,
        removable: false,
        read_only: false,
        model: None,
        serial: None,
        wwn: Some(wwn.into()),
        links: vec![],
        partitions: vec![],
        filesystem: None,
        part_table: None,
        lvm: false,
        mounted_at: vec![],
        holders: vec![],
        backing_file: None,
        detaching: false,
        not_probed: None,
        bluestore_osd: None,
        probe_error: None,
    }
}

/// The disk once an OSD is on it (a BlueStore label with its uuid).
pub fn osd_disk(name: &str, wwn: &str, uuid: &str) -> Device {
    Device {
        filesystem: Some("ceph_bluestore".into()),
        bluestore_osd: Some(uuid.into()),
        ..disk(name, wwn)
    }
}

/// `local-device-<node>` as discover publishes it.
pub fn inventory(node: &str, devices: &[Device]) -> ConfigMap {
    config_map(
        &format!("local-device-{node}"),
        "devices",
        &serde_json::to_string(devices).unwrap(),
    )
}

/// An OSD a prepare reported.
pub fn reported(id: u32, device: &str, wwn: &str) -> ReportedOsd {
    ReportedOsd {
        id,
        uuid: format!("uuid-{id}"),
        device_path: format!("/dev/{device}"),
        identity: DiskIdentity::Wwn(wwn.into()),
        size: 100 * GIB,
    }
}

/// `rook-ceph-osd-<node>-status` as a prepare Job writes it.
pub fn report(node: &str, status: &str, message: &str, osds: Vec<ReportedOsd>) -> ConfigMap {
    let r = Report {
        status: status.into(),
        message: message.into(),
        osds,
    };
    config_map(
        &format!("rook-ceph-osd-{node}-status"),
        "status",
        &serde_json::to_string(&r).unwrap(),
    )
}

fn config_map(name: &str, key: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NS.into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(key.into(), value.into())])),
        ..ConfigMap::default()
    }
}

/// A time of reconcile, `secs` after a fixed start.
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

/// Ceph with `mons` in the monmap and quorum, `osds` up and in, the mgr
/// modules of the shipped cluster on, the CSI users made, HEALTH_OK.
pub fn healthy(mons: &[&str], osds: &[u32]) -> CephObserved {
    let names: Vec<String> = mons.iter().map(|m| (*m).to_owned()).collect();
    let mut users: Vec<String> = [
        "csi-rbd-provisioner",
        "csi-rbd-node",
        "csi-cephfs-provisioner",
        "csi-cephfs-node",
    ]
    .iter()
    .map(|u| format!("client.{u}"))
    .collect();
    users.extend(["mgr.a", "mgr.b"].map(String::from));
    CephObserved {
        fsid: "fsid-1".into(),
        mons: MonObservation {
            monmap: names.clone(),
            quorum: names,
            out_for: BTreeMap::new(),
        },
        osds: osds
            .iter()
            .map(|&id| OsdLoad {
                id,
                up: true,
                in_: true,
                total: 100 * GIB,
                used: GIB,
                data: GIB / 2,
            })
            .collect(),
        backfillfull_ratio: 0.9,
        pools: Vec::new(),
        crush_rules: Vec::new(),
        filesystems: Vec::new(),
        auth_entities: users,
        mgr_modules: vec!["pg_autoscaler".into(), "dashboard".into()],
        active_mgr: Some("a".into()),
        health: "HEALTH_OK".into(),
        checks: BTreeMap::new(),
        capacity: Some((300 * GIB, 3 * GIB, 297 * GIB)),
        versions: BTreeMap::from([(
            "overall".into(),
            BTreeMap::from([(
                "ceph version 16.2.15 (618f440892089921c3e944a991122ddc44e60516) pacific (stable)"
                    .into(),
                8,
            )]),
        )]),
    }
}

/// `mon` out of quorum for `secs`.
pub fn out_of_quorum(ceph: &mut CephObserved, mon: &str, secs: u64) {
    ceph.mons.quorum.retain(|m| m != mon);
    ceph.mons
        .out_for
        .insert(mon.into(), Duration::from_secs(secs));
}

/// A pool as Ceph shows it after the plan made it.
pub fn pool_state(name: &str, size: u32, min_size: u32, rule: &str, app: &str) -> PoolState {
    PoolState {
        name: name.into(),
        size,
        min_size,
        crush_rule: rule.into(),
        applications: vec![app.into()],
        stored: 0,
        images: Some(0),
    }
}
