//! Subvolumes of group `csi` through the mgr `volumes` module (librados mgr
//! commands, never the CLI), with each failure saying what was being done.

use rookery_ceph::commands::{
    FsCloneStatus, FsSubvolumeCreate, FsSubvolumeGetpath, FsSubvolumeGroupCreate, FsSubvolumeInfo,
    FsSubvolumeResize, FsSubvolumeRm, FsSubvolumeSnapshotClone, FsSubvolumeSnapshotCreate,
    FsSubvolumeSnapshotInfo, FsSubvolumeSnapshotRm, SnapshotInfo, SubvolumeInfo,
};
use rookery_ceph::Rados;

use super::fs::{Filesystems, SUBVOLUME_GROUP};
use crate::request::{RequestError, Result};

/// The subvolumes of one filesystem.
#[derive(Debug, Clone, Copy)]
pub struct Subvolumes<'a> {
    pub rados: &'a Rados,
    pub fs: &'a str,
}

/// Where an asynchronous clone is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloneState {
    /// Still copying (`pending` or `in-progress`).
    Running,
    Complete,
    /// `failed` or `canceled`.
    Failed(String),
}

fn fail(doing: String) -> impl FnOnce(rookery_ceph::Error) -> RequestError {
    move |e| RequestError::ceph(doing, e)
}

