//! Remounting a dead mount: a ceph-fuse that was killed leaves its mount (and
//! every bind mount of it) answering ENOTCONN for good. Like ceph-csi's FUSE
//! recovery, the publications are noted from the mount table first, then the
//! dead mounts are detached, the volume is mounted again at the staging path,
//! and each publication is bound again at its target with its read-only flag.
//! Pods keep file handles of the old mount; paths opened after are served.

use std::path::PathBuf;

use super::mounter::MounterKind;
use super::record::StageRecord;
use super::stage::{mount_table, publications};
use super::{CephFsNode, Result};
use crate::node::fuse;
use crate::node::mount::{self, TargetKind};
use crate::node::mountinfo;

const FUSE_PROGRAM: &str = "ceph-fuse";

impl CephFsNode {
    /// Remounts the dead stage `rec` (`why` says what was seen) and binds its
    /// publications again. The caller holds the volume's lock.
    pub(super) async fn heal(&self, rec: &StageRecord, why: &str) -> Result<()> {
        let volume_id = rec.volume_id.as_str();
        let staging = &rec.staging_target_path;
        tracing::warn!(volume_id, staging = %staging.display(), reason = %why, "remounting a dead CephFS mount");
        let table = mount_table()?;
        let published: Vec<(PathBuf, bool)> = match mountinfo::find(&table, staging) {
            Some(staged) => publications(&table, staged)
                .iter()
                .map(|e| (e.mount_point.clone(), e.read_only()))
                .collect(),
            None => Vec::new(),
        };
        for (target, _) in &published {
            fuse::detach(target)?;
        }
        fuse::detach(staging)?;
        if rec.mounter_kind()? == MounterKind::Fuse {
            // A ceph-fuse that hangs rather than died serves nothing now that
            // its mount is detached; it must not hold the subvolume's caps.
            for pid in fuse::daemon_pids(FUSE_PROGRAM, staging) {
                tracing::warn!(
                    volume_id,
                    pid,
                    "stopping a ceph-fuse whose mount was detached"
                );
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let doing = format!("remount {}", staging.display());
            fuse::wait_exit(FUSE_PROGRAM, staging, &doing).await?;
        }
        self.mount_staged(rec).await?;
        let mut rebound = 0;
        for (target, read_only) in &published {
            match mount::bind(staging, target, TargetKind::Directory, *read_only).await {
                Ok(()) => rebound += 1,
                Err(e) => tracing::warn!(
                    volume_id,
                    target = %target.display(),
                    error = %e,
                    "cannot publish again after a remount; the next NodePublishVolume there will"
                ),
            }
        }
        tracing::info!(
            volume_id,
            publications = rebound,
            "dead CephFS mount remounted"
        );
        Ok(())
    }
}

/// Why a dead mount of `kind` does not answer, for messages.
pub(super) fn reason(kind: Option<MounterKind>) -> &'static str {
    match kind {
        Some(MounterKind::Fuse) => "the ceph-fuse process serving it is gone or hangs",
        Some(MounterKind::Kernel) => "the kernel client lost its session with the cluster",
        None => "its mount does not answer",
    }
}
