//! A full cluster, end to end, on a private cluster whose one 10 GiB OSD is
//! "full" at 20 %: filling it gives ENOSPC at a CephFS client, at a raw block
//! RBD volume and (as ENOSPC or EIO at fsync) at an ext4 RBD volume, and
//! RESOURCE_EXHAUSTED at the CSI controller (never a hang); no daemon aborts
//! or restarts, `status` and the RBD node plugin's volume health say why and
//! what to do, deleting a volume while full brings writes back (the ext4
//! volume after a remount), and `down --purge` of a full cluster with RBD
//! volumes mounted finishes and leaves no loop device or FUSE server.

mod common;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::full::{self, volume, volume_ok, Ratios};
use common::full_rbd::RawBlock;
use common::{rookery, text};

const MIB: u64 = 1 << 20;
const RATIOS: Ratios = Ratios {
    nearfull: 0.15,
    backfillfull: 0.18,
    full: 0.2,
};
/// Generous: the machine is shared.
const WAIT: Duration = Duration::from_secs(120);
/// How long a write on a full cluster may take to fail (it must not hang).
const FAIL_WAIT: Duration = Duration::from_secs(60);

/// Runs `f` on a thread; panics naming `what` if it takes over `limit` (a
/// hang becomes a failure; the stuck thread is left behind).
fn bounded<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}: it hangs"))
}

fn errno(r: &std::io::Result<()>) -> Option<i32> {
    r.as_ref().err().and_then(std::io::Error::raw_os_error)
}

