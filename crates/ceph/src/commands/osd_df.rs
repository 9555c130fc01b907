//! `ceph osd df`: how full each OSD is, the figure the full ratios apply to.

use serde::{Deserialize, Serialize};

use super::command;

/// `ceph osd df`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OsdDf;
command!(mon, OsdDf, "osd df", OsdDfReply);

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OsdDfReply {
    pub nodes: Vec<OsdDfNode>,
}

/// One OSD's usage and placement, in KiB. An OSD that never reported has
/// zero sizes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OsdDfNode {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub kb: u64,
    #[serde(default)]
    pub kb_used: u64,
    /// Object data alone (without BlueStore's own metadata).
    #[serde(default)]
    pub kb_used_data: u64,
    #[serde(default)]
    pub kb_avail: u64,
    /// PGs mapped to it.
    #[serde(default)]
    pub pgs: u64,
    /// Percent used (0-100), as compared with the full ratios.
    #[serde(default)]
    pub utilization: f64,
    /// `up` or `down`.
    #[serde(default)]
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{encode, json_reply};

    #[test]
    fn encodes_and_decodes_pacific_reply() {
        assert_eq!(encode(&OsdDf).unwrap()["prefix"], "osd df");
        let r: OsdDfReply = json_reply(include_bytes!("testdata/osd_df.json")).unwrap();
        assert_eq!(r.nodes.len(), 1);
        let n = &r.nodes[0];
        assert_eq!(
            (n.id, n.name.as_str(), n.status.as_str()),
            (0, "osd.0", "up")
        );
        assert!(n.kb > n.kb_used && n.utilization > 0.0 && n.utilization < 100.0);
        assert!(n.kb_used_data <= n.kb_used && n.pgs > 0, "{n:?}");
    }
}
