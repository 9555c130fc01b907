//! Whether a device may become an OSD: `spec.storage`'s selection plus the
//! safety rules (a device that holds anything is never taken). Pure.

use regex::Regex;
use rookery_api::{human_bytes, StorageSpec};
use serde::Serialize;

use crate::{Device, DeviceKind, Error};

/// Devices smaller than this are skipped unless the selection says otherwise
/// (Rook's default: an OSD needs room for its DB and WAL).
pub const DEFAULT_MIN_SIZE: u64 = 5 << 30;

/// Which devices are wanted, as in `spec.storage`. The first of `devices`,
/// `device_filter`, `device_path_filter`, `use_all_devices` that is set decides,
/// as in Rook.
#[derive(Debug, Clone)]
pub struct Selection {
    pub use_all_devices: bool,
    /// Over the name (`sdb`).
    pub device_filter: Option<Regex>,
    /// Over the path and the `/dev/disk/by-*` links.
    pub device_path_filter: Option<Regex>,
    /// Names (`sdb`) or paths (`/dev/sdb`, `/dev/disk/by-id/...`).
    pub devices: Vec<String>,
    pub min_size: u64,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            use_all_devices: false,
            device_filter: None,
            device_path_filter: None,
            devices: Vec::new(),
            min_size: DEFAULT_MIN_SIZE,
        }
    }
}

/// The decision for one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "reasons", rename_all = "lowercase")]
pub enum Verdict {
    Use,
    /// Every reason, each a sentence: "has an ext4 filesystem".
    Skip(Vec<String>),
}

impl Selection {
    /// The selection written in `spec.storage` (empty strings count as unset).
    pub fn from_spec(s: &StorageSpec) -> Result<Self, Error> {
        Ok(Selection {
            use_all_devices: s.use_all_devices.unwrap_or(false),
            device_filter: regex("deviceFilter", s.device_filter.as_deref())?,
            device_path_filter: regex("devicePathFilter", s.device_path_filter.as_deref())?,
            devices: s.device_paths(),
            min_size: DEFAULT_MIN_SIZE,
        })
    }

    /// Whether any device could be selected at all: a devices list, a
    /// filter or `useAllDevices`.
    pub fn selects_any(&self) -> bool {
        !self.devices.is_empty()
            || self.device_filter.is_some()
            || self.device_path_filter.is_some()
            || self.use_all_devices
    }

    /// Use, or every reason not to.
    pub fn judge(&self, d: &Device) -> Verdict {
        let mut reasons = in_use(d);
        if d.size_bytes < self.min_size {
            reasons.push(format!(
                "smaller than {} ({})",
                human_bytes(self.min_size),
                human_bytes(d.size_bytes)
            ));
        }
        reasons.extend(self.not_selected(d));
        if reasons.is_empty() {
            Verdict::Use
        } else {
            Verdict::Skip(reasons)
        }
    }

    fn not_selected(&self, d: &Device) -> Option<String> {
        if !self.devices.is_empty() {
            let named = self.devices.iter().any(|n| names(d, n));
            return (!named).then(|| "not in the devices list".to_owned());
        }
        if let Some(re) = &self.device_filter {
            return (!re.is_match(&d.name))
                .then(|| format!("does not match deviceFilter {}", re.as_str()));
        }
        if let Some(re) = &self.device_path_filter {
            let hit = std::iter::once(&d.path)
                .chain(&d.links)
                .any(|p| re.is_match(p));
            return (!hit).then(|| format!("does not match devicePathFilter {}", re.as_str()));
        }
        if !self.use_all_devices {
            return Some(
                "not selected: useAllDevices is false and no filter or device list names it"
                    .to_owned(),
            );
        }
        // As Rook (without ROOK_CEPH_ALLOW_LOOP_DEVICES): "every disk" means
        // real disks; a loop device is someone's file, taken only by name.
        (d.kind == DeviceKind::Loop).then(|| {
            "is a loop device: useAllDevices takes real disks only; name it in devices or match \
it with deviceFilter"
                .to_owned()
        })
    }
}

/// An entry of the devices list names `d` by name, path or by-* link.
fn names(d: &Device, entry: &str) -> bool {
    let path = if entry.starts_with('/') {
        entry.to_owned()
    } else {
        format!("/dev/{entry}")
    };
    entry == d.name || path == d.path || d.links.contains(&path)
}

/// Reasons the device holds something or cannot hold an OSD, whatever the selection.
fn in_use(d: &Device) -> Vec<String> {
    let mut r = Vec::new();
    match d.kind {
        DeviceKind::Ram => r.push("is a RAM disk (its data is lost at reboot)".to_owned()),
        DeviceKind::Mapper => {
            r.push("is a device-mapper device; select the disk underneath".to_owned())
        }
        DeviceKind::Rom => r.push("is an optical drive".to_owned()),
        DeviceKind::Disk | DeviceKind::Loop => {}
    }
    if let Some(why) = &d.not_probed {
        r.push(why.clone());
    }
    if d.detaching {
        r.push(
            "is a loop device being detached (it goes away when its last user closes it)"
                .to_owned(),
        );
    }
    if let Some(e) = &d.probe_error {
        r.push(format!(
            "could not be checked for data ({e}); run as root with access to the device"
        ));
    }
    match d.filesystem.as_deref() {
        Some("ceph_bluestore") => r.push("has a Ceph BlueStore label (an OSD's disk)".to_owned()),
        Some("swap") => r.push("has a swap signature".to_owned()),
        Some(fs) => r.push(format!("has {} {fs} filesystem", article(fs))),
        None => {}
    }
    if let Some(t) = &d.part_table {
        r.push(format!("has a partition table ({t})"));
    }
    if !d.partitions.is_empty() {
        r.push(format!("has partitions ({})", d.partitions.join(", ")));
    }
    if d.lvm {
        r.push("has an LVM physical volume signature".to_owned());
    }
    for m in &d.mounted_at {
        r.push(format!("is mounted at {m}"));
    }
    if !d.holders.is_empty() {
        r.push(format!("is held by {}", d.holders.join(", ")));
    }
    if d.read_only {
        r.push("is read-only".to_owned());
    }
    if d.removable {
        r.push("is removable".to_owned());
    }
    r
}

fn article(word: &str) -> &'static str {
    // "an ext4", "an xfs" (said "ex-"), "a btrfs".
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u' | 'x') => "an",
        _ => "a",
    }
}

fn regex(field: &'static str, pattern: Option<&str>) -> Result<Option<Regex>, Error> {
    match pattern.filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) => Regex::new(p).map(Some).map_err(|source| Error::Regex {
            field,
            pattern: p.to_owned(),
            source,
        }),
    }
}

/// Parses a filter given elsewhere (the command line), naming it in the error;
/// empty means unset, as in `spec.storage`.
pub fn parse_regex(field: &'static str, pattern: &str) -> Result<Option<Regex>, Error> {
    regex(field, Some(pattern))
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
