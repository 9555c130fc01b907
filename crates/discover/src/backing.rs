//! Loop devices: whether the file behind one may be read at all.
//!
//! A loop device over a file on FUSE or a network filesystem (the CSI node
//! plugin maps RBD images through rbd-fuse and a loop device) is never a disk,
//! and reading it blocks for as long as that backend stalls: such a device is
//! judged without opening it. Neither is one whose file this mount namespace
//! cannot see (a loop device made inside a container): the name in sysfs is
//! then a path of that container, and whatever lies at the same path here is
//! another file.

use std::path::Path;

use crate::mounts::MountPoint;

/// Filesystems whose files may stall a reader for minutes (FUSE, network).
const REMOTE: &[&str] = &[
    "fuse",
    "fuseblk",
    "nfs",
    "nfs4",
    "ceph",
    "cifs",
    "smb3",
    "9p",
    "sshfs",
    "glusterfs",
    "afs",
];

/// Why the loop device over `file` (`offset` bytes in, `size` bytes long)
/// must not be read, or None when it may be. Looks at mountinfo first and
/// touches the file only when it is on a local filesystem.
pub fn backing_problem(
    file: &str,
    offset: u64,
    size: u64,
    mounts: &[MountPoint],
) -> Option<String> {
    if let Some(path) = file.strip_suffix(" (deleted)") {
        return Some(format!(
            "is a loop device over a deleted file ({path}): what backs it cannot be checked"
        ));
    }
    if !file.starts_with('/') {
        return Some(format!(
            "is a loop device over a file that is not visible on this host ({file})"
        ));
    }
    if let Some(m) = mount_of(file, mounts) {
        let fstype = m.fstype.as_str();
        let base = fstype.split('.').next().unwrap_or(fstype);
        if REMOTE.contains(&base) {
            return Some(format!(
                "is a loop device over a file on a {fstype} filesystem ({file}), not a disk; \
reading it can hang while that filesystem stalls"
            ));
        }
    }
    match std::fs::metadata(Path::new(file)) {
        Err(_) => Some(format!(
            "is a loop device over a file that is not visible on this host ({file})"
        )),
        // The file here is shorter than the device: it is not the file the
        // loop device was made over (another mount namespace's path).
        Ok(meta) if meta.is_file() && meta.len() < offset.saturating_add(size) => Some(format!(
            "is a loop device over a file that is not visible on this host ({file})"
        )),
        Ok(_) => None,
    }
}

/// The mount holding `path`: the longest mount point that is a prefix of it
/// (the last one mounted wins for the same point).
pub fn mount_of<'a>(path: &str, mounts: &'a [MountPoint]) -> Option<&'a MountPoint> {
    let under = |point: &str| {
        point == "/"
            || path == point
            || path
                .strip_prefix(point)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| under(&m.point))
        .max_by_key(|(i, m)| (m.point.len(), *i))
        .map(|(_, m)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp(point: &str, fstype: &str) -> MountPoint {
        MountPoint {
            point: point.into(),
            fstype: fstype.into(),
        }
    }

    #[test]
    fn fuse_and_network_files_are_never_touched() {
        let mounts = [
            mp("/", "ext4"),
            mp("/run/rbd", "fuse.rbd-fuse"),
            mp("/mnt/nfs", "nfs4"),
        ];
        // The paths do not exist: a stat would fail, so the answer comes
        // from mountinfo alone.
        let r = backing_problem("/run/rbd/img", 0, 1 << 30, &mounts).unwrap();
        assert!(r.contains("fuse.rbd-fuse filesystem"), "{r}");
        assert!(r.contains("not a disk"), "{r}");
        let r = backing_problem("/mnt/nfs/x/disk", 0, 1, &mounts).unwrap();
        assert!(r.contains("nfs4"), "{r}");
    }

    #[test]
    fn files_this_namespace_cannot_see_are_not_probed() {
        let mounts = [mp("/", "ext4")];
        let r = backing_problem("/csi-vol-1234", 0, 1 << 30, &mounts).unwrap();
        assert_eq!(
            r,
            "is a loop device over a file that is not visible on this host (/csi-vol-1234)"
        );
        let r = backing_problem("/tmp/x.img (deleted)", 0, 1, &mounts).unwrap();
        assert!(r.contains("deleted file (/tmp/x.img)"), "{r}");
    }

    #[test]
    fn a_local_file_of_the_right_size_is_fine_and_a_short_one_is_not_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("disk.img");
        std::fs::File::create(&f).unwrap().set_len(1 << 20).unwrap();
        let p = f.to_str().unwrap();
        let mounts = [mp("/", "ext4")];
        assert_eq!(backing_problem(p, 0, 1 << 20, &mounts), None);
        assert!(backing_problem(p, 4096, 1 << 20, &mounts).is_some());
    }

    #[test]
    fn the_longest_mount_point_holds_the_path() {
        let mounts = [mp("/", "ext4"), mp("/var", "xfs"), mp("/var/lib", "fuse")];
        assert_eq!(mount_of("/var/lib/x", &mounts).unwrap().fstype, "fuse");
        assert_eq!(mount_of("/var/library", &mounts).unwrap().fstype, "xfs");
        assert_eq!(mount_of("/etc", &mounts).unwrap().fstype, "ext4");
    }
}
