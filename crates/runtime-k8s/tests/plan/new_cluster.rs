//! A new cluster, from nothing to running, plan by plan.

use crate::fixtures::*;
use crate::world::World;
use rookery_runtime_k8s::plan::CephOp;

fn writes(w: &mut World) -> Vec<String> {
    w.reconcile().writes()
}

#[test]
fn a_new_cluster_makes_the_mon_services_first_then_the_mons() {
    let mut w = World::new(cluster(), three_nodes());
    assert_eq!(
        writes(&mut w),
        [
            "create ConfigMap/rook-ceph-mon-endpoints",
            "create DaemonSet/rook-discover",
            "create Secret/rook-ceph-admin-keyring",
            "create Secret/rook-ceph-config",
            "create Secret/rook-ceph-mon",
            "create Secret/rook-ceph-mons-keyring",
            "create Service/rook-ceph-mgr",
            "create Service/rook-ceph-mgr-dashboard",
            "create Service/rook-ceph-mon-a",
            "create Service/rook-ceph-mon-b",
            "create Service/rook-ceph-mon-c",
            "status",
            "add finalizer",
        ]
    );
    // One mon per node, no address yet: nothing can start.
    assert_eq!(w.config("rook-ceph-mon-endpoints", "data"), "");
    assert_eq!(w.config("rook-ceph-mon-endpoints", "maxMonId"), "2");
    let mapping: serde_json::Value =
        serde_json::from_str(&w.config("rook-ceph-mon-endpoints", "mapping")).unwrap();
    assert_eq!(mapping["node"]["a"]["Name"], "n1");
    assert_eq!(mapping["node"]["c"]["Address"], "192.168.0.13");

    // The Services have ClusterIPs now: those are the mons' addresses.
    assert_eq!(
        writes(&mut w),
        [
            "create Deployment/rook-ceph-mon-a",
            "create Deployment/rook-ceph-mon-b",
            "create Deployment/rook-ceph-mon-c",
            "update ConfigMap/rook-ceph-mon-endpoints",
            "update Secret/rook-ceph-config",
        ]
    );
    assert_eq!(
        w.config("rook-ceph-mon-endpoints", "data"),
        "a=10.96.0.3:6789,b=10.96.0.4:6789,c=10.96.0.5:6789"
    );
    let mon = w.deployment("rook-ceph-mon-b");
    let pod = &mon["spec"]["template"]["spec"];
    assert_eq!(pod["nodeSelector"]["kubernetes.io/hostname"], "n2");
    assert_eq!(pod["containers"][0]["image"], "quay.io/ceph/ceph:v16.2.15");
    let args: Vec<&str> = pod["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for expected in [
        "--fsid=fsid-1",
        "--id=b",
        "--foreground",
        "--public-addr=10.96.0.4",
        "--mon-host=$(ROOK_CEPH_MON_HOST)",
    ] {
        assert!(args.contains(&expected), "{expected} not in {args:?}");
    }
    let labels = &mon["metadata"]["labels"];
    assert_eq!(labels["app"], "rook-ceph-mon");
    assert_eq!(labels["ceph_daemon_id"], "b");
    assert_eq!(labels["rook_cluster"], NS);
    assert_eq!(mon["metadata"]["ownerReferences"][0]["uid"], "uid-cluster");
    assert_eq!(mon["spec"]["strategy"]["type"], "Recreate");

    // Nothing more until Ceph answers.
    assert!(w.reconcile().is_empty());

    // Ceph answers: keys for the mgrs and the CSI users, the modules.
    let mut ceph = healthy(&["a", "b", "c"], &[]);
    ceph.auth_entities.clear();
    ceph.mgr_modules.clear();
    w.input.ceph = Some(ceph);
    let plan = w.reconcile();
    let entities: Vec<&str> = plan
        .ceph
        .iter()
        .filter_map(|op| match op {
            CephOp::AuthGetOrCreate { entity, .. } => Some(entity.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        entities,
        [
            "mgr.a",
            "mgr.b",
            "client.csi-rbd-provisioner",
            "client.csi-rbd-node",
            "client.csi-cephfs-provisioner",
            "client.csi-cephfs-node"
        ]
    );
    assert!(plan.ceph.contains(&CephOp::MgrModuleEnable {
        module: "pg_autoscaler".into()
    }));
    // With the keys stored, the mgrs run.
    assert_eq!(
        w.reconcile().writes(),
        [
            "create Deployment/rook-ceph-mgr-a",
            "create Deployment/rook-ceph-mgr-b",
        ]
    );
    // Still progressing: no node has reported its devices.
    let status = &w.input.cluster.extra["status"];
    assert_eq!(status["phase"], "Progressing");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.contains("the device inventory of node n1"),
        "{message}"
    );
}

#[test]
fn keys_that_exist_are_never_made_again() {
    let mut w = World::new(cluster(), three_nodes());
    w.reconcile();
    w.input.fresh.mon_key = "AQanother==".into();
    w.input.fresh.fsid = "fsid-2".into();
    w.reconcile();
    let owned = &w.input.owned;
    assert_eq!(
        owned.secret_value("rook-ceph-mon", "mon-secret").unwrap(),
        "AQmonkey=="
    );
    assert_eq!(
        owned.secret_value("rook-ceph-mon", "fsid").unwrap(),
        "fsid-1"
    );
    assert!(w.plan().writes().is_empty());
}

#[test]
fn on_the_host_network_a_mon_is_at_its_node_address() {
    let mut c = cluster();
    c.spec.network.provider = Some("host".into());
    let mut w = World::new(c, three_nodes());
    let first = w.reconcile().writes();
    assert!(
        first.contains(&"create Deployment/rook-ceph-mon-a".to_owned()),
        "{first:?}"
    );
    assert_eq!(
        w.config("rook-ceph-mon-endpoints", "data"),
        "a=192.168.0.11:6789,b=192.168.0.12:6789,c=192.168.0.13:6789"
    );
    let mon = w.deployment("rook-ceph-mon-a");
    assert_eq!(mon["spec"]["template"]["spec"]["hostNetwork"], true);
}

#[test]
fn too_few_nodes_for_one_mon_per_node_is_said() {
    let mut w = World::new(cluster(), three_nodes()[..2].to_vec());
    let plan = w.reconcile();
    let event = plan
        .events
        .iter()
        .find(|e| e.reason == "MonPlacementFailed")
        .unwrap();
    assert!(
        event.message.contains("allowMultiplePerNode"),
        "{}",
        event.message
    );
    assert_eq!(w.config("rook-ceph-mon-endpoints", "maxMonId"), "1");
}

#[test]
fn a_rook_written_endpoints_config_map_is_taken_as_it_is() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let mapping = r#"{"node":{"a":{"Name":"n1","Hostname":"n1","Address":"192.168.0.11"},
"b":{"Name":"n2","Hostname":"n2","Address":"192.168.0.12"},
"c":{"Name":"n3","Hostname":"n3","Address":"192.168.0.13"}}}"#;
    let mut w = World::new(cluster(), three_nodes());
    w.input.owned.config_maps.push(ConfigMap {
        metadata: ObjectMeta {
            name: Some("rook-ceph-mon-endpoints".into()),
            ..ObjectMeta::default()
        },
        data: Some(
            [
                ("data", "a=10.1.0.1:6789,b=10.1.0.2:6789,c=10.1.0.3:6789"),
                ("mapping", mapping),
                ("maxMonId", "2"),
                ("outOfQuorum", ""),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        ),
        ..ConfigMap::default()
    });
    w.input.ceph = Some(healthy(&["a", "b", "c"], &[]));
    let plan = w.reconcile();
    for mon in ["a", "b", "c"] {
        let key = format!("create Deployment/rook-ceph-mon-{mon}");
        assert!(
            plan.writes().contains(&key),
            "{key} not in {:?}",
            plan.writes()
        );
    }
    let b = w.deployment("rook-ceph-mon-b");
    let args = b["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("--public-addr=10.1.0.2"), "{args}");
    // No new mon, no id reused: the monmap is as the spec asks.
    assert!(plan
        .ceph
        .iter()
        .all(|op| !matches!(op, CephOp::MonRemove { .. })));
    assert_eq!(w.config("rook-ceph-mon-endpoints", "maxMonId"), "2");
}
