//! OSD lifecycle and map views: `osd new`, `osd set/unset`, `osd dump`, `osd tree`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{command, int_or_bool};
use crate::command::{Command, MonCommand};

/// `ceph osd new <uuid> [<id>] -i <secret.json>`: allocates (or returns the existing)
/// OSD id for `uuid` and registers its cephx key. Idempotent for the same uuid.
#[derive(Clone, Serialize)]
pub struct OsdNew {
    pub uuid: String,
    /// The OSD's cephx key; sent as input data, never as an argument.
    #[serde(skip)]
    pub cephx_secret: String,
}

impl fmt::Debug for OsdNew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OsdNew")
            .field("uuid", &self.uuid)
            .field("cephx_secret", &"<redacted>")
            .finish()
    }
}

impl Command for OsdNew {
    const PREFIX: &'static str = "osd new";
    type Reply = OsdNewReply;

    fn inbuf(&self) -> Vec<u8> {
        serde_json::json!({ "cephx_secret": self.cephx_secret })
            .to_string()
            .into_bytes()
    }
}
impl MonCommand for OsdNew {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct OsdNewReply {
    pub osdid: u32,
}

/// `ceph osd set <flag>`, e.g. `noout`, `noup`, `norebalance`.
#[derive(Debug, Clone, Serialize)]
pub struct OsdSetFlag {
    pub key: String,
}
command!(mon, OsdSetFlag, "osd set", ());

/// `ceph osd unset <flag>`.
#[derive(Debug, Clone, Serialize)]
pub struct OsdUnsetFlag {
    pub key: String,
}
command!(mon, OsdUnsetFlag, "osd unset", ());

/// `ceph osd dump`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OsdDump;
command!(mon, OsdDump, "osd dump", OsdDumpReply);

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OsdDumpReply {
    pub epoch: u64,
    pub fsid: String,
    /// Comma-separated cluster flags, e.g. `noout,sortbitwise`.
    #[serde(default)]
    pub flags: String,
    pub osds: Vec<OsdInfo>,
    /// Clients get ENOSPC above this fraction of an OSD used.
    #[serde(default)]
    pub full_ratio: f64,
    #[serde(default)]
    pub backfillfull_ratio: f64,
    #[serde(default)]
    pub nearfull_ratio: f64,
}

/// `ceph osd set-full-ratio` (and the backfillfull and nearfull twins below).
#[derive(Debug, Clone, Serialize)]
pub struct OsdSetFullRatio {
    pub ratio: f64,
}
command!(mon, OsdSetFullRatio, "osd set-full-ratio", ());

#[derive(Debug, Clone, Serialize)]
pub struct OsdSetBackfillfullRatio {
    pub ratio: f64,
}
command!(
    mon,
    OsdSetBackfillfullRatio,
    "osd set-backfillfull-ratio",
    ()
);

#[derive(Debug, Clone, Serialize)]
pub struct OsdSetNearfullRatio {
    pub ratio: f64,
}
command!(mon, OsdSetNearfullRatio, "osd set-nearfull-ratio", ());

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OsdInfo {
    pub osd: u32,
    pub uuid: String,
    #[serde(deserialize_with = "int_or_bool")]
    pub up: bool,
    #[serde(rename = "in", deserialize_with = "int_or_bool")]
    pub in_: bool,
    /// The map epoch this OSD last came up in: a restarted OSD has a newer one.
    #[serde(default)]
    pub up_from: u64,
    /// Ceph's state names, e.g. `exists`, `up`, and `full`, `backfillfull` or
    /// `nearfull` once the mons have marked the OSD that full.
    #[serde(default)]
    pub state: Vec<String>,
}

/// `ceph osd tree`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OsdTree;
command!(mon, OsdTree, "osd tree", OsdTreeReply);

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OsdTreeReply {
    pub nodes: Vec<OsdTreeNode>,
}

/// A CRUSH bucket (negative id) or an OSD (id >= 0).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OsdTreeNode {
    pub id: i64,
    pub name: String,
    /// `root`, `host`, `osd`, ...
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub children: Vec<i64>,
    /// `up` or `down`, OSDs only.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub device_class: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{encode, json_reply};
    use serde_json::json;

    #[test]
    fn osd_new_sends_secret_as_inbuf_only() {
        let cmd = OsdNew {
            uuid: "b0628f31-abe3-4c99-a7d8-d18655097362".into(),
            cephx_secret: "S3cret==".into(),
        };
        let v = encode(&cmd).unwrap();
        assert_eq!(
            v,
            json!({"prefix": "osd new", "format": "json", "uuid": "b0628f31-abe3-4c99-a7d8-d18655097362"})
        );
        let inbuf: serde_json::Value = serde_json::from_slice(&cmd.inbuf()).unwrap();
        assert_eq!(inbuf, json!({"cephx_secret": "S3cret=="}));
        assert!(!format!("{cmd:?}").contains("S3cret"));
        let r: OsdNewReply = json_reply(br#"{"osdid":1}"#).unwrap();
        assert_eq!(r.osdid, 1);
    }

    #[test]
    fn flags() {
        assert_eq!(
            encode(&OsdSetFlag {
                key: "noout".into()
            })
            .unwrap(),
            json!({"prefix": "osd set", "key": "noout", "format": "json"})
        );
        assert_eq!(
            encode(&OsdUnsetFlag {
                key: "noout".into()
            })
            .unwrap()["prefix"],
            "osd unset"
        );
    }

    #[test]
    fn osd_dump_from_pacific() {
        let r: OsdDumpReply = json_reply(include_bytes!("testdata/osd_dump.json")).unwrap();
        assert_eq!(
            r.osds,
            [OsdInfo {
                osd: 0,
                uuid: "b0628f31-abe3-4c99-a7d8-d18655097362".into(),
                up: true,
                in_: true,
                up_from: 5,
                state: vec!["exists".into(), "up".into()],
            }]
        );
        assert!(r.flags.contains("sortbitwise"), "{}", r.flags);
        assert!(r.full_ratio > 0.0 && r.nearfull_ratio <= r.full_ratio);
    }

    #[test]
    fn osd_tree_from_pacific() {
        let r: OsdTreeReply = json_reply(include_bytes!("testdata/osd_tree.json")).unwrap();
        let osd = r.nodes.iter().find(|n| n.id == 0).unwrap();
        assert_eq!(
            (osd.kind.as_str(), osd.status.as_deref()),
            ("osd", Some("up"))
        );
        assert_eq!(r.nodes[0].children, [-3]);
    }
}
