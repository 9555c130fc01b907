//! The CSI name journal against the shared real cluster: ceph-csi's exact omap
//! layout read back raw, stale-entry cleanup, idempotent undo, pagination, and the
//! same in a RADOS namespace. Each test works in its own pool.

#[allow(dead_code)]
#[path = "bodies/ceph_layer.rs"]
mod bodies;
mod common;

use std::collections::BTreeMap;
use std::future::Future;

use rookery_ceph::{IoCtx, Rados};
use rookery_csi::error::{CsiCode, Error};
use rookery_csi::journal::{
    Directories, DirectoryStats, JournalConfig, JournalEntry, ReserveRequest, Reserved,
    VolumeJournal, DEFAULT_INSTANCE_ID,
};

/// Runs `body` with a fresh pool on the shared cluster, deleted afterwards.
async fn in_pool<F, Fut>(body: F)
where
    F: FnOnce(Rados, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let cluster = common::shared();
    let rados = cluster.rados().await;
    bodies::in_temp_pool(&rados, "rbd", body).await;
}

/// Every omap entry of `obj`, raw.
async fn omap(io: &IoCtx, obj: &str) -> Vec<(String, Vec<u8>)> {
    let (entries, more) = io.omap_list(obj, "", 1000).await.expect("omap_list");
    assert!(!more);
    entries
}

