//! CephFilesystem -> pools, `fs new`, MDS settings, MDS Deployments;
//! deletion keeps the data.

use crate::fixtures::*;
use crate::world::{round_trip_ok, steady};
use rookery_runtime_k8s::plan::input::FsState;
use rookery_runtime_k8s::plan::{plan_filesystem, CephOp, FinalizerChange};

#[test]
fn a_filesystem_gets_pools_fs_new_and_its_mds_daemons() {
    let mut w = steady();
    let fs = filesystem();
    let cluster = w.input.cluster.clone();
    let plan = plan_filesystem(&fs, &cluster, &w.input.owned, w.input.ceph.as_ref(), at(0));
    assert_eq!(plan.finalizer, Some(FinalizerChange::Add));
    let ops: Vec<String> = plan.ceph.iter().map(|o| format!("{o:?}")).collect();
    let tail: Vec<&CephOp> = plan.ceph.iter().skip(10).take(3).collect();
    assert_eq!(ops.len(), 15, "{ops:#?}");
    assert!(ops[0].contains("myfs-metadata_host"));
    assert!(ops[1].contains("PoolCreate { pool: \"myfs-metadata\""));
    assert!(ops[5].contains("myfs-replicated_host"));
    assert_eq!(
        tail,
        [
            &CephOp::FsNew {
                fs: "myfs".into(),
                metadata_pool: "myfs-metadata".into(),
                data_pool: "myfs-replicated".into()
            },
            &CephOp::FsSet {
                fs: "myfs".into(),
                var: "max_mds".into(),
                value: "1".into()
            },
            &CephOp::FsSet {
                fs: "myfs".into(),
                var: "allow_standby_replay".into(),
                value: "true".into()
            },
        ][..]
    );
    let keys: Vec<&str> = plan
        .ceph
        .iter()
        .filter_map(|o| match o {
            CephOp::AuthGetOrCreate { entity, .. } => Some(entity.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(keys, ["mds.myfs-a", "mds.myfs-b"]);
    assert!(plan.create.is_empty());

    // With the keys stored (the World's executor): the MDS Deployments.
    w.apply(&rookery_runtime_k8s::plan::Plan {
        ceph: plan.ceph.clone(),
        ..Default::default()
    });
    let plan = plan_filesystem(&fs, &cluster, &w.input.owned, w.input.ceph.as_ref(), at(0));
    assert_eq!(
        plan.writes(),
        [
            "create Deployment/rook-ceph-mds-myfs-a",
            "create Deployment/rook-ceph-mds-myfs-b",
            "status",
            "add finalizer"
        ]
    );
    for o in &plan.create {
        assert!(round_trip_ok(o));
        let v = o.to_value();
        assert_eq!(v["metadata"]["labels"]["app"], "rook-ceph-mds");
        assert_eq!(v["metadata"]["labels"]["rook_file_system"], "myfs");
        assert_eq!(
            v["metadata"]["ownerReferences"][0]["kind"],
            "CephFilesystem"
        );
    }
}

#[test]
fn a_filesystem_as_specified_needs_only_what_differs() {
    let w = steady();
    let mut fs = filesystem();
    let mut ceph = w.input.ceph.clone().unwrap();
    for (pool, rule) in [
        ("myfs-metadata", "myfs-metadata_host"),
        ("myfs-replicated", "myfs-replicated_host"),
    ] {
        ceph.pools.push(pool_state(pool, 3, 2, rule, "cephfs"));
        ceph.crush_rules
            .push(rookery_runtime_k8s::plan::input::CrushRule {
                name: rule.into(),
                failure_domain: "host".into(),
                device_class: None,
            });
    }
    ceph.filesystems.push(FsState {
        name: "myfs".into(),
        metadata_pool: "myfs-metadata".into(),
        data_pools: vec!["myfs-replicated".into()],
        max_mds: 1,
        standby_replay: true,
    });
    fs.spec.metadata_server.active_count = 2;
    let plan = plan_filesystem(&fs, &w.input.cluster, &w.input.owned, Some(&ceph), at(0));
    let fs_ops: Vec<&CephOp> = plan
        .ceph
        .iter()
        .filter(|o| !matches!(o, CephOp::AuthGetOrCreate { .. }))
        .collect();
    assert_eq!(
        fs_ops,
        [&CephOp::FsSet {
            fs: "myfs".into(),
            var: "max_mds".into(),
            value: "2".into()
        }]
    );
}

#[test]
fn deleting_a_filesystem_removes_its_daemons_and_keeps_its_data() {
    let w = steady();
    let mut fs = filesystem();
    deleting(&mut fs.metadata, "cephfilesystem.ceph.rook.io");
    let plan = plan_filesystem(
        &fs,
        &w.input.cluster,
        &w.input.owned,
        w.input.ceph.as_ref(),
        at(0),
    );
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
    assert!(plan.ceph.is_empty());
    assert_eq!(plan.events[0].reason, "FilesystemKept");
}
