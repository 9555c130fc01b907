//! How full the cluster is, for people: each OSD's use against the full
//! ratios, whether Ceph refuses writes, and what to do about it. Ceph decides
//! fullness (the mons mark OSDs `nearfull`/`backfillfull`/`full` and flag the
//! pools on a full OSD); this only gathers its verdicts and explains them.

use rookery_ceph::commands::{OsdDfNode, OsdInfo, PoolDetail};
use serde::Serialize;

/// How full one OSD is, by Ceph's marks (worst first in the order below).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fill {
    Ok,
    Nearfull,
    Backfillfull,
    Full,
}

impl Fill {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Nearfull => "nearfull",
            Self::Backfillfull => "backfillfull",
            Self::Full => "full",
        }
    }

    fn of(state: &[String]) -> Self {
        let has = |s: &str| state.iter().any(|x| x == s);
        if has("full") {
            Self::Full
        } else if has("backfillfull") {
            Self::Backfillfull
        } else if has("nearfull") {
            Self::Nearfull
        } else {
            Self::Ok
        }
    }
}

/// One OSD's use.
#[derive(Debug, Clone, Serialize)]
pub struct OsdFill {
    pub id: u32,
    pub name: String,
    pub used_bytes: u64,
    pub total_bytes: u64,
    /// Fraction used (0-1), the figure the ratios apply to.
    pub used_ratio: f64,
    pub fill: Fill,
}

/// The cluster's fullness and what to do about it.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityReport {
    /// Ceph refuses client writes to pools on an OSD this full.
    pub full_ratio: f64,
    /// Ceph stops moving data onto an OSD this full.
    pub backfillfull_ratio: f64,
    /// Ceph warns when an OSD is this full.
    pub nearfull_ratio: f64,
    pub osds: Vec<OsdFill>,
    /// Pools that refuse writes now (an OSD they use is full, or at quota).
    pub full_pools: Vec<String>,
    /// Whether Ceph refuses writes that add data (deletes still work).
    pub writes_refused: bool,
    /// The worst OSD state.
    pub worst: Fill,
    /// What to do, one sentence each; empty when nothing is near full.
    pub advice: Vec<String>,
}

/// Joins `osd df` (use) with `osd dump` (Ceph's marks) and the pools' flags.
pub fn assess(
    ratios: (f64, f64, f64),
    df: &[OsdDfNode],
    osds: &[OsdInfo],
    pools: &[PoolDetail],
) -> CapacityReport {
    let (full_ratio, backfillfull_ratio, nearfull_ratio) = ratios;
    // Every OSD in the map, with its use where `osd df` has it (it may not:
    // no mgr, or an OSD that never reported).
    let osds: Vec<OsdFill> = osds
        .iter()
        .map(|o| {
            let id = o.osd;
            let n = df.iter().find(|n| n.id == id);
            OsdFill {
                id,
                name: n.map_or_else(|| format!("osd.{id}"), |n| n.name.clone()),
                used_bytes: n.map_or(0, |n| n.kb_used * 1024),
                total_bytes: n.map_or(0, |n| n.kb * 1024),
                used_ratio: n.map_or(0.0, |n| n.utilization / 100.0),
                fill: Fill::of(&o.state),
            }
        })
        .collect();
    let full_pools: Vec<String> = pools
        .iter()
        .filter(|p| {
            p.flags_names
                .split(',')
                .any(|f| f == "full" || f == "full_quota")
        })
        .map(|p| p.pool_name.clone())
        .collect();
    let worst = osds.iter().map(|o| o.fill).max().unwrap_or(Fill::Ok);
    let writes_refused = worst == Fill::Full || !full_pools.is_empty();
    let mut report = CapacityReport {
        full_ratio,
        backfillfull_ratio,
        nearfull_ratio,
        osds,
        full_pools,
        writes_refused,
        worst,
        advice: Vec::new(),
    };
    report.advice = advice(&report);
    report
}

fn pct(r: f64) -> String {
    format!("{:.0}%", r * 100.0)
}

