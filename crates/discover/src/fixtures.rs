//! Test fixtures.

use crate::{Device, DeviceKind};

/// A blank 10 GiB disk: usable when selected.
pub fn disk(name: &str) -> Device {
    Device {
        name: name.into(),
        path: format!("/dev/{name}"),
        kind: DeviceKind::Disk,
        dev: "8:16".into(),
        size_bytes: 10 << 30,
        rotational: true,
        removable: false,
        read_only: false,
        model: None,
        serial: None,
        wwn: None,
        links: vec![],
        partitions: vec![],
        filesystem: None,
        part_table: None,
        lvm: false,
        mounted_at: vec![],
        holders: vec![],
        backing_file: None,
        detaching: false,
        not_probed: None,
        bluestore_osd: None,
        probe_error: None,
    }
}
