//! `spec.storage`: what becomes an OSD. Rook's device selection, plus rookery's
//! file-backed OSDs (`spec.storage.files`) for the local runtime.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::de::{nullable, string_map};
use crate::warnings::{join, Report};
use crate::{Extra, Quantity};

/// `spec.storage`.
///
/// The local runtime makes `files.count` sparse-file OSDs, one OSD per entry
/// of `devices`, and one per blank disk that `deviceFilter`,
/// `devicePathFilter` or `useAllDevices` selects (also disks attached
/// later; `useAllDevices` takes real disks, not loop devices, as Rook).
/// `useAllNodes` and `nodes` are kept and reported as ignored (one host).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct StorageSpec {
    /// Rook: use every node. Ignored locally (one host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_all_nodes: Option<bool>,
    /// Rook: use every empty disk (not loop devices, as Rook by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_all_devices: Option<bool>,
    /// Rook: a regex over device names (`^sd[b-d]$`); matching blank disks become OSDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_filter: Option<String>,
    /// Rook: a regex over device paths and `/dev/disk/by-*` links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_path_filter: Option<String>,
    /// Devices to use whole, e.g. `sdb` or `/dev/disk/by-id/...`.
    #[schemars(extend("nullable" = true))]
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub devices: Vec<DeviceSpec>,
    /// OSD settings for all devices (Rook's keys: `deviceClass`, `osdsPerDevice`, ...).
    #[schemars(extend("nullable" = true))]
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_map"
    )]
    pub config: BTreeMap<String, String>,
    /// Rook: per-node selections, kept as written. Ignored locally.
    #[schemars(extend("nullable" = true))]
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub nodes: Vec<serde_json::Value>,
    /// Ceph's full ratio (writes stop), e.g. 0.95. Unset: Ceph's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub full_ratio: Option<f64>,
    /// Ceph's backfill-full ratio, e.g. 0.90. Unset: Ceph's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub backfill_full_ratio: Option<f64>,
    /// Ceph's near-full ratio (health warning), e.g. 0.85. Unset: Ceph's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub near_full_ratio: Option<f64>,
    /// rookery extension: file-backed OSDs for the local runtime.
    #[schemars(extend("nullable" = true))]
    #[serde(deserialize_with = "nullable")]
    pub files: FileOsdSpec,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl StorageSpec {
    /// OSDs asked for: `files.count` plus one per listed device.
    pub fn osd_count(&self) -> u32 {
        let devices = u32::try_from(self.devices.len()).unwrap_or(u32::MAX);
        self.files.count.saturating_add(devices)
    }

    /// A `deviceFilter` or `devicePathFilter` is set: the OSD count is known
    /// only on the host, from its disks.
    pub fn filters_devices(&self) -> bool {
        let set = |f: &Option<String>| f.as_deref().is_some_and(|s| !s.is_empty());
        set(&self.device_filter)
            || set(&self.device_path_filter)
            || self.use_all_devices == Some(true)
    }

    /// The listed devices as `/dev/...` paths, in order, skipping invalid entries
    /// (validation reports those).
    pub fn device_paths(&self) -> Vec<String> {
        self.devices.iter().filter_map(|d| d.path().ok()).collect()
    }

    const FIELDS: &'static [&'static str] = &[
        "useAllNodes",
        "useAllDevices",
        "deviceFilter",
        "devicePathFilter",
        "devices",
        "config",
        "nodes",
        "fullRatio",
        "backfillFullRatio",
        "nearFullRatio",
        "files",
    ];
    const ROOK_ONLY: &'static [&'static str] = &[
        "onlyApplyOSDPlacement",
        "volumeClaimTemplates",
        "storageClassDeviceSets",
        "store",
        "flappingRestartIntervalHours",
        "allowDeviceClassUpdate",
        "allowOsdCrushWeightUpdate",
        "scheduleAlways",
        "migration",
    ];

    pub(crate) fn report(&self, path: &str, r: &mut Report<'_>) {
        const ONE_HOST: &str = "it runs on this host only; list this host's disks in \
spec.storage.devices";
        r.extra(path, &self.extra, Self::FIELDS, Self::ROOK_ONLY);
        if self.use_all_nodes == Some(true) {
            r.ignored(&join(path, "useAllNodes"), ONE_HOST);
        }
        if !self.nodes.is_empty() {
            r.ignored(&join(path, "nodes"), ONE_HOST);
        }
        for (i, d) in self.devices.iter().enumerate() {
            d.report(&format!("{path}.devices[{i}]"), r);
        }
        self.files.report(&join(path, "files"), r);
    }
}

