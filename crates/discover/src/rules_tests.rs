use rookery_api::{DeviceSpec, StorageSpec};

use super::*;
use crate::fixtures::disk;

fn all() -> Selection {
    Selection {
        use_all_devices: true,
        ..Selection::default()
    }
}

fn reasons(v: Verdict) -> Vec<String> {
    match v {
        Verdict::Use => vec![],
        Verdict::Skip(r) => r,
    }
}

fn skip_one(sel: &Selection, d: &Device) -> String {
    let r = reasons(sel.judge(d));
    assert_eq!(r.len(), 1, "{r:?}");
    r[0].clone()
}

#[test]
fn blank_disk_is_used_with_use_all_devices() {
    assert_eq!(all().judge(&disk("sdb")), Verdict::Use);
}

#[test]
fn only_a_list_a_filter_or_use_all_devices_selects_anything() {
    assert!(!Selection::default().selects_any());
    assert!(all().selects_any());
    let listed = Selection {
        devices: vec!["sdb".into()],
        ..Selection::default()
    };
    assert!(listed.selects_any());
    let filtered = Selection {
        device_path_filter: Some(Regex::new("^/dev/disk/by-id/").unwrap()),
        ..Selection::default()
    };
    assert!(filtered.selects_any());
}

#[test]
fn nothing_is_selected_by_default() {
    assert_eq!(
        skip_one(&Selection::default(), &disk("sdb")),
        "not selected: useAllDevices is false and no filter or device list names it"
    );
}

/// Makes a blank disk hold something.
type Edit = fn(&mut Device);

#[test]
fn every_kind_of_content_is_a_reason() {
    let cases: Vec<(Edit, &str)> = vec![
        (|d| d.filesystem = Some("ext4".into()), "has an ext4 filesystem"),
        (|d| d.filesystem = Some("xfs".into()), "has an xfs filesystem"),
        (|d| d.filesystem = Some("btrfs".into()), "has a btrfs filesystem"),
        (|d| d.filesystem = Some("swap".into()), "has a swap signature"),
        (
            |d| d.filesystem = Some("ceph_bluestore".into()),
            "has a Ceph BlueStore label (an OSD's disk)",
        ),
        (|d| d.part_table = Some("gpt".into()), "has a partition table (gpt)"),
        (
            |d| d.partitions = vec!["sdb1".into(), "sdb2".into()],
            "has partitions (sdb1, sdb2)",
        ),
        (|d| d.lvm = true, "has an LVM physical volume signature"),
        (|d| d.mounted_at = vec!["/mnt/x".into()], "is mounted at /mnt/x"),
        (|d| d.holders = vec!["dm-0".into()], "is held by dm-0"),
        (|d| d.read_only = true, "is read-only"),
        (|d| d.removable = true, "is removable"),
        (
            |d| d.kind = DeviceKind::Ram,
            "is a RAM disk (its data is lost at reboot)",
        ),
        (
            |d| d.kind = DeviceKind::Mapper,
            "is a device-mapper device; select the disk underneath",
        ),
        (|d| d.kind = DeviceKind::Rom, "is an optical drive"),
        (
            |d| d.probe_error = Some("cannot read /dev/sdb: Permission denied".into()),
            "could not be checked for data (cannot read /dev/sdb: Permission denied); run as root with access to the device",
        ),
    ];
    for (set, want) in cases {
        let mut d = disk("sdb");
        set(&mut d);
        assert_eq!(skip_one(&all(), &d), want);
    }
}

#[test]
fn too_small_names_both_sizes() {
    let mut d = disk("sdb");
    d.size_bytes = 1 << 30;
    assert_eq!(skip_one(&all(), &d), "smaller than 5 GiB (1 GiB)");
    let sel = Selection {
        min_size: 512 << 20,
        ..all()
    };
    assert_eq!(sel.judge(&d), Verdict::Use, "the minimum is configurable");
}

#[test]
fn in_use_wins_over_an_explicit_listing() {
    let mut d = disk("sdb");
    d.mounted_at = vec!["/mnt/x".into(), "/srv".into()];
    let sel = Selection {
        devices: vec!["sdb".into()],
        ..Selection::default()
    };
    assert_eq!(
        reasons(sel.judge(&d)),
        vec!["is mounted at /mnt/x", "is mounted at /srv"]
    );
}

