//! CephFS filesystems: their pools, the filesystem itself (`fs new`), its
//! settings (`max_mds`, `allow_standby_replay`), waiting until every rank is
//! served, and the MDS ranks and states `status` shows. All through
//! librados mon commands.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rookery_ceph::commands as cmd;
use rookery_core::DesiredFilesystem;
use serde::{Deserialize, Serialize};

use crate::ceph_ops::Admin;
use crate::error::{CephContext, Error, Result};
use crate::events::EventLog;
use crate::layout::Layout;

/// One MDS daemon as the FSMap has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MdsReport {
    /// The daemon id, e.g. `myfs-a` (supervised as `mds.myfs-a`).
    pub name: String,
    /// The rank it holds (or, as standby-replay, follows); None for a standby.
    pub rank: Option<u32>,
    /// `up:active`, `up:standby-replay`, `up:standby`, `up:replay`, ...
    pub state: String,
}

/// A filesystem, its pools and the daemons serving its ranks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesystemReport {
    pub name: String,
    /// Ceph's filesystem id (fscid).
    pub id: i64,
    pub metadata_pool: String,
    pub data_pools: Vec<String>,
    /// Active ranks wanted.
    pub max_mds: u32,
    pub standby_replay: bool,
    /// Ranks with an `up:active` daemon.
    pub active_ranks: u32,
    /// The daemons holding or following a rank, by rank.
    pub mds: Vec<MdsReport>,
}

