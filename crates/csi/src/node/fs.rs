//! Filesystems on a mapped device: what is on it, formatting only when it is
//! blank, growing after an expansion, and usage for NodeGetVolumeStats.
//! Shared by every driver whose volumes are block devices.

use std::path::Path;
use std::time::Duration;

use super::command;
use crate::error::Error;

/// Filesystems NodeStage can create and grow.
pub const SUPPORTED: [&str; 2] = ["ext4", "xfs"];
/// The filesystem when a capability names none (ceph-csi's default too).
pub const DEFAULT_FS: &str = "ext4";

/// What a device holds, as `blkid -p` (the low-level probe, no cache) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// No signature at all: safe to format.
    Blank,
    /// A filesystem of this type.
    Filesystem(String),
    /// Something else we must not overwrite: a partition table, an LVM or RAID
    /// member, an unknown signature.
    Other(String),
}

/// Probes `device` for signatures.
pub async fn probe(device: &Path) -> Result<Content, Error> {
    let doing = format!("probe {} for a filesystem", device.display());
    let dev = device.as_os_str();
    let out = command::output(
        "blkid",
        ["-p".as_ref(), "-o".as_ref(), "export".as_ref(), dev],
        Duration::from_secs(60),
        &doing,
    )
    .await?;
    match out.code {
        // blkid -p: 2 means no signature was found.
        Some(2) => Ok(Content::Blank),
        Some(0) => Ok(classify(&out.stdout)),
        _ => Err(Error::Node {
            doing,
            errno: None,
            detail: format!("`blkid` failed: {}", out.stderr.trim()),
        }),
    }
}

/// Reads `blkid -o export` lines (`TYPE=ext4`, `PTTYPE=gpt`, `USAGE=raid`).
fn classify(export: &str) -> Content {
    let value = |key: &str| {
        export
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .map(str::to_owned)
    };
    let usage = value("USAGE");
    match (value("TYPE"), value("PTTYPE")) {
        (_, Some(pt)) => Content::Other(format!("a {pt} partition table")),
        (Some(t), None) if usage.as_deref().is_none_or(|u| u == "filesystem") => {
            Content::Filesystem(t)
        }
        (Some(t), None) => Content::Other(format!("a {t} signature")),
        (None, None) => Content::Other("an unrecognised signature".to_owned()),
    }
}

/// Formats a blank `device` with `fs_type` (one of [`SUPPORTED`]). Lazy init
/// and no discard keep mkfs fast on a thin-provisioned image.
pub async fn mkfs(device: &Path, fs_type: &str) -> Result<(), Error> {
    let dev = device.display().to_string();
    let doing = format!("make an {fs_type} filesystem on {dev}");
    match fs_type {
        "ext4" => {
            let args = [
                "-q",
                "-m0",
                "-E",
                "nodiscard,lazy_itable_init=1,lazy_journal_init=1",
            ];
            command::run(
                "mkfs.ext4",
                args.iter().copied().chain([dev.as_str()]),
                &doing,
            )
            .await?;
        }
        "xfs" => {
            command::run("mkfs.xfs", ["-q", "-K", dev.as_str()], &doing).await?;
        }
        other => return Err(unsupported(other, &doing)),
    }
    Ok(())
}

/// Grows the filesystem mounted at `mount_point` from `device` to the device's
/// size (ext4 by device, xfs by mount point, as their tools want).
pub async fn grow(device: &Path, mount_point: &Path, fs_type: &str) -> Result<(), Error> {
    let doing = format!("grow the {fs_type} filesystem on {}", device.display());
    match fs_type {
        "ext4" => command::run("resize2fs", [device.as_os_str()], &doing).await?,
        "xfs" => command::run("xfs_growfs", [mount_point.as_os_str()], &doing).await?,
        other => return Err(unsupported(other, &doing)),
    };
    Ok(())
}

/// Why this process cannot grow a mounted `fs_type`, if it cannot: the kernel
/// lets only a holder of CAP_SYS_RESOURCE resize a mounted ext4 (xfs needs
/// CAP_SYS_ADMIN, which mounting needs anyway).
pub fn cannot_grow_online(fs_type: &str) -> Option<String> {
    const CAP_SYS_RESOURCE: u32 = 24;
    if fs_type != "ext4" {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())?;
    (effective & (1 << CAP_SYS_RESOURCE) == 0).then(|| {
        "growing a mounted ext4 filesystem needs CAP_SYS_RESOURCE, which this plugin does not \
         have; run the node plugin with it (privileged), or use xfs"
            .to_owned()
    })
}

