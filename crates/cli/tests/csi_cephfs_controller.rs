//! The CephFS Controller service over gRPC against the shared cluster's
//! filesystem `myfs`: subvolumes with quotas in group `csi`, the journal in the
//! metadata pool's `csi` namespace with ceph-csi's keys, idempotency and
//! ALREADY_EXISTS, snapshots and asynchronous clones (ABORTED "clone in
//! progress" until done), expansion, listing, capacity, and bad requests that
//! name their field and leave nothing behind.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::csi::{assert_code, block_cap, mount_cap, within, ServedController};
use rookery_ceph::commands::{FsSubvolumeInfo, SubvolumeInfo};
use rookery_ceph::{IoCtx, Rados};
use rookery_csi::cephfs::CephFsController;
use rookery_csi::error::CsiCode;
use rookery_csi::grpc::proto::v1::volume_capability::access_mode::Mode;
use rookery_csi::grpc::proto::v1::volume_content_source::{
    SnapshotSource, Type as SourceType, VolumeSource,
};
use rookery_csi::grpc::proto::v1::*;
use rookery_csi::grpc::Routes;
use rookery_csi::rbd::ControllerClient;

const FS: &str = "myfs";
const MIB: i64 = 1 << 20;

struct Env {
    client: ControllerClient,
    rados: Rados,
    /// The metadata pool, namespace `csi`: the journal.
    journal: IoCtx,
    fsid: String,
}

impl Env {
    async fn new() -> (Self, ServedController) {
        let cluster = common::shared();
        let rados = cluster.rados().await;
        let ctl = CephFsController::new(rados.fsid(), rados.clone());
        let served = ServedController::serve(Routes::new(ctl.into_server())).await;
        let journal = rados
            .ioctx("myfs-metadata", Some("csi"))
            .await
            .expect("the metadata pool");
        let env = Env {
            client: served.client.clone(),
            fsid: rados.fsid().to_owned(),
            rados,
            journal,
        };
        (env, served)
    }

    fn request(&self, name: &str, bytes: i64) -> CreateVolumeRequest {
        CreateVolumeRequest {
            name: name.into(),
            capacity_range: Some(CapacityRange {
                required_bytes: bytes,
                limit_bytes: 0,
            }),
            volume_capabilities: vec![mount_cap(Mode::MultiNodeMultiWriter, "")],
            parameters: HashMap::from([
                ("clusterID".into(), self.fsid.clone()),
                ("fsName".into(), FS.into()),
            ]),
            ..Default::default()
        }
    }

