//! A fake sysfs, /dev, udev database and mountinfo in a tempdir.

use std::fs;
use std::path::Path;

use super::*;

struct Fake {
    _tmp: tempfile::TempDir,
    roots: Roots,
}

impl Fake {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path();
        let roots = Roots {
            sysfs: p.join("sys"),
            dev: p.join("dev"),
            udev_data: p.join("udev"),
            mountinfo: p.join("mountinfo"),
        };
        for d in [
            roots.sysfs.join("block"),
            roots.dev.clone(),
            roots.udev_data.clone(),
        ] {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(&roots.mountinfo, "").unwrap();
        Fake { _tmp: tmp, roots }
    }

    /// A device of `sectors` 512-byte sectors whose /dev node holds `head`.
    fn device(&self, name: &str, dev: &str, sectors: u64, head: &[u8]) -> &Self {
        let dir = self.roots.sysfs.join("block").join(name);
        write(&dir.join("size"), &format!("{sectors}\n"));
        write(&dir.join("dev"), &format!("{dev}\n"));
        write(&dir.join("queue/rotational"), "0\n");
        write(&dir.join("removable"), "0\n");
        write(&dir.join("ro"), "0\n");
        fs::create_dir_all(dir.join("holders")).unwrap();
        fs::write(self.roots.dev.join(name), head).unwrap();
        self
    }

    fn file(&self, rel: &str, text: &str) -> &Self {
        write(&self.roots.sysfs.join("block").join(rel), text);
        self
    }
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn by_name(devices: &[Device], name: &str) -> Device {
    devices
        .iter()
        .find(|d| d.name == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} not in {devices:?}"))
}

fn ext4_head() -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    b[1080..1082].copy_from_slice(&[0x53, 0xEF]);
    b[1024 + 0x60..1024 + 0x64].copy_from_slice(&0x240u32.to_le_bytes());
    b
}

#[test]
fn reads_identity_and_flags_from_sysfs() {
    let f = Fake::new();
    f.device("sdb", "8:16", 20971520, &[0; 4096])
        .file("sdb/queue/rotational", "1\n")
        .file("sdb/device/model", "ST4000NM0033   \n")
        .file("sdb/device/wwid", "naa.5000c500a1b2c3d4\n")
        .file("sdb/removable", "1\n")
        .file("sdb/ro", "1\n");
    let d = by_name(&scan(&f.roots).unwrap(), "sdb");
    assert_eq!(d.kind, DeviceKind::Disk);
    assert_eq!(d.size_bytes, 10 << 30);
    assert_eq!(d.dev, "8:16");
    assert!(d.rotational && d.removable && d.read_only);
    assert_eq!(d.model.as_deref(), Some("ST4000NM0033"));
    assert_eq!(d.wwn.as_deref(), Some("naa.5000c500a1b2c3d4"));
    assert_eq!(d.path, f.roots.dev.join("sdb").to_string_lossy());
    assert_eq!(
        (d.filesystem, d.part_table, d.lvm, d.probe_error),
        (None, None, false, None)
    );
}

#[test]
fn partitions_mounts_and_holders_roll_up_to_the_disk() {
    let f = Fake::new();
    f.device("vda", "253:0", 1 << 21, &[0; 1024])
        .file("vda/vda1/partition", "1\n")
        .file("vda/vda1/dev", "253:1\n")
        .file("vda/vda2/partition", "2\n")
        .file("vda/vda2/dev", "253:2\n")
        .file("vda/vda2/holders/dm-0", "")
        .file("vda/holders/md0", "");
    fs::write(
        &f.roots.mountinfo,
        "30 27 253:1 / /boot rw - ext4 /dev/vda1 rw\n31 27 253:9 / /other rw - ext4 x rw\n",
    )
    .unwrap();
    let d = by_name(&scan(&f.roots).unwrap(), "vda");
    assert_eq!(d.partitions, vec!["vda1", "vda2"]);
    assert_eq!(d.mounted_at, vec!["/boot"]);
    assert_eq!(d.holders, vec!["md0", "dm-0"]);
}

#[test]
fn signatures_come_from_the_device_itself() {
    let f = Fake::new();
    f.device("loop3", "7:3", 1 << 21, &ext4_head());
    fs::write(
        &f.roots.mountinfo,
        "30 27 7:3 / /mnt/x rw - ext4 /dev/loop3 rw\n",
    )
    .unwrap();
    let img = f.roots.dev.join("disk.img");
    fs::File::create(&img).unwrap().set_len(1 << 30).unwrap();
    f.file("loop3/loop/backing_file", &format!("{}\n", img.display()));
    let d = by_name(&scan(&f.roots).unwrap(), "loop3");
    assert_eq!(d.kind, DeviceKind::Loop);
    assert_eq!(d.filesystem.as_deref(), Some("ext4"));
    assert_eq!(d.mounted_at, vec!["/mnt/x"]);
    assert_eq!(d.backing_file.as_deref(), Some(img.to_str().unwrap()));
    assert_eq!((d.not_probed, d.detaching), (None, false));
}