fn entries(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    entries(pairs).into_iter().collect()
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

#[tokio::test]
async fn reservations_use_ceph_csi_keys_and_values() {
    in_pool(|rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        let vols = VolumeJournal::new(io.clone(), JournalConfig::volumes(DEFAULT_INSTANCE_ID));
        assert_eq!(vols.check_reservation("pvc-1", None).await.unwrap(), None);

        let r = vols
            .reserve_name(&ReserveRequest::volume("pvc-1"))
            .await
            .expect("reserve");
        let uuid = r.uuid.clone();
        assert_eq!(r.image_name(), format!("csi-vol-{uuid}"));
        let found = vols.check_reservation("pvc-1", None).await.unwrap();
        assert_eq!(found.as_ref(), Some(&r));

        // Exactly what ceph-csi v3.8.1 leaves: the bare 36-byte uuid in the directory,
        // an empty per-volume object with the request and image names.
        assert_eq!(
            omap(&io, "csi.volumes.default").await,
            entries(&[("csi.volume.pvc-1", &uuid)])
        );
        assert_eq!(uuid.len(), 36);
        let object = format!("csi.volume.{uuid}");
        assert_eq!(
            omap(&io, &object).await,
            entries(&[
                ("csi.imagename", &format!("csi-vol-{uuid}")),
                ("csi.volname", "pvc-1")
            ])
        );
        assert_eq!(io.stat(&object).await.expect("stat").size, 0);

        vols.store_image_id(&uuid, "10a3f6b8b1c2").await.unwrap();
        let got = io.omap_get(&object, &["csi.imageid"]).await.unwrap();
        assert_eq!(got["csi.imageid"], b"10a3f6b8b1c2");
        let attrs = vols.get_attributes(&uuid).await.unwrap();
        assert_eq!(attrs.image_id.as_deref(), Some("10a3f6b8b1c2"));
        assert_eq!(attrs.request_name, "pvc-1");

        // Snapshots: their own directory, csi.snapname and csi.source.
        let snaps = VolumeJournal::new(io.clone(), JournalConfig::snapshots(DEFAULT_INSTANCE_ID));
        let source = r.image_name().to_owned();
        let s = snaps
            .reserve_name(&ReserveRequest::snapshot("snap-1", &source))
            .await
            .expect("reserve snapshot");
        assert_eq!(
            omap(&io, "csi.snaps.default").await,
            entries(&[("csi.snap.snap-1", &s.uuid)])
        );
        assert_eq!(
            omap(&io, &format!("csi.snap.{}", s.uuid)).await,
            entries(&[
                ("csi.imagename", &format!("csi-snap-{}", s.uuid)),
                ("csi.snapname", "snap-1"),
                ("csi.source", &source),
            ])
        );
        let again = snaps
            .check_reservation("snap-1", Some(&source))
            .await
            .unwrap();
        assert_eq!(again.map(|a| a.uuid), Some(s.uuid.clone()));
        let err = snaps
            .check_reservation("snap-1", Some("csi-vol-other"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::SnapshotNameConflict { .. }), "{err}");
        assert_eq!(err.code(), CsiCode::AlreadyExists);
        // The volume journal did not see the snapshot.
        assert_eq!(vols.check_reservation("snap-1", None).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn ceph_csi_reservations_are_found() {
    in_pool(|rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        let vols = VolumeJournal::new(io.clone(), JournalConfig::volumes(DEFAULT_INSTANCE_ID));
        // As ceph-csi writes it: empty object first, directory key, then attributes.
        let uuid = new_uuid();
        let object = format!("csi.volume.{uuid}");
        io.write_full(&object, b"").await.unwrap();
        io.omap_set(
            "csi.volumes.default",
            &set(&[("csi.volume.pvc-old", &uuid)]),
        )
        .await
        .unwrap();
        io.omap_set(
            &object,
            &set(&[
                ("csi.volname", "pvc-old"),
                ("csi.imagename", &format!("csi-vol-{uuid}")),
                ("csi.imageid", "abc"),
            ]),
        )
        .await
        .unwrap();
        let r = vols
            .check_reservation("pvc-old", None)
            .await
            .unwrap()
            .expect("found");
        assert_eq!(r.uuid, uuid);
        assert_eq!(r.image_pool_id, None);
        assert_eq!(r.attributes.image_id.as_deref(), Some("abc"));

        // Topology form: the image pool id before the uuid.
        let uuid2 = new_uuid();
        io.omap_set(
            "csi.volumes.default",
            &set(&[("csi.volume.pvc-topo", &format!("0000000000000007/{uuid2}"))]),
        )
        .await
        .unwrap();
        io.omap_set(
            &format!("csi.volume.{uuid2}"),
            &set(&[("csi.volname", "pvc-topo")]),
        )
        .await
        .unwrap();
        let r = vols
            .check_reservation("pvc-topo", None)
            .await
            .unwrap()
            .expect("found");
        assert_eq!(
            (r.uuid.as_str(), r.image_pool_id),
            (uuid2.as_str(), Some(7))
        );
        assert_eq!(r.image_name(), format!("csi-vol-{uuid2}"));
    })
    .await;
}

#[tokio::test]
async fn stale_and_inconsistent_entries() {
    in_pool(|rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        let vols = VolumeJournal::new(io.clone(), JournalConfig::volumes(DEFAULT_INSTANCE_ID));
        let dir = "csi.volumes.default";

        // A directory key whose per-volume object is gone: cleaned, reported absent.
        let gone = new_uuid();
        io.omap_set(dir, &set(&[("csi.volume.stale", &gone)]))
            .await
            .unwrap();
        assert_eq!(vols.check_reservation("stale", None).await.unwrap(), None);
        assert_eq!(omap(&io, dir).await, vec![]);

        // ceph-csi stopped between the directory key and the attributes.
        let half = new_uuid();
        let half_obj = format!("csi.volume.{half}");
        io.write_full(&half_obj, b"").await.unwrap();
        io.omap_set(dir, &set(&[("csi.volume.half", &half)]))
            .await
            .unwrap();
        assert_eq!(vols.check_reservation("half", None).await.unwrap(), None);
        assert_eq!(omap(&io, dir).await, vec![]);
        assert!(io.stat(&half_obj).await.unwrap_err().is_not_found());
        // ... and the name can be reserved again.
        let fresh = vols
            .reserve_name(&ReserveRequest::volume("half"))
            .await
            .unwrap();
        assert_ne!(fresh.uuid, half);

        // The per-volume object names another request: an error, nothing removed.
        let theirs = new_uuid();
        let theirs_obj = format!("csi.volume.{theirs}");
        io.omap_set(&theirs_obj, &set(&[("csi.volname", "other")]))
            .await
            .unwrap();
        io.omap_set(dir, &set(&[("csi.volume.mine", &theirs)]))
            .await
            .unwrap();
        let err = vols.check_reservation("mine", None).await.unwrap_err();
        assert!(matches!(err, Error::JournalInconsistent { .. }), "{err}");
        assert_eq!(err.code(), CsiCode::Internal);
        assert!(err.to_string().contains(&theirs_obj), "{err}");
        assert!(io.stat(&theirs_obj).await.is_ok());
        let still = io.omap_get(dir, &["csi.volume.mine"]).await.unwrap();
        assert_eq!(still.len(), 1);

        // A value neither ceph-csi nor we write: an error naming object and key.
        io.omap_set(dir, &set(&[("csi.volume.junk", "not-a-uuid")]))
            .await
            .unwrap();
        let err = vols.check_reservation("junk", None).await.unwrap_err();
        assert!(matches!(err, Error::JournalCorrupt { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("'csi.volumes.default'") && text.contains("'csi.volume.junk'"),
            "{text}"
        );
        // Undo leaves a value it cannot have written, and still succeeds.
        vols.undo_reservation("junk", &new_uuid()).await.unwrap();
        assert_eq!(
            io.omap_get(dir, &["csi.volume.junk"]).await.unwrap().len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn reservations_are_compare_and_set() {
    in_pool(|rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        let vols = VolumeJournal::new(io.clone(), JournalConfig::volumes(DEFAULT_INSTANCE_ID));
        let dir = "csi.volumes.default";
        let first = vols
            .reserve_name(&ReserveRequest::volume("pvc-cas"))
            .await
            .unwrap();
        // A second reservation (say a timed-out attempt's write landing late)
        // neither overwrites the key nor leaves its object behind.
        let err = vols
            .reserve_name(&ReserveRequest::volume("pvc-cas"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::JournalInconsistent { .. }), "{err}");
        assert!(err.to_string().contains("pvc-cas"), "{err}");
        assert_eq!(
            omap(&io, dir).await,
            entries(&[("csi.volume.pvc-cas", &first.uuid)])
        );
        match vols
            .reserve_or_find(&ReserveRequest::volume("pvc-cas"))
            .await
            .unwrap()
        {
            Reserved::Existing(r) => assert_eq!(r, first),
            other => panic!("expected the existing reservation: {other:?}"),
        }

        // Stale remains are cleaned and the name reserved afresh.
        let gone = new_uuid();
        io.omap_set(dir, &set(&[("csi.volume.stale", &gone)]))
            .await
            .unwrap();
        let Reserved::New(fresh) = vols
            .reserve_or_find(&ReserveRequest::volume("stale"))
            .await
            .unwrap()
        else {
            panic!("a stale key is no reservation");
        };
        assert_ne!(fresh.uuid, gone);
        let key = io.omap_get(dir, &["csi.volume.stale"]).await.unwrap();
        assert_eq!(key["csi.volume.stale"], fresh.uuid.as_bytes());

        // ceph-csi's `<pool id>/<uuid>` form is undone too.
        let pooled = new_uuid();
        let pooled_obj = format!("csi.volume.{pooled}");
        io.omap_set(&pooled_obj, &set(&[("csi.volname", "pooled")]))
            .await
            .unwrap();
        let value = format!("0000000000000005/{pooled}");
        io.omap_set(dir, &set(&[("csi.volume.pooled", &value)]))
            .await
            .unwrap();
        vols.undo_reservation("pooled", &pooled).await.unwrap();
        assert!(io
            .omap_get(dir, &["csi.volume.pooled"])
            .await
            .unwrap()
            .is_empty());
        assert!(io.stat(&pooled_obj).await.unwrap_err().is_not_found());
    })
    .await;
}

/// Reserves `names` at once, each through its own journal sharing
/// `directories`, as concurrent requests of one controller do.
async fn reserve_at_once(
    io: &IoCtx,
    directories: &Directories,
    names: &[String],
) -> Vec<(String, Reserved)> {
    let tasks: Vec<_> = names
        .iter()
        .map(|name| {
            let vols = VolumeJournal::shared(
                io.clone(),
                JournalConfig::volumes(DEFAULT_INSTANCE_ID),
                directories,
            );
            let name = name.clone();
            tokio::spawn(async move {
                let r = vols
                    .reserve_or_find(&ReserveRequest::volume(&name))
                    .await
                    .unwrap_or_else(|e| panic!("reserve {name}: {e}"));
                (name, r)
            })
        })
        .collect();
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.unwrap());
    }
    done
}

fn since(before: DirectoryStats, now: DirectoryStats) -> DirectoryStats {
    DirectoryStats {
        changes: now.changes - before.changes,
        writes: now.writes - before.writes,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_directory_changes_share_writes_and_keep_their_own_outcome() {
    in_pool(|rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        let dir = "csi.volumes.default";
        let directories = Directories::default();

        // 24 new names at once: every one reserved, in fewer writes.
        let names: Vec<String> = (0..24).map(|i| format!("pvc-batch-{i:02}")).collect();
        let reserved = reserve_at_once(&io, &directories, &names).await;
        let stats = directories.stats();
        assert_eq!(stats.changes, 24, "{stats:?}");
        assert!(
            stats.writes < stats.changes,
            "no write was shared: {stats:?}"
        );
        let mut expected: Vec<(String, Vec<u8>)> = reserved
            .iter()
            .map(|(name, r)| match r {
                Reserved::New(r) => (format!("csi.volume.{name}"), r.uuid.clone().into_bytes()),
                other => panic!("{name}: expected a new reservation, got {other:?}"),
            })
            .collect();
        expected.sort();
        assert_eq!(omap(&io, dir).await, expected);

        // A batch with a name that is taken: that request finds the existing
        // reservation, the others get theirs.
        let before = directories.stats();
        let mut again: Vec<String> = (24..36).map(|i| format!("pvc-batch-{i:02}")).collect();
        again.insert(6, "pvc-batch-03".into());
        let outcome = reserve_at_once(&io, &directories, &again).await;
        assert_eq!(since(before, directories.stats()).changes, 13);
        for (name, r) in &outcome {
            match (name.as_str(), r) {
                ("pvc-batch-03", Reserved::Existing(r)) => {
                    let Reserved::New(first) = &reserved[3].1 else {
                        unreachable!()
                    };
                    assert_eq!(r.uuid, first.uuid);
                }
                (_, Reserved::New(_)) if name != "pvc-batch-03" => {}
                _ => panic!("{name}: {r:?}"),
            }
        }
        assert_eq!(omap(&io, dir).await.len(), 36);

        // One name reserved by several at once (requests do it under the
        // name's lock; this checks the journal does not rely on that): one
        // wins, the others are told.
        // Other names go first, so the same name's changes queue up together
        // behind a write in flight.
        let names = (0..8)
            .map(|i| format!("pvc-other-{i}"))
            .chain(std::iter::repeat_n("pvc-same".to_owned(), 8));
        let tries: Vec<_> = names
            .map(|name| {
                let vols = VolumeJournal::shared(
                    io.clone(),
                    JournalConfig::volumes(DEFAULT_INSTANCE_ID),
                    &directories,
                );
                tokio::spawn(async move {
                    let r = vols.reserve_name(&ReserveRequest::volume(&name)).await;
                    (name, r)
                })
            })
            .collect();
        let mut won = Vec::new();
        for t in tries {
            match t.await.unwrap() {
                (name, Ok(r)) if name == "pvc-same" => won.push(r),
                (name, Ok(r)) => {
                    VolumeJournal::new(io.clone(), JournalConfig::volumes(DEFAULT_INSTANCE_ID))
                        .undo_reservation(&name, &r.uuid)
                        .await
                        .unwrap()
                }
                (name, Err(e)) if name == "pvc-same" => {
                    assert!(matches!(e, Error::JournalInconsistent { .. }), "{e}")
                }
                (name, Err(e)) => panic!("{name}: {e}"),
            }
        }
        assert_eq!(won.len(), 1, "{won:?}");
        let key = io.omap_get(dir, &["csi.volume.pvc-same"]).await.unwrap();
        assert_eq!(key["csi.volume.pvc-same"], won[0].uuid.as_bytes());
        VolumeJournal::shared(
            io.clone(),
            JournalConfig::volumes(DEFAULT_INSTANCE_ID),
            &directories,
        )
        .undo_reservation("pvc-same", &won[0].uuid)
        .await
        .unwrap();

        // Undone at once: every key and object gone, in fewer writes.
        let before = directories.stats();
        let all: Vec<(String, String)> = reserved
            .iter()
            .chain(outcome.iter().filter(|(n, _)| n != "pvc-batch-03"))
            .map(|(name, r)| {
                let Reserved::New(r) = r else { unreachable!() };
                (name.clone(), r.uuid.clone())
            })
            .collect();
        let undos: Vec<_> = all
            .iter()
            .cloned()
            .map(|(name, uuid)| {
                let vols = VolumeJournal::shared(
                    io.clone(),
                    JournalConfig::volumes(DEFAULT_INSTANCE_ID),
                    &directories,
                );
                tokio::spawn(async move { vols.undo_reservation(&name, &uuid).await })
            })
            .collect();
        for u in undos {
            u.await.unwrap().expect("undo");
        }
        let undone = since(before, directories.stats());
        assert_eq!(undone.changes, 36);
        assert!(undone.writes < undone.changes, "{undone:?}");
        assert!(omap(&io, dir).await.is_empty());
        for (_, uuid) in &all {
            let obj = format!("csi.volume.{uuid}");
            assert!(io.stat(&obj).await.unwrap_err().is_not_found(), "{obj}");
        }
    })
    .await;
}

#[tokio::test]
async fn undo_is_idempotent_and_spares_newer_reservations() {
    in_pool(|rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        let vols = VolumeJournal::new(io.clone(), JournalConfig::volumes(DEFAULT_INSTANCE_ID));
        // Nothing there at all: still fine.
        vols.undo_reservation("never", &new_uuid())
            .await
            .expect("undo of nothing");

        let r = vols
            .reserve_name(&ReserveRequest::volume("pvc-1"))
            .await
            .unwrap();
        let object = format!("csi.volume.{}", r.uuid);
        for _ in 0..2 {
            vols.undo_reservation("pvc-1", &r.uuid).await.expect("undo");
            assert_eq!(vols.check_reservation("pvc-1", None).await.unwrap(), None);
            assert_eq!(omap(&io, "csi.volumes.default").await, vec![]);
            assert!(io.stat(&object).await.unwrap_err().is_not_found());
        }
        let err = vols.get_attributes(&r.uuid).await.unwrap_err();
        assert_eq!(err.code(), CsiCode::NotFound, "{err}");
        assert!(err.to_string().contains(&object), "{err}");

        // A late undo of the old uuid leaves the name's new reservation alone.
        let newer = vols
            .reserve_name(&ReserveRequest::volume("pvc-1"))
            .await
            .unwrap();
        vols.undo_reservation("pvc-1", &r.uuid).await.unwrap();
        let found = vols.check_reservation("pvc-1", None).await.unwrap();
        assert_eq!(found.map(|f| f.uuid), Some(newer.uuid));

        let err = vols
            .undo_reservation("pvc-1", "NOT-A-UUID")
            .await
            .unwrap_err();
        assert_eq!(err.code(), CsiCode::InvalidArgument);
    })
    .await;
}

#[tokio::test]
async fn list_paginates_in_name_order() {
    in_pool(|rados, pool| async move {
        let io = rados.ioctx(&pool, None).await.expect("ioctx");
        let vols = VolumeJournal::new(io.clone(), JournalConfig::volumes(DEFAULT_INSTANCE_ID));
        assert_eq!(vols.list("", 10).await.unwrap().entries, vec![]);

        // Reserved concurrently (distinct names need no common lock).
        let tasks: Vec<_> = (0..23)
            .map(|i| {
                let vols = vols.clone();
                tokio::spawn(async move {
                    let name = format!("pvc-{i:02}");
                    let r = vols
                        .reserve_name(&ReserveRequest::volume(&name))
                        .await
                        .unwrap();
                    JournalEntry {
                        request_name: name,
                        uuid: r.uuid,
                        image_pool_id: None,
                    }
                })
            })
            .collect();
        let mut expected = Vec::new();
        for t in tasks {
            expected.push(t.await.unwrap());
        }
        expected.sort_by(|a, b| a.request_name.cmp(&b.request_name));
        // A ceph-csi mirroring map entry is not a reservation and is skipped.
        io.omap_set(
            "csi.volumes.default",
            &set(&[("csi.volume.pvc-10x", "0001-0004-east-0000000000000002-x")]),
        )
        .await
        .unwrap();

        let mut listed = Vec::new();
        let mut after = String::new();
        let mut pages = 0;
        loop {
            let page = vols.list(&after, 7).await.unwrap();
            pages += 1;
            assert!(page.entries.len() <= 7);
            listed.extend(page.entries);
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
        assert_eq!(listed, expected);
        assert_eq!(pages, 4);
        let tail = vols.list("pvc-20", 100).await.unwrap();
        assert_eq!(tail.entries, expected[21..].to_vec());
        assert_eq!(tail.next, None);
    })
    .await;
}

#[tokio::test]
async fn journal_in_a_rados_namespace() {
    in_pool(|rados, pool| async move {
        let plain = rados.ioctx(&pool, None).await.expect("ioctx");
        let csi = rados.ioctx(&pool, Some("csi")).await.expect("ioctx csi");
        let vols = VolumeJournal::new(csi.clone(), JournalConfig::volumes(DEFAULT_INSTANCE_ID));
        let r = vols
            .reserve_name(&ReserveRequest::volume("pvc-ns"))
            .await
            .unwrap();
        assert_eq!(
            omap(&csi, "csi.volumes.default").await,
            entries(&[("csi.volume.pvc-ns", &r.uuid)])
        );
        assert!(plain
            .omap_list("csi.volumes.default", "", 10)
            .await
            .unwrap_err()
            .is_not_found());
        let elsewhere = VolumeJournal::new(plain, JournalConfig::volumes(DEFAULT_INSTANCE_ID));
        assert_eq!(
            elsewhere.check_reservation("pvc-ns", None).await.unwrap(),
            None
        );

        let found = vols.check_reservation("pvc-ns", None).await.unwrap();
        assert_eq!(found.as_ref(), Some(&r));
        let page = vols.list("", 10).await.unwrap();
        assert_eq!(page.entries.len(), 1);
        vols.undo_reservation("pvc-ns", &r.uuid).await.unwrap();
        assert!(csi
            .stat(&format!("csi.volume.{}", r.uuid))
            .await
            .unwrap_err()
            .is_not_found());
        assert_eq!(omap(&csi, "csi.volumes.default").await, vec![]);
    })
    .await;
}