#[test]
fn devices_list_matches_name_path_or_link() {
    let mut d = disk("sdb");
    d.links = vec!["/dev/disk/by-id/wwn-0x5000".into()];
    for entry in ["sdb", "/dev/sdb", "/dev/disk/by-id/wwn-0x5000"] {
        let sel = Selection {
            devices: vec![entry.into()],
            ..Selection::default()
        };
        assert_eq!(sel.judge(&d), Verdict::Use, "{entry}");
    }
    let sel = Selection {
        devices: vec!["sdc".into()],
        use_all_devices: true,
        ..Selection::default()
    };
    assert_eq!(
        skip_one(&sel, &d),
        "not in the devices list",
        "the list decides first"
    );
}

#[test]
fn device_filter_over_the_name() {
    let sel = Selection {
        device_filter: Some(Regex::new("^sd[b-c]").unwrap()),
        use_all_devices: true,
        ..Selection::default()
    };
    assert_eq!(sel.judge(&disk("sdc")), Verdict::Use);
    assert_eq!(
        skip_one(&sel, &disk("sdd")),
        "does not match deviceFilter ^sd[b-c]"
    );
}

#[test]
fn device_path_filter_over_path_and_links() {
    let sel = Selection {
        device_path_filter: Some(Regex::new("^/dev/disk/by-path/pci-.*").unwrap()),
        ..Selection::default()
    };
    let mut d = disk("sdb");
    assert_eq!(
        skip_one(&sel, &d),
        "does not match devicePathFilter ^/dev/disk/by-path/pci-.*"
    );
    d.links = vec!["/dev/disk/by-path/pci-0000:00:1f.2-ata-2".into()];
    assert_eq!(sel.judge(&d), Verdict::Use);
}

#[test]
fn all_reasons_are_given_at_once() {
    let mut d = disk("sdb");
    d.filesystem = Some("ext4".into());
    d.size_bytes = 3 << 29;
    assert_eq!(
        reasons(Selection::default().judge(&d)),
        vec![
            "has an ext4 filesystem",
            "smaller than 5 GiB (1.5 GiB)",
            "not selected: useAllDevices is false and no filter or device list names it",
        ]
    );
}

#[test]
fn from_spec_reads_rooks_fields() {
    let spec = StorageSpec {
        use_all_devices: Some(true),
        device_filter: Some(String::new()),
        device_path_filter: Some("^/dev/vd".into()),
        devices: vec![DeviceSpec::named("vdb")],
        ..StorageSpec::default()
    };
    let sel = Selection::from_spec(&spec).unwrap();
    assert!(sel.use_all_devices);
    assert!(sel.device_filter.is_none(), "empty means unset");
    assert_eq!(sel.device_path_filter.unwrap().as_str(), "^/dev/vd");
    assert_eq!(sel.devices, vec!["/dev/vdb"]);

    let bad = StorageSpec {
        device_filter: Some("sd[".into()),
        ..StorageSpec::default()
    };
    let e = Selection::from_spec(&bad).unwrap_err().to_string();
    assert!(
        e.starts_with("deviceFilter \"sd[\" is not a valid regular expression"),
        "{e}"
    );
}

#[test]
fn verdict_json_shape() {
    let v = serde_json::to_value(Verdict::Skip(vec!["is read-only".into()])).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"verdict": "skip", "reasons": ["is read-only"]})
    );
    let v = serde_json::to_value(Verdict::Use).unwrap();
    assert_eq!(v, serde_json::json!({"verdict": "use"}));
}

#[test]
fn use_all_devices_takes_a_loop_device_only_when_named_or_filtered() {
    let mut d = disk("loop7");
    d.kind = crate::DeviceKind::Loop;
    assert_eq!(
        skip_one(&all(), &d),
        "is a loop device: useAllDevices takes real disks only; name it in devices or match it \
with deviceFilter"
    );
    let named = Selection {
        devices: vec!["loop7".into()],
        ..all()
    };
    assert_eq!(named.judge(&d), Verdict::Use);
    let filtered = Selection {
        device_filter: Some(Regex::new("^loop7$").unwrap()),
        ..all()
    };
    assert_eq!(filtered.judge(&d), Verdict::Use);
}

#[test]
fn loops_not_to_read_or_being_detached_are_skipped() {
    let mut d = disk("loop7");
    d.kind = crate::DeviceKind::Loop;
    d.not_probed =
        Some("is a loop device over a file that is not visible on this host (/csi-vol-1)".into());
    d.detaching = true;
    assert_eq!(
        reasons(all().judge(&d)),
        vec![
            "is a loop device over a file that is not visible on this host (/csi-vol-1)",
            "is a loop device being detached (it goes away when its last user closes it)",
            "is a loop device: useAllDevices takes real disks only; name it in devices or match \
it with deviceFilter",
        ]
    );
}