#[test]
fn loops_over_fuse_or_invisible_files_are_never_opened() {
    let f = Fake::new();
    // The /dev nodes hold ext4: had they been read, the filesystem would show.
    f.device("loop4", "7:4", 1 << 21, &ext4_head())
        .file("loop4/loop/backing_file", "/run/rbd-fuse/csi-vol-1\n")
        .device("loop5", "7:5", 1 << 21, &ext4_head())
        .file("loop5/loop/backing_file", "/csi-vol-2\n")
        .file("loop5/loop/autoclear", "1\n");
    fs::write(
        &f.roots.mountinfo,
        "1 0 253:0 / / rw - ext4 /dev/vda rw\n40 1 0:50 / /run/rbd-fuse rw - fuse.rbd-fuse rbd-fuse rw\n",
    )
    .unwrap();
    let all = scan(&f.roots).unwrap();
    let fuse = by_name(&all, "loop4");
    assert!(fuse.not_probed.unwrap().contains("fuse.rbd-fuse"));
    assert_eq!(fuse.filesystem, None);
    let hidden = by_name(&all, "loop5");
    assert_eq!(
        hidden.not_probed.as_deref(),
        Some("is a loop device over a file that is not visible on this host (/csi-vol-2)")
    );
    assert!(hidden.detaching);
    assert_eq!(hidden.filesystem, None);
}

#[test]
fn detached_loops_are_left_out_ram_disks_kept() {
    let f = Fake::new();
    f.device("loop0", "7:0", 0, &[])
        .device("zram0", "252:0", 0, &[]);
    let names: Vec<String> = scan(&f.roots)
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, vec!["zram0"]);
}

#[test]
fn udev_fills_identity_and_links() {
    let f = Fake::new();
    f.device("sdc", "8:32", 1 << 24, &[0; 4096]);
    fs::write(
        f.roots.udev_data.join("b8:32"),
        "S:disk/by-id/wwn-0x5000\nE:ID_SERIAL=WD_1234\nE:ID_WWN=0x5000\nE:ID_MODEL=WD\n",
    )
    .unwrap();
    let by_path = f.roots.dev.join("disk/by-path");
    fs::create_dir_all(&by_path).unwrap();
    std::os::unix::fs::symlink("../../sdc", by_path.join("pci-0000:00:1f.2-ata-3")).unwrap();
    std::os::unix::fs::symlink("../../sdd", by_path.join("pci-0000:00:1f.2-ata-4")).unwrap();
    let d = by_name(&scan(&f.roots).unwrap(), "sdc");
    assert_eq!(d.serial.as_deref(), Some("WD_1234"));
    assert_eq!(d.wwn.as_deref(), Some("0x5000"));
    assert_eq!(d.model.as_deref(), Some("WD"));
    let dev = f.roots.dev.to_string_lossy();
    assert_eq!(
        d.links,
        vec![
            format!("{dev}/disk/by-id/wwn-0x5000"),
            format!("{dev}/disk/by-path/pci-0000:00:1f.2-ata-3"),
        ]
    );
}

#[test]
fn udev_answers_when_the_device_cannot_be_read() {
    let f = Fake::new();
    f.device("sde", "8:64", 1 << 24, &[]);
    fs::remove_file(f.roots.dev.join("sde")).unwrap();
    fs::write(
        f.roots.udev_data.join("b8:64"),
        "E:ID_FS_TYPE=LVM2_member\nE:ID_PART_TABLE_TYPE=gpt\n",
    )
    .unwrap();
    let d = by_name(&scan(&f.roots).unwrap(), "sde");
    assert!(d.probe_error.unwrap().starts_with("cannot read "));
    assert!(d.lvm);
    assert_eq!(d.filesystem, None, "LVM2_member is not a filesystem");
    assert_eq!(d.part_table.as_deref(), Some("gpt"));
}

#[test]
fn missing_sysfs_is_an_error_that_says_what_to_do() {
    let f = Fake::new();
    fs::remove_dir_all(f.roots.sysfs.join("block")).unwrap();
    let e = scan(&f.roots).unwrap_err().to_string();
    assert!(e.contains("sys/block") && e.contains("mount them"), "{e}");
}
