//! Mon failover on private clusters of three mons, each on its own loopback
//! address, with a 10 s timeout: a cut-off or frozen mon is replaced by the
//! next id; with two of three out nothing is replaced; a supervisor killed
//! mid-way finishes the failover after `up`; `mon.count` changes are carried
//! out one mon at a time.

mod common;

use std::time::{Duration, Instant};

use common::mons::{
    events_of, mon_addr, quorum, quorum_in, random_mon_range, three_mon_cluster, Frozen, Partition,
};
use common::{rookery, text};
use rookery_ceph::{ConnectOptions, Rados};

const TIMEOUT_SECS: u32 = 10;
/// Generous: Ceph takes ~15 s to see a cut-off mon, then the timeout, then
/// the new mon's sync, on a loaded machine.
const FAILOVER_LIMIT: Duration = Duration::from_secs(240);

/// Waits until three mons other than `gone` are in quorum and the status
/// shows the failover event; returns that status.
fn wait_replaced(c: &common::TestCluster, gone: &str) -> serde_json::Value {
    c.wait_status(
        &format!("mon.{gone} replaced, a quorum of three without it"),
        FAILOVER_LIMIT,
        |s| {
            let q = quorum_in(s);
            q.len() == 3 && !q.iter().any(|m| m == gone) && !events_of(s, "mon-failover").is_empty()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_mon_is_replaced_by_the_next_id_and_clients_follow() {
    let first = random_mon_range();
    let c = three_mon_cluster("monfo", first, TIMEOUT_SECS);
    let mut cut = Partition::cut(mon_addr(first, 1));
    let cut_at = Instant::now();

    let s = wait_replaced(&c, "b");
    let took = cut_at.elapsed();
    let q = quorum_in(&s);
    assert!(q.contains(&"d".to_string()), "the next id is d: {q:?}");
    let ev = events_of(&s, "mon-failover");
    let msg = ev[0]["message"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("mon.b out of quorum for") && msg.ends_with("replaced by mon.d"),
        "{msg}"
    );
    assert!(ev[0]["time"].as_u64().unwrap_or(0) > 0, "{ev:?}");
    eprintln!(
        "mon.b replaced {:.1}s after it was cut off",
        took.as_secs_f64()
    );

    // ceph.conf: mon.d in, mon.b and its address out.
    let conf = std::fs::read_to_string(c.conf()).unwrap();
    let b_addr = mon_addr(first, 1).to_string();
    assert!(
        !conf.contains("[mon.b]") && !conf.contains(&b_addr),
        "{conf}"
    );
    assert!(conf.contains("[mon.d]"), "{conf}");
    assert!(conf.contains(&mon_addr(first, 3).to_string()), "{conf}");
    assert!(!c.dir.join("mon/b").exists(), "mon.b's store is deleted");

    // A client starting now, with the new ceph.conf and b still cut off.
    let rados = Rados::connect(ConnectOptions {
        conf: c.conf(),
        user: "admin".into(),
        keyring: Some(c.keyring()),
        timeout: Duration::from_secs(30),
    })
    .await
    .expect("a new client connects with the rewritten ceph.conf");
    let (monmap, quorum_now) = quorum(&rados).await.expect("quorum answers");
    assert_eq!(monmap, ["a", "c", "d"], "mon.b left the monmap");
    assert_eq!(quorum_now.len(), 3, "{quorum_now:?}");
    let io = rados.ioctx("rbd", None).await.expect("open rbd pool");
    io.write_full("monfo-probe", b"still here")
        .await
        .expect("a write through the new monmap");

    // Healing the old address changes nothing: mon.b is gone for good.
    cut.heal();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (monmap, _) = quorum(&rados).await.expect("quorum answers");
    assert_eq!(monmap, ["a", "c", "d"]);
    let text_status = rookery(&["status", "--dir", c.dir_str()]);
    let out = String::from_utf8_lossy(&text_status.stdout);
    assert!(out.contains("replaced by mon.d"), "{}", text(&text_status));
}

/// A hung mon (SIGSTOP: its connections stay open, nothing answers) is
/// replaced too; the watcher's own connection may be the one stuck on it.
#[test]
fn a_frozen_mon_is_replaced_too() {
    let first = random_mon_range();
    let c = three_mon_cluster("monfrz", first, TIMEOUT_SECS);
    let pid = c.daemon_pid("mon.a").expect("mon.a pid");
    let _frozen = Frozen::freeze(pid);
    let s = wait_replaced(&c, "a");
    assert!(quorum_in(&s).contains(&"d".to_string()), "{s:#}");
    let conf = std::fs::read_to_string(c.conf()).unwrap();
    assert!(!conf.contains("[mon.a]"), "{conf}");
    assert!(
        !rookery_runtime_local::procs::alive(pid),
        "the frozen mon.a was stopped for good"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_of_three_mons_out_nothing_is_replaced_and_quorum_returns() {
    let first = random_mon_range();
    let c = three_mon_cluster("monnq", first, TIMEOUT_SECS);
    let cut_a = Partition::cut(mon_addr(first, 0));
    let cut_b = Partition::cut(mon_addr(first, 1));
    // Three timeouts and more: a failover would have started by now.
    tokio::time::sleep(Duration::from_secs(u64::from(TIMEOUT_SECS) * 3 + 15)).await;
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(c.dir.join("mon/state.json")).unwrap()).unwrap();
    let ids: Vec<&str> = state["mons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["a", "b", "c"], "{state:#}");
    assert!(
        state.get("change").is_none(),
        "no change started: {state:#}"
    );
    let events = std::fs::read_to_string(c.dir.join("events.jsonl")).unwrap();
    assert!(!events.contains("\"mon-"), "{events}");

    drop(cut_a);
    drop(cut_b);
    let s = c.wait_status(
        "all three mons back in quorum and MON_DOWN cleared",
        Duration::from_secs(180),
        |s| {
            let checks = s["ceph"]["checks"].as_array().cloned().unwrap_or_default();
            quorum_in(s) == ["a", "b", "c"] && !checks.iter().any(|c| c["name"] == "MON_DOWN")
        },
    );
    assert!(s["mons"]["change"].is_null(), "{s:#}");
    assert!(events_of(&s, "mon-failover").is_empty(), "{s:#}");
    assert!(
        !std::fs::read_to_string(c.dir.join("events.jsonl"))
            .unwrap()
            .contains("\"mon-"),
        "nothing replaced after the quorum came back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_killed_mid_failover_finishes_it_after_up() {
    let first = random_mon_range();
    let c = three_mon_cluster("monkill", first, TIMEOUT_SECS);
    let _cut = Partition::cut(mon_addr(first, 2));
    // Killed while the new mon is joining (the longest step), read straight
    // from the state file so the moment is not missed.
    let state_path = c.dir.join("mon/state.json");
    let started = Instant::now();
    let state = loop {
        let text = std::fs::read_to_string(&state_path).unwrap_or_default();
        let state: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if state["change"]["step"] == "join" {
            break state;
        }
        assert!(
            started.elapsed() < FAILOVER_LIMIT,
            "the failover never reached its join step: {text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let pid = c.supervisor_pid().expect("supervisor pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the supervisor");
    // SIGKILL takes a moment: an `up` meanwhile would find it still running.
    let killed = Instant::now();
    while rookery_runtime_local::procs::alive(pid) {
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "supervisor {pid} survived SIGKILL"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("supervisor killed with the mon state at: {state:#}");
    assert_eq!(state["change"]["add"], "d");
    assert_eq!(state["change"]["remove"], "c");

    let o = rookery(&["up", "--dir", c.dir_str()]);
    assert!(o.status.success(), "up after the kill: {}", text(&o));
    let s = wait_replaced(&c, "c");
    assert!(quorum_in(&s).contains(&"d".to_string()), "{s:#}");
    assert!(s["mons"]["change"].is_null(), "{s:#}");
    let state = std::fs::read_to_string(c.dir.join("mon/state.json")).unwrap();
    assert!(!state.contains("\"change\""), "finished: {state}");
    assert!(!c.dir.join("mon/c").exists());
}

/// `up -f` with another mon.count on an existing cluster: once up, the mons
/// are added (1 -> 3) or removed (3 -> 1) one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mon_count_changes_are_carried_out_one_mon_at_a_time() {
    let first = random_mon_range();
    let c = common::mons::mon_cluster("monscale", first, TIMEOUT_SECS, 1);
    let spec = c.dir.with_extension("yaml");
    let up_with = |count: u32| {
        let o = rookery(&["down", "--dir", c.dir_str()]);
        assert!(o.status.success(), "{}", text(&o));
        let yaml = common::mons::mon_spec("monscale", first, TIMEOUT_SECS, count);
        std::fs::write(&spec, yaml).unwrap();
        let o = rookery(&["up", "-f", spec.to_str().unwrap(), "--dir", c.dir_str()]);
        assert!(o.status.success(), "{}", text(&o));
    };

    up_with(3);
    let s = c.wait_status("mons b and c added", FAILOVER_LIMIT, |s| {
        quorum_in(s) == ["a", "b", "c"] && events_of(s, "mon-added").len() == 2
    });
    assert!(events_of(&s, "mon-failover").is_empty(), "{s:#}");
    let conf = std::fs::read_to_string(c.conf()).unwrap();
    assert!(conf.contains("[mon.c]"), "{conf}");

    up_with(1);
    c.wait_status("mons removed down to one", FAILOVER_LIMIT, |s| {
        quorum_in(s) == ["a"] && events_of(s, "mon-removed").len() == 2
    });
    let conf = std::fs::read_to_string(c.conf()).unwrap();
    assert!(
        !conf.contains("[mon.b]") && !conf.contains("[mon.c]"),
        "{conf}"
    );
    assert!(!c.dir.join("mon/b").exists() && !c.dir.join("mon/c").exists());
}