fn unsupported(fs_type: &str, doing: &str) -> Error {
    Error::Node {
        doing: doing.to_owned(),
        errno: None,
        detail: format!(
            "filesystem {fs_type:?} is not supported; use one of {}",
            SUPPORTED.join(", ")
        ),
    }
}

/// Usage of the filesystem at `path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub used_bytes: u64,
    pub total_inodes: u64,
    pub free_inodes: u64,
    pub used_inodes: u64,
}

/// statvfs(`path`), off the async threads and bounded: a filesystem whose
/// backing store is gone may hang.
pub async fn usage(path: &Path) -> Result<Usage, Error> {
    let owned = path.to_owned();
    let doing = format!("read the usage of {}", path.display());
    let call = tokio::task::spawn_blocking(move || nix::sys::statvfs::statvfs(&owned));
    let st = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .map_err(|_| Error::Node {
            doing: doing.clone(),
            errno: Some(libc::ETIMEDOUT),
            detail: "statfs did not answer within 10s: the volume's backing device hangs".into(),
        })?
        .map_err(|e| Error::Node {
            doing: doing.clone(),
            errno: None,
            detail: e.to_string(),
        })?
        .map_err(|e| Error::os(&doing, &std::io::Error::from(e)))?;
    let frsize = st.fragment_size() as u64;
    let total = st.blocks() as u64 * frsize;
    let free = st.blocks_free() as u64 * frsize;
    Ok(Usage {
        total_bytes: total,
        available_bytes: st.blocks_available() as u64 * frsize,
        used_bytes: total.saturating_sub(free),
        total_inodes: st.files() as u64,
        free_inodes: st.files_free() as u64,
        used_inodes: (st.files() as u64).saturating_sub(st.files_free() as u64),
    })
}

/// The size of block device `device` (e.g. `/dev/loop3`) from sysfs.
pub fn device_size(device: &Path) -> Result<u64, Error> {
    let real = std::fs::canonicalize(device)
        .map_err(|e| Error::os(format!("resolve {}", device.display()), &e))?;
    let name = real.file_name().unwrap_or_default().to_string_lossy();
    let sys = Path::new("/sys/class/block")
        .join(name.as_ref())
        .join("size");
    let text = std::fs::read_to_string(&sys)
        .map_err(|e| Error::os(format!("read {}", sys.display()), &e))?;
    let sectors: u64 = text.trim().parse().map_err(|_| Error::Node {
        doing: format!("read {}", sys.display()),
        errno: None,
        detail: format!("not a sector count: {text:?}"),
    })?;
    Ok(sectors * 512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_blkid_output() {
        assert_eq!(
            classify("DEVNAME=/dev/loop3\nUUID=x\nVERSION=1.0\nTYPE=ext4\nUSAGE=filesystem\n"),
            Content::Filesystem("ext4".into())
        );
        assert_eq!(
            classify("DEVNAME=/dev/loop3\nPTUUID=x\nPTTYPE=gpt\n"),
            Content::Other("a gpt partition table".into())
        );
        assert_eq!(
            classify("TYPE=LVM2_member\nUSAGE=raid\n"),
            Content::Other("a LVM2_member signature".into())
        );
        assert_eq!(
            classify("DEVNAME=/dev/x\n"),
            Content::Other("an unrecognised signature".into())
        );
    }

    #[tokio::test]
    async fn unsupported_filesystems_are_refused_before_any_tool_runs() {
        let e = mkfs(Path::new("/dev/null"), "btrfs").await.unwrap_err();
        assert!(e.to_string().contains("use one of ext4, xfs"), "{e}");
    }

    #[tokio::test]
    async fn usage_of_a_real_filesystem() {
        let u = usage(Path::new("/")).await.unwrap();
        assert!(u.total_bytes > 0 && u.used_bytes <= u.total_bytes);
        assert!(u.available_bytes <= u.total_bytes);
        let e = usage(Path::new("/no/such/dir")).await.unwrap_err();
        assert_eq!(e.code(), crate::error::CsiCode::NotFound);
    }
}
