//! Volumes of this cluster that are mounted on this host through its node
//! plugins: RBD volumes through the FUSE mapper (loop devices over image
//! files under the cluster directory, the filesystems mounted from them and
//! their bind mounts) and CephFS volumes (see `cephfs_mounts`).
//!
//! `down` refuses to stop a cluster under mounted volumes (their I/O would
//! hang until it is back), and `down --purge` releases them first so that
//! deleting the directory never walks into a live mount.

use std::path::{Path, PathBuf};

use rookery_csi::node::mountinfo::{self, MountEntry};

use crate::layout::Layout;

/// A mount of one of this cluster's volumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    pub mount_point: PathBuf,
    pub device: PathBuf,
}

/// Loop devices whose backing file lies under `root`.
fn loops_under(root: &Path) -> Vec<(PathBuf, (u32, u32))> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let backing = std::fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            if !Path::new(backing.trim_end()).starts_with(root) {
                return None;
            }
            let dev = std::fs::read_to_string(e.path().join("dev")).ok()?;
            let (major, minor) = dev.trim().split_once(':')?;
            Some((
                PathBuf::from("/dev").join(name),
                (major.parse().ok()?, minor.parse().ok()?),
            ))
        })
        .collect()
}

/// Every mount of a volume of the cluster at `layout`, bind mounts included.
pub fn mounted(layout: &Layout) -> Vec<VolumeMount> {
    let table = mountinfo::read().unwrap_or_default();
    let mut found = mounts_of(&table, &loops_under(layout.root()));
    found.extend(
        crate::cephfs_mounts::mounted(layout, &table)
            .into_iter()
            .map(|e| VolumeMount {
                mount_point: e.mount_point.clone(),
                device: PathBuf::from(&e.source),
            }),
    );
    found
}

fn mounts_of(table: &[MountEntry], loops: &[(PathBuf, (u32, u32))]) -> Vec<VolumeMount> {
    let loop_name = |d: &PathBuf| d.file_name().map(|n| Path::new("/").join(n));
    table
        .iter()
        .filter_map(|e| {
            loops.iter().find_map(|(device, dev)| {
                // A filesystem on the loop device, or the device node itself
                // bound somewhere (a raw block volume).
                let fs = e.dev == *dev;
                let node = e.fs_type == "devtmpfs" && loop_name(device).as_deref() == Some(&e.root);
                (fs || node).then(|| VolumeMount {
                    mount_point: e.mount_point.clone(),
                    device: device.clone(),
                })
            })
        })
        .collect()
}

/// Lazily unmounts every volume mount and FUSE mount of the cluster, detaches
/// its loop devices and stops its FUSE daemons. For `down --purge` only: the
/// data goes anyway. The loop devices are noted first: once the FUSE mounts
/// under their backing files are detached, those paths no longer lie under
/// the cluster and the devices could not be found (they would leak, and a
/// `losetup -a` would stat a file whose server waits on a gone cluster).
pub fn release_all(layout: &Layout) {
    let loops = loops_under(layout.root());
    let mut mounts: Vec<PathBuf> = mounted(layout).into_iter().map(|m| m.mount_point).collect();
    let table = mountinfo::read().unwrap_or_default();
    mounts.extend(
        table
            .iter()
            .filter(|e| e.mount_point.starts_with(layout.root()))
            .map(|e| e.mount_point.clone()),
    );
    mounts.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    mounts.dedup();
    for m in &mounts {
        if let Err(e) = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH) {
            tracing::warn!(mount = %m.display(), error = %e, "cannot unmount");
        }
    }
    // Detached before their servers stop: a device still held by a lazily
    // unmounted filesystem detaches itself once that lets go (autoclear).
    for (device, _) in loops {
        let status = std::process::Command::new("losetup")
            .arg("-d")
            .arg(&device)
            .status();
        if !status.is_ok_and(|s| s.success()) {
            tracing::warn!(device = %device.display(), "cannot detach loop device");
        }
    }
    crate::cephfs_mounts::stop_fuse_daemons(layout);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_filesystems_binds_and_raw_devices_of_the_cluster_loops() {
        let table = mountinfo::parse(
            "\
22 1 254:1 / / rw - ext4 /dev/vda1 rw
30 22 7:3 / /c/csi/staging/v/0001-a rw - ext4 /dev/loop3 rw
31 22 7:3 / /mnt/x rw - ext4 /dev/loop3 rw
32 22 0:5 /loop4 /pods/blk rw - devtmpfs udev rw
33 22 0:5 /loop9 /pods/other rw - devtmpfs udev rw
34 22 7:8 / /mnt/not-ours rw - ext4 /dev/loop8 rw
",
        );
        let loops = vec![
            (PathBuf::from("/dev/loop3"), (7, 3)),
            (PathBuf::from("/dev/loop4"), (7, 4)),
        ];
        let found: Vec<_> = mounts_of(&table, &loops)
            .into_iter()
            .map(|m| m.mount_point)
            .collect();
        assert_eq!(
            found,
            vec![
                PathBuf::from("/c/csi/staging/v/0001-a"),
                PathBuf::from("/mnt/x"),
                PathBuf::from("/pods/blk")
            ]
        );
    }
}
