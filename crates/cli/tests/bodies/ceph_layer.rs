//! Bodies of the librados/librbd layer's integration tests (called from
//! `tests/ceph_layer.rs` with the shared cluster's paths). Each works in its
//! own pool (random name, created and deleted by the body even when an
//! assertion fails), so they run in parallel.

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::time::{Duration, Instant};

use rookery_ceph::commands::{
    OsdPoolApplicationEnable, OsdPoolCreate, OsdPoolDelete, OsdPoolLsDetail, Status,
};
use rookery_ceph::rbd::{self, ImageOptions};
use rookery_ceph::{ConnectOptions, Rados};

const GIB: u64 = 1 << 30;

/// Connects as client.admin with a short timeout, so a broken cluster fails fast.
pub async fn connect(conf: &Path, keyring: &Path) -> Rados {
    let opts = ConnectOptions {
        conf: conf.to_owned(),
        user: "admin".into(),
        keyring: Some(keyring.to_owned()),
        timeout: Duration::from_secs(20),
    };
    Rados::connect(opts)
        .await
        .expect("connect to the test cluster")
}

fn random_suffix() -> String {
    let n = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("{n:016x}")
}

/// Runs `body` with a fresh pool (application `app`), then deletes the pool whatever
/// happened; a panic in `body` is re-raised after the cleanup.
pub async fn in_temp_pool<F, Fut>(rados: &Rados, app: &str, body: F)
where
    F: FnOnce(Rados, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let pool = format!("rookery-test-{}", random_suffix());
    let create = OsdPoolCreate {
        pool: pool.clone(),
        pg_num: Some(8),
        size: None,
    };
    rados
        .mon_command(&create)
        .await
        .expect("create the test pool");
    let enable = OsdPoolApplicationEnable {
        pool: pool.clone(),
        app: app.into(),
    };
    let outcome: Result<(), Box<dyn Any + Send>> = match rados.mon_command(&enable).await {
        Ok(()) => tokio::spawn(body(rados.clone(), pool.clone()))
            .await
            .map_err(|e| e.into_panic()),
        Err(e) => Err(Box::new(format!(
            "enable application '{app}' on pool '{pool}': {e}"
        ))),
    };
    rados
        .mon_command(&OsdPoolDelete { pool: pool.clone() })
        .await
        .expect("delete the test pool (mon_allow_pool_delete must be true)");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A typed mon command round trip, and Ceph's explanation carried in a failure.
pub async fn status_round_trip(conf: &Path, keyring: &Path) {
    let rados = connect(conf, keyring).await;
    let status = rados.mon_command(&Status).await.expect("status");
    assert_eq!(status.fsid, rados.fsid());
    assert!(
        status.health.status.starts_with("HEALTH_"),
        "{:?}",
        status.health
    );
    assert!(!status.quorum_names.is_empty());
    assert_eq!(status.monmap.num_mons as usize, status.quorum_names.len());
    assert!(status.osdmap.num_up_osds >= 1, "{:?}", status.osdmap);

    in_temp_pool(&rados, "rbd", |rados, pool| async move {
        let pools = rados
            .mon_command(&OsdPoolLsDetail)
            .await
            .expect("pool ls detail");
        let detail = pools
            .iter()
            .find(|p| p.pool_name == pool)
            .expect("new pool listed");
        assert!(detail.application_metadata.contains_key("rbd"));
        assert_eq!(rados.pool_id(&pool).await.expect("pool id"), detail.pool_id);
    })
    .await;

    let missing = format!("rookery-missing-{}", random_suffix());
    let cmd = serde_json::json!({
        "prefix": "osd pool set", "pool": missing, "var": "size", "val": "1", "format": "json"
    });
    let err = rados.mon_command_json(cmd, vec![]).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let text = err.to_string();
    assert!(text.contains("mon command 'osd pool set' failed"), "{text}");
    assert!(
        text.contains(&format!("unrecognized pool '{missing}'")),
        "{text}"
    );
}

/// Whole objects and omap: binary values, pagination, missing keys, namespaces.
pub async fn omap_round_trip(conf: &Path, keyring: &Path) {
    let rados = connect(conf, keyring).await;
    in_temp_pool(&rados, "rbd", |rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        let csi = rados
            .ioctx(&pool, Some("csi"))
            .await
            .expect("ioctx in namespace");
        assert_eq!(csi.namespace(), Some("csi"));

        // Whole-object data, larger than one read chunk guess.
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
        io.write_full("blob", &data).await.expect("write_full");
        assert_eq!(io.stat("blob").await.expect("stat").size, data.len() as u64);
        assert_eq!(io.read("blob").await.expect("read"), data);
        io.write_full("blob", b"short").await.expect("overwrite");
        assert_eq!(io.read("blob").await.expect("read"), b"short");
        io.remove("blob").await.expect("remove");
        assert!(io.read("blob").await.unwrap_err().is_not_found());
        assert!(io.remove("blob").await.unwrap_err().is_not_found());

        // omap_set creates the object; values are arbitrary bytes.
        let obj = "csi.volumes.default";
        let mut entries = BTreeMap::new();
        for i in 0..5 {
            entries.insert(format!("csi.volume.pvc-{i}"), vec![0, 0xff, b'\n', i]);
        }
        entries.insert("csi.volume.empty".into(), vec![]);
        io.omap_set(obj, &entries).await.expect("omap_set");
        assert_eq!(io.stat(obj).await.expect("stat").size, 0);

        let got = io
            .omap_get(
                obj,
                &["csi.volume.pvc-1", "csi.volume.empty", "csi.volume.nope"],
            )
            .await
            .expect("omap_get");
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got["csi.volume.pvc-1"], [0, 0xff, b'\n', 1]);
        assert_eq!(got["csi.volume.empty"], Vec::<u8>::new());

        // Pagination: pages of 2 in key order, `more` until the end.
        let mut listed = Vec::new();
        let mut after = String::new();
        loop {
            let (page, more) = io.omap_list(obj, &after, 2).await.expect("omap_list");
            assert!(page.len() <= 2);
            if let Some((last, _)) = page.last() {
                after = last.clone();
            }
            listed.extend(page);
            if !more {
                break;
            }
        }
        assert_eq!(listed, entries.clone().into_iter().collect::<Vec<_>>());

        io.omap_remove(obj, &["csi.volume.pvc-0", "csi.volume.nope"])
            .await
            .expect("omap_remove");
        let (rest, more) = io.omap_list(obj, "", 100).await.expect("omap_list");
        assert!(!more);
        assert_eq!(rest.len(), entries.len() - 1);
        assert!(rest.iter().all(|(k, _)| k != "csi.volume.pvc-0"));

        // Namespaces isolate objects.
        assert!(csi
            .omap_get(obj, &["csi.volume.pvc-1"])
            .await
            .unwrap_err()
            .is_not_found());
        csi.omap_set(obj, &BTreeMap::from([("k".to_owned(), b"v".to_vec())]))
            .await
            .expect("omap_set in namespace");
        assert_eq!(io.omap_get(obj, &["k"]).await.expect("omap_get").len(), 0);

        // Missing objects.
        assert!(io
            .omap_list("nope", "", 10)
            .await
            .unwrap_err()
            .is_not_found());
        assert!(io
            .omap_remove("nope", &["k"])
            .await
            .unwrap_err()
            .is_not_found());

        // Shared across tasks: concurrent writers through clones of one ioctx.
        let writers: Vec<_> = (0..16)
            .map(|i| {
                let io = io.clone();
                tokio::spawn(async move {
                    let entry = BTreeMap::from([(format!("k{i:02}"), vec![i as u8])]);
                    io.omap_set("shared", &entry).await
                })
            })
            .collect();
        for w in writers {
            w.await.expect("task").expect("concurrent omap_set");
        }
        let (all, _) = io.omap_list("shared", "", 100).await.expect("omap_list");
        assert_eq!(all.len(), 16);
    })
    .await;
}