fn advice(r: &CapacityReport) -> Vec<String> {
    let free = "free space: delete volumes and snapshots you no longer need \
                (`rookery volume delete`; CephFS: delete files), and empty the RBD trash \
                of deleted images (`rbd trash ls` / `rbd trash purge`, rookery purges it \
                after each delete), or add OSDs (spec.storage.files.count or devices, then \
                `rookery up`)";
    let mut out = Vec::new();
    if r.writes_refused {
        let pools = if r.full_pools.is_empty() {
            String::new()
        } else {
            format!(" (pools {})", r.full_pools.join(", "))
        };
        out.push(format!(
            "Ceph refuses writes that add data{pools}: an OSD passed the full ratio {}. \
             Clients get ENOSPC, or wait until there is room; deletes still work",
            pct(r.full_ratio)
        ));
        out.push(format!(
            "To {free}. Writes resume by themselves once every OSD is below {}",
            pct(r.full_ratio)
        ));
    } else if r.worst >= Fill::Nearfull {
        out.push(format!(
            "Some OSDs are past the nearfull ratio {}; writes stop at {}. Before then, {free}",
            pct(r.nearfull_ratio),
            pct(r.full_ratio)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u32, used_pct: f64) -> OsdDfNode {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": format!("osd.{id}"), "kb": 10_485_760u64,
            "kb_used": (10_485_760.0 * used_pct / 100.0) as u64,
            "kb_avail": 0, "utilization": used_pct, "status": "up"
        }))
        .unwrap()
    }

    fn info(id: u32, state: &[&str]) -> OsdInfo {
        serde_json::from_value(serde_json::json!({
            "osd": id, "uuid": "u", "up": 1, "in": 1, "state": state
        }))
        .unwrap()
    }

    fn pool(name: &str, flags: &str) -> PoolDetail {
        serde_json::from_value(serde_json::json!({
            "pool_name": name, "pool_id": 1, "size": 1, "min_size": 1, "pg_num": 8,
            "flags_names": flags
        }))
        .unwrap()
    }

    const RATIOS: (f64, f64, f64) = (0.85, 0.8, 0.75);

    #[test]
    fn a_roomy_cluster_needs_no_advice() {
        let r = assess(
            RATIOS,
            &[node(0, 12.0)],
            &[info(0, &["exists", "up"])],
            &[pool("rbd", "hashpspool")],
        );
        assert_eq!(r.worst, Fill::Ok);
        assert!(!r.writes_refused);
        assert!(r.advice.is_empty());
        assert!((r.osds[0].used_ratio - 0.12).abs() < 1e-9);
        assert_eq!(r.osds[0].total_bytes, 10 << 30);
    }

    #[test]
    fn nearfull_warns_before_writes_stop() {
        let r = assess(
            RATIOS,
            &[node(0, 78.0), node(1, 20.0)],
            &[info(0, &["exists", "up", "nearfull"]), info(1, &["up"])],
            &[pool("rbd", "hashpspool")],
        );
        assert_eq!(r.worst, Fill::Nearfull);
        assert!(!r.writes_refused);
        assert_eq!(r.osds[1].fill, Fill::Ok);
        assert!(r.advice[0].contains("writes stop at 85%"), "{:?}", r.advice);
    }

    #[test]
    fn a_full_osd_refuses_writes_and_says_what_to_do() {
        let r = assess(
            RATIOS,
            &[node(0, 86.0)],
            &[info(0, &["exists", "up", "full"])],
            &[pool("rbd", "hashpspool,full"), pool("myfs-data0", "full")],
        );
        assert_eq!(r.worst, Fill::Full);
        assert!(r.writes_refused);
        assert_eq!(r.full_pools, ["rbd", "myfs-data0"]);
        let text = r.advice.join(" ");
        for needle in [
            "refuses writes",
            "rbd, myfs-data0",
            "ENOSPC",
            "rookery volume delete",
            "rbd trash",
            "add OSDs",
            "below 85%",
        ] {
            assert!(text.contains(needle), "{needle:?} missing in {text}");
        }
    }

    #[test]
    fn without_usage_figures_the_marks_still_count() {
        let r = assess(RATIOS, &[], &[info(0, &["up", "full"])], &[]);
        assert_eq!(r.worst, Fill::Full);
        assert!(r.writes_refused);
        assert_eq!(r.osds[0].name, "osd.0");
        assert_eq!(r.osds[0].total_bytes, 0);
    }

    #[test]
    fn a_pool_at_quota_refuses_writes_though_no_osd_is_full() {
        let r = assess(
            RATIOS,
            &[node(0, 10.0)],
            &[info(0, &["up"])],
            &[pool("rbd", "hashpspool,full_quota")],
        );
        assert!(r.writes_refused);
        assert_eq!(r.worst, Fill::Ok);
    }
}
