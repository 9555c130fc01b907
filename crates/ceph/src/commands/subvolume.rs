//! Commands of the mgr `volumes` module (`ceph fs subvolume ...`): CephFS
//! subvolumes, their snapshots and clones, as ceph-csi's CephFS driver uses them.
//! Argument names follow Pacific's `src/pybind/mgr/volumes/module.py`.

use serde::{Deserialize, Serialize};

use crate::command::{Command, MgrCommand};

/// Implements [`Command`] and [`MgrCommand`] for a request type.
macro_rules! mgr_command {
    ($ty:ty, $prefix:literal, $reply:ty) => {
        impl Command for $ty {
            const PREFIX: &'static str = $prefix;
            type Reply = $reply;
        }
        impl MgrCommand for $ty {}
    };
}

/// `fs subvolumegroup create <vol> <group>`: idempotent.
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeGroupCreate {
    pub vol_name: String,
    pub group_name: String,
}
mgr_command!(FsSubvolumeGroupCreate, "fs subvolumegroup create", ());

/// `fs subvolume create`: a directory tree with a quota of `size` bytes.
/// Creating an existing subvolume succeeds (it is resized to `size`).
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeCreate {
    pub vol_name: String,
    pub sub_name: String,
    pub group_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// A data pool of the filesystem for the subvolume's files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_layout: Option<String>,
    /// Octal permission bits of the subvolume's root, e.g. `777`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}
mgr_command!(FsSubvolumeCreate, "fs subvolume create", ());

/// `fs subvolume rm`; `force` ignores a missing subvolume.
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeRm {
    pub vol_name: String,
    pub sub_name: String,
    pub group_name: String,
    pub force: bool,
}
mgr_command!(FsSubvolumeRm, "fs subvolume rm", ());

/// `fs subvolume getpath`: the subvolume's path inside the filesystem (plain text).
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeGetpath {
    pub vol_name: String,
    pub sub_name: String,
    pub group_name: String,
}

impl Command for FsSubvolumeGetpath {
    const PREFIX: &'static str = "fs subvolume getpath";
    type Reply = String;

    fn parse_reply(outbuf: &[u8]) -> Result<String, serde_json::Error> {
        Ok(String::from_utf8_lossy(outbuf).trim().to_owned())
    }
}
impl MgrCommand for FsSubvolumeGetpath {}

/// `fs subvolume info`.
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeInfo {
    pub vol_name: String,
    pub sub_name: String,
    pub group_name: String,
}
mgr_command!(FsSubvolumeInfo, "fs subvolume info", SubvolumeInfo);

/// What `fs subvolume info` says (the fields rookery reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubvolumeInfo {
    /// Bytes, or the string `infinite` when there is no quota.
    pub bytes_quota: serde_json::Value,
    pub bytes_used: u64,
    pub path: String,
    /// `complete`, or a clone's `pending` / `in-progress` / `failed` ...
    #[serde(default)]
    pub state: String,
}

impl SubvolumeInfo {
    /// The quota in bytes, None when unlimited.
    pub fn quota(&self) -> Option<u64> {
        self.bytes_quota.as_u64()
    }
}

/// `fs subvolume resize`; with `no_shrink`, a smaller size is refused.
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeResize {
    pub vol_name: String,
    pub sub_name: String,
    /// Bytes, as a string (the module also takes `inf`).
    pub new_size: String,
    pub group_name: String,
    pub no_shrink: bool,
}
mgr_command!(FsSubvolumeResize, "fs subvolume resize", serde_json::Value);

/// `fs subvolume ls`.
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeLs {
    pub vol_name: String,
    pub group_name: String,
}
mgr_command!(FsSubvolumeLs, "fs subvolume ls", Vec<NameEntry>);

/// One entry of a `... ls` reply.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NameEntry {
    pub name: String,
}

/// `fs subvolume snapshot create`.
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeSnapshotCreate {
    pub vol_name: String,
    pub sub_name: String,
    pub snap_name: String,
    pub group_name: String,
}
mgr_command!(
    FsSubvolumeSnapshotCreate,
    "fs subvolume snapshot create",
    ()
);

/// `fs subvolume snapshot rm`; `force` ignores a missing snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeSnapshotRm {
    pub vol_name: String,
    pub sub_name: String,
    pub snap_name: String,
    pub group_name: String,
    pub force: bool,
}
mgr_command!(FsSubvolumeSnapshotRm, "fs subvolume snapshot rm", ());

/// `fs subvolume snapshot info`.
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeSnapshotInfo {
    pub vol_name: String,
    pub sub_name: String,
    pub snap_name: String,
    pub group_name: String,
}
mgr_command!(
    FsSubvolumeSnapshotInfo,
    "fs subvolume snapshot info",
    SnapshotInfo
);

/// What `fs subvolume snapshot info` says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SnapshotInfo {
    pub created_at: String,
    /// Bytes in the subvolume when the snapshot was taken (newer releases;
    /// Pacific 16.2.15 does not report it).
    #[serde(default)]
    pub size: Option<u64>,
    /// `yes` / `no`.
    pub has_pending_clones: String,
}

/// `fs subvolume snapshot clone`: an asynchronous copy of a snapshot into a
/// new subvolume; follow it with [`FsCloneStatus`].
#[derive(Debug, Clone, Serialize)]
pub struct FsSubvolumeSnapshotClone {
    pub vol_name: String,
    pub sub_name: String,
    pub snap_name: String,
    pub target_sub_name: String,
    pub group_name: String,
    pub target_group_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_layout: Option<String>,
}
mgr_command!(FsSubvolumeSnapshotClone, "fs subvolume snapshot clone", ());

/// `fs clone status`.
#[derive(Debug, Clone, Serialize)]
pub struct FsCloneStatus {
    pub vol_name: String,
    pub clone_name: String,
    pub group_name: String,
}
mgr_command!(FsCloneStatus, "fs clone status", CloneStatusReply);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CloneStatusReply {
    pub status: CloneStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CloneStatus {
    /// `pending`, `in-progress`, `complete`, `failed` or `canceled`.
    pub state: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_and_replies_as_the_volumes_module_spells_them() {
        let create = FsSubvolumeCreate {
            vol_name: "myfs".into(),
            sub_name: "csi-vol-1".into(),
            group_name: "csi".into(),
            size: Some(1 << 30),
            pool_layout: None,
            mode: Some("777".into()),
        };
        assert_eq!(
            serde_json::to_value(&create).unwrap(),
            serde_json::json!({"vol_name": "myfs", "sub_name": "csi-vol-1",
                "group_name": "csi", "size": 1073741824u64, "mode": "777"})
        );
        let info: SubvolumeInfo = serde_json::from_str(
            r#"{"atime": "x", "bytes_pcent": "undefined", "bytes_quota": "infinite",
                "bytes_used": 0, "path": "/volumes/csi/a/b", "state": "complete"}"#,
        )
        .unwrap();
        assert_eq!(info.quota(), None);
        let info: SubvolumeInfo = serde_json::from_str(
            r#"{"bytes_quota": 1048576, "bytes_used": 4096, "path": "/p", "state": "complete"}"#,
        )
        .unwrap();
        assert_eq!(info.quota(), Some(1 << 20));
        let st: CloneStatusReply =
            serde_json::from_str(r#"{"status": {"state": "in-progress", "source": {}}}"#).unwrap();
        assert_eq!(st.status.state, "in-progress");
        assert_eq!(
            FsSubvolumeGetpath::parse_reply(b"/volumes/csi/x/uuid\n").unwrap(),
            "/volumes/csi/x/uuid"
        );
    }
}
