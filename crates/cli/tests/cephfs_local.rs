//! CephFilesystem on the local runtime against real Ceph daemons: the
//! filesystem, its pools and supervised MDS daemons; status; MDS failover;
//! resume without recreating; a bad spec refused before anything exists.

mod common;

use std::time::Instant;

use common::mds::{active_and_replay, back_as_standby, mdsmap, rank0_taken_by};
use common::{rookery, text, TestCluster};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rookery_ceph::commands::{FsDump, OsdPoolLsDetail};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_cluster_serves_myfs_with_an_active_rank_and_a_standby() {
    let c = common::shared();
    let rados = c.rados().await;
    let map = mdsmap(&rados, "myfs").await;
    assert_eq!(map.max_mds, 1);
    assert!(map.allow_standby_replay());
    let pools = rados.mon_command(&OsdPoolLsDetail).await.unwrap();
    let name_of = |id: i64| {
        pools
            .iter()
            .find(|p| p.pool_id == id)
            .map(|p| p.pool_name.clone())
            .unwrap()
    };
    assert_eq!(name_of(map.metadata_pool), "myfs-metadata");
    let data: Vec<String> = map.data_pools.iter().map(|id| name_of(*id)).collect();
    assert_eq!(data, ["myfs-replicated"]);
    for name in ["myfs-metadata", "myfs-replicated"] {
        let p = pools.iter().find(|p| p.pool_name == name).unwrap();
        assert!(
            p.application_metadata.contains_key("cephfs"),
            "{name}: {:?}",
            p.application_metadata
        );
        assert_eq!((p.size, p.min_size), (3, 2), "{name}");
    }
    let (active, replay) = active_and_replay(&rados).await;
    assert_ne!(active, replay);
    let mut names = [active.clone(), replay.clone()];
    names.sort();
    assert_eq!(names, ["myfs-a", "myfs-b"]);

    // status --output json: the filesystem, its ranks, and both MDS
    // daemons under supervision.
    let s = c.status();
    let fs = &s["ceph"]["fs"]["filesystems"][0];
    assert_eq!(fs["name"], "myfs", "{s:#}");
    assert_eq!(fs["metadata_pool"], "myfs-metadata");
    assert_eq!(fs["data_pools"], serde_json::json!(["myfs-replicated"]));
    assert_eq!(fs["active_ranks"], 1);
    let mds = fs["mds"].as_array().unwrap();
    assert!(
        mds.iter()
            .any(|m| m["rank"] == 0 && m["state"] == "up:active" && m["name"] == active.as_str()),
        "{s:#}"
    );
    for d in ["mds.myfs-a", "mds.myfs-b"] {
        let entry = s["daemons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == d)
            .unwrap_or_else(|| panic!("{d} not supervised: {s:#}"));
        assert_eq!(entry["state"], "running", "{entry}");
    }
    // The text form names the ranks too.
    let o = rookery(&["status", "--dir", c.dir_str()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("1/1 ranks active"), "{out}");
    assert!(
        out.contains(&format!("up:active          mds.{active}")),
        "{out}"
    );
}

fn restarts(c: &TestCluster, daemon: &str) -> u64 {
    c.daemons()
        .iter()
        .find(|d| d["name"] == daemon)
        .and_then(|d| d["restarts"].as_u64())
        .unwrap_or(0)
}

fn events_of_kind(c: &TestCluster, kind: &str) -> usize {
    std::fs::read_to_string(c.dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("\"kind\":\"{kind}\"")))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_active_mds_fails_over_to_its_standby_and_returns_as_standby() {
    let c = TestCluster::private_with_filesystem("mdsfail");
    let rados = c.rados().await;
    let (active, replay) = active_and_replay(&rados).await;
    let daemon = format!("mds.{active}");
    let pid = c.daemon_pid(&daemon).expect("active MDS supervised");
    let restarts_before = restarts(&c, &daemon);

    let start = Instant::now();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    // The standby-replay takes rank 0 over.
    rank0_taken_by(&rados, &replay).await;
    let failover = start.elapsed();
    // The supervisor restarts the killed one, which follows the new active.
    back_as_standby(&rados, &active).await;
    let back = start.elapsed();
    assert_eq!(restarts(&c, &daemon), restarts_before + 1);
    assert_ne!(c.daemon_pid(&daemon), Some(pid));
    eprintln!("{active} killed: {replay} active after {failover:?}, {active} standby again after {back:?}");

    // down + up resumes: same filesystem, nothing created again, rank 0
    // served again.
    let fscid = rados
        .mon_command(&FsDump)
        .await
        .unwrap()
        .filesystem("myfs")
        .unwrap()
        .id;
    drop(rados);
    let (fs_created, pools_created) = (
        events_of_kind(&c, "fs-created"),
        events_of_kind(&c, "pool-created"),
    );
    assert_eq!(fs_created, 1);
    let o = rookery(&["down", "--dir", c.dir_str()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = rookery(&["up", "--dir", c.dir_str()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(events_of_kind(&c, "fs-created"), fs_created);
    assert_eq!(events_of_kind(&c, "pool-created"), pools_created);
    let rados = c.rados().await;
    let dump = rados.mon_command(&FsDump).await.unwrap();
    assert_eq!(dump.filesystems.len(), 1);
    assert_eq!(dump.filesystem("myfs").unwrap().id, fscid);
    assert!(dump.filesystem("myfs").unwrap().mdsmap.active(0).is_some());
    drop(rados);

    // Its CephFS plugins are back too, and `down --purge` releases a mounted
    // CephFS volume (and its ceph-fuse) instead of deleting under it.
    for d in ["csi.cephfs", "csi.cephfs-node"] {
        assert!(c.daemon_pid(d).is_some(), "{d}: {:?}", c.daemons());
    }
    let mnt = tempfile::tempdir_in(common::tmp_root()).unwrap();
    let volume = |args: &[&str]| {
        let mut full = vec!["volume", "--type", "fs", "--dir", c.dir_str()];
        full.extend_from_slice(args);
        let o = rookery(&full);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    };
    volume(&["create", "purged", "--size", "64M"]);
    let at = mnt.path().join("v");
    volume(&["mount", "purged", at.to_str().unwrap()]);
    std::fs::write(at.join("f"), b"x").unwrap();
    let o = rookery(&["down", "--dir", c.dir_str()]);
    assert!(
        !o.status.success(),
        "down under a mounted volume: {}",
        text(&o)
    );
    let o = rookery(&[
        "down",
        "--purge",
        "--yes-really-destroy-data",
        "--dir",
        c.dir_str(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let left: Vec<_> = rookery_csi::node::mountinfo::read()
        .unwrap()
        .into_iter()
        .filter(|e| e.mount_point.starts_with(mnt.path()) || e.mount_point.starts_with(&c.dir))
        .map(|e| e.mount_point)
        .collect();
    assert!(left.is_empty(), "mounts left after purge: {left:?}");
    let conf = c.conf().display().to_string();
    let fuse_left = rookery_runtime_local::cephfs_mounts::fuse_daemons(std::path::Path::new(&conf));
    assert!(fuse_left.is_empty(), "ceph-fuse left: {fuse_left:?}");
    assert!(!c.dir.exists());
}

#[test]
fn bad_filesystem_spec_is_refused_before_anything_is_created() {
    let dir = common::tmp_root().join(format!("rookery-badfs-{}", std::process::id()));
    let spec = dir.with_extension("yaml");
    let yaml = format!(
        "{}---\napiVersion: ceph.rook.io/v1\nkind: CephFilesystem\nmetadata:\n  name: badfs\n\
spec:\n  metadataPool:\n    replicated:\n      size: 3\n  metadataServer:\n    activeCount: 0\n",
        common::spec_yaml("badfs", 1, 1, false)
    );
    std::fs::write(&spec, yaml).unwrap();
    let o = rookery(&[
        "up",
        "-f",
        spec.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&spec);
    let created = dir.join("fsid").exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in [
        "CephFilesystem/badfs: spec.metadataPool.replicated.size: 3 copies need 3 OSDs",
        "CephFilesystem/badfs: spec.dataPools: missing or empty",
        "CephFilesystem/badfs: spec.metadataServer.activeCount: 0",
    ] {
        assert!(err.contains(needle), "{needle:?} missing: {}", text(&o));
    }
    assert!(!created, "a cluster was created from a bad spec");
}
