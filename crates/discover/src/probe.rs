//! blkid-like signature probing over a device's first bytes.
//!
//! udev is not always there (containers, loop devices without udevd), and a disk
//! that holds data must never be taken for an empty one, so the signatures that
//! matter for an OSD are read here directly.

use serde::Serialize;

/// How many bytes [`probe`] wants: enough for btrfs (65600 + 8) and swap on 64 KiB pages.
pub const PROBE_LEN: usize = 68 * 1024;

/// What the first bytes of a device say is on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Signatures {
    /// blkid's names: `ext4`, `xfs`, `btrfs`, `swap`, `ceph_bluestore`.
    pub filesystem: Option<String>,
    /// `gpt` or `dos`.
    pub part_table: Option<String>,
    /// An LVM2 physical volume label.
    pub lvm: bool,
    /// The OSD uuid in a BlueStore label (whose OSD the disk is).
    pub bluestore_osd: Option<String>,
}

/// Looks for known signatures in `buf` (the device's first bytes; shorter is fine).
pub fn probe(buf: &[u8]) -> Signatures {
    Signatures {
        filesystem: filesystem(buf),
        part_table: part_table(buf),
        lvm: lvm_label(buf),
        bluestore_osd: bluestore_osd(buf),
    }
}

/// "bluestore block device\n<36-char osd uuid>\n".
fn bluestore_osd(buf: &[u8]) -> Option<String> {
    const MAGIC: &[u8] = b"bluestore block device\n";
    if !at(buf, 0, MAGIC) {
        return None;
    }
    let uuid = buf.get(MAGIC.len()..MAGIC.len() + 36)?;
    let ok = uuid.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-');
    ok.then(|| String::from_utf8_lossy(uuid).into_owned())
}

fn at(buf: &[u8], offset: usize, magic: &[u8]) -> bool {
    buf.get(offset..offset + magic.len()) == Some(magic)
}

fn le32(buf: &[u8], offset: usize) -> u32 {
    buf.get(offset..offset + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0)
}

fn filesystem(buf: &[u8]) -> Option<String> {
    let name = if at(buf, 0, b"bluestore block device") {
        "ceph_bluestore"
    } else if at(buf, 0, b"XFSB") {
        "xfs"
    } else if at(buf, 1080, &[0x53, 0xEF]) {
        ext_flavour(buf)
    } else if at(buf, 65600, b"_BHRfS_M") {
        "btrfs"
    } else if swap(buf) {
        "swap"
    } else {
        return None;
    };
    Some(name.to_owned())
}

/// ext2, ext3 or ext4, from the superblock's feature flags (as blkid does).
fn ext_flavour(buf: &[u8]) -> &'static str {
    const SB: usize = 1024;
    let compat = le32(buf, SB + 0x5C);
    let incompat = le32(buf, SB + 0x60);
    let ro_compat = le32(buf, SB + 0x64);
    const HAS_JOURNAL: u32 = 0x4;
    // extents, 64bit, flex_bg, mmp, ... : only ext4 sets these.
    const EXT4_INCOMPAT: u32 = 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x1000 | 0x2000;
    // huge_file, gdt_csum, dir_nlink, extra_isize, metadata_csum.
    const EXT4_RO_COMPAT: u32 = 0x8 | 0x10 | 0x20 | 0x40 | 0x400;
    if incompat & EXT4_INCOMPAT != 0 || ro_compat & EXT4_RO_COMPAT != 0 {
        "ext4"
    } else if compat & HAS_JOURNAL != 0 {
        "ext3"
    } else {
        "ext2"
    }
}

fn swap(buf: &[u8]) -> bool {
    // The signature ends the first page, whose size depends on the machine that made it.
    [4096usize, 8192, 16384, 65536]
        .iter()
        .any(|page| at(buf, page - 10, b"SWAPSPACE2") || at(buf, page - 10, b"SWAP-SPACE"))
}

