//! Pools: create, configure, delete, list; capacity (`df`).

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::command;

/// `ceph osd pool create`. Succeeds (with status "already exists") if the pool exists.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OsdPoolCreate {
    pub pool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pg_num: Option<u32>,
    /// Replicas; saves a `pool set size` (and its map epoch) after creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

impl OsdPoolCreate {
    pub fn new(pool: impl Into<String>) -> Self {
        Self {
            pool: pool.into(),
            ..Self::default()
        }
    }
}
command!(mon, OsdPoolCreate, "osd pool create", ());

/// `ceph osd pool application enable <pool> <app>` (`rbd`, `cephfs`, `rgw`). A second
/// application on one pool needs [`super::Confirmed`].
#[derive(Debug, Clone, Serialize)]
pub struct OsdPoolApplicationEnable {
    pub pool: String,
    pub app: String,
}
command!(
    mon,
    OsdPoolApplicationEnable,
    "osd pool application enable",
    ()
);

/// `ceph osd pool set <pool> <var> <val>`. Risky values (`size 1`) need
/// [`super::Confirmed`].
#[derive(Debug, Clone, Serialize)]
pub struct OsdPoolSet {
    pub pool: String,
    pub var: String,
    pub val: String,
}
command!(mon, OsdPoolSet, "osd pool set", ());

/// `ceph osd pool delete <pool> <pool> --yes-i-really-really-mean-it`. Succeeds if
/// the pool is already gone; fails with EPERM unless the mons allow pool deletion.
#[derive(Debug, Clone)]
pub struct OsdPoolDelete {
    pub pool: String,
}

impl Serialize for OsdPoolDelete {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("pool", &self.pool)?;
        map.serialize_entry("pool2", &self.pool)?;
        map.serialize_entry("yes_i_really_really_mean_it", &true)?;
        map.end()
    }
}
command!(mon, OsdPoolDelete, "osd pool delete", ());

/// `ceph osd pool ls detail`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsdPoolLsDetail;

impl Serialize for OsdPoolLsDetail {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        super::detail_arg(s)
    }
}
command!(mon, OsdPoolLsDetail, "osd pool ls", Vec<PoolDetail>);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PoolDetail {
    pub pool_name: String,
    pub pool_id: i64,
    pub size: u32,
    pub min_size: u32,
    pub pg_num: u32,
    /// Application name -> its key/value metadata.
    #[serde(default)]
    pub application_metadata: BTreeMap<String, BTreeMap<String, String>>,
    /// Comma-separated flags, e.g. `hashpspool,full`: `full` while the pool
    /// refuses writes because an OSD it uses is full, `full_quota` at its quota.
    #[serde(default)]
    pub flags_names: String,
}

/// `ceph df`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Df;
command!(mon, Df, "df", DfReply);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DfReply {
    pub stats: DfStats,
    pub pools: Vec<DfPool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DfStats {
    pub total_bytes: u64,
    pub total_avail_bytes: u64,
    pub total_used_raw_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DfPool {
    pub name: String,
    pub id: i64,
    pub stats: DfPoolStats,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DfPoolStats {
    /// Bytes stored by clients (before replication).
    pub stored: u64,
    /// Bytes clients can still write, given replication and the fullest OSD.
    pub max_avail: u64,
    pub objects: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{encode, json_reply};
    use crate::commands::Confirmed;
    use serde_json::json;

    #[test]
    fn create_and_configure() {
        let create = OsdPoolCreate {
            pool: "p".into(),
            pg_num: Some(8),
            size: None,
        };
        assert_eq!(
            encode(&create).unwrap(),
            json!({"prefix": "osd pool create", "format": "json", "pool": "p", "pg_num": 8})
        );
        let sized = OsdPoolCreate {
            size: Some(3),
            ..create
        };
        assert_eq!(encode(&sized).unwrap()["size"], 3);
        let app = OsdPoolApplicationEnable {
            pool: "p".into(),
            app: "rbd".into(),
        };
        assert_eq!(
            encode(&app).unwrap(),
            json!({"prefix": "osd pool application enable", "format": "json", "pool": "p", "app": "rbd"})
        );
        let set = OsdPoolSet {
            pool: "p".into(),
            var: "size".into(),
            val: "1".into(),
        };
        assert_eq!(
            encode(&set).unwrap(),
            json!({"prefix": "osd pool set", "format": "json", "pool": "p", "var": "size", "val": "1"})
        );
        assert_eq!(
            encode(&Confirmed(set)).unwrap(),
            json!({"prefix": "osd pool set", "format": "json", "pool": "p", "var": "size", "val": "1", "yes_i_really_mean_it": true})
        );
    }

    #[test]
    fn delete_names_the_pool_twice() {
        assert_eq!(
            encode(&OsdPoolDelete { pool: "p".into() }).unwrap(),
            json!({"prefix": "osd pool delete", "format": "json", "pool": "p", "pool2": "p", "yes_i_really_really_mean_it": true})
        );
    }

    #[test]
    fn ls_detail_from_pacific() {
        assert_eq!(
            encode(&OsdPoolLsDetail).unwrap(),
            json!({"prefix": "osd pool ls", "detail": "detail", "format": "json"})
        );
        let pools: Vec<PoolDetail> =
            json_reply(include_bytes!("testdata/pool_ls_detail.json")).unwrap();
        let rbd = pools.iter().find(|p| p.pool_name == "rbd").unwrap();
        assert_eq!(
            (rbd.pool_id, rbd.size, rbd.min_size, rbd.pg_num),
            (2, 1, 1, 8)
        );
        assert!(rbd.application_metadata.contains_key("rbd"));
    }

    #[test]
    fn df_from_pacific() {
        let df: DfReply = json_reply(include_bytes!("testdata/df.json")).unwrap();
        assert_eq!(df.stats.total_bytes, 10737418240);
        assert_eq!(df.stats.total_used_raw_bytes, 304300032);
        let rbd = df.pools.iter().find(|p| p.name == "rbd").unwrap();
        assert_eq!(rbd.id, 2);
        assert_eq!(
            rbd.stats,
            DfPoolStats {
                stored: 0,
                max_avail: 9896247296,
                objects: 0
            }
        );
    }
}
