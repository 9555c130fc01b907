//! The MDS map of a test cluster's filesystem, read through librados, and
//! waiting on it.

use std::time::{Duration, Instant};

use rookery_ceph::commands::{FsDump, MdsMap};
use rookery_ceph::Rados;

pub async fn mdsmap(rados: &Rados, fs: &str) -> MdsMap {
    let dump = rados.mon_command(&FsDump).await.expect("fs dump");
    dump.filesystem(fs)
        .unwrap_or_else(|| panic!("no filesystem {fs}: {dump:?}"))
        .mdsmap
        .clone()
}

/// (name, state) of the daemons holding or following rank 0.
pub fn rank0(map: &MdsMap) -> Vec<(String, String)> {
    map.daemons()
        .iter()
        .filter(|m| m.rank == 0)
        .map(|m| (m.name.clone(), m.state.clone()))
        .collect()
}

/// Polls `check` every 100 ms until it returns Some, or panics after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The active of rank 0 and a standby-replay following it.
pub async fn active_and_replay(rados: &Rados) -> (String, String) {
    wait_for(
        "rank 0 active with a standby-replay",
        Duration::from_secs(120),
        || async {
            let map = mdsmap(rados, "myfs").await;
            let r = rank0(&map);
            let active = r.iter().find(|(_, s)| s == "up:active")?;
            let replay = r.iter().find(|(_, s)| s == "up:standby-replay")?;
            Some((active.0.clone(), replay.0.clone()))
        },
    )
    .await
}

/// Waits (up to a minute) until `name` is the active of myfs's rank 0.
pub async fn rank0_taken_by(rados: &Rados, name: &str) {
    wait_for(
        "the standby to take rank 0",
        Duration::from_secs(60),
        || async {
            let map = mdsmap(rados, "myfs").await;
            map.active(0).filter(|m| m.name == name).map(|_| ())
        },
    )
    .await
}

/// Waits (up to a minute) until the MDS `name`, restarted after a kill, is a
/// standby again: following rank 0 or in the standby list.
pub async fn back_as_standby(rados: &Rados, name: &str) {
    wait_for(
        "the killed MDS back as standby",
        Duration::from_secs(60),
        || async {
            let dump = rados.mon_command(&FsDump).await.ok()?;
            let following = dump.filesystem("myfs").is_some_and(|fs| {
                rank0(&fs.mdsmap)
                    .iter()
                    .any(|(n, s)| n == name && s == "up:standby-replay")
            });
            let standby = dump.standbys.iter().any(|m| m.name == name);
            (following || standby).then_some(())
        },
    )
    .await
}
