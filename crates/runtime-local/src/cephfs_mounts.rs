//! CephFS volumes of this cluster mounted on this host by its CephFS node
//! plugin: ceph-fuse mounts whose daemon runs with this cluster's ceph.conf,
//! kernel-client mounts from this cluster's mons, and their bind mounts.
//! `volumes` adds them to what `down` refuses to stop under.

use std::path::{Path, PathBuf};

use rookery_csi::node::mountinfo::MountEntry;

use crate::layout::Layout;
use crate::procs;

/// The mount table's type of ceph-fuse and kernel-client mounts.
const FUSE_TYPE: &str = "fuse.ceph-fuse";
const KERNEL_TYPE: &str = "ceph";

/// ceph-fuse daemons of the cluster whose conf is `conf`: (pid, mount point).
/// ceph-fuse takes its mount point as the first positional argument.
pub fn fuse_daemons(conf: &Path) -> Vec<(u32, PathBuf)> {
    let conf = conf.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let args = procs::cmdline(pid)?;
            let program = Path::new(args.first()?).file_name()?;
            (program == "ceph-fuse" && args.contains(&conf)).then_some(())?;
            Some((pid, PathBuf::from(fuse_mount_point(&args[1..])?)))
        })
        .collect()
}

/// Stops the cluster's FUSE daemons, ceph-fuse and the RBD image servers
/// (their mounts already detached): SIGTERM, up to 10 s to finish with the
/// cluster still up, then SIGKILL. One left behind would wait on the stopped
/// cluster forever.
pub fn stop_fuse_daemons(layout: &Layout) {
    use nix::sys::signal::Signal;
    let mut pids: Vec<u32> = fuse_daemons(&layout.conf())
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    pids.extend(image_servers(&layout.conf()));
    for &pid in &pids {
        procs::signal(pid, Signal::SIGTERM);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pids.iter().any(|&p| procs::alive(p)) {
        if std::time::Instant::now() > deadline {
            for &pid in pids.iter().filter(|&&p| procs::alive(p)) {
                tracing::warn!(pid, "FUSE daemon did not stop; killing it");
                procs::signal(pid, Signal::SIGKILL);
            }
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The RBD node plugin's FUSE image servers of the cluster whose ceph.conf is
/// `conf` (their process name is fixed, their `--conf` names the cluster).
pub fn image_servers(conf: &Path) -> Vec<u32> {
    let conf = conf.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            procs::cmdline(pid).is_some_and(|args| {
                args.first().map(String::as_str)
                    == Some(rookery_csi::rbd::image_server::PROCESS_NAME)
                    && args.contains(&conf)
            })
        })
        .collect()
}

/// The first argument that is neither an option nor an option's value.
fn fuse_mount_point(args: &[String]) -> Option<&str> {
    // ceph-fuse options that take a separate value, as the node plugin passes them.
    const WITH_VALUE: &[&str] = &[
        "-c",
        "--conf",
        "--id",
        "-n",
        "--name",
        "--keyring",
        "-k",
        "-r",
        "-o",
        "-m",
    ];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if WITH_VALUE.contains(&a.as_str()) {
            it.next();
        } else if !a.starts_with('-') {
            return Some(a);
        }
    }
    None
}

/// The mons' v1 addresses in `conf`'s `mon_host` (what kernel mounts name).
fn mon_v1_addrs(conf_text: &str) -> Vec<String> {
    conf_text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("mon_host"))
        .flat_map(|v| v.split([',', '[', ']', ' ', '=']))
        .filter_map(|t| t.strip_prefix("v1:"))
        .map(str::to_owned)
        .collect()
}

/// Entries of `table` that show a CephFS volume of the cluster: mounts on the
/// devices of the ceph-fuse mounts at `fuse_points`, and kernel mounts whose
/// source names only mons among `mons`.
pub fn mounts_of<'a>(
    table: &'a [MountEntry],
    fuse_points: &[PathBuf],
    mons: &[String],
) -> Vec<&'a MountEntry> {
    let fuse_devs: Vec<(u32, u32)> = table
        .iter()
        .filter(|e| e.fs_type == FUSE_TYPE && fuse_points.contains(&e.mount_point))
        .map(|e| e.dev)
        .collect();
    let ours_kernel = |e: &MountEntry| {
        let Some((addrs, _)) = e.source.split_once(":/") else {
            return false;
        };
        !mons.is_empty() && addrs.split(',').all(|a| mons.iter().any(|m| m == a))
    };
    table
        .iter()
        .filter(|e| {
            (e.fs_type == FUSE_TYPE && fuse_devs.contains(&e.dev))
                || (e.fs_type == KERNEL_TYPE && ours_kernel(e))
        })
        .collect()
}

/// The cluster's CephFS volume mounts in `table`.
pub fn mounted<'a>(layout: &Layout, table: &'a [MountEntry]) -> Vec<&'a MountEntry> {
    let points: Vec<PathBuf> = fuse_daemons(&layout.conf())
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let mons = std::fs::read_to_string(layout.conf())
        .map(|t| mon_v1_addrs(&t))
        .unwrap_or_default();
    mounts_of(table, &points, &mons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_csi::node::mountinfo;

    #[test]
    fn finds_fuse_and_kernel_mounts_and_their_binds() {
        let table = mountinfo::parse(
            "\
22 1 254:1 / / rw - ext4 /dev/vda1 rw
40 22 0:50 / /c/csi/cephfs-staging/v/0001-a rw - fuse.ceph-fuse ceph-fuse rw
41 22 0:50 / /mnt/one rw - fuse.ceph-fuse ceph-fuse rw
42 22 0:51 / /other/staging rw - fuse.ceph-fuse ceph-fuse rw
43 22 0:60 / /mnt/k rw - ceph 127.0.0.1:6789:/volumes/csi/x rw,name=csi-cephfs-node
44 22 0:61 / /mnt/foreign rw - ceph 10.0.0.1:6789:/volumes/csi/y rw,name=u
",
        );
        let found: Vec<_> = mounts_of(
            &table,
            &[PathBuf::from("/c/csi/cephfs-staging/v/0001-a")],
            &["127.0.0.1:6789".to_string()],
        )
        .into_iter()
        .map(|e| e.mount_point.display().to_string())
        .collect();
        assert_eq!(
            found,
            ["/c/csi/cephfs-staging/v/0001-a", "/mnt/one", "/mnt/k"]
        );
    }

    #[test]
    fn reads_the_mount_point_and_mons() {
        let args: Vec<String> = ["/s/v", "-c", "/c/ceph.conf", "--id", "u", "-r", "/x"]
            .map(String::from)
            .to_vec();
        assert_eq!(fuse_mount_point(&args), Some("/s/v"));
        let args: Vec<String> = ["-c", "/c/ceph.conf", "/s/w"].map(String::from).to_vec();
        assert_eq!(fuse_mount_point(&args), Some("/s/w"));
        assert_eq!(
            mon_v1_addrs("mon_host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789],[v2:127.0.0.1:3301,v1:127.0.0.1:6790]\n"),
            ["127.0.0.1:6789", "127.0.0.1:6790"]
        );
    }
}
