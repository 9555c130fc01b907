//! Taking OSDs in and out of service: `osd in/out/down` (mon), and the mgr's
//! `osd safe-to-destroy` and `osd purge` (`osd df` is in osd_df.rs).
//!
//! Checked on Pacific 16.2: `osd purge` is served by the mgr only (the mon
//! answers EINVAL; the mgr checks safe-to-destroy, then asks the mon for
//! `osd purge-actual`), and it wants the id as an integer.

use serde::{Deserialize, Serialize};

use super::command;
use crate::command::{Command, MgrCommand};

/// `ceph osd out <ids>...`: data moves off these OSDs.
#[derive(Debug, Clone, Serialize)]
pub struct OsdOut {
    pub ids: Vec<String>,
}
command!(mon, OsdOut, "osd out", ());

/// `ceph osd in <ids>...`.
#[derive(Debug, Clone, Serialize)]
pub struct OsdIn {
    pub ids: Vec<String>,
}
command!(mon, OsdIn, "osd in", ());

/// `ceph osd down <ids>...`: marks them down now instead of after the
/// heartbeat grace (a stopped OSD otherwise stays "up" for ~20 s).
#[derive(Debug, Clone, Serialize)]
pub struct OsdDown {
    pub ids: Vec<String>,
}
command!(mon, OsdDown, "osd down", ());

/// `ceph osd purge <id> [--force] --yes-i-really-mean-it`: removes the OSD
/// from the CRUSH map, its key and its id. Without `force` the mgr refuses
/// while the OSD still holds PGs.
#[derive(Debug, Clone, Serialize)]
pub struct OsdPurge {
    pub id: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    pub yes_i_really_mean_it: bool,
}

impl Command for OsdPurge {
    const PREFIX: &'static str = "osd purge";
    type Reply = ();
}
impl MgrCommand for OsdPurge {}

/// `ceph osd safe-to-destroy <ids>...` (mgr).
#[derive(Debug, Clone, Serialize)]
pub struct OsdSafeToDestroy {
    pub ids: Vec<String>,
}

impl Command for OsdSafeToDestroy {
    const PREFIX: &'static str = "osd safe-to-destroy";
    type Reply = SafeToDestroyReply;
}
impl MgrCommand for OsdSafeToDestroy {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SafeToDestroyReply {
    #[serde(default)]
    pub safe_to_destroy: Vec<u32>,
    /// Still holding PGs.
    #[serde(default)]
    pub active: Vec<u32>,
    /// No PG stats yet (the mgr cannot tell).
    #[serde(default)]
    pub missing_stats: Vec<u32>,
    /// Still storing PG data.
    #[serde(default)]
    pub stored_pgs: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{encode, json_reply};
    use serde_json::json;

    #[test]
    fn purge_sends_an_integer_id_and_force_only_when_asked() {
        let p = OsdPurge {
            id: 3,
            force: false,
            yes_i_really_mean_it: true,
        };
        assert_eq!(
            encode(&p).unwrap(),
            json!({"prefix": "osd purge", "format": "json", "id": 3, "yes_i_really_mean_it": true})
        );
        let forced = OsdPurge { force: true, ..p };
        assert_eq!(encode(&forced).unwrap()["force"], true);
    }

    #[test]
    fn in_out_down_take_id_lists() {
        let ids = vec!["2".to_string()];
        assert_eq!(
            encode(&OsdOut { ids: ids.clone() }).unwrap(),
            json!({"prefix": "osd out", "format": "json", "ids": ["2"]})
        );
        assert_eq!(
            encode(&OsdIn { ids: ids.clone() }).unwrap()["prefix"],
            "osd in"
        );
        assert_eq!(encode(&OsdDown { ids }).unwrap()["prefix"], "osd down");
    }

    #[test]
    fn replies_from_pacific() {
        let s: SafeToDestroyReply = json_reply(
            br#"{"safe_to_destroy":[],"active":[0],"missing_stats":[],"stored_pgs":[]}"#,
        )
        .unwrap();
        assert_eq!(s.active, [0]);
        assert!(s.safe_to_destroy.is_empty());
    }
}
