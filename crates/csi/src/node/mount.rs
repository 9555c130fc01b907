//! Mounting, bind-mounting and unmounting by system call (no `mount` process):
//! filesystem mounts for NodeStage, bind mounts for NodePublish. Each call runs
//! on a blocking thread, since a mount over a hung device blocks.

use std::path::Path;

use nix::mount::{MntFlags, MsFlags};

use crate::error::Error;

/// Generic mount options that are flags to mount(2); anything else in a
/// capability's `mount_flags` goes to the filesystem as data.
const FLAG_OPTIONS: [(&str, MsFlags); 10] = [
    ("ro", MsFlags::MS_RDONLY),
    ("rw", MsFlags::empty()),
    ("noatime", MsFlags::MS_NOATIME),
    ("nodiratime", MsFlags::MS_NODIRATIME),
    ("relatime", MsFlags::MS_RELATIME),
    ("nosuid", MsFlags::MS_NOSUID),
    ("nodev", MsFlags::MS_NODEV),
    ("noexec", MsFlags::MS_NOEXEC),
    ("sync", MsFlags::MS_SYNCHRONOUS),
    ("dirsync", MsFlags::MS_DIRSYNC),
];

/// mount(2) flags and filesystem data from `options` (e.g. `["noatime", "discard"]`).
pub fn split_options(options: &[String], read_only: bool) -> (MsFlags, String) {
    let mut flags = if read_only {
        MsFlags::MS_RDONLY
    } else {
        MsFlags::empty()
    };
    let mut data = Vec::new();
    for opt in options.iter().flat_map(|o| o.split(',')) {
        let opt = opt.trim();
        if opt.is_empty() || opt == "defaults" {
            continue;
        }
        match FLAG_OPTIONS.iter().find(|(name, _)| *name == opt) {
            Some((_, f)) => flags |= *f,
            None => data.push(opt),
        }
    }
    (flags, data.join(","))
}

/// Mounts the filesystem on `device` at `target` (a directory, created if missing).
pub async fn mount_device(
    device: &Path,
    target: &Path,
    fs_type: &str,
    options: &[String],
    read_only: bool,
) -> Result<(), Error> {
    let (flags, data) = split_options(options, read_only);
    let (device, target, fs_type) = (device.to_owned(), target.to_owned(), fs_type.to_owned());
    let doing = format!(
        "mount {} ({fs_type}) at {}",
        device.display(),
        target.display()
    );
    blocking(doing.clone(), move || {
        ensure_dir(&target, &doing)?;
        let data = (!data.is_empty()).then_some(data.as_str());
        nix::mount::mount(Some(&device), &target, Some(fs_type.as_str()), flags, data)
            .map_err(|e| Error::os(&doing, &e.into()))
    })
    .await
}

/// What a bind mount's target must be: a directory for a filesystem, a file for
/// a raw block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Directory,
    File,
}

/// Bind-mounts `source` at `target` (created as `kind` if missing), read-only if asked.
pub async fn bind(
    source: &Path,
    target: &Path,
    kind: TargetKind,
    read_only: bool,
) -> Result<(), Error> {
    let (source, target) = (source.to_owned(), target.to_owned());
    let doing = format!("bind-mount {} at {}", source.display(), target.display());
    blocking(doing.clone(), move || {
        match kind {
            TargetKind::Directory => ensure_dir(&target, &doing)?,
            TargetKind::File => ensure_file(&target, &doing)?,
        }
        let none: Option<&str> = None;
        nix::mount::mount(Some(&source), &target, none, MsFlags::MS_BIND, none)
            .map_err(|e| Error::os(&doing, &e.into()))?;
        if read_only {
            // A bind mount takes MS_RDONLY only on a remount of itself.
            let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            if let Err(e) = nix::mount::mount(none, &target, none, flags, none) {
                let _ = nix::mount::umount2(&target, MntFlags::empty());
                return Err(Error::os(format!("{doing} read-only"), &e.into()));
            }
        }
        Ok(())
    })
    .await
}

/// Unmounts `target`; a path that is not a mount point is already done.
pub async fn unmount(target: &Path) -> Result<(), Error> {
    let target = target.to_owned();
    let doing = format!("unmount {}", target.display());
    blocking(doing.clone(), move || {
        match nix::mount::umount2(&target, MntFlags::empty()) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
            Err(nix::errno::Errno::EBUSY) => Err(Error::Node {
                doing,
                errno: Some(libc::EBUSY),
                detail: "it is busy: a process still uses files on it; stop it, then retry".into(),
            }),
            Err(e) => Err(Error::os(&doing, &e.into())),
        }
    })
    .await
}

/// Removes a mount target left empty (a directory, or the file a block volume
/// was bound on); gone already is fine.
pub fn remove_target(target: &Path) -> Result<(), Error> {
    let result = match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => std::fs::remove_dir(target),
        Ok(_) => std::fs::remove_file(target),
    };
    result.map_err(|e| Error::os(format!("remove {}", target.display()), &e))
}

fn ensure_dir(path: &Path, doing: &str) -> Result<(), Error> {
    std::fs::create_dir_all(path).map_err(|e| Error::os(doing, &e))
}

fn ensure_file(path: &Path, doing: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        ensure_dir(parent, doing)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
        .map_err(|e| Error::os(doing, &e))
}

async fn blocking<T: Send + 'static>(
    doing: String,
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Node {
            doing,
            errno: None,
            detail: format!("the worker thread failed: {e}"),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_options_become_flags_and_the_rest_data() {
        let (flags, data) = split_options(
            &["noatime,discard".into(), "defaults".into(), "nodev".into()],
            true,
        );
        assert_eq!(
            flags,
            MsFlags::MS_RDONLY | MsFlags::MS_NOATIME | MsFlags::MS_NODEV
        );
        assert_eq!(data, "discard");
        let (flags, data) = split_options(&[], false);
        assert!(flags.is_empty() && data.is_empty());
    }

    #[tokio::test]
    async fn unmounting_what_is_not_mounted_is_done() {
        let dir = std::env::temp_dir().join(format!("rookery-unmount-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        unmount(&dir).await.unwrap();
        unmount(&dir.join("missing")).await.unwrap();
        remove_target(&dir).unwrap();
        remove_target(&dir).unwrap();
        assert!(!dir.exists());
    }
}