impl Subvolumes<'_> {
    /// Creates group `csi` once per filesystem and controller.
    pub async fn ensure_group(&self, known: &Filesystems) -> Result<()> {
        if known.group_known(self.fs) {
            return Ok(());
        }
        let cmd = FsSubvolumeGroupCreate {
            vol_name: self.fs.to_owned(),
            group_name: SUBVOLUME_GROUP.into(),
        };
        self.rados.mgr_command(&cmd).await.map_err(fail(format!(
            "create subvolume group '{SUBVOLUME_GROUP}' in filesystem '{}'",
            self.fs
        )))?;
        known.remember_group(self.fs);
        Ok(())
    }

    pub async fn create(&self, name: &str, size: u64, pool: Option<&str>) -> Result<()> {
        let cmd = FsSubvolumeCreate {
            vol_name: self.fs.to_owned(),
            sub_name: name.to_owned(),
            group_name: SUBVOLUME_GROUP.into(),
            size: Some(size),
            pool_layout: pool.map(str::to_owned),
            mode: None,
        };
        self.rados
            .mgr_command(&cmd)
            .await
            .map_err(fail(format!("create subvolume '{name}' in '{}'", self.fs)))
    }

    /// Removes subvolume `name`; a missing one is done.
    pub async fn remove(&self, name: &str) -> Result<()> {
        let cmd = FsSubvolumeRm {
            vol_name: self.fs.to_owned(),
            sub_name: name.to_owned(),
            group_name: SUBVOLUME_GROUP.into(),
            force: true,
        };
        match self.rados.mgr_command(&cmd).await {
            Ok(()) => Ok(()),
            Err(e) if e.errno() == Some(libc::ENOTEMPTY) => Err(RequestError::FailedPrecondition(
                format!("subvolume '{name}' has snapshots; delete them first"),
            )),
            Err(e) if e.errno() == Some(libc::EAGAIN) => Err(RequestError::Aborted(format!(
                "subvolume '{name}' is being cloned or has clones in progress; retry later"
            ))),
            Err(e) => Err(RequestError::ceph(
                format!("remove subvolume '{name}' from '{}'", self.fs),
                e,
            )),
        }
    }

    pub async fn path(&self, name: &str) -> Result<String> {
        let cmd = FsSubvolumeGetpath {
            vol_name: self.fs.to_owned(),
            sub_name: name.to_owned(),
            group_name: SUBVOLUME_GROUP.into(),
        };
        self.rados
            .mgr_command(&cmd)
            .await
            .map_err(fail(format!("get the path of subvolume '{name}'")))
    }

    pub async fn info(&self, name: &str) -> Result<SubvolumeInfo> {
        let cmd = FsSubvolumeInfo {
            vol_name: self.fs.to_owned(),
            sub_name: name.to_owned(),
            group_name: SUBVOLUME_GROUP.into(),
        };
        self.rados
            .mgr_command(&cmd)
            .await
            .map_err(fail(format!("read subvolume '{name}' of '{}'", self.fs)))
    }

    /// Sets the quota to `size` bytes; never shrinks.
    pub async fn resize(&self, name: &str, size: u64) -> Result<()> {
        let cmd = FsSubvolumeResize {
            vol_name: self.fs.to_owned(),
            sub_name: name.to_owned(),
            new_size: size.to_string(),
            group_name: SUBVOLUME_GROUP.into(),
            no_shrink: true,
        };
        self.rados
            .mgr_command(&cmd)
            .await
            .map(drop)
            .map_err(fail(format!("resize subvolume '{name}' to {size} bytes")))
    }

    pub async fn snapshot(&self, name: &str, snap: &str) -> Result<()> {
        let cmd = FsSubvolumeSnapshotCreate {
            vol_name: self.fs.to_owned(),
            sub_name: name.to_owned(),
            snap_name: snap.to_owned(),
            group_name: SUBVOLUME_GROUP.into(),
        };
        self.rados
            .mgr_command(&cmd)
            .await
            .map_err(fail(format!("snapshot subvolume '{name}' as '{snap}'")))
    }

    pub async fn snapshot_info(&self, name: &str, snap: &str) -> Result<SnapshotInfo> {
        let cmd = FsSubvolumeSnapshotInfo {
            vol_name: self.fs.to_owned(),
            sub_name: name.to_owned(),
            snap_name: snap.to_owned(),
            group_name: SUBVOLUME_GROUP.into(),
        };
        self.rados.mgr_command(&cmd).await.map_err(fail(format!(
            "read snapshot '{snap}' of subvolume '{name}'"
        )))
    }

    /// Removes a snapshot; a missing one is done.
    pub async fn remove_snapshot(&self, name: &str, snap: &str) -> Result<()> {
        let cmd = FsSubvolumeSnapshotRm {
            vol_name: self.fs.to_owned(),
            sub_name: name.to_owned(),
            snap_name: snap.to_owned(),
            group_name: SUBVOLUME_GROUP.into(),
            force: true,
        };
        match self.rados.mgr_command(&cmd).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) if e.errno() == Some(libc::EAGAIN) => Err(RequestError::Aborted(format!(
                "snapshot '{snap}' of '{name}' has clones in progress; retry once they are done"
            ))),
            Err(e) => Err(RequestError::ceph(
                format!("remove snapshot '{snap}' of subvolume '{name}'"),
                e,
            )),
        }
    }

    /// Starts copying snapshot `snap` of `name` into the new subvolume `target`.
    pub async fn clone(&self, name: &str, snap: &str, target: &str) -> Result<()> {
        let cmd = FsSubvolumeSnapshotClone {
            vol_name: self.fs.to_owned(),
            sub_name: name.to_owned(),
            snap_name: snap.to_owned(),
            target_sub_name: target.to_owned(),
            group_name: SUBVOLUME_GROUP.into(),
            target_group_name: SUBVOLUME_GROUP.into(),
            pool_layout: None,
        };
        self.rados.mgr_command(&cmd).await.map_err(fail(format!(
            "clone snapshot '{snap}' of subvolume '{name}' into '{target}'"
        )))
    }

    /// Where the clone `target` is; None when `target` is not a clone (or gone).
    pub async fn clone_state(&self, target: &str) -> Result<Option<CloneState>> {
        let cmd = FsCloneStatus {
            vol_name: self.fs.to_owned(),
            clone_name: target.to_owned(),
            group_name: SUBVOLUME_GROUP.into(),
        };
        match self.rados.mgr_command(&cmd).await {
            Ok(reply) => Ok(Some(match reply.status.state.as_str() {
                "complete" => CloneState::Complete,
                "pending" | "in-progress" => CloneState::Running,
                other => CloneState::Failed(other.to_owned()),
            })),
            // ENOENT: no such subvolume; ENOTSUP/EINVAL: a plain subvolume.
            Err(e)
                if e.is_not_found()
                    || matches!(e.errno(), Some(libc::ENOTSUP) | Some(libc::EINVAL)) =>
            {
                Ok(None)
            }
            Err(e) => Err(RequestError::ceph(
                format!("read the clone status of '{target}'"),
                e,
            )),
        }
    }
}
