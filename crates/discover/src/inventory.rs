//! The block devices of this host, from sysfs, udev (when present) and the
//! devices' own first bytes.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backing::backing_problem;
use crate::mounts::{parse_dev, parse_mount_points, parse_mountinfo, MountPoint, Mounts};
use crate::probe::{probe, PROBE_LEN};
use crate::udev::{parse_udev, UdevInfo};
use crate::Error;

/// What a block device is, from its name and sysfs entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Disk,
    Loop,
    /// A RAM disk (`ram*`, `zram*`): its data is gone at reboot.
    Ram,
    /// A device-mapper device (`dm-*`: LVM, dm-crypt, multipath).
    Mapper,
    /// An optical drive (`sr*`).
    Rom,
}

/// One whole block device (partitions are listed inside their disk).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub name: String,
    pub path: String,
    pub kind: DeviceKind,
    /// `major:minor`.
    pub dev: String,
    pub size_bytes: u64,
    pub rotational: bool,
    pub removable: bool,
    pub read_only: bool,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub wwn: Option<String>,
    /// `/dev/disk/by-*` links to this device.
    pub links: Vec<String>,
    /// Partition names, e.g. `sdb1`.
    pub partitions: Vec<String>,
    pub filesystem: Option<String>,
    pub part_table: Option<String>,
    pub lvm: bool,
    /// Where this device or one of its partitions is mounted.
    pub mounted_at: Vec<String>,
    /// Devices stacked on this one or its partitions (`dm-0`, `md0`).
    pub holders: Vec<String>,
    /// For a loop device, the file behind it.
    pub backing_file: Option<String>,
    /// A loop device detached while still open: it goes away at the last close.
    #[serde(default)]
    pub detaching: bool,
    /// Why the device was not read at all (a loop device over a FUSE or
    /// network file, or over a file this host cannot see).
    #[serde(default)]
    pub not_probed: Option<String>,
    /// The OSD uuid of a BlueStore label on it.
    #[serde(default)]
    pub bluestore_osd: Option<String>,
    /// Why the first bytes could not be read (then the signatures are unknown).
    pub probe_error: Option<String>,
}

/// Where to read from; tests point these at a fake tree.
#[derive(Debug, Clone)]
pub struct Roots {
    pub sysfs: PathBuf,
    pub dev: PathBuf,
    pub udev_data: PathBuf,
    pub mountinfo: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            sysfs: "/sys".into(),
            dev: "/dev".into(),
            udev_data: "/run/udev/data".into(),
            mountinfo: "/proc/self/mountinfo".into(),
        }
    }
}

/// Every whole block device under `<sysfs>/block`, sorted by name. Loop devices
/// with nothing attached are left out: they are free slots, not disks.
pub fn scan(roots: &Roots) -> Result<Vec<Device>, Error> {
    let block = roots.sysfs.join("block");
    let (mounts, points) = match fs::read_to_string(&roots.mountinfo) {
        Ok(text) => (parse_mountinfo(&text), parse_mount_points(&text)),
        Err(e) => {
            // Without it every device would look unmounted: refuse rather than guess.
            return Err(Error::read(&roots.mountinfo, e));
        }
    };
    let mut devices = Vec::new();
    for name in list_dir(&block).map_err(|e| Error::read(&block, e))? {
        let dir = block.join(&name);
        match read_device(roots, &dir, &name, &mounts, &points) {
            Some(d) => devices.push(d),
            None => tracing::debug!(device = %name, "skipped: detached loop device"),
        }
    }
    devices.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(devices)
}

