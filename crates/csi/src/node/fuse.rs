//! FUSE daemons (rookery's RBD image server, ceph-fuse) as the node sees
//! them: they run in their own session once their mount is ready, so they
//! outlive the plugin. They are found by command line, their mounts are checked by a
//! bounded statfs and stat, and an unmount waits until the daemon has gone.

use std::io::ErrorKind;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::Error;

/// How long a FUSE daemon may take to exit once its mount is gone.
pub const EXIT_WAIT: Duration = Duration::from_secs(30);
/// How long a stat of a mount point may take before the mount counts as hung.
const STAT_WAIT: Duration = Duration::from_secs(10);

/// Processes of `program` (e.g. `ceph-fuse`) whose command line names the
/// mount point `dir`.
pub fn daemon_pids(program: &str, dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let dir = dir.as_os_str().as_encoded_bytes();
    let program = program.as_bytes();
    entries
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<i32>().ok()?, e.path())))
        .filter(|(_, path)| {
            let cmdline = std::fs::read(path.join("cmdline")).unwrap_or_default();
            cmdline_matches(&cmdline, program, dir)
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Whether a NUL-separated command line runs `program` with argument `dir`.
fn cmdline_matches(cmdline: &[u8], program: &[u8], dir: &[u8]) -> bool {
    let mut args = cmdline.split(|b| *b == 0);
    args.next().is_some_and(|a| a.ends_with(program)) && args.any(|a| a == dir)
}

/// Waits until no `program` serves `dir` any more (after its unmount). Until
/// then it still holds its Ceph session (an image watch, CephFS caps), so the
/// next step on the volume could find it busy.
pub async fn wait_exit(program: &str, dir: &Path, doing: &str) -> Result<(), Error> {
    let start = Instant::now();
    loop {
        let pids = daemon_pids(program, dir);
        if pids.is_empty() {
            return Ok(());
        }
        if start.elapsed() > EXIT_WAIT {
            return Err(Error::Node {
                doing: doing.to_owned(),
                errno: Some(libc::ETIMEDOUT),
                detail: format!(
                    "{program} (pid {pids:?}) did not exit within {EXIT_WAIT:?} after its \
                     unmount; stop it by its pid, then retry"
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Detaches whatever is mounted at `dir` (lazily: a mount whose FUSE daemon
/// died cannot be unmounted any other way); nothing mounted is done.
pub fn detach(dir: &Path) -> Result<(), Error> {
    match nix::mount::umount2(dir, nix::mount::MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(Error::os(format!("unmount {}", dir.display()), &e.into())),
    }
}

/// Why the mount at `path` no longer answers, if it does not: a FUSE mount
/// whose daemon died gives ENOTCONN, a network filesystem that lost its
/// session ESTALE, EIO or EHOSTDOWN; one that hangs does not answer at all.
pub async fn dead_mount(path: &Path) -> Option<String> {
    // statfs, stat and opendir: the first two may be answered from a kernel
    // cache for a while after a FUSE daemon died (the root's attributes; the
    // statfs of some kernels), opening the directory always reaches the daemon.
    // The mount is dead when any finds it so.
    let owned = path.to_owned();
    let stat = tokio::task::spawn_blocking(move || {
        nix::sys::statvfs::statvfs(&owned)
            .map_err(std::io::Error::from)
            .and_then(|_| std::fs::metadata(&owned))
            .and_then(|m| {
                if m.is_dir() {
                    std::fs::read_dir(&owned).map(drop)
                } else {
                    Ok(())
                }
            })
    });
    match tokio::time::timeout(STAT_WAIT, stat).await {
        Err(_) => Some(format!(
            "statfs/stat {} did not answer within {STAT_WAIT:?}",
            path.display()
        )),
        Ok(Err(_)) | Ok(Ok(Ok(_))) => None,
        Ok(Ok(Err(e))) => dead_errno(&e).then(|| format!("stat {}: {e}", path.display())),
    }
}

/// The errors of a mount that lost its server (ceph-csi's list, EACCES aside:
/// root meets that only when the server refuses it, which a remount repeats).
fn dead_errno(e: &std::io::Error) -> bool {
    // ENOTCONN for calls made after the daemon died; ECONNABORTED for one
    // that was waiting on it when its connection was torn down.
    e.kind() == ErrorKind::NotConnected
        || matches!(
            e.raw_os_error(),
            Some(libc::ENOTCONN | libc::ECONNABORTED | libc::ESTALE | libc::EIO | libc::EHOSTDOWN)
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_daemon_by_program_and_mount_point() {
        let line = b"/usr/bin/ceph-fuse\0/stage/vol\0-c\0/etc/ceph/ceph.conf\0";
        assert!(cmdline_matches(line, b"ceph-fuse", b"/stage/vol"));
        assert!(!cmdline_matches(line, b"rbd-fuse", b"/stage/vol"));
        assert!(!cmdline_matches(line, b"ceph-fuse", b"/stage"));
        assert!(!cmdline_matches(b"", b"ceph-fuse", b"/stage/vol"));
    }

    #[tokio::test]
    async fn live_and_missing_paths_are_not_dead_mounts() {
        assert_eq!(dead_mount(Path::new("/")).await, None);
        assert_eq!(dead_mount(Path::new("/no/such/path")).await, None);
        for gone in [libc::ENOTCONN, libc::ECONNABORTED] {
            assert!(dead_errno(&std::io::Error::from_raw_os_error(gone)));
        }
        assert!(!dead_errno(&std::io::Error::from_raw_os_error(
            libc::ENOENT
        )));
    }

    #[tokio::test]
    async fn waiting_for_no_daemon_returns_at_once() {
        let dir = Path::new("/no/such/mount/point");
        assert!(daemon_pids("ceph-fuse", dir).is_empty());
        wait_exit("ceph-fuse", dir, "unmount").await.unwrap();
        detach(dir).unwrap();
    }
}