/// Image create/resize/info/list/trash/remove, and EEXIST on a duplicate name.
pub async fn image_lifecycle(conf: &Path, keyring: &Path) {
    let rados = connect(conf, keyring).await;
    in_temp_pool(&rados, "rbd", |rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        let opts = ImageOptions {
            features: Some(rbd::features::LAYERING),
            order: Some(22),
            data_pool: None,
        };
        rbd::create(&io, "csi-vol-a", GIB, &opts)
            .await
            .expect("create");
        rbd::create(&io, "csi-vol-b", GIB, &ImageOptions::default())
            .await
            .expect("create b");

        let info = rbd::info(&io, "csi-vol-a").await.expect("info");
        assert_eq!(info.size, GIB);
        assert_eq!(info.order, 22);
        assert_eq!(info.obj_size, 4 << 20);
        assert_eq!(info.num_objs, 256);
        assert_eq!(info.features, rbd::features::LAYERING);
        assert_eq!(info.block_name_prefix, format!("rbd_data.{}", info.id));

        rbd::resize(&io, "csi-vol-a", 2 * GIB).await.expect("grow");
        assert_eq!(
            rbd::info(&io, "csi-vol-a").await.expect("info").size,
            2 * GIB
        );
        rbd::resize(&io, "csi-vol-a", GIB / 2)
            .await
            .expect("shrink");
        assert_eq!(
            rbd::info(&io, "csi-vol-a").await.expect("info").size,
            GIB / 2
        );

        let err = rbd::create(&io, "csi-vol-a", GIB, &opts).await.unwrap_err();
        assert!(err.is_exists(), "{err}");

        let mut names: Vec<_> = rbd::list(&io)
            .await
            .expect("list")
            .into_iter()
            .map(|s| s.name)
            .collect();
        names.sort();
        assert_eq!(names, ["csi-vol-a", "csi-vol-b"]);
        let listed = rbd::list(&io).await.expect("list");
        let a = listed
            .iter()
            .find(|s| s.name == "csi-vol-a")
            .expect("a listed");
        assert_eq!(a.id, info.id);

        rbd::trash_move(&io, "csi-vol-b", 0)
            .await
            .expect("trash move");
        let names: Vec<_> = rbd::list(&io)
            .await
            .expect("list")
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["csi-vol-a"]);

        rbd::remove(&io, "csi-vol-a").await.expect("remove");
        assert!(rbd::list(&io).await.expect("list").is_empty());
    })
    .await;
}

