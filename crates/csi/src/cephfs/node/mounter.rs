//! Mounting a CephFS subtree on this node. Two mounters, as in ceph-csi: the
//! kernel client where the kernel has the `ceph` filesystem, else ceph-fuse.
//! The plugin probes once at start; `--mounter` forces one for the plugin, and
//! a volume's `mounter` parameter (ceph-csi's StorageClass key) for one volume.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use rookery_ceph::Rados;

use super::record::StageRecord;
use super::{fuse, kernel};
use crate::error::Error;
use crate::node::creds::Credentials;
use crate::node::mountinfo::MountEntry;

/// Which client mounts the filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MounterKind {
    /// The kernel's CephFS client (mount type `ceph`).
    Kernel,
    /// ceph-fuse, a daemon per mount.
    Fuse,
}

impl MounterKind {
    /// The mounter this node can use: the kernel client if the kernel has the
    /// ceph filesystem, else ceph-fuse.
    pub fn probe() -> Self {
        if kernel::available() {
            Self::Kernel
        } else {
            Self::Fuse
        }
    }

    /// ceph-csi's names, which the volume parameter uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kernel => "kernel",
            Self::Fuse => "fuse",
        }
    }

    /// The mount table's type for this mounter's mounts.
    pub fn fs_type(self) -> &'static str {
        match self {
            Self::Kernel => kernel::FS_TYPE,
            Self::Fuse => fuse::FS_TYPE,
        }
    }

    /// The mounter of a mount, from its type in the mount table.
    pub fn of_mount(entry: &MountEntry) -> Option<Self> {
        [Self::Kernel, Self::Fuse]
            .into_iter()
            .find(|k| k.fs_type() == entry.fs_type)
    }
}

impl fmt::Display for MounterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MounterKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "kernel" => Ok(Self::Kernel),
            "fuse" | "ceph-fuse" => Ok(Self::Fuse),
            other => Err(format!(
                "unknown mounter {other:?}; use kernel or fuse (ceph-fuse)"
            )),
        }
    }
}

/// The mounters of one node plugin.
#[derive(Debug, Clone)]
pub(super) struct Mounters {
    pub creds: Credentials,
    pub rados: Rados,
    pub default: MounterKind,
}

impl Mounters {
    /// Mounts what `rec` describes at its staging path.
    pub async fn mount(&self, rec: &StageRecord) -> Result<(), Error> {
        match rec.mounter_kind()? {
            MounterKind::Kernel if !kernel::available() => Err(Error::Node {
                doing: format!(
                    "mount {}:{} at {}",
                    rec.fs_name,
                    rec.root_path,
                    rec.staging_target_path.display()
                ),
                errno: None,
                detail: "this kernel has no ceph filesystem (/proc/filesystems); use the fuse \
                         mounter"
                    .into(),
            }),
            MounterKind::Kernel => kernel::mount(&self.rados, &self.creds, rec).await,
            MounterKind::Fuse => fuse::mount(&self.creds, rec).await,
        }
    }

    /// Unmounts the staged mount `entry` at `target` and, for ceph-fuse,
    /// waits until its daemon has exited. Not mounted is done.
    pub async fn unmount(&self, target: &Path, entry: Option<&MountEntry>) -> Result<(), Error> {
        match entry.and_then(MounterKind::of_mount) {
            Some(MounterKind::Kernel) => crate::node::mount::unmount(target).await,
            // A stage that died before its mount was ready may have left a
            // ceph-fuse behind; unmounting by path finds it (or nothing).
            Some(MounterKind::Fuse) | None => fuse::unmount(target).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounter_names() {
        assert_eq!("kernel".parse::<MounterKind>(), Ok(MounterKind::Kernel));
        assert_eq!("fuse".parse::<MounterKind>(), Ok(MounterKind::Fuse));
        assert_eq!("ceph-fuse".parse::<MounterKind>(), Ok(MounterKind::Fuse));
        assert!("nfs"
            .parse::<MounterKind>()
            .unwrap_err()
            .contains("kernel or fuse"));
        assert_eq!(MounterKind::Fuse.to_string(), "fuse");
        let entry = |fs_type: &str| MountEntry {
            dev: (0, 50),
            root: "/".into(),
            mount_point: "/s".into(),
            fs_type: fs_type.into(),
            source: "ceph-fuse".into(),
            options: "rw".into(),
        };
        assert_eq!(
            MounterKind::of_mount(&entry("fuse.ceph-fuse")),
            Some(MounterKind::Fuse)
        );
        assert_eq!(
            MounterKind::of_mount(&entry("ceph")),
            Some(MounterKind::Kernel)
        );
        assert_eq!(MounterKind::of_mount(&entry("ext4")), None);
    }
}
