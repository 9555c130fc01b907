//! CephFS filesystems (mon-side commands of the MDSMonitor): `fs new`,
//! `fs add_data_pool`, `fs set`, `fs dump`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::command;

/// `ceph fs new <fs_name> <metadata> <data>`: a filesystem on two existing
/// pools. EINVAL if the metadata pool holds objects (a filesystem made before
/// on it), so check `fs dump` first.
#[derive(Debug, Clone, Serialize)]
pub struct FsNew {
    pub fs_name: String,
    /// The metadata pool's name.
    pub metadata: String,
    /// The default data pool's name.
    pub data: String,
}
command!(mon, FsNew, "fs new", ());

/// `ceph fs add_data_pool <fs_name> <pool>`. Succeeds if the pool is already
/// one of the filesystem's data pools.
#[derive(Debug, Clone, Serialize)]
pub struct FsAddDataPool {
    pub fs_name: String,
    /// Pool name (or id).
    pub pool: String,
}
command!(mon, FsAddDataPool, "fs add_data_pool", ());

/// `ceph fs set <fs_name> <var> <val>`, e.g. `max_mds 2`,
/// `allow_standby_replay true`. Each change is a new FSMap epoch.
#[derive(Debug, Clone, Serialize)]
pub struct FsSet {
    pub fs_name: String,
    pub var: String,
    pub val: String,
}
command!(mon, FsSet, "fs set", ());

/// `ceph fs dump`: every filesystem's MDS map and the standby daemons.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FsDump;
command!(mon, FsDump, "fs dump", FsDumpReply);

/// The FSMap.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FsDumpReply {
    pub epoch: u64,
    /// Daemons not serving any filesystem (state `up:standby`).
    #[serde(default)]
    pub standbys: Vec<MdsInfo>,
    #[serde(default)]
    pub filesystems: Vec<Filesystem>,
}

impl FsDumpReply {
    /// The filesystem named `name`.
    pub fn filesystem(&self, name: &str) -> Option<&Filesystem> {
        self.filesystems.iter().find(|f| f.mdsmap.fs_name == name)
    }
}

/// One filesystem of the FSMap.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Filesystem {
    /// The filesystem's id (fscid).
    pub id: i64,
    pub mdsmap: MdsMap,
}

/// `CEPH_MDSMAP_ALLOW_STANDBY_REPLAY` (`ceph_fs.h`).
const ALLOW_STANDBY_REPLAY: u64 = 1 << 5;

/// A filesystem's MDS map: its pools, ranks and the daemons holding them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MdsMap {
    pub fs_name: String,
    pub epoch: u64,
    /// `CEPH_MDSMAP_*` bits.
    #[serde(default)]
    pub flags: u64,
    pub max_mds: u32,
    /// Ranks that exist (`in`).
    #[serde(rename = "in", default)]
    pub ranks_in: Vec<i64>,
    /// `mds_<rank>` -> gid of the daemon holding the rank.
    #[serde(default)]
    pub up: BTreeMap<String, u64>,
    #[serde(default)]
    pub failed: Vec<i64>,
    #[serde(default)]
    pub damaged: Vec<i64>,
    /// `gid_<gid>` -> the daemon: rank holders and standby-replay daemons.
    #[serde(default)]
    pub info: BTreeMap<String, MdsInfo>,
    /// Pool ids.
    #[serde(default)]
    pub data_pools: Vec<i64>,
    pub metadata_pool: i64,
    #[serde(default)]
    pub enabled: bool,
}

impl MdsMap {
    /// Whether standbys may follow the actives' journals (`fs set
    /// allow_standby_replay`).
    pub fn allow_standby_replay(&self) -> bool {
        self.flags & ALLOW_STANDBY_REPLAY != 0
    }

    /// The daemons of this filesystem, by rank then name.
    pub fn daemons(&self) -> Vec<&MdsInfo> {
        let mut all: Vec<&MdsInfo> = self.info.values().collect();
        all.sort_by(|a, b| (a.rank, &a.state, &a.name).cmp(&(b.rank, &b.state, &b.name)));
        all
    }

    /// The daemon holding `rank` in state `up:active`, if any.
    pub fn active(&self, rank: i64) -> Option<&MdsInfo> {
        self.info
            .values()
            .find(|d| d.rank == rank && d.state == "up:active")
    }
}

/// One MDS daemon as the FSMap knows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MdsInfo {
    pub gid: u64,
    /// The daemon id (`myfs-a` for `mds.myfs-a`).
    pub name: String,
    /// The rank it holds or follows; -1 for a plain standby.
    pub rank: i64,
    /// `up:active`, `up:standby-replay`, `up:standby`, `up:replay`, ...
    pub state: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{encode, json_reply};
    use serde_json::json;

    #[test]
    fn requests() {
        let new = FsNew {
            fs_name: "myfs".into(),
            metadata: "myfs-metadata".into(),
            data: "myfs-replicated".into(),
        };
        assert_eq!(
            encode(&new).unwrap(),
            json!({"prefix": "fs new", "format": "json", "fs_name": "myfs",
                   "metadata": "myfs-metadata", "data": "myfs-replicated"})
        );
        let set = FsSet {
            fs_name: "myfs".into(),
            var: "max_mds".into(),
            val: "2".into(),
        };
        assert_eq!(
            encode(&set).unwrap(),
            json!({"prefix": "fs set", "format": "json", "fs_name": "myfs", "var": "max_mds",
                   "val": "2"})
        );
        let add = FsAddDataPool {
            fs_name: "myfs".into(),
            pool: "myfs-data1".into(),
        };
        assert_eq!(encode(&add).unwrap()["prefix"], "fs add_data_pool");
    }

    #[test]
    fn dump_of_a_filesystem_with_active_and_standby_replay() {
        let d: FsDumpReply = json_reply(include_bytes!("testdata/fs_dump.json")).unwrap();
        let fs = d.filesystem("myfs").expect("myfs");
        let map = &fs.mdsmap;
        assert_eq!(map.max_mds, 1);
        assert!(map.allow_standby_replay());
        assert_eq!(map.ranks_in, [0]);
        assert_eq!(map.data_pools.len(), 1);
        let active = map.active(0).expect("rank 0 active");
        let states: Vec<(&str, i64, &str)> = map
            .daemons()
            .iter()
            .map(|m| (m.name.as_str(), m.rank, m.state.as_str()))
            .collect();
        assert_eq!(states.len(), 2, "{states:?}");
        assert!(states.contains(&(active.name.as_str(), 0, "up:active")));
        assert!(states.iter().any(|s| s.2 == "up:standby-replay"));
        assert!(d.filesystem("other").is_none());
        assert!(json_reply::<FsDumpReply>(br#"{"epoch": 1}"#)
            .unwrap()
            .filesystems
            .is_empty());
    }
}