/// ENOENT for a missing pool and a missing image, with names in the message.
pub async fn missing_pool_and_image_errors(conf: &Path, keyring: &Path) {
    let rados = connect(conf, keyring).await;
    let missing = format!("rookery-missing-{}", random_suffix());
    let err = rados.pool_id(&missing).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.errno(), Some(2)); // ENOENT
    let err = rados.ioctx(&missing, None).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        err.to_string().contains(&format!("pool '{missing}'")),
        "{err}"
    );

    in_temp_pool(&rados, "rbd", |rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        for err in [
            rbd::remove(&io, "nope").await.unwrap_err(),
            rbd::info(&io, "nope").await.unwrap_err(),
            rbd::resize(&io, "nope", GIB).await.unwrap_err(),
        ] {
            assert!(err.is_not_found(), "{err}");
            assert_eq!(err.errno_name(), Some("ENOENT"));
            let text = err.to_string();
            assert!(
                text.contains(&format!("image 'nope' in pool '{pool}'")),
                "{text}"
            );
            assert!(
                text.ends_with("No such file or directory (errno 2)"),
                "{text}"
            );
        }
        let err = rbd::create(&io, "bad\0name", GIB, &ImageOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.errno(), None, "{err}");
    })
    .await;
}

/// A mon address nobody listens on: connect fails with ETIMEDOUT after about the timeout.
pub async fn connect_timeout_on_closed_port(keyring: &Path) {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    }; // closed again here
    let dir = std::env::temp_dir().join(format!("rookery-dead-mon-{}", random_suffix()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = dir.join("ceph.conf");
    std::fs::write(
        &conf,
        format!("[global]\nmon_host = 127.0.0.1:{port}\nlog_file = /dev/null\nadmin_socket = \n"),
    )
    .expect("write conf");
    let opts = ConnectOptions {
        conf: conf.clone(),
        user: "admin".into(),
        keyring: Some(keyring.to_owned()),
        timeout: Duration::from_secs(3),
    };
    let started = Instant::now();
    let err = Rados::connect(opts).await.unwrap_err();
    let elapsed = started.elapsed();
    std::fs::remove_dir_all(&dir).ok();
    assert!(err.is_timeout(), "{err}");
    assert!(
        elapsed >= Duration::from_secs(2),
        "gave up too early: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}