fn part_table(buf: &[u8]) -> Option<String> {
    if at(buf, 512, b"EFI PART") {
        return Some("gpt".to_owned());
    }
    if !at(buf, 510, &[0x55, 0xAA]) {
        return None;
    }
    // FAT and some boot loaders also end sector 0 with 55AA: require a sane
    // partition entry (boot flag 0x00/0x80) with a type set.
    let entries = (0..4).map(|i| 446 + 16 * i);
    let mut any = false;
    for e in entries {
        let boot = buf[e];
        if boot != 0 && boot != 0x80 {
            return None;
        }
        any |= buf[e + 4] != 0;
    }
    any.then(|| "dos".to_owned())
}

/// LVM2 writes "LABELONE" at the start of one of the first four sectors, with
/// the label type "LVM2 001" 24 bytes in.
fn lvm_label(buf: &[u8]) -> bool {
    (0..4).any(|s| at(buf, s * 512, b"LABELONE") && at(buf, s * 512 + 24, b"LVM2 001"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> Vec<u8> {
        vec![0; PROBE_LEN]
    }

    fn put(buf: &mut [u8], offset: usize, bytes: &[u8]) {
        buf[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    #[test]
    fn blank_and_short_buffers_have_nothing() {
        assert_eq!(probe(&blank()), Signatures::default());
        assert_eq!(probe(&[]), Signatures::default());
        assert_eq!(probe(&[0x55; 600]), Signatures::default());
    }

    #[test]
    fn filesystems_are_named_like_blkid() {
        let cases: [(usize, &[u8], &str); 4] = [
            (0, b"bluestore block device", "ceph_bluestore"),
            (0, b"XFSB", "xfs"),
            (65600, b"_BHRfS_M", "btrfs"),
            (4086, b"SWAPSPACE2", "swap"),
        ];
        for (offset, magic, name) in cases {
            let mut b = blank();
            put(&mut b, offset, magic);
            assert_eq!(probe(&b).filesystem.as_deref(), Some(name));
        }
    }

    #[test]
    fn bluestore_labels_name_their_osd() {
        let mut b = blank();
        put(
            &mut b,
            0,
            b"bluestore block device\nd05db3b0-7fa1-48fd-9224-83f23d063a47\n",
        );
        let s = probe(&b);
        assert_eq!(s.filesystem.as_deref(), Some("ceph_bluestore"));
        assert_eq!(
            s.bluestore_osd.as_deref(),
            Some("d05db3b0-7fa1-48fd-9224-83f23d063a47")
        );
        put(&mut b, 30, b"zz");
        assert_eq!(probe(&b).bluestore_osd, None);
    }

    #[test]
    fn ext_flavours_follow_feature_flags() {
        let mut b = blank();
        put(&mut b, 1080, &[0x53, 0xEF]);
        assert_eq!(probe(&b).filesystem.as_deref(), Some("ext2"));
        put(&mut b, 1024 + 0x5C, &4u32.to_le_bytes());
        assert_eq!(probe(&b).filesystem.as_deref(), Some("ext3"));
        put(&mut b, 1024 + 0x60, &0x40u32.to_le_bytes());
        assert_eq!(probe(&b).filesystem.as_deref(), Some("ext4"));
    }

    #[test]
    fn partition_tables() {
        let mut b = blank();
        put(&mut b, 510, &[0x55, 0xAA]);
        // 55AA alone (an empty MBR or a FAT boot sector without entries): nothing.
        assert_eq!(probe(&b).part_table, None);
        b[446 + 4] = 0x83;
        assert_eq!(probe(&b).part_table.as_deref(), Some("dos"));
        b[446] = 0x12; // not a boot flag: not a partition table
        assert_eq!(probe(&b).part_table, None);
        put(&mut b, 512, b"EFI PART");
        assert_eq!(probe(&b).part_table.as_deref(), Some("gpt"));
    }

    #[test]
    fn lvm_label_in_any_of_the_first_four_sectors() {
        for sector in 0..4 {
            let mut b = blank();
            put(&mut b, sector * 512, b"LABELONE");
            assert!(!probe(&b).lvm, "needs the type too");
            put(&mut b, sector * 512 + 24, b"LVM2 001");
            assert!(probe(&b).lvm, "sector {sector}");
        }
        let mut b = blank();
        put(&mut b, 4 * 512, b"LABELONE");
        put(&mut b, 4 * 512 + 24, b"LVM2 001");
        assert!(!probe(&b).lvm, "sector 4 is not looked at");
    }
}
