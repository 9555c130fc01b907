//! The RBD Controller service over gRPC on a unix socket, against the shared real
//! cluster: the CSI spec's rules for CreateVolume/DeleteVolume/expand/list/capacity,
//! ceph-csi's journal layout, undo of a failed create, and one image for concurrent
//! creates of one name. Each test works in its own pool.

#[allow(dead_code)]
#[path = "bodies/ceph_layer.rs"]
mod bodies;
mod common;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use common::csi::{assert_code, block_cap, mount_cap, within, ServedController};
use rookery_ceph::rbd;
use rookery_ceph::{IoCtx, Rados};
use rookery_csi::error::CsiCode;
use rookery_csi::grpc::proto::v1::controller_service_capability::{rpc, Type};
use rookery_csi::grpc::proto::v1::volume_capability::access_mode::Mode;
use rookery_csi::grpc::proto::v1::volume_content_source::{
    SnapshotSource, Type as SourceType, VolumeSource,
};
use rookery_csi::grpc::proto::v1::{
    CapacityRange, ControllerExpandVolumeRequest, ControllerGetCapabilitiesRequest,
    CreateVolumeRequest, DeleteVolumeRequest, GetCapacityRequest, ListVolumesRequest,
    ValidateVolumeCapabilitiesRequest, Volume, VolumeCapability,
};
use rookery_csi::grpc::proto::v1::{
    CreateSnapshotRequest, DeleteSnapshotRequest, ListSnapshotsRequest, Snapshot,
    VolumeContentSource,
};
use rookery_csi::rbd::{ControllerClient, RbdController};
use rookery_csi::volume_id::VolumeId;

const MIB: u64 = 1 << 20;

/// What a test body gets: a controller served on a socket, a client, its pool.
struct Env {
    ctl: RbdController,
    client: ControllerClient,
    rados: Rados,
    io: IoCtx,
    pool: String,
    pool_id: i64,
}

impl Env {
    fn fsid(&self) -> String {
        self.rados.fsid().to_owned()
    }

    fn params(&self) -> HashMap<String, String> {
        HashMap::from([
            ("clusterID".to_owned(), self.fsid()),
            ("pool".to_owned(), self.pool.clone()),
            (
                "csi.storage.k8s.io/provisioner-secret-name".to_owned(),
                "rook-csi-rbd-provisioner".to_owned(),
            ),
        ])
    }

    fn request(&self, name: &str, bytes: u64) -> CreateVolumeRequest {
        CreateVolumeRequest {
            name: name.to_owned(),
            capacity_range: Some(CapacityRange {
                required_bytes: bytes as i64,
                limit_bytes: 0,
            }),
            volume_capabilities: vec![mount(Mode::SingleNodeWriter)],
            parameters: self.params(),
            secrets: HashMap::from([
                ("userID".to_owned(), "ignored".to_owned()),
                ("userKey".to_owned(), "ignored".to_owned()),
            ]),
            ..Default::default()
        }
    }

    async fn create(&mut self, req: CreateVolumeRequest) -> Volume {
        within("CreateVolume", self.client.create_volume(req))
            .await
            .expect("CreateVolume")
            .into_inner()
            .volume
            .expect("a volume")
    }

    async fn delete(&mut self, volume_id: &str) {
        within(
            "DeleteVolume",
            self.client.delete_volume(DeleteVolumeRequest {
                volume_id: volume_id.to_owned(),
                ..Default::default()
            }),
        )
        .await
        .expect("DeleteVolume");
    }

    async fn images(&self) -> Vec<String> {
        let mut names: Vec<String> = rbd::list(&self.io)
            .await
            .expect("rbd list")
            .into_iter()
            .map(|i| i.name)
            .collect();
        names.sort();
        names
    }

    async fn omap(&self, object: &str) -> HashMap<String, String> {
        match self.io.omap_list(object, "", 1000).await {
            Ok((entries, _)) => entries
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8(v).expect("utf-8 omap value")))
                .collect(),
            Err(e) if e.is_not_found() => HashMap::new(),
            Err(e) => panic!("omap list of {object}: {e}"),
        }
    }

    /// Every object in the pool named `csi.volume.<uuid>`.
    async fn volume_objects(&self) -> usize {
        let dir = self.omap("csi.volumes.default").await;
        let mut n = 0;
        for uuid in dir.values() {
            if self.io.stat(&format!("csi.volume.{uuid}")).await.is_ok() {
                n += 1;
            }
        }
        n
    }
}