fn read_device(
    roots: &Roots,
    dir: &Path,
    name: &str,
    mounts: &Mounts,
    points: &[MountPoint],
) -> Option<Device> {
    let kind = kind_of(name);
    let size_bytes = read_u64(&dir.join("size")).unwrap_or(0).saturating_mul(512);
    if kind == DeviceKind::Loop && size_bytes == 0 {
        return None;
    }
    let dev = read_trim(&dir.join("dev")).unwrap_or_default();
    let udev = parse_dev(&dev)
        .and_then(|(ma, mi)| fs::read_to_string(roots.udev_data.join(format!("b{ma}:{mi}"))).ok())
        .map(|t| parse_udev(&t, &roots.dev.to_string_lossy()))
        .unwrap_or_default();
    let path = roots.dev.join(name);
    let partitions = partitions_of(dir, name);
    let mut devs = vec![dev.clone()];
    let mut holders = list_dir(&dir.join("holders")).unwrap_or_default();
    for p in &partitions {
        devs.extend(read_trim(&dir.join(p).join("dev")));
        holders.extend(list_dir(&dir.join(p).join("holders")).unwrap_or_default());
    }
    let mounted_at = devs
        .iter()
        .filter_map(|d| parse_dev(d))
        .flat_map(|d| mounts.get(&d).cloned().unwrap_or_default())
        .collect();
    let backing_file = read_trim(&dir.join("loop/backing_file"));
    let not_probed = backing_file.as_deref().and_then(|f| {
        let offset = read_u64(&dir.join("loop/offset")).unwrap_or(0);
        backing_problem(f, offset, size_bytes, points)
    });
    let head = match &not_probed {
        // Never opened: the answer could take minutes, or be about another file.
        Some(_) => Ok(Vec::new()),
        None => read_head(&path),
    };
    let (sigs, probe_error) = match head {
        Ok(buf) => (probe(&buf), None),
        Err(e) => {
            let msg = format!("cannot read {}: {e}", path.display());
            // Not a warning: the reason is in the verdict, and --watch would repeat it.
            tracing::debug!(device = %name, error = %e, "cannot probe for signatures");
            (Default::default(), Some(msg))
        }
    };
    let mut links = udev.links.clone();
    links.extend(disk_links(&roots.dev, name));
    links.sort();
    links.dedup();
    Some(Device {
        name: name.to_owned(),
        path: path.to_string_lossy().into_owned(),
        kind,
        dev,
        size_bytes,
        rotational: read_u64(&dir.join("queue/rotational")) == Some(1),
        removable: read_u64(&dir.join("removable")) == Some(1),
        read_only: read_u64(&dir.join("ro")) == Some(1),
        model: read_trim(&dir.join("device/model")).or_else(|| udev.get("ID_MODEL")),
        serial: first(dir, &["device/serial", "serial"]).or_else(|| udev.get("ID_SERIAL")),
        wwn: first(dir, &["device/wwid", "wwid"]).or_else(|| udev.get("ID_WWN")),
        links,
        partitions,
        // Our own probe first; udev's answer when we could not read the device.
        // (A device not probed has no udev data worth trusting either.)
        filesystem: sigs.filesystem.or_else(|| udev_fs(&udev)),
        part_table: sigs.part_table.or_else(|| udev.get("ID_PART_TABLE_TYPE")),
        lvm: sigs.lvm || udev.get("ID_FS_TYPE").as_deref() == Some("LVM2_member"),
        bluestore_osd: sigs.bluestore_osd,
        mounted_at,
        holders,
        detaching: kind == DeviceKind::Loop && read_u64(&dir.join("loop/autoclear")) == Some(1),
        backing_file,
        not_probed,
        probe_error,
    })
}

fn udev_fs(udev: &UdevInfo) -> Option<String> {
    udev.get("ID_FS_TYPE").filter(|t| t != "LVM2_member")
}

fn kind_of(name: &str) -> DeviceKind {
    let starts = |p: &str| name.starts_with(p);
    if starts("loop") {
        DeviceKind::Loop
    } else if starts("ram") || starts("zram") {
        DeviceKind::Ram
    } else if starts("dm-") {
        DeviceKind::Mapper
    } else if starts("sr") {
        DeviceKind::Rom
    } else {
        DeviceKind::Disk
    }
}

/// Partitions are the subdirectories named after the disk that hold a `partition` file.
fn partitions_of(dir: &Path, name: &str) -> Vec<String> {
    let mut parts: Vec<String> = list_dir(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.starts_with(name) && dir.join(p).join("partition").exists())
        .collect();
    parts.sort();
    parts
}

/// `/dev/disk/by-*/*` symlinks whose target is this device.
fn disk_links(dev_root: &Path, name: &str) -> Vec<String> {
    let by = dev_root.join("disk");
    let mut links = Vec::new();
    for kind in list_dir(&by).unwrap_or_default() {
        let dir = by.join(&kind);
        for link in list_dir(&dir).unwrap_or_default() {
            let target = fs::read_link(dir.join(&link)).ok();
            if target.as_deref().and_then(Path::file_name) == Some(name.as_ref()) {
                links.push(dir.join(link).to_string_lossy().into_owned());
            }
        }
    }
    links
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(PROBE_LEN);
    fs::File::open(path)?
        .take(PROBE_LEN as u64)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

fn list_dir(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

fn read_trim(path: &Path) -> Option<String> {
    let s = fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn first(dir: &Path, files: &[&str]) -> Option<String> {
    files.iter().find_map(|f| read_trim(&dir.join(f)))
}

fn read_u64(path: &Path) -> Option<u64> {
    read_trim(path)?.parse().ok()
}

#[cfg(test)]
#[path = "inventory_tests.rs"]
mod tests;
