//! Cluster-wide views: `status`, `health detail`, `quorum_status`, `mon dump`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::command;

/// `ceph status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status;
command!(mon, Status, "status", StatusReply);

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StatusReply {
    pub fsid: String,
    pub health: Health,
    #[serde(default)]
    pub quorum_names: Vec<String>,
    pub monmap: MonMapSummary,
    pub mgrmap: MgrMapSummary,
    pub osdmap: OsdMapSummary,
    pub pgmap: PgMapSummary,
}

/// Overall health and the failing checks, keyed by check code (e.g. `OSD_DOWN`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Health {
    /// `HEALTH_OK`, `HEALTH_WARN` or `HEALTH_ERR`.
    pub status: String,
    #[serde(default)]
    pub checks: BTreeMap<String, HealthCheck>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HealthCheck {
    pub severity: String,
    pub summary: HealthMessage,
    /// Only filled by `health detail`.
    #[serde(default)]
    pub detail: Vec<HealthMessage>,
    #[serde(default)]
    pub muted: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HealthMessage {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MonMapSummary {
    pub num_mons: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MgrMapSummary {
    pub available: bool,
    #[serde(default)]
    pub num_standbys: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OsdMapSummary {
    pub num_osds: u32,
    pub num_up_osds: u32,
    pub num_in_osds: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PgMapSummary {
    pub num_pgs: u64,
    pub num_pools: u32,
    #[serde(default)]
    pub bytes_used: u64,
    #[serde(default)]
    pub bytes_avail: u64,
    #[serde(default)]
    pub bytes_total: u64,
    #[serde(default)]
    pub pgs_by_state: Vec<PgStateCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PgStateCount {
    /// e.g. `active+clean`.
    pub state_name: String,
    pub count: u64,
}

/// `ceph health detail`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthDetail;

impl Serialize for HealthDetail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        super::detail_arg(s)
    }
}
command!(mon, HealthDetail, "health", Health);

/// `ceph quorum_status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QuorumStatus;
command!(mon, QuorumStatus, "quorum_status", QuorumStatusReply);

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QuorumStatusReply {
    pub election_epoch: u64,
    /// Ranks in quorum.
    pub quorum: Vec<u32>,
    pub quorum_names: Vec<String>,
    #[serde(default)]
    pub quorum_leader_name: String,
    pub monmap: MonMap,
}

/// `ceph mon dump`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MonDump;
command!(mon, MonDump, "mon dump", MonMap);

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MonMap {
    pub epoch: u64,
    pub fsid: String,
    pub mons: Vec<MonInfo>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MonInfo {
    pub rank: u32,
    pub name: String,
    pub public_addrs: MonAddrs,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MonAddrs {
    pub addrvec: Vec<MonAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MonAddr {
    /// `v2` or `v1`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ip:port`.
    pub addr: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{encode, json_reply};
    use serde_json::json;

    #[test]
    fn status_reply_from_pacific() {
        let r: StatusReply = json_reply(include_bytes!("testdata/status.json")).unwrap();
        assert_eq!(r.fsid, "02705ba8-ef32-4640-ae67-5ce54248e806");
        assert_eq!(r.health.status, "HEALTH_WARN");
        let check = &r.health.checks["AUTH_INSECURE_GLOBAL_ID_RECLAIM_ALLOWED"];
        assert_eq!(check.severity, "HEALTH_WARN");
        assert_eq!(
            check.summary.message,
            "mon is allowing insecure global_id reclaim"
        );
        assert_eq!(r.quorum_names, ["a"]);
        assert_eq!(r.monmap.num_mons, 1);
        assert!(r.mgrmap.available);
        assert_eq!(
            (
                r.osdmap.num_osds,
                r.osdmap.num_up_osds,
                r.osdmap.num_in_osds
            ),
            (1, 1, 1)
        );
        assert_eq!((r.pgmap.num_pgs, r.pgmap.num_pools), (9, 2));
        assert_eq!(r.pgmap.bytes_total, 10737418240);
        assert_eq!(
            r.pgmap.pgs_by_state[1],
            PgStateCount {
                state_name: "active+clean".into(),
                count: 1
            }
        );
    }

    #[test]
    fn health_detail() {
        assert_eq!(
            encode(&HealthDetail).unwrap(),
            json!({"prefix": "health", "detail": "detail", "format": "json"})
        );
        let r: Health = json_reply(include_bytes!("testdata/health_detail.json")).unwrap();
        let check = &r.checks["AUTH_INSECURE_GLOBAL_ID_RECLAIM_ALLOWED"];
        assert_eq!(
            check.detail[0].message,
            "mon.a has auth_allow_insecure_global_id_reclaim set to true"
        );
    }

    #[test]
    fn quorum_and_monmap() {
        assert_eq!(
            encode(&QuorumStatus).unwrap(),
            json!({"prefix": "quorum_status", "format": "json"})
        );
        assert_eq!(
            encode(&MonDump).unwrap(),
            json!({"prefix": "mon dump", "format": "json"})
        );
        let q: QuorumStatusReply =
            json_reply(include_bytes!("testdata/quorum_status.json")).unwrap();
        assert_eq!(q.quorum, [0]);
        assert_eq!(q.quorum_leader_name, "a");
        let m: MonMap = json_reply(include_bytes!("testdata/mon_dump.json")).unwrap();
        assert_eq!(m, q.monmap);
        assert_eq!(
            m.mons[0].public_addrs.addrvec[0],
            MonAddr {
                kind: "v2".into(),
                addr: "127.0.0.1:23300".into()
            }
        );
    }
}