#[test]
fn a_full_cluster_refuses_writes_says_why_and_recovers_when_data_is_deleted() {
    let c = full::private("full", RATIOS);
    let mnt = tempfile::tempdir_in(common::tmp_root()).unwrap();
    // Declared after the cluster, so dropped first: a failed test's FUSE
    // daemons, mounts and loop devices go before the cluster does.
    let _cleanup = full::Cleanup {
        cluster: c.dir.clone(),
        roots: vec![mnt.path().to_path_buf(), c.dir.clone()],
    };
    let at = |name: &str| mnt.path().join(name);
    let path = |p: &Path| p.to_str().unwrap().to_owned();

    volume_ok(&c, &["create", "filler", "--size", "3G"]);
    volume_ok(&c, &["mount", "filler", &path(&at("filler"))]);
    volume_ok(&c, &["create", "app", "--size", "1G"]);
    volume_ok(&c, &["mount", "app", &path(&at("app"))]);
    let raw = RawBlock::new(&c, "raw", 256 * MIB, mnt.path());
    raw.write_direct(0, &full::chunk(7))
        .expect("a raw block write while there is room");
    volume_ok(&c, &["--type", "fs", "create", "share", "--size", "4G"]);
    volume_ok(&c, &["--type", "fs", "mount", "share", &path(&at("share"))]);

    // Most of the room goes into an RBD volume while there is room, and it is
    // unmounted then: unmounting an RBD volume writes, and waits while full.
    let s = c.status();
    let osd = &full::capacity(&s)["osds"][0];
    let room = (osd["total_bytes"].as_f64().unwrap() * RATIOS.full
        - osd["used_bytes"].as_f64().unwrap())
    .max(0.0) as u64;
    let bulk = room * 7 / 10 / MIB * MIB;
    full::write_file(&at("filler").join("bulk"), bulk).expect("write while there is room");
    volume_ok(&c, &["unmount", "filler"]);

    // 1. A CephFS client gets ENOSPC once the OSD passes the full ratio.
    let filled = full::fill_until_error(&at("share").join("fill"), 4 << 30);
    let err = filled
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("4 GiB written, no error: {filled:?}"));
    assert_eq!(
        err.raw_os_error(),
        Some(nix::errno::Errno::ENOSPC as i32),
        "{err}"
    );
    eprintln!(
        "filled: {} MiB into rbd, then {} MiB into CephFS in {:.1} s until ENOSPC",
        bulk / MIB,
        filled.bytes / MIB,
        filled.took.as_secs_f64()
    );

    // 2. `status` says the cluster refuses writes, which OSD, and what to do.
    let s = c.wait_status("writes refused", WAIT, |s| {
        full::capacity(s)["writes_refused"] == true
    });
    let cap = full::capacity(&s);
    assert_eq!(cap["worst"], "full", "{cap:#}");
    assert_eq!(cap["osds"][0]["fill"], "full", "{cap:#}");
    // `osd df` lags the OSD's own reports the mons act on by a second or two.
    let used = cap["osds"][0]["used_ratio"].as_f64().unwrap();
    assert!(used > 0.05, "{used} used, {cap:#}");
    eprintln!("marked full at {:.1}% used (osd df)", used * 100.0);
    assert!((cap["full_ratio"].as_f64().unwrap() - RATIOS.full).abs() < 1e-6);
    assert!(cap["full_pools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "rbd"));
    assert!(full::checks(&s).contains(&"OSD_FULL".to_string()), "{s:#}");
    let advice = cap["advice"].to_string();
    assert!(advice.contains("rookery volume delete"), "{advice}");
    let o = rookery(&["status", "--dir", c.dir_str()]);
    let human = String::from_utf8_lossy(&o.stdout);
    eprintln!("{human}");
    for needle in [
        "WRITES REFUSED",
        "osd.0",
        "full 20%",
        "rookery volume delete",
        "add OSDs",
    ] {
        assert!(human.contains(needle), "{needle:?} missing:\n{human}");
    }

    // 3. The CSI controllers answer at once with RESOURCE_EXHAUSTED.
    for args in [
        &["create", "more", "--size", "1G"][..],
        &["snapshot", "create", "app", "snap"][..],
        &["--type", "fs", "create", "share2", "--size", "1G"][..],
    ] {
        let started = Instant::now();
        let o = volume(&c, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success(),
            "{args:?} on a full cluster: {}",
            text(&o)
        );
        assert!(err.contains("ResourceExhausted"), "{args:?}: {err}");
        assert!(err.contains("cluster is full"), "{args:?}: {err}");
        eprintln!("{args:?} refused in {} ms", started.elapsed().as_millis());
    }

    // 4. RBD volumes: a write that needs room fails at once, reads work.
    let raw = std::sync::Arc::new(raw);
    let fresh = 64 * MIB;
    let r = {
        let raw = raw.clone();
        bounded(
            "a raw block write on a full cluster",
            FAIL_WAIT,
            move || raw.write_direct(fresh, &full::chunk(8)),
        )
    };
    assert_eq!(errno(&r), Some(nix::errno::Errno::ENOSPC as i32), "{r:?}");
    let back = raw.read_direct(0, full::CHUNK).expect("a read when full");
    assert!(back == full::chunk(7), "data written before differs");
    // ext4 takes the write into the page cache; writeback fails, and fsync
    // says so (the kernel passes ENOSPC on, or EIO once ext4 gives up).
    let app_file = at("app").join("data");
    let r = {
        let app_file = app_file.clone();
        bounded(
            "an ext4 write + fsync on a full cluster",
            FAIL_WAIT,
            move || full::write_file(&app_file, 8 * MIB),
        )
    };
    let seen = errno(&r);
    eprintln!("ext4 on a full RBD volume: write_file -> {r:?}");
    assert!(
        seen == Some(nix::errno::Errno::ENOSPC as i32)
            || seen == Some(nix::errno::Errno::EIO as i32),
        "ext4 on a full cluster: {r:?}"
    );
    // The node plugin says why: the volume is DEGRADED while its pool is full.
    let app_id = full::volume_id(&c, "app");
    let health = full::rbd_volume_health(&c, &app_id, &at("app"));
    assert!(
        health
            .iter()
            .any(|(reason, msg)| reason == "PoolFull" && msg.contains("pool 'rbd'")),
        "{health:?}"
    );

    // 5. Deleting a volume works while full and brings writes back.
    let started = Instant::now();
    volume_ok(&c, &["delete", "filler"]);
    let deleted = started.elapsed();
    let s = c.wait_status("writes accepted again", WAIT, |s| {
        full::capacity(s)["writes_refused"] == false
            && !full::checks(s)
                .iter()
                .any(|n| n == "OSD_FULL" || n == "POOL_FULL")
    });
    let writable = started.elapsed();
    eprintln!(
        "delete took {} ms; writable again {:.1} s after the delete began",
        deleted.as_millis(),
        writable.as_secs_f64()
    );
    assert_eq!(full::capacity(&s)["worst"], "ok", "{s:#}");

    assert_eq!(full::rbd_volume_health(&c, &app_id, &at("app")), []);

    // The raw block volume writes again as it is.
    raw.write_direct(fresh, &full::chunk(8))
        .expect("a raw block write once there is room");
    assert!(raw.read_direct(fresh, full::CHUNK).unwrap() == full::chunk(8));
    // ext4 whose writeback failed writes again on the same mount (the failed
    // writeback is no filesystem error); it also unmounts (it does not hang)
    // and mounts again cleanly, and writes then.
    full::write_file(&at("app").join("same-mount"), 8 * MIB)
        .expect("ext4 writes again on the same mount");
    bounded("unmount of the ext4 volume", WAIT, {
        let c = c.dir.clone();
        move || {
            let o = rookery(&["volume", "--dir", c.to_str().unwrap(), "unmount", "app"]);
            assert!(o.status.success(), "{}", text(&o));
        }
    });
    volume_ok(&c, &["mount", "app", &path(&at("app"))]);
    full::write_file(&app_file, 8 * MIB).expect("ext4 writes again after a remount");
    let back = std::fs::read(&app_file).unwrap();
    assert_eq!(back.len() as u64, 8 * MIB);
    assert!(back[..full::CHUNK] == full::chunk(1)[..], "data differs");
    // CephFS writes again on the same mount, and the controllers create again.
    full::write_file(&at("share").join("after"), 64 * MIB).expect("CephFS writes again");
    volume_ok(&c, &["create", "more", "--size", "1G"]);
    volume_ok(&c, &["--type", "fs", "create", "share2", "--size", "1G"]);

    // 6. Full again, in a pool without its RBD trash object (as one made before
    // rookery created it): librbd cannot delete the image and says it is
    // missing; the delete fails and keeps the volume instead of orphaning it.
    // Deleting CephFS files brings writes back, and the delete then works.
    full::remove_object(&c, "rbd", "rbd_trash");
    let again = full::fill_until_error(&at("share").join("fill2"), 4 << 30);
    let err = again.error.expect("ENOSPC again");
    assert_eq!(
        err.raw_os_error(),
        Some(nix::errno::Errno::ENOSPC as i32),
        "{err}"
    );
    c.wait_status("writes refused again", WAIT, |s| {
        full::capacity(s)["writes_refused"] == true
    });
    let o = volume(&c, &["delete", "more"]);
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        msg.contains("FailedPrecondition") && msg.contains("still"),
        "{msg}"
    );
    let listed = volume_ok(&c, &["list"]);
    assert!(
        listed.contains("more"),
        "the volume must stay known: {listed}"
    );
    let started = Instant::now();
    std::fs::remove_file(at("share").join("fill2")).expect("delete a CephFS file when full");
    std::fs::remove_file(at("share").join("fill")).expect("delete a CephFS file when full");
    c.wait_status("writes accepted after CephFS deletes", WAIT, |s| {
        full::capacity(s)["writes_refused"] == false
    });
    eprintln!(
        "CephFS deletes: writable again after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    volume_ok(&c, &["delete", "more"]);

    // 7. No daemon aborted or restarted on the way.
    for d in c.daemons() {
        assert_eq!(d["restarts"], 0, "{d}");
        assert_eq!(d["state"], "running", "{d}");
    }
    let aborts = full::space_aborts(&c);
    assert!(aborts.is_empty(), "{aborts:#?}");
    let crashes = std::fs::read_dir(c.dir.join("crash"))
        .map(|d| d.flatten().filter(|e| e.path().is_dir()).count())
        .unwrap_or(0);
    assert_eq!(
        crashes,
        0,
        "crash reports in {}",
        c.dir.join("crash").display()
    );

    // 8. Full again with RBD volumes mounted: `down --purge` finishes and
    // leaves no loop device, mount or FUSE image server of the cluster.
    let again = full::fill_until_error(&at("share").join("fill3"), 4 << 30);
    assert!(again.error.is_some(), "{again:?}");
    c.wait_status("writes refused for the purge", WAIT, |s| {
        full::capacity(s)["writes_refused"] == true
    });
    let started = Instant::now();
    let dir = c.dir.clone();
    let o = bounded(
        "down --purge of a full cluster",
        Duration::from_secs(300),
        move || {
            rookery(&[
                "down",
                "--purge",
                "--yes-really-destroy-data",
                "--dir",
                dir.to_str().unwrap(),
            ])
        },
    );
    assert!(o.status.success(), "{}", text(&o));
    eprintln!(
        "down --purge of the full cluster took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        full::loops_of(&c.dir).is_empty(),
        "{:?}",
        full::loops_of(&c.dir)
    );
    assert!(full::fuse_daemons_of(&c.dir).is_empty());
    let table = rookery_csi::node::mountinfo::read().unwrap();
    assert!(
        !table
            .iter()
            .any(|e| e.mount_point.starts_with(&c.dir) || e.mount_point.starts_with(mnt.path())),
        "mounts left behind"
    );
}