fn mount(mode: Mode) -> VolumeCapability {
    mount_cap(mode, "ext4")
}

/// Runs `body` against a controller for the shared cluster, served on a unix
/// socket in a temp dir, with a fresh pool deleted afterwards.
async fn with_controller<F, Fut>(body: F)
where
    F: FnOnce(Env) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let cluster = common::shared();
    let rados = cluster.rados().await;
    bodies::in_temp_pool(&rados, "rbd", |rados, pool| async move {
        let ctl = RbdController::new(rados.fsid(), rados.clone());
        let served = ServedController::start(&ctl).await;
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        let pool_id = rados.pool_id(&pool).await.expect("pool id");
        body(Env {
            ctl: ctl.clone(),
            client: served.client.clone(),
            rados,
            io,
            pool,
            pool_id,
        })
        .await;
        // Purges must finish before the pool goes.
        ctl.wait_for_purges().await;
        served.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_create_requests_name_the_field() {
    with_controller(|mut env| async move {
        let c = &mut env.client.clone();
        let mut req = env.request("", MIB);
        let st = assert_code(c.create_volume(req.clone()).await, CsiCode::InvalidArgument);
        assert!(st.message().contains("name"), "{}", st.message());

        req.name = "pvc-bad".into();
        let mut no_caps = req.clone();
        no_caps.volume_capabilities.clear();
        let st = assert_code(c.create_volume(no_caps).await, CsiCode::InvalidArgument);
        assert!(
            st.message().contains("volume_capabilities"),
            "{}",
            st.message()
        );

        let mut rwx_mount = req.clone();
        rwx_mount.volume_capabilities = vec![mount(Mode::MultiNodeMultiWriter)];
        let st = assert_code(c.create_volume(rwx_mount).await, CsiCode::InvalidArgument);
        assert!(
            st.message().contains("MULTI_NODE_MULTI_WRITER"),
            "{}",
            st.message()
        );

        let mut rox = req.clone();
        rox.volume_capabilities = vec![mount(Mode::MultiNodeReaderOnly)];
        assert_code(c.create_volume(rox).await, CsiCode::InvalidArgument);

        let mut no_pool = req.clone();
        no_pool.parameters.remove("pool");
        let st = assert_code(c.create_volume(no_pool).await, CsiCode::InvalidArgument);
        assert!(st.message().contains("pool"), "{}", st.message());

        let mut missing_pool = req.clone();
        missing_pool
            .parameters
            .insert("pool".into(), "rookery-no-such-pool".into());
        let st = assert_code(
            c.create_volume(missing_pool).await,
            CsiCode::InvalidArgument,
        );
        assert!(
            st.message().contains("rookery-no-such-pool"),
            "{}",
            st.message()
        );

        let mut other_cluster = req.clone();
        other_cluster
            .parameters
            .insert("clusterID".into(), "another-cluster".into());
        let st = assert_code(
            c.create_volume(other_cluster).await,
            CsiCode::InvalidArgument,
        );
        assert!(st.message().contains("clusterID"), "{}", st.message());

        let mut bad_features = req.clone();
        bad_features
            .parameters
            .insert("imageFeatures".into(), "layering,bogus".into());
        let st = assert_code(
            c.create_volume(bad_features).await,
            CsiCode::InvalidArgument,
        );
        assert!(st.message().contains("imageFeatures"), "{}", st.message());

        let mut over_limit = req.clone();
        over_limit.capacity_range = Some(CapacityRange {
            required_bytes: (MIB + 1) as i64,
            limit_bytes: (MIB + 2) as i64,
        });
        assert_code(c.create_volume(over_limit).await, CsiCode::OutOfRange);

        assert!(env.images().await.is_empty());
        assert!(env.omap("csi.volumes.default").await.is_empty());

        // Block RWX is supported.
        let mut rwx_block = req.clone();
        rwx_block.volume_capabilities = vec![block_cap(Mode::MultiNodeMultiWriter)];
        let vol = env.create(rwx_block).await;
        assert_eq!(vol.capacity_bytes, MIB as i64);
    })
    .await;
}

#[tokio::test]
async fn create_is_idempotent_and_uses_ceph_csi_layout() {
    with_controller(|mut env| async move {
        let req = env.request("pvc-idem", 10 * MIB + 1);
        let vol = env.create(req.clone()).await;
        assert_eq!(vol.capacity_bytes, (11 * MIB) as i64, "rounded up to MiB");
        let id = VolumeId::decode(&vol.volume_id).expect("a ceph-csi volume ID");
        assert_eq!(id.cluster_id, env.fsid());
        assert_eq!(id.location_id, env.pool_id);
        let uuid = id.object_uuid.clone();
        let image = format!("csi-vol-{uuid}");
        let ctx = &vol.volume_context;
        assert_eq!(ctx["clusterID"], env.fsid());
        assert_eq!(ctx["pool"], env.pool);
        assert_eq!(ctx["journalPool"], env.pool);
        assert_eq!(ctx["imageName"], image);
        assert_eq!(ctx["imageFeatures"], "layering");
        assert!(!ctx.keys().any(|k| k.starts_with("csi.storage.k8s.io/")));

        // The image and the journal, as ceph-csi leaves them.
        assert_eq!(env.images().await, vec![image.clone()]);
        let info = rbd::info(&env.io, &image).await.expect("rbd info");
        assert_eq!(info.size, 11 * MIB);
        assert_eq!(
            info.features & rbd::features::LAYERING,
            rbd::features::LAYERING
        );
        let dir = env.omap("csi.volumes.default").await;
        assert_eq!(
            dir,
            HashMap::from([("csi.volume.pvc-idem".into(), uuid.clone())])
        );
        let attrs = env.omap(&format!("csi.volume.{uuid}")).await;
        assert_eq!(attrs["csi.volname"], "pvc-idem");
        assert_eq!(attrs["csi.imagename"], image);

        // Same name and size: the same volume.
        let again = env.create(req.clone()).await;
        assert_eq!(again.volume_id, vol.volume_id);
        assert_eq!(again.capacity_bytes, vol.capacity_bytes);
        assert_eq!(env.images().await.len(), 1);
        // The image id is recorded after the first reply, under the name's lock,
        // which the second request waited for.
        let attrs = env.omap(&format!("csi.volume.{uuid}")).await;
        assert_eq!(attrs["csi.imageid"], info.id);

        // Same name, larger size: ALREADY_EXISTS.
        let bigger = env.request("pvc-idem", 20 * MIB);
        assert_code(
            env.client.create_volume(bigger).await,
            CsiCode::AlreadyExists,
        );

        // A name of 128 bytes (the limit COs use) works.
        let long = format!("pvc-{}", "x".repeat(124));
        assert_eq!(long.len(), 128);
        let long_vol = env.create(env.request(&long, MIB)).await;
        assert!(long_vol.volume_id.len() <= 128);
        let long_again = env.create(env.request(&long, MIB)).await;
        assert_eq!(long_again.volume_id, long_vol.volume_id);
        assert_eq!(env.images().await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn failed_create_leaves_nothing_behind() {
    with_controller(|mut env| async move {
        // librbd refuses both at create time, after the name is reserved.
        let mut missing_data_pool = env.request("pvc-fail", MIB);
        missing_data_pool
            .parameters
            .insert("dataPool".into(), "rookery-no-such-data-pool".into());
        let st = env
            .client
            .create_volume(missing_data_pool)
            .await
            .expect_err("a missing data pool fails");
        assert!(
            st.message().contains("rookery-no-such-data-pool"),
            "{}",
            st.message()
        );

        let mut bad_combination = env.request("pvc-fail", MIB);
        bad_combination
            .parameters
            .insert("imageFeatures".into(), "layering,journaling".into());
        let st = env
            .client
            .create_volume(bad_combination)
            .await
            .expect_err("journaling without exclusive-lock fails");
        assert!(st.message().contains("create image"), "{}", st.message());

        assert!(env.images().await.is_empty(), "no image left behind");
        assert!(
            env.omap("csi.volumes.default").await.is_empty(),
            "no journal key"
        );
        assert_eq!(env.volume_objects().await, 0);

        // The name is not stuck: a good request succeeds.
        let vol = env.create(env.request("pvc-fail", MIB)).await;
        assert_eq!(env.images().await.len(), 1);
        assert_eq!(env.omap("csi.volumes.default").await.len(), 1);
        assert!(vol
            .volume_id
            .ends_with(&env.omap("csi.volumes.default").await["csi.volume.pvc-fail"]));
    })
    .await;
}

#[tokio::test]
async fn delete_trashes_then_purges() {
    with_controller(|mut env| async move {
        // Unknown, malformed and foreign IDs are OK, as the spec says.
        let unknown = VolumeId::new(env.fsid(), env.pool_id, uuid::Uuid::new_v4().to_string())
            .encode()
            .unwrap();
        env.delete(&unknown).await;
        env.delete("not-a-volume-id").await;
        let no_pool = VolumeId::new(env.fsid(), 1 << 40, uuid::Uuid::new_v4().to_string())
            .encode()
            .unwrap();
        env.delete(&no_pool).await;
        let foreign = VolumeId::new("other", env.pool_id, uuid::Uuid::new_v4().to_string())
            .encode()
            .unwrap();
        env.delete(&foreign).await;
        assert_code(
            env.client
                .delete_volume(DeleteVolumeRequest::default())
                .await,
            CsiCode::InvalidArgument,
        );

        let vol = env.create(env.request("pvc-del", 4 * MIB)).await;
        let uuid = VolumeId::decode(&vol.volume_id).unwrap().object_uuid;
        let image = format!("csi-vol-{uuid}");
        let image_id = rbd::info(&env.io, &image).await.unwrap().id;
        env.delete(&vol.volume_id).await;
        assert!(
            env.images().await.is_empty(),
            "image out of the pool listing"
        );
        assert!(
            env.omap("csi.volumes.default").await.is_empty(),
            "journal key gone"
        );
        assert!(env.io.stat(&format!("csi.volume.{uuid}")).await.is_err());

        let purges = env.ctl.wait_for_purges().await;
        assert_eq!(purges.len(), 1, "{purges:?}");
        assert_eq!(purges[0].image, image);
        assert_eq!(purges[0].image_id, image_id);
        assert_eq!(purges[0].pool, env.pool);
        assert_eq!(purges[0].error, None);
        let trash = rbd::trash_list(&env.io).await.unwrap();
        assert!(trash.is_empty(), "purged from the trash: {trash:?}");

        // Deleting again is OK and starts nothing.
        env.delete(&vol.volume_id).await;
        assert!(env.ctl.wait_for_purges().await.is_empty());

        // Purges that finished before anyone waited are still reported.
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(
                env.create(env.request(&format!("pvc-del-{i}"), MIB))
                    .await
                    .volume_id,
            );
        }
        for id in &ids {
            env.delete(id).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let purges = env.ctl.wait_for_purges().await;
        assert_eq!(purges.len(), 3, "{purges:?}");
        assert!(purges.iter().all(|p| p.error.is_none()), "{purges:?}");
        assert!(rbd::trash_list(&env.io).await.unwrap().is_empty());
        assert!(env.images().await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn trash_functions_round_trip() {
    with_controller(|env| async move {
        rbd::create(&env.io, "t1", MIB, &Default::default())
            .await
            .unwrap();
        let id = rbd::image_id(&env.io, "t1").await.unwrap();
        rbd::trash_move(&env.io, "t1", 3600).await.unwrap();
        let trash = rbd::trash_list(&env.io).await.unwrap();
        assert_eq!(trash.len(), 1);
        assert_eq!(
            (trash[0].id.as_str(), trash[0].name.as_str()),
            (id.as_str(), "t1")
        );
        // Still deferred: only a forced remove purges it.
        let err = rbd::trash_remove(&env.io, &id, false).await.unwrap_err();
        assert_eq!(err.errno_name(), Some("EPERM"), "{err}");
        rbd::trash_remove(&env.io, &id, true).await.unwrap();
        assert!(rbd::trash_list(&env.io).await.unwrap().is_empty());
        let err = rbd::trash_remove(&env.io, &id, true).await.unwrap_err();
        assert!(err.is_not_found(), "{err}");
    })
    .await;
}

#[tokio::test]
async fn expand_and_validate() {
    with_controller(|mut env| async move {
        let vol = env.create(env.request("pvc-grow", 10 * MIB)).await;
        let image = vol.volume_context["imageName"].clone();
        let expand = |bytes: u64, cap: Option<VolumeCapability>| ControllerExpandVolumeRequest {
            volume_id: vol.volume_id.clone(),
            capacity_range: Some(CapacityRange {
                required_bytes: bytes as i64,
                limit_bytes: 0,
            }),
            volume_capability: cap,
            ..Default::default()
        };
        let grown = env
            .client
            .controller_expand_volume(expand(20 * MIB + 1, Some(mount(Mode::SingleNodeWriter))))
            .await
            .expect("expand")
            .into_inner();
        assert_eq!(grown.capacity_bytes, (21 * MIB) as i64);
        assert!(
            grown.node_expansion_required,
            "a filesystem must grow on the node"
        );
        assert_eq!(rbd::info(&env.io, &image).await.unwrap().size, 21 * MIB);

        let block_grown = env
            .client
            .controller_expand_volume(expand(30 * MIB, Some(block_cap(Mode::SingleNodeWriter))))
            .await
            .expect("expand block")
            .into_inner();
        assert_eq!(block_grown.capacity_bytes, (30 * MIB) as i64);
        assert!(!block_grown.node_expansion_required);
        // The same size again: nothing to do.
        let same = env
            .client
            .controller_expand_volume(expand(30 * MIB, None))
            .await
            .expect("expand to the same size");
        assert_eq!(same.into_inner().capacity_bytes, (30 * MIB) as i64);
        assert_eq!(rbd::info(&env.io, &image).await.unwrap().size, 30 * MIB);

        assert_code(
            env.client.controller_expand_volume(expand(MIB, None)).await,
            CsiCode::OutOfRange,
        );
        let mut no_range = expand(MIB, None);
        no_range.capacity_range = None;
        assert_code(
            env.client.controller_expand_volume(no_range).await,
            CsiCode::InvalidArgument,
        );
        let unknown = VolumeId::new(env.fsid(), env.pool_id, uuid::Uuid::new_v4().to_string())
            .encode()
            .unwrap();
        let mut missing = expand(40 * MIB, None);
        missing.volume_id = unknown.clone();
        assert_code(
            env.client.controller_expand_volume(missing).await,
            CsiCode::NotFound,
        );

        // ValidateVolumeCapabilities.
        let validate = |id: &str, caps: Vec<VolumeCapability>| ValidateVolumeCapabilitiesRequest {
            volume_id: id.to_owned(),
            volume_capabilities: caps,
            ..Default::default()
        };
        let ok = env
            .client
            .validate_volume_capabilities(validate(
                &vol.volume_id,
                vec![
                    mount(Mode::SingleNodeSingleWriter),
                    block_cap(Mode::MultiNodeMultiWriter),
                ],
            ))
            .await
            .expect("validate")
            .into_inner();
        assert_eq!(
            ok.confirmed.expect("confirmed").volume_capabilities.len(),
            2
        );
        let refused = env
            .client
            .validate_volume_capabilities(validate(
                &vol.volume_id,
                vec![mount(Mode::MultiNodeMultiWriter)],
            ))
            .await
            .expect("validate")
            .into_inner();
        assert!(refused.confirmed.is_none());
        assert!(
            refused.message.contains("MULTI_NODE_MULTI_WRITER"),
            "{}",
            refused.message
        );
        assert_code(
            env.client
                .validate_volume_capabilities(validate(
                    &unknown,
                    vec![mount(Mode::SingleNodeWriter)],
                ))
                .await,
            CsiCode::NotFound,
        );
        assert_code(
            env.client
                .validate_volume_capabilities(validate(&vol.volume_id, vec![]))
                .await,
            CsiCode::InvalidArgument,
        );
    })
    .await;
}

#[tokio::test]
async fn list_volumes_pages_and_rejects_bad_tokens() {
    with_controller(|mut env| async move {
        let mut ours = BTreeSet::new();
        for i in 0..5 {
            let vol = env.create(env.request(&format!("pvc-list-{i}"), MIB)).await;
            ours.insert(vol.volume_id);
        }
        // Other tests' pools may be listed too: keep ours, and check paging works.
        let mut seen = BTreeSet::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let page = env
                .client
                .list_volumes(ListVolumesRequest {
                    max_entries: 2,
                    starting_token: token.clone(),
                })
                .await
                .expect("list")
                .into_inner();
            assert!(page.entries.len() <= 2);
            pages += 1;
            for entry in page.entries {
                let vol = entry.volume.expect("volume");
                if vol.volume_context.get("pool") == Some(&env.pool) {
                    assert!(seen.insert(vol.volume_id), "listed twice");
                }
            }
            if page.next_token.is_empty() {
                break;
            }
            token = page.next_token;
            assert!(pages < 10_000);
        }
        assert_eq!(seen, ours);
        assert!(pages >= 3, "5 volumes in pages of 2");

        for bad in ["garbage", "12", "x/pvc"] {
            assert_code(
                env.client
                    .list_volumes(ListVolumesRequest {
                        max_entries: 2,
                        starting_token: bad.into(),
                    })
                    .await,
                CsiCode::Aborted,
            );
        }
        assert_code(
            env.client
                .list_volumes(ListVolumesRequest {
                    max_entries: -1,
                    starting_token: String::new(),
                })
                .await,
            CsiCode::InvalidArgument,
        );
    })
    .await;
}

#[tokio::test]
async fn capacity_and_capabilities() {
    with_controller(|mut env| async move {
        let cap = env
            .client
            .get_capacity(GetCapacityRequest {
                parameters: env.params(),
                ..Default::default()
            })
            .await
            .expect("GetCapacity")
            .into_inner();
        assert!(cap.available_capacity > 0, "{cap:?}");
        let none = env
            .client
            .get_capacity(GetCapacityRequest {
                parameters: env.params(),
                volume_capabilities: vec![mount(Mode::MultiNodeReaderOnly)],
                ..Default::default()
            })
            .await
            .expect("GetCapacity")
            .into_inner();
        assert_eq!(none.available_capacity, 0);
        let mut no_pool = env.params();
        no_pool.remove("pool");
        assert_code(
            env.client
                .get_capacity(GetCapacityRequest {
                    parameters: no_pool,
                    ..Default::default()
                })
                .await,
            CsiCode::InvalidArgument,
        );

        let caps = env
            .client
            .controller_get_capabilities(ControllerGetCapabilitiesRequest {})
            .await
            .expect("capabilities")
            .into_inner()
            .capabilities;
        let rpcs: BTreeSet<i32> = caps
            .iter()
            .filter_map(|c| match c.r#type {
                Some(Type::Rpc(r)) => Some(r.r#type),
                _ => None,
            })
            .collect();
        let wanted: BTreeSet<i32> = [
            rpc::Type::CreateDeleteVolume,
            rpc::Type::ExpandVolume,
            rpc::Type::ListVolumes,
            rpc::Type::GetCapacity,
            rpc::Type::SingleNodeMultiWriter,
            rpc::Type::CreateDeleteSnapshot,
            rpc::Type::ListSnapshots,
            rpc::Type::CloneVolume,
        ]
        .into_iter()
        .map(|t| t as i32)
        .collect();
        assert_eq!(rpcs, wanted, "exactly what is implemented");
    })
    .await;
}

#[tokio::test]
async fn concurrent_creates_of_one_name_make_one_image() {
    with_controller(|mut env| async move {
        let req = env.request("pvc-race", MIB);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let mut client = env.client.clone();
            let req = req.clone();
            tasks.push(tokio::spawn(async move { client.create_volume(req).await }));
        }
        let mut ids = BTreeSet::new();
        let mut aborted = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(r) => {
                    ids.insert(r.into_inner().volume.expect("volume").volume_id);
                }
                Err(st) => {
                    assert_eq!(
                        st.code(),
                        rookery_csi::grpc::code_to_tonic(CsiCode::Aborted),
                        "{}",
                        st.message()
                    );
                    aborted += 1;
                }
            }
        }
        // The CO retries the aborted ones: they get the same volume.
        let vol = env.create(req).await;
        ids.insert(vol.volume_id);
        assert_eq!(
            ids.len(),
            1,
            "one volume for one name: {ids:?} ({aborted} aborted)"
        );
        assert_eq!(env.images().await.len(), 1);
        assert_eq!(env.omap("csi.volumes.default").await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_request_past_its_deadline_releases_its_lock() {
    with_controller(|mut env| async move {
        // Warm the pool cache, so the slow controller takes the name's lock at once.
        env.create(env.request("pvc-warm", MIB)).await;
        let slow = env.ctl.clone().with_deadline(Duration::from_millis(1));
        let mut served = ServedController::start(&slow).await;
        let req = env.request("pvc-late", MIB);
        for _ in 0..2 {
            // DEADLINE_EXCEEDED both times, never ABORTED: the lock went with the request.
            let st = assert_code(
                served.client.create_volume(req.clone()).await,
                CsiCode::DeadlineExceeded,
            );
            assert!(st.message().contains("CreateVolume"), "{}", st.message());
        }
        served.stop().await;
        // A Ceph call already under way when the deadline hit still completes.
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The retry (same locks, normal deadline) finishes what was started.
        let vol = env.create(req.clone()).await;
        assert_eq!(env.create(req).await.volume_id, vol.volume_id);
        assert_eq!(env.images().await.len(), 2);
        assert_eq!(env.omap("csi.volumes.default").await.len(), 2);
    })
    .await;
}

fn from_snapshot(id: &str) -> Option<VolumeContentSource> {
    Some(VolumeContentSource {
        r#type: Some(SourceType::Snapshot(SnapshotSource {
            snapshot_id: id.to_owned(),
        })),
    })
}

fn from_volume(id: &str) -> Option<VolumeContentSource> {
    Some(VolumeContentSource {
        r#type: Some(SourceType::Volume(VolumeSource {
            volume_id: id.to_owned(),
        })),
    })
}

async fn snapshot(env: &mut Env, name: &str, source: &str) -> Snapshot {
    within(
        "CreateSnapshot",
        env.client.create_snapshot(CreateSnapshotRequest {
            name: name.to_owned(),
            source_volume_id: source.to_owned(),
            ..Default::default()
        }),
    )
    .await
    .expect("CreateSnapshot")
    .into_inner()
    .snapshot
    .expect("a snapshot")
}

#[tokio::test]
async fn snapshots_restores_and_clones() {
    with_controller(|mut env| async move {
        let src = env.create(env.request("pvc-src", 8 * MIB)).await;
        let src_uuid = VolumeId::decode(&src.volume_id).unwrap().object_uuid;

        // Bad requests.
        let st = assert_code(
            env.client
                .create_snapshot(CreateSnapshotRequest {
                    source_volume_id: src.volume_id.clone(),
                    ..Default::default()
                })
                .await,
            CsiCode::InvalidArgument,
        );
        assert!(st.message().contains("name"), "{}", st.message());
        let unknown = VolumeId::new(env.fsid(), env.pool_id, uuid::Uuid::new_v4().to_string())
            .encode()
            .unwrap();
        assert_code(
            env.client
                .create_snapshot(CreateSnapshotRequest {
                    name: "snap-x".into(),
                    source_volume_id: unknown.clone(),
                    ..Default::default()
                })
                .await,
            CsiCode::NotFound,
        );

        // Data before the snapshot; the snapshot must hold it, not what follows.
        let src_image = src.volume_context["imageName"].clone();
        let before = vec![0xa5u8; 4096];
        rbd::write(&env.io, &src_image, 0, before.clone())
            .await
            .unwrap();
        rbd::write(&env.io, &src_image, 5 * MIB, before.clone())
            .await
            .unwrap();

        // Create, idempotently, with ceph-csi's journal layout.
        let snap = snapshot(&mut env, "snap-1", &src.volume_id).await;
        let after = vec![0x5au8; 4096];
        rbd::write(&env.io, &src_image, 0, after.clone())
            .await
            .unwrap();
        assert!(snap.ready_to_use);
        assert_eq!(snap.size_bytes, (8 * MIB) as i64);
        assert_eq!(snap.source_volume_id, src.volume_id);
        assert!(snap.creation_time.as_ref().unwrap().seconds > 0);
        let again = snapshot(&mut env, "snap-1", &src.volume_id).await;
        assert_eq!(again.snapshot_id, snap.snapshot_id);
        let snap_uuid = VolumeId::decode(&snap.snapshot_id).unwrap().object_uuid;
        let snap_image = format!("csi-snap-{snap_uuid}");
        assert_eq!(
            env.omap("csi.snaps.default").await,
            HashMap::from([("csi.snap.snap-1".into(), snap_uuid.clone())])
        );
        let attrs = env.omap(&format!("csi.snap.{snap_uuid}")).await;
        assert_eq!(attrs["csi.snapname"], "snap-1");
        assert_eq!(attrs["csi.imagename"], snap_image);
        assert_eq!(attrs["csi.source"], format!("csi-vol-{src_uuid}"));
        assert_eq!(
            attrs["csi.imageid"],
            rbd::info(&env.io, &snap_image).await.unwrap().id
        );

        // The same name for another source: ALREADY_EXISTS.
        let other = env.create(env.request("pvc-other", MIB)).await;
        assert_code(
            env.client
                .create_snapshot(CreateSnapshotRequest {
                    name: "snap-1".into(),
                    source_volume_id: other.volume_id.clone(),
                    ..Default::default()
                })
                .await,
            CsiCode::AlreadyExists,
        );

        // Listing: by ID, by source, all.
        let by_id = env
            .client
            .list_snapshots(ListSnapshotsRequest {
                snapshot_id: snap.snapshot_id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(by_id.entries.len(), 1);
        assert_eq!(
            by_id.entries[0].snapshot.as_ref().unwrap().source_volume_id,
            src.volume_id
        );
        let none = env
            .client
            .list_snapshots(ListSnapshotsRequest {
                snapshot_id: unknown.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(none.entries.is_empty());
        snapshot(&mut env, "snap-2", &other.volume_id).await;
        let mut all = BTreeSet::new();
        let mut token = String::new();
        loop {
            let page = env
                .client
                .list_snapshots(ListSnapshotsRequest {
                    max_entries: 1,
                    starting_token: token.clone(),
                    source_volume_id: src.volume_id.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            for e in page.entries {
                all.insert(e.snapshot.unwrap().snapshot_id);
            }
            if page.next_token.is_empty() {
                break;
            }
            token = page.next_token;
        }
        assert_eq!(all, BTreeSet::from([snap.snapshot_id.clone()]));
        assert_code(
            env.client
                .list_snapshots(ListSnapshotsRequest {
                    starting_token: "bogus".into(),
                    ..Default::default()
                })
                .await,
            CsiCode::Aborted,
        );

        // A volume from the snapshot (larger), and one from a volume.
        let mut restore = env.request("pvc-restored", 16 * MIB);
        restore.volume_content_source = from_snapshot(&snap.snapshot_id);
        let restored = env.create(restore.clone()).await;
        assert_eq!(restored.capacity_bytes, (16 * MIB) as i64);
        assert_eq!(restored.content_source, restore.volume_content_source);
        let image = &restored.volume_context["imageName"];
        assert_eq!(rbd::info(&env.io, image).await.unwrap().size, 16 * MIB);
        assert_eq!(env.create(restore).await.volume_id, restored.volume_id);
        assert_eq!(rbd::read(&env.io, image, 0, 4096).await.unwrap(), before);
        assert_eq!(
            rbd::read(&env.io, image, 5 * MIB, 4096).await.unwrap(),
            before
        );
        assert_eq!(
            rbd::read(&env.io, image, 12 * MIB, 16).await.unwrap(),
            vec![0u8; 16],
            "the grown part reads as zeros"
        );
        let mut too_small = env.request("pvc-small", 4 * MIB);
        too_small.volume_content_source = from_snapshot(&snap.snapshot_id);
        assert_code(
            env.client.create_volume(too_small).await,
            CsiCode::OutOfRange,
        );
        let mut missing = env.request("pvc-missing", 8 * MIB);
        missing.volume_content_source = from_snapshot(&unknown);
        assert_code(env.client.create_volume(missing).await, CsiCode::NotFound);
        let mut clone = env.request("pvc-clone", 0);
        clone.capacity_range = None;
        clone.volume_content_source = from_volume(&src.volume_id);
        let cloned = env.create(clone).await;
        assert_eq!(cloned.capacity_bytes, (8 * MIB) as i64, "the source's size");
        let clone_image = &cloned.volume_context["imageName"];
        assert_eq!(
            rbd::read(&env.io, clone_image, 0, 4096).await.unwrap(),
            after
        );
        assert_eq!(
            rbd::read(&env.io, clone_image, 5 * MIB, 4096)
                .await
                .unwrap(),
            before
        );

        // Everything is independent: delete in any order, every purge completes.
        env.delete(&src.volume_id).await;
        let st = within(
            "DeleteSnapshot",
            env.client.delete_snapshot(DeleteSnapshotRequest {
                snapshot_id: snap.snapshot_id.clone(),
                ..Default::default()
            }),
        )
        .await;
        st.expect("DeleteSnapshot");
        assert!(!env
            .omap("csi.snaps.default")
            .await
            .contains_key("csi.snap.snap-1"));
        for id in [
            "not-a-snapshot-id",
            unknown.as_str(),
            snap.snapshot_id.as_str(),
        ] {
            env.client
                .delete_snapshot(DeleteSnapshotRequest {
                    snapshot_id: id.to_owned(),
                    ..Default::default()
                })
                .await
                .expect("delete of an unknown snapshot is OK");
        }
        env.delete(&restored.volume_id).await;
        env.delete(&cloned.volume_id).await;
        let purges = env.ctl.wait_for_purges().await;
        assert_eq!(purges.len(), 4, "{purges:?}");
        assert!(purges.iter().all(|p| p.error.is_none()), "{purges:?}");
        assert!(rbd::trash_list(&env.io).await.unwrap().is_empty());
        let left = env.images().await;
        assert_eq!(left.len(), 2, "pvc-other and snap-2 only: {left:?}");
    })
    .await;
}
