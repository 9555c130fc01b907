//! The local runtime against real Ceph daemons: bring-up, health, services,
//! supervision, idempotent `up`, and `down`/`up` keeping data.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::{rookery, text, TestCluster};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rookery_ceph::commands::{MgrStat, OsdDump};

fn http_get(url: &str) -> String {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

#[test]
fn bring_up_reaches_health_ok_with_all_osds_up_and_in() {
    let c = common::shared();
    let s = c.wait_status("HEALTH_OK", Duration::from_secs(120), |s| {
        s["ceph"]["health"] == "HEALTH_OK"
    });
    let ceph = &s["ceph"];
    assert_eq!(s["running"], true);
    assert_eq!(ceph["osds"], 3);
    assert_eq!(ceph["osds_up"], 3);
    assert_eq!(ceph["osds_in"], 3);
    assert_eq!(ceph["quorum"], serde_json::json!(["a"]));
    assert_eq!(ceph["mgr_available"], true);
    let rbd = ceph["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "rbd")
        .unwrap_or_else(|| panic!("no rbd pool: {s:#}"));
    assert_eq!(rbd["size"], 3);
    assert_eq!(rbd["min_size"], 2);
    // 3 x 10 GiB of raw space, and a usable figure below raw / 3.
    let raw = ceph["raw_total"].as_u64().unwrap();
    assert!((29 << 30..=31 << 30).contains(&raw), "raw {raw}");
    let usable = ceph["usable_avail"].as_u64().unwrap();
    assert!(usable > 0 && usable < raw / 3, "usable {usable}");
}

#[test]
fn mgr_modules_serve_on_loopback_with_a_private_dashboard_password() {
    let c = common::shared();
    let s = c.status();
    let services = &s["services"];
    let prom = services["prometheus"]
        .as_str()
        .unwrap_or_else(|| panic!("{s:#}"));
    assert!(prom.starts_with("http://127.0.0.1:"), "{prom}");
    let metrics = http_get(&format!("{}metrics", prom));
    assert!(
        metrics.contains("ceph_health_status"),
        "{}",
        &metrics[..metrics.len().min(500)]
    );
    let dash = services["dashboard"]
        .as_str()
        .unwrap_or_else(|| panic!("{s:#}"));
    assert!(dash.starts_with("https://127.0.0.1:"), "{dash}");
    let hostport = dash.trim_start_matches("https://").trim_end_matches('/');
    std::net::TcpStream::connect(hostport).expect("dashboard port accepts connections");
    let pw = c.dir.join("dashboard-password");
    let mode = std::fs::metadata(&pw).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(std::fs::read_to_string(&pw).unwrap().len() >= 12);
}

async fn osd_up_from(rados: &rookery_ceph::Rados, id: u32) -> (bool, u64) {
    let dump = rados.mon_command(&OsdDump).await.unwrap();
    let osd = dump.osds.iter().find(|o| o.osd == id).unwrap();
    (osd.up, osd.up_from)
}

fn restarts(c: &TestCluster, daemon: &str) -> u64 {
    c.daemons()
        .iter()
        .find(|d| d["name"] == daemon)
        .and_then(|d| d["restarts"].as_u64())
        .unwrap_or(0)
}

/// SIGKILLs a supervised daemon and waits for the supervisor to start a new
/// process; returns how long that took.
fn kill_and_wait_for_restart(c: &TestCluster, daemon: &str) -> Duration {
    let before = c
        .daemon_pid(daemon)
        .unwrap_or_else(|| panic!("{daemon} not supervised: {:?}", c.daemons()));
    let restarts_before = restarts(c, daemon);
    let start = Instant::now();
    kill(Pid::from_raw(before as i32), Signal::SIGKILL).unwrap();
    loop {
        if matches!(c.daemon_pid(daemon), Some(pid) if pid != before) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{daemon} not restarted: {:?}",
            c.daemons()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(restarts(c, daemon), restarts_before + 1);
    start.elapsed()
}

/// Polls `check` every 200 ms for up to two minutes.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_restarts_a_killed_osd_and_mgr() {
    let c = common::shared_exclusive();
    let rados = c.rados().await;
    c.wait_status("all OSDs up", Duration::from_secs(120), |s| {
        s["ceph"]["osds_up"] == 3
    });

    // OSD: a new process, and Ceph sees it come up again (a newer up_from).
    let (_, up_from_before) = osd_up_from(&rados, 1).await;
    let start = Instant::now();
    let restarted = kill_and_wait_for_restart(&c, "osd.1");
    eventually("osd.1 to rejoin", || async {
        let (up, up_from) = osd_up_from(&rados, 1).await;
        up && up_from > up_from_before
    })
    .await;
    eprintln!(
        "osd.1: new process after {restarted:?}, up in the OSD map after {:?}",
        start.elapsed()
    );

    // mgr: a new process that becomes the active mgr (a new mgr map epoch).
    let epoch_before = rados.mon_command(&MgrStat).await.unwrap().epoch;
    let start = Instant::now();
    let restarted = kill_and_wait_for_restart(&c, "mgr.a");
    eventually("mgr.a to become active", || async {
        let stat = rados.mon_command(&MgrStat).await.unwrap();
        stat.available && stat.epoch > epoch_before && stat.active_name == "a"
    })
    .await;
    eprintln!(
        "mgr.a: new process after {restarted:?}, active after {:?}",
        start.elapsed()
    );

    // Leave the cluster as other tests expect it: modules serving, healthy.
    let s = c.wait_status(
        "modules serving and HEALTH_OK again",
        Duration::from_secs(180),
        |s| {
            s["services"]["prometheus"].is_string()
                && s["services"]["dashboard"].is_string()
                && s["ceph"]["health"] == "HEALTH_OK"
        },
    );
    let events = s["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["daemon"] == "osd.1" && e["message"].as_str().unwrap().contains("SIGKILL")),
        "no restart event: {events:?}"
    );
}

#[test]
fn second_up_on_a_running_cluster_is_a_no_op() {
    let c = common::shared();
    let pid = c.supervisor_pid().unwrap();
    let fsid = std::fs::read_to_string(c.dir.join("fsid")).unwrap();
    let o = rookery(&["up", "--dir", c.dir_str()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("already running"),
        "{}",
        text(&o)
    );
    assert_eq!(c.supervisor_pid(), Some(pid));
    assert_eq!(std::fs::read_to_string(c.dir.join("fsid")).unwrap(), fsid);
}

#[test]
fn purge_without_confirmation_is_refused_and_keeps_the_cluster() {
    let c = common::shared();
    let o = rookery(&["down", "--purge", "--dir", c.dir_str()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--yes-really-destroy-data"),
        "{}",
        text(&o)
    );
    assert!(c.dir.join("fsid").exists());
    assert_eq!(c.status()["running"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_supervisor_leaves_daemons_serving_and_up_adopts_them_then_down_up_keeps_data() {
    let c = TestCluster::private("downup");
    // Supervisor killed: the daemons keep running, status says so, and the
    // next `up` adopts the very same processes.
    let pids: Vec<Option<u32>> = ["mon.a", "mgr.a", "osd.0", "csi.rbd", "csi.rbd-node"]
        .iter()
        .map(|d| c.daemon_pid(d))
        .collect();
    assert!(pids.iter().all(Option::is_some), "{:?}", c.daemons());
    // No filesystem, no CephFS plugin.
    for d in ["csi.cephfs", "csi.cephfs-node"] {
        assert_eq!(c.daemon_pid(d), None, "{:?}", c.daemons());
    }
    let s = c.status();
    assert!(s["csi"].get("cephfs.csi.ceph.com").is_none(), "{s:#}");
    assert!(s["csi_node"].get("cephfs.csi.ceph.com").is_none(), "{s:#}");
    let sup = c.supervisor_pid().unwrap();
    kill(Pid::from_raw(sup as i32), Signal::SIGKILL).unwrap();
    let start = Instant::now();
    while c.status()["running"] == true {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "supervisor still running"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = c.status();
    let orphans: Vec<&str> = s["unsupervised"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        orphans,
        ["csi.rbd", "csi.rbd-node", "mgr.a", "mon.a", "osd.0"],
        "{s:#}"
    );
    let o = rookery(&["up", "--dir", c.dir_str()]);
    assert!(o.status.success(), "{}", text(&o));
    let adopted: Vec<Option<u32>> = ["mon.a", "mgr.a", "osd.0", "csi.rbd", "csi.rbd-node"]
        .iter()
        .map(|d| c.daemon_pid(d))
        .collect();
    assert_eq!(adopted, pids, "daemons were restarted instead of adopted");
    assert_ne!(c.supervisor_pid(), Some(sup));

    let fsid = std::fs::read_to_string(c.dir.join("fsid")).unwrap();
    {
        let rados = c.rados().await;
        let io = rados.ioctx("rbd", None).await.unwrap();
        io.write_full("survivor", b"written before down")
            .await
            .unwrap();
    }
    let o = rookery(&["down", "--dir", c.dir_str()]);
    assert!(o.status.success(), "{}", text(&o));
    // Nothing of the cluster is left running.
    assert_eq!(c.status()["running"], false);
    for d in ["mon.a", "mgr.a", "osd.0", "csi.rbd", "csi.rbd-node"] {
        assert!(
            !c.dir.join(format!("run/{d}.pid")).exists(),
            "{d} pid file left"
        );
    }
    assert!(
        !c.dir.join("run/csi-rbd.sock").exists(),
        "CSI socket left behind"
    );
    let o = rookery(&["up", "--dir", c.dir_str()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(c.dir.join("fsid")).unwrap(), fsid);
    let rados = c.rados().await;
    assert_eq!(rados.fsid(), fsid.trim());
    let io = rados.ioctx("rbd", None).await.unwrap();
    assert_eq!(io.read("survivor").await.unwrap(), b"written before down");
}

/// `rookery up -f` of `yaml` in a fresh directory; the directory and the spec
/// file are removed when it drops.
struct Attempt {
    dir: std::path::PathBuf,
    spec: std::path::PathBuf,
    out: std::process::Output,
}

impl Attempt {
    fn up(name: &str, yaml: &str) -> Self {
        let dir = common::tmp_root().join(format!("rookery-{name}-{}", std::process::id()));
        let spec = dir.with_extension("yaml");
        std::fs::write(&spec, yaml).unwrap();
        let out = rookery(&[
            "up",
            "-f",
            spec.to_str().unwrap(),
            "--dir",
            dir.to_str().unwrap(),
        ]);
        Attempt { dir, spec, out }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.spec);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn bad_spec_is_rejected_before_anything_is_created() {
    let a = Attempt::up(
        "badspec",
        "apiVersion: ceph.rook.io/v1\nkind: CephCluster\nmetadata:\n  name: bad\nspec:\n  mon:\n    count: 2\n  storage:\n    files:\n      count: 1\n      size: 1Gi\n",
    );
    assert!(!a.out.status.success());
    let err = String::from_utf8_lossy(&a.out.stderr);
    assert!(err.contains("spec.mon.count"), "{}", text(&a.out));
    assert!(err.contains("spec.storage.files.size"), "{}", text(&a.out));
    assert!(
        !a.dir.join("fsid").exists(),
        "a cluster was created from a bad spec"
    );
}

#[test]
fn port_in_use_is_a_clear_error_and_nothing_keeps_running() {
    let busy = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = busy.local_addr().unwrap().port();
    let yaml: Vec<String> = common::spec_yaml("busy", 1, 1, false)
        .lines()
        .map(|l| match l.trim_start().strip_prefix("monV2:") {
            // Keep the line's indentation.
            Some(_) => format!("{}monV2: {port}", &l[..l.len() - l.trim_start().len()]),
            None => l.to_string(),
        })
        .collect();
    let a = Attempt::up("busyport", &yaml.join("\n"));
    let (o, dir) = (&a.out, &a.dir);
    assert!(!o.status.success(), "{}", text(o));
    let out = text(o);
    assert!(out.contains(&format!("port {port} (mon.a msgr2)")), "{out}");
    assert!(out.contains("spec.network.ports.monV2"), "{out}");
    // The supervisor gave up and left nothing behind.
    std::thread::sleep(Duration::from_millis(500));
    let status = rookery(&["status", "--output", "json", "--dir", dir.to_str().unwrap()]);
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["running"], false, "{s:#}");
    drop(busy);
}
