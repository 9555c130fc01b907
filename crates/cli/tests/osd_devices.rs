//! Disks and OSDs on private clusters (root only: loop devices): a spec with
//! only a deviceFilter comes up on its disk; a too-small disk gets its
//! reason in status; a blank disk attached later becomes an OSD; a detached
//! disk takes its OSD down and out and comes back under another name;
//! `rookery osd remove` drains and purges, refuses with the pool named,
//! obeys --force, and its tombstone outlives down/up.

mod common;

use std::process::Command;
use std::time::Duration;

use common::devices::{
    event, osd_entry, osd_on, private_cluster, refused_cluster, spec_with_filter, Disks, GIB,
};
use common::{rookery, text, TestCluster};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(240);

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

fn state_of(s: &Value, dev: &str) -> String {
    osd_on(s, dev)
        .and_then(|o| o["state"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[test]
fn disks_become_osds_go_and_come_back() {
    if !is_root() {
        eprintln!("skipped: needs root for loop devices");
        return;
    }
    let mut disks = Disks::reserve(4);
    let first = disks.attach_new(0, "first.img", 6 * GIB);
    let small = disks.attach_new(1, "small.img", GIB);
    // No file OSDs: the filter alone must bring the cluster up.
    let yaml = spec_with_filter("osd-devices", 0, 1, Some(&disks.filter()));
    let c = private_cluster("osd-devices", &yaml);

    let s = c.status();
    assert_eq!(state_of(&s, &first), "up, in", "{s:#}");
    let small_entry = s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == small.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{small} not in status: {s:#}"));
    assert_eq!(small_entry["verdict"], "skip");
    assert_eq!(
        small_entry["reasons"],
        serde_json::json!(["smaller than 5 GiB (1 GiB)"])
    );
    let o = rookery(&["status", "--dir", c.dir_str()]);
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{small} ")))
        .unwrap_or_else(|| panic!("no line for {small}: {out}"));
    assert!(
        line.ends_with("not used: smaller than 5 GiB (1 GiB)"),
        "{line}"
    );

    // A blank disk attached now becomes an OSD, up and in.
    let hot = disks.attach_new(2, "hot.img", 6 * GIB);
    let s = c.wait_status("the new disk's OSD up and in", WAIT, |s| {
        state_of(s, &hot) == "up, in"
    });
    let id = osd_on(&s, &hot).unwrap()["id"].as_u64().unwrap();
    let backing = disks.file("hot.img").display().to_string();
    assert_eq!(
        osd_on(&s, &hot).unwrap()["identity"],
        format!("file {backing}, 6 GiB")
    );
    assert!(event(&c.dir, "disk-added", &hot).is_some());
    assert!(event(&c.dir, "osd-created", &format!("osd.{id} created on {hot}")).is_some());

    // Detached while its OSD holds it: the OSD is stopped, down and out.
    disks.detach(&hot);
    let s = c.wait_status("the detached disk's OSD down and out", WAIT, |s| {
        osd_entry(s, id).is_some_and(|o| o["up"] == false && o["in"] == false)
    });
    let state = osd_entry(&s, id).unwrap()["state"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        state.starts_with(&format!("disk gone: {hot} (file {backing})")),
        "{state}"
    );
    assert!(event(&c.dir, "disk-gone", &format!("osd.{id}: disk gone: {hot}")).is_some());
    let o = rookery(&["status", "--dir", c.dir_str()]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("disk gone: {hot} (file {backing})")),
        "{}",
        text(&o)
    );

    // The same file under another name: the same OSD, back up and in.
    let again = disks.attach(3, "hot.img");
    let s = c.wait_status("the OSD back on its disk's new name", WAIT, |s| {
        state_of(s, &again) == "up, in"
    });
    assert_eq!(osd_on(&s, &again).unwrap()["id"], id, "{s:#}");
    assert!(event(
        &c.dir,
        "disk-back",
        &format!("osd.{id}: disk back at {again}")
    )
    .is_some());

    // Removed: purged, its disk left with its label and never taken again.
    let o = rookery(&["osd", "remove", &id.to_string(), "--dir", c.dir_str()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{again} is left as Ceph left it")),
        "{}",
        text(&o)
    );
    std::thread::sleep(Duration::from_secs(5));
    let s = c.status();
    assert_eq!(osd_entry(&s, id).unwrap()["state"], "removed", "{s:#}");
    let dev = s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == again.as_str())
        .cloned()
        .unwrap();
    let label = "has a Ceph BlueStore label (an OSD's disk)";
    assert!(
        dev["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == label),
        "{dev:#}"
    );
    assert_eq!(
        s["osds"].as_array().unwrap().len(),
        2,
        "no new OSD on the removed disk: {s:#}"
    );
    drop(c);
}

#[test]
fn a_filter_that_finds_no_usable_disk_is_refused_with_the_reason() {
    if !is_root() {
        eprintln!("skipped: needs root for loop devices");
        return;
    }
    let mut disks = Disks::reserve(1);
    let small = disks.attach_new(0, "small.img", GIB);
    let yaml = spec_with_filter("osd-nodisk", 0, 1, Some(&disks.filter()));
    let (c, o) = refused_cluster("osd-nodisk", &yaml);
    assert!(!o.status.success(), "{}", text(&o));
    let all = text(&o);
    let want = format!(
        "the cluster would have no OSD: deviceFilter {} found no more usable disk; {small}: \
smaller than 5 GiB (1 GiB); attach blank disks it matches",
        disks.filter()
    );
    assert!(all.contains(&want), "want {want:?} in {all}");
    drop(c);
}

fn ceph(c: &TestCluster, args: &[&str]) -> String {
    let o = Command::new("ceph")
        .arg("--conf")
        .arg(c.conf())
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "ceph {args:?}: {o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn osd_ids_in_map(c: &TestCluster) -> Vec<u64> {
    let dump: Value = serde_json::from_str(&ceph(c, &["osd", "dump", "-f", "json"])).unwrap();
    dump["osds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["osd"].as_u64().unwrap())
        .collect()
}

fn remove(c: &TestCluster, args: &[&str]) -> std::process::Output {
    let mut all = vec!["osd", "remove"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--dir", c.dir_str()]);
    rookery(&all)
}

#[test]
fn osd_remove_drains_refuses_forces_and_leaves_a_tombstone() {
    let yaml = spec_with_filter("osd-remove", 3, 2, None);
    let c = private_cluster("osd-remove", &yaml);
    // The mgr's own pool is made at size 3 (3 OSDs); bring it to 2 copies, of
    // which 1 may serve, like rbd, so one OSD may go (and, forced, a second
    // without making its PG inactive), and wait until everything is clean.
    c.wait_status("the mgr's pool", WAIT, |s| {
        s["ceph"]["pools"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["name"] == "device_health_metrics"))
    });
    for (var, val) in [("size", "2"), ("min_size", "1")] {
        ceph(
            &c,
            &["osd", "pool", "set", "device_health_metrics", var, val],
        );
    }
    let objects = 24;
    for i in 0..objects {
        let o = Command::new("rados")
            .arg("--conf")
            .arg(c.conf())
            .args(["-p", "rbd", "put", &format!("obj{i}"), "/etc/services"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
    }
    c.wait_status("all PGs clean", WAIT, |s| {
        s["ceph"]["pgs_by_state"]
            .as_array()
            .is_some_and(|a| a.len() == 1 && a[0][0] == "active+clean")
    });

    // Two OSDs remain for pools of two copies: drained, then purged.
    let o = remove(&c, &["2"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("draining: "), "{out}");
    assert!(out.contains("osd.2 (10 GiB file) removed in"), "{out}");
    assert!(!osd_ids_in_map(&c).contains(&2));
    assert!(!c.dir.join("osd/2").exists(), "its data is deleted");
    let s = c.status();
    assert_eq!(osd_entry(&s, 2).unwrap()["state"], "removed", "{s:#}");
    assert!(event(&c.dir, "osd-draining", "osd.2 marked out").is_some());
    assert!(event(&c.dir, "osd-removed", "osd.2 on 10 GiB file removed").is_some());
    for i in 0..objects {
        ceph_get(&c, &format!("obj{i}"));
    }

    // One OSD would remain for pools of two copies: refused, nothing changed.
    let o = remove(&c, &["1"]);
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "refused to remove osd.1: pool device_health_metrics has size 2 and only 1 OSD would \
remain up and in; nothing was changed"
        ),
        "{err}"
    );
    assert!(event(&c.dir, "osd-remove-refused", "osd.1").is_some());
    let s = c.status();
    assert_eq!(osd_entry(&s, 1).unwrap()["state"], "up, in", "{s:#}");

    // Forced: gone at once, the other copy still serves the data.
    let o = remove(&c, &["osd.1", "--force", "--output", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["forced"], true, "{report}");
    assert_eq!(osd_ids_in_map(&c), [0]);
    ceph_get(&c, "obj0");

    // The tombstones outlive a restart: nothing is recreated, and up says so.
    let o = rookery(&["down", "--dir", c.dir_str()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = rookery(&["up", "--dir", c.dir_str()]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for id in [1, 2] {
        assert!(
            out.contains(&format!(
                "osd.{id} (slot {id}) was removed with `rookery osd remove`; it is not recreated"
            )),
            "{out}"
        );
    }
    assert_eq!(osd_ids_in_map(&c), [0]);
    let s = c.status();
    assert_eq!(osd_entry(&s, 1).unwrap()["state"], "removed", "{s:#}");
}

fn ceph_get(c: &TestCluster, obj: &str) {
    let out = c.dir.join("got");
    let o = Command::new("rados")
        .arg("--conf")
        .arg(c.conf())
        .args(["-p", "rbd", "get", obj])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "rados get {obj}: {o:?}");
}