impl FilesystemReport {
    /// `rank 0 up:active (myfs-a), rank 0 up:standby-replay (myfs-b)`.
    pub fn ranks_line(&self) -> String {
        if self.mds.is_empty() {
            return "no MDS holds a rank".to_string();
        }
        self.mds
            .iter()
            .map(|m| match m.rank {
                Some(r) => format!("rank {r} {} ({})", m.state, m.name),
                None => format!("{} ({})", m.state, m.name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The FSMap in the terms `status` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsMapReport {
    pub filesystems: Vec<FilesystemReport>,
    /// Daemons waiting to take over any rank (`up:standby`).
    pub standbys: Vec<MdsReport>,
}

/// Reads the FSMap; `pool_names` maps pool ids to names.
pub fn summarize(dump: &cmd::FsDumpReply, pool_names: &BTreeMap<i64, String>) -> FsMapReport {
    let name_of = |id: &i64| {
        pool_names
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("pool {id}"))
    };
    let mds = |m: &cmd::MdsInfo| MdsReport {
        name: m.name.clone(),
        rank: u32::try_from(m.rank).ok(),
        state: m.state.clone(),
    };
    let filesystems = dump
        .filesystems
        .iter()
        .map(|f| {
            let map = &f.mdsmap;
            FilesystemReport {
                name: map.fs_name.clone(),
                id: f.id,
                metadata_pool: name_of(&map.metadata_pool),
                data_pools: map.data_pools.iter().map(name_of).collect(),
                max_mds: map.max_mds,
                standby_replay: map.allow_standby_replay(),
                active_ranks: (0..i64::from(map.max_mds))
                    .filter(|r| map.active(*r).is_some())
                    .count() as u32,
                mds: map.daemons().into_iter().map(mds).collect(),
            }
        })
        .collect();
    FsMapReport {
        filesystems,
        standbys: dump.standbys.iter().map(mds).collect(),
    }
}

/// The FSMap from the cluster, with pool names.
pub async fn report(admin: &Admin) -> Result<FsMapReport> {
    let rados = admin.rados();
    let dump = rados.mon_command(&cmd::FsDump).await.ceph("fs dump")?;
    Ok(summarize(&dump, &pool_ids(admin).await?))
}

async fn pool_ids(admin: &Admin) -> Result<BTreeMap<i64, String>> {
    let pools = admin
        .rados()
        .mon_command(&cmd::OsdPoolLsDetail)
        .await
        .ceph("cannot list pools")?;
    Ok(pools
        .into_iter()
        .map(|p| (p.pool_id, p.pool_name))
        .collect())
}

/// Creates the filesystem's pools and the filesystem if missing, adds data
/// pools the spec added, and brings `max_mds` and `allow_standby_replay` in
/// line with the spec. Only what differs is changed (each change is a map
/// epoch). Returns what was created or changed, in words.
pub async fn ensure(
    admin: &Admin,
    fs: &DesiredFilesystem,
    events: &EventLog,
) -> Result<Vec<String>> {
    let mut done = Vec::new();
    for pool in std::iter::once(&fs.metadata_pool).chain(&fs.data_pools) {
        if admin.ensure_pool(pool).await? {
            events.record("pool-created", None, format!("pool {} created", pool.name));
            done.push(format!("pool {}", pool.name));
        }
    }
    let rados = admin.rados();
    let ctx = |what: &str| format!("filesystem {}: cannot {what}", fs.name);
    let dump = rados
        .mon_command(&cmd::FsDump)
        .await
        .ceph(ctx("read the FSMap"))?;
    let map = match dump.filesystem(&fs.name) {
        Some(f) => f.mdsmap.clone(),
        None => {
            let Some(data) = fs.data_pools.first() else {
                return Err(Error::Spec(format!(
                    "filesystem {}: no data pool; add one to spec.dataPools",
                    fs.name
                )));
            };
            rados
                .mon_command(&cmd::FsNew {
                    fs_name: fs.name.clone(),
                    metadata: fs.metadata_pool.name.clone(),
                    data: data.name.clone(),
                })
                .await
                .ceph(ctx("create it (fs new)"))?;
            events.record(
                "fs-created",
                None,
                format!("filesystem {} created", fs.name),
            );
            done.push(format!("filesystem {}", fs.name));
            let dump = rados
                .mon_command(&cmd::FsDump)
                .await
                .ceph(ctx("read the FSMap"))?;
            match dump.filesystem(&fs.name) {
                Some(f) => f.mdsmap.clone(),
                None => {
                    return Err(Error::Refused(format!(
                        "filesystem {}: created, but the FSMap does not show it",
                        fs.name
                    )))
                }
            }
        }
    };
    let ids: BTreeMap<String, i64> = pool_ids(admin)
        .await?
        .into_iter()
        .map(|(id, name)| (name, id))
        .collect();
    for pool in &fs.data_pools {
        let attached = ids
            .get(&pool.name)
            .is_some_and(|id| map.data_pools.contains(id));
        if !attached {
            rados
                .mon_command(&cmd::FsAddDataPool {
                    fs_name: fs.name.clone(),
                    pool: pool.name.clone(),
                })
                .await
                .ceph(ctx(&format!("add the data pool {}", pool.name)))?;
            done.push(format!("data pool {} added", pool.name));
        }
    }
    let mut set = |var: &str, val: String| {
        done.push(format!("{var} {val}"));
        cmd::FsSet {
            fs_name: fs.name.clone(),
            var: var.to_string(),
            val,
        }
    };
    let mut changes = Vec::new();
    if map.max_mds != fs.max_mds {
        changes.push(set("max_mds", fs.max_mds.to_string()));
    }
    if map.allow_standby_replay() != fs.standby_replay {
        changes.push(set("allow_standby_replay", fs.standby_replay.to_string()));
    }
    for change in changes {
        rados
            .mon_command(&change)
            .await
            .ceph(ctx(&format!("set {} to {}", change.var, change.val)))?;
    }
    Ok(done)
}

/// What is missing before every rank of every filesystem is `up:active`,
/// in words; empty when all are.
pub fn inactive_ranks(report: &FsMapReport, wanted: &[DesiredFilesystem]) -> Vec<String> {
    let mut missing = Vec::new();
    for fs in wanted {
        let Some(r) = report.filesystems.iter().find(|f| f.name == fs.name) else {
            missing.push(format!("filesystem {} does not exist", fs.name));
            continue;
        };
        for rank in 0..fs.max_mds {
            let holders: Vec<String> = r
                .mds
                .iter()
                .filter(|m| m.rank == Some(rank))
                .map(|m| format!("{} {}", m.name, m.state))
                .collect();
            if !holders.iter().any(|h| h.ends_with(" up:active")) {
                let who = if holders.is_empty() {
                    "no MDS".to_string()
                } else {
                    holders.join(", ")
                };
                missing.push(format!("{} rank {rank} not active ({who})", fs.name));
            }
        }
    }
    missing
}

/// Waits until every rank of the spec's filesystems is `up:active`.
pub async fn wait_active(
    layout: &Layout,
    admin: &Admin,
    wanted: &[DesiredFilesystem],
    deadline: Instant,
) -> Result<FsMapReport> {
    let start = Instant::now();
    loop {
        let missing = match report(admin).await {
            Ok(r) => {
                let missing = inactive_ranks(&r, wanted);
                if missing.is_empty() {
                    return Ok(r);
                }
                missing.join("; ")
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            let logs = wanted
                .iter()
                .flat_map(|f| &f.mds)
                .map(|id| {
                    layout
                        .log_dir()
                        .join(format!("mds.{id}.log"))
                        .display()
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::Timeout {
                what: "the filesystems' MDS ranks to become active".into(),
                secs: start.elapsed().as_secs(),
                missing: format!("{missing} (see {logs})"),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = r#"{"epoch": 12, "standbys": [
        {"gid": 4301, "name": "myfs-c", "rank": -1, "state": "up:standby"}],
      "filesystems": [{"id": 1, "mdsmap": {"fs_name": "myfs", "epoch": 11, "flags": 50,
        "max_mds": 1, "in": [0], "up": {"mds_0": 4201}, "failed": [], "damaged": [],
        "info": {
          "gid_4202": {"gid": 4202, "name": "myfs-b", "rank": 0, "state": "up:standby-replay"},
          "gid_4201": {"gid": 4201, "name": "myfs-a", "rank": 0, "state": "up:active"}},
        "data_pools": [3], "metadata_pool": 2, "enabled": true}}]}"#;

    fn desired(max_mds: u32) -> DesiredFilesystem {
        let mut d = rookery_core::from_manifest(&rookery_api::Manifest::local_default());
        let mut fs = d.filesystems.remove(0);
        fs.max_mds = max_mds;
        fs
    }

    #[test]
    fn ranks_states_and_pools_by_name() {
        let dump: cmd::FsDumpReply = serde_json::from_str(DUMP).unwrap();
        let pools = BTreeMap::from([(2, "myfs-metadata".into()), (3, "myfs-replicated".into())]);
        let r = summarize(&dump, &pools);
        let fs = &r.filesystems[0];
        assert_eq!(fs.metadata_pool, "myfs-metadata");
        assert_eq!(fs.data_pools, ["myfs-replicated"]);
        assert!(fs.standby_replay);
        assert_eq!(fs.active_ranks, 1);
        assert_eq!(
            fs.ranks_line(),
            "rank 0 up:active (myfs-a), rank 0 up:standby-replay (myfs-b)"
        );
        assert_eq!(r.standbys[0].rank, None);
        assert!(inactive_ranks(&r, &[desired(1)]).is_empty());
        assert_eq!(
            inactive_ranks(&r, &[desired(2)]),
            ["myfs rank 1 not active (no MDS)"]
        );
    }

    #[test]
    fn a_rank_in_replay_is_not_active_yet() {
        let dump: cmd::FsDumpReply = serde_json::from_str(
            &DUMP.replace(r#""state": "up:active""#, r#""state": "up:replay""#),
        )
        .unwrap();
        let r = summarize(&dump, &BTreeMap::new());
        assert_eq!(r.filesystems[0].active_ranks, 0);
        assert_eq!(
            inactive_ranks(&r, &[desired(1)]),
            ["myfs rank 0 not active (myfs-a up:replay, myfs-b up:standby-replay)"]
        );
        let none: cmd::FsDumpReply = serde_json::from_str(r#"{"epoch": 1}"#).unwrap();
        let r = summarize(&none, &BTreeMap::new());
        assert_eq!(
            inactive_ranks(&r, &[desired(1)]),
            ["filesystem myfs does not exist"]
        );
    }
}