    /// CreateVolume, retried while a clone is in progress (ABORTED).
    async fn create(&mut self, req: CreateVolumeRequest) -> Volume {
        let start = Instant::now();
        loop {
            match self.client.create_volume(req.clone()).await {
                Ok(r) => return r.into_inner().volume.expect("a volume"),
                Err(st) if st.code() == tonic::Code::Aborted && start.elapsed().as_secs() < 120 => {
                    assert!(
                        st.message().contains("clone in progress"),
                        "{}",
                        st.message()
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(st) => panic!("CreateVolume {}: {st}", req.name),
            }
        }
    }

    async fn delete(&mut self, id: &str) {
        let req = DeleteVolumeRequest {
            volume_id: id.into(),
            ..Default::default()
        };
        within("DeleteVolume", self.client.delete_volume(req))
            .await
            .expect("DeleteVolume");
    }

    async fn subvolume(&self, name: &str) -> Option<SubvolumeInfo> {
        let cmd = FsSubvolumeInfo {
            vol_name: FS.into(),
            sub_name: name.into(),
            group_name: "csi".into(),
        };
        match self.rados.mgr_command(&cmd).await {
            Ok(info) => Some(info),
            Err(e) if e.is_not_found() => None,
            Err(e) => panic!("subvolume info {name}: {e}"),
        }
    }

    async fn directory_has(&self, object: &str, key: &str) -> bool {
        match self.journal.omap_list(object, "", 10_000).await {
            Ok((entries, _)) => entries.iter().any(|(k, _)| k == key),
            Err(e) if e.is_not_found() => false,
            Err(e) => panic!("omap list {object}: {e}"),
        }
    }
}

#[tokio::test]
async fn volumes_are_subvolumes_with_quotas_and_ceph_csi_journal_entries() {
    let (mut env, served) = Env::new().await;
    let name = common::unique("pvc");
    let vol = env.create(env.request(&name, 100 * MIB)).await;
    assert_eq!(vol.capacity_bytes, 100 * MIB);
    let ctx = &vol.volume_context;
    assert_eq!(ctx["fsName"], FS);
    assert_eq!(ctx["clusterID"], env.fsid);
    let sub = ctx["subvolumeName"].clone();
    assert!(sub.starts_with("csi-vol-"), "{sub}");
    assert!(
        ctx["subvolumePath"].starts_with(&format!("/volumes/csi/{sub}/")),
        "{ctx:?}"
    );
    let info = env.subvolume(&sub).await.expect("the subvolume exists");
    assert_eq!(info.quota(), Some(100 << 20));
    // ceph-csi's journal: the directory key, the per-volume object's name keys.
    assert!(
        env.directory_has("csi.volumes.default", &format!("csi.volume.{name}"))
            .await
    );
    let uuid = sub.trim_start_matches("csi-vol-");
    assert!(vol.volume_id.ends_with(uuid), "{}", vol.volume_id);
    let (attrs, _) = env
        .journal
        .omap_list(&format!("csi.volume.{uuid}"), "", 100)
        .await
        .expect("the per-volume object");
    let attrs: HashMap<String, Vec<u8>> = attrs.into_iter().collect();
    assert_eq!(attrs["csi.volname"], name.as_bytes());
    assert_eq!(attrs["csi.imagename"], sub.as_bytes());

    // Same name, same size: the same volume. Other size: ALREADY_EXISTS.
    let again = env.create(env.request(&name, 100 * MIB)).await;
    assert_eq!(again.volume_id, vol.volume_id);
    let st = assert_code(
        env.client
            .create_volume(env.request(&name, 300 * MIB))
            .await,
        CsiCode::AlreadyExists,
    );
    assert!(st.message().contains(&name), "{}", st.message());

    // Expansion raises the quota; the node has nothing to do.
    let grown = env
        .client
        .controller_expand_volume(ControllerExpandVolumeRequest {
            volume_id: vol.volume_id.clone(),
            capacity_range: Some(CapacityRange {
                required_bytes: 200 * MIB,
                limit_bytes: 0,
            }),
            ..Default::default()
        })
        .await
        .expect("expand")
        .into_inner();
    assert_eq!(grown.capacity_bytes, 200 * MIB);
    assert!(!grown.node_expansion_required);
    assert_eq!(env.subvolume(&sub).await.unwrap().quota(), Some(200 << 20));

    // Listed, validated, capacity known.
    let listed = env
        .client
        .list_volumes(ListVolumesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let entry = listed
        .entries
        .iter()
        .find(|e| {
            e.volume
                .as_ref()
                .is_some_and(|v| v.volume_id == vol.volume_id)
        })
        .expect("the volume is listed");
    assert_eq!(entry.volume.as_ref().unwrap().capacity_bytes, 200 * MIB);
    let bad_token = ListVolumesRequest {
        starting_token: "nonsense".into(),
        ..Default::default()
    };
    assert_code(env.client.list_volumes(bad_token).await, CsiCode::Aborted);
    let cap = env
        .client
        .get_capacity(GetCapacityRequest {
            parameters: HashMap::from([
                ("clusterID".into(), env.fsid.clone()),
                ("fsName".into(), FS.into()),
            ]),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(cap.available_capacity > 0, "{cap:?}");
    let validated = env
        .client
        .validate_volume_capabilities(ValidateVolumeCapabilitiesRequest {
            volume_id: vol.volume_id.clone(),
            volume_capabilities: vec![mount_cap(Mode::MultiNodeReaderOnly, "")],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(validated.confirmed.is_some(), "{validated:?}");

    env.delete(&vol.volume_id).await;
    env.delete(&vol.volume_id).await;
    assert!(env.subvolume(&sub).await.is_none(), "subvolume left behind");
    assert!(
        !env.directory_has("csi.volumes.default", &format!("csi.volume.{name}"))
            .await
    );
    env.delete("not-a-volume-id").await;
    served.stop().await;
}

#[tokio::test]
async fn snapshots_and_clones_from_snapshots_and_volumes() {
    let (mut env, served) = Env::new().await;
    let src = env
        .create(env.request(&common::unique("src"), 64 * MIB))
        .await;
    let snap_name = common::unique("snap");
    let snap_req = CreateSnapshotRequest {
        source_volume_id: src.volume_id.clone(),
        name: snap_name.clone(),
        ..Default::default()
    };
    let snap = env
        .client
        .create_snapshot(snap_req.clone())
        .await
        .expect("CreateSnapshot")
        .into_inner()
        .snapshot
        .unwrap();
    assert!(snap.ready_to_use);
    assert_eq!(snap.source_volume_id, src.volume_id);
    assert_eq!(snap.size_bytes, 64 * MIB);
    // Idempotent by name.
    let again = env
        .client
        .create_snapshot(snap_req)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.snapshot.unwrap().snapshot_id, snap.snapshot_id);
    let listed = env
        .client
        .list_snapshots(ListSnapshotsRequest {
            source_volume_id: src.volume_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.entries.len(), 1, "{listed:?}");

    // From the snapshot: a clone, ABORTED while it copies, then the volume.
    let mut from_snap = env.request(&common::unique("restore"), 0);
    from_snap.capacity_range = None;
    from_snap.volume_content_source = Some(VolumeContentSource {
        r#type: Some(SourceType::Snapshot(SnapshotSource {
            snapshot_id: snap.snapshot_id.clone(),
        })),
    });
    let restored = env.create(from_snap).await;
    assert_eq!(restored.capacity_bytes, 64 * MIB);
    let restored_sub = restored.volume_context["subvolumeName"].clone();
    assert_eq!(
        env.subvolume(&restored_sub).await.unwrap().state,
        "complete"
    );

    // From a volume, larger than the source.
    let mut from_vol = env.request(&common::unique("copy"), 128 * MIB);
    from_vol.volume_content_source = Some(VolumeContentSource {
        r#type: Some(SourceType::Volume(VolumeSource {
            volume_id: src.volume_id.clone(),
        })),
    });
    let copy = env.create(from_vol).await;
    assert_eq!(copy.capacity_bytes, 128 * MIB);
    let copy_sub = copy.volume_context["subvolumeName"].clone();
    assert_eq!(
        env.subvolume(&copy_sub).await.unwrap().quota(),
        Some(128 << 20)
    );

    // The source cannot go while it has a snapshot; then everything goes.
    let st = assert_code(
        env.client
            .delete_volume(DeleteVolumeRequest {
                volume_id: src.volume_id.clone(),
                ..Default::default()
            })
            .await,
        CsiCode::FailedPrecondition,
    );
    assert!(st.message().contains("snapshots"), "{}", st.message());
    env.client
        .delete_snapshot(DeleteSnapshotRequest {
            snapshot_id: snap.snapshot_id.clone(),
            ..Default::default()
        })
        .await
        .expect("DeleteSnapshot");
    for v in [&restored, &copy, &src] {
        env.delete(&v.volume_id).await;
    }
    assert!(env.subvolume(&copy_sub).await.is_none());
    served.stop().await;
}

#[tokio::test]
async fn bad_requests_name_the_field_and_leave_nothing() {
    let (env, served) = Env::new().await;
    let name = common::unique("bad");
    let c = &mut env.client.clone();
    let mut r = env.request(&name, MIB);
    r.parameters.insert("fsName".into(), "no-such-fs".into());
    let st = assert_code(c.create_volume(r).await, CsiCode::InvalidArgument);
    assert!(
        st.message().contains("parameters.fsName"),
        "{}",
        st.message()
    );
    let mut r = env.request(&name, MIB);
    r.parameters.remove("fsName");
    assert_code(c.create_volume(r).await, CsiCode::InvalidArgument);
    let mut r = env.request(&name, MIB);
    r.volume_capabilities = vec![block_cap(Mode::SingleNodeWriter)];
    let st = assert_code(c.create_volume(r).await, CsiCode::InvalidArgument);
    assert!(st.message().contains("use mount"), "{}", st.message());
    let mut r = env.request(&name, MIB);
    r.parameters.insert("pool".into(), "rbd".into());
    let st = assert_code(c.create_volume(r).await, CsiCode::InvalidArgument);
    assert!(st.message().contains("parameters.pool"), "{}", st.message());
    let r = env.request(&name, -5);
    let st = assert_code(c.create_volume(r).await, CsiCode::InvalidArgument);
    assert!(st.message().contains("required_bytes"), "{}", st.message());
    let r = env.request("", MIB);
    assert_code(c.create_volume(r).await, CsiCode::InvalidArgument);
    assert!(
        !env.directory_has("csi.volumes.default", &format!("csi.volume.{name}"))
            .await
    );
    // A missing source is NOT_FOUND.
    let mut r = env.request(&name, MIB);
    r.volume_content_source = Some(VolumeContentSource {
        r#type: Some(SourceType::Snapshot(SnapshotSource {
            snapshot_id: "0001-0024-00000000-0000-0000-0000-000000000000-0000000000000001-00000000-0000-0000-0000-000000000000".into(),
        })),
    });
    assert_code(c.create_volume(r).await, CsiCode::NotFound);
    assert!(
        !env.directory_has("csi.volumes.default", &format!("csi.volume.{name}"))
            .await
    );
    served.stop().await;
}