/// One entry of `spec.storage.devices`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct DeviceSpec {
    /// `sdb` (meaning `/dev/sdb`) or a path under `/dev/`.
    pub name: String,
    /// Rook: the full path; used instead of `name` when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fullpath: Option<String>,
    /// OSD settings for this device.
    #[schemars(extend("nullable" = true))]
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "string_map"
    )]
    pub config: BTreeMap<String, String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl DeviceSpec {
    /// A device given by name or path.
    pub fn named(name: &str) -> Self {
        DeviceSpec {
            name: name.to_owned(),
            ..DeviceSpec::default()
        }
    }

    /// The device path: `fullpath` if set, else `name`, with bare names such as
    /// `sdb` turned into `/dev/sdb`. The error says what is wrong.
    pub fn path(&self) -> Result<String, String> {
        let raw = match self.fullpath.as_deref() {
            Some(p) if !p.is_empty() => p,
            _ => self.name.as_str(),
        };
        normalize_device(raw)
    }

    const FIELDS: &'static [&'static str] = &["name", "fullpath", "config"];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, &[]);
    }
}

/// `sdb` -> `/dev/sdb`; `/dev/...` paths as they are; anything else is an error.
fn normalize_device(raw: &str) -> Result<String, String> {
    const FORMS: &str = "write a name like sdb or nvme0n1, or a path under /dev/ like \
/dev/disk/by-id/...";
    if raw.is_empty() {
        return Err(format!("no device name given; {FORMS}"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{raw:?} contains a space or control character; {FORMS}"
        ));
    }
    if raw.starts_with('/') {
        let rest = raw.strip_prefix("/dev/").unwrap_or("");
        let bad_part = rest
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..");
        if rest.is_empty() || bad_part {
            return Err(format!("{raw:?} is not a device path under /dev/; {FORMS}"));
        }
        return Ok(raw.to_owned());
    }
    if raw.contains('/') || raw == "." || raw == ".." {
        return Err(format!("{raw:?} is a relative path; {FORMS}"));
    }
    Ok(format!("/dev/{raw}"))
}

/// `spec.storage.files` (rookery extension): bluestore OSDs on sparse files in
/// the cluster directory, for the local runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct FileOsdSpec {
    /// How many file-backed OSDs: 0 to 64. Default 3.
    #[schemars(range(max = crate::limits::MAX_FILE_OSDS))]
    pub count: u32,
    /// The (sparse) size of each file: 10Gi to 16Ti. Default 10Gi.
    pub size: Quantity,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for FileOsdSpec {
    fn default() -> Self {
        FileOsdSpec {
            count: 3,
            size: Quantity::gib(10),
            extra: Extra::new(),
        }
    }
}

impl FileOsdSpec {
    const FIELDS: &'static [&'static str] = &["count", "size"];

    fn report(&self, path: &str, r: &mut Report<'_>) {
        r.extra(path, &self.extra, Self::FIELDS, &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_normalize() {
        assert_eq!(normalize_device("sdb").unwrap(), "/dev/sdb");
        assert_eq!(normalize_device("nvme0n1").unwrap(), "/dev/nvme0n1");
        assert_eq!(normalize_device("/dev/sdb").unwrap(), "/dev/sdb");
        assert_eq!(
            normalize_device("/dev/disk/by-id/wwn-0x5000").unwrap(),
            "/dev/disk/by-id/wwn-0x5000"
        );
        for bad in [
            "",
            "/dev/",
            "/tmp/disk.img",
            "disk/by-id/x",
            "/dev/../etc",
            "sd b",
            "..",
        ] {
            assert!(normalize_device(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fullpath_wins_over_name() {
        let d = DeviceSpec {
            name: "ignored".into(),
            fullpath: Some("/dev/vdc".into()),
            ..DeviceSpec::default()
        };
        assert_eq!(d.path().unwrap(), "/dev/vdc");
    }
}
