//! Which block devices are mounted where, from `/proc/self/mountinfo`.
//!
//! Matched by major:minor rather than by the source path, because the source may
//! be a /dev/mapper or /dev/disk/by-* name of the same device.

use std::collections::BTreeMap;

/// Mount points by `(major, minor)`.
pub type Mounts = BTreeMap<(u32, u32), Vec<String>>;

/// Parses mountinfo text; lines that do not parse are skipped.
pub fn parse_mountinfo(text: &str) -> Mounts {
    let mut mounts = Mounts::new();
    for line in text.lines() {
        let mut fields = line.split(' ');
        let (Some(dev), Some(point)) = (fields.nth(2), fields.nth(1)) else {
            continue;
        };
        let Some(dev) = parse_dev(dev) else { continue };
        mounts.entry(dev).or_default().push(unescape(point));
    }
    mounts
}

/// A mount point and its filesystem type (`ext4`, `fuse.rbd-fuse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPoint {
    pub point: String,
    pub fstype: String,
}

/// Every mount point of mountinfo text, in mount order.
pub fn parse_mount_points(text: &str) -> Vec<MountPoint> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let point = before.split(' ').nth(4)?;
            let fstype = after.split(' ').next()?;
            Some(MountPoint {
                point: unescape(point),
                fstype: fstype.to_owned(),
            })
        })
        .collect()
}

/// "8:1" -> (8, 1).
pub fn parse_dev(s: &str) -> Option<(u32, u32)> {
    let (major, minor) = s.trim().split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The kernel writes space, tab, newline and backslash in paths as `\ooo`.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let d = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(d, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(c)) => {
                out.push(c);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_by_device_number() {
        let text = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
30 27 7:3 / /mnt/my\\040disk rw,relatime - ext4 /dev/loop3 rw
31 27 7:3 /sub /srv rw,relatime - ext4 /dev/loop3 rw
garbage
32 27 8:1 / /boot rw - ext4 /dev/sda1 rw
";
        let m = parse_mountinfo(text);
        assert_eq!(m[&(7, 3)], vec!["/mnt/my disk", "/srv"]);
        assert_eq!(m[&(8, 1)], vec!["/boot"]);
        assert_eq!(m[&(0, 21)], vec!["/proc"]);
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn mount_points_with_their_types() {
        let text = "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
40 27 0:50 / /run/x\\040y rw,nosuid shared:9 - fuse.rbd-fuse rbd-fuse rw\n";
        let m = parse_mount_points(text);
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[1].point.as_str(), m[1].fstype.as_str()),
            ("/run/x y", "fuse.rbd-fuse")
        );
    }

    #[test]
    fn device_numbers() {
        assert_eq!(parse_dev("259:0\n"), Some((259, 0)));
        assert_eq!(parse_dev("x:1"), None);
        assert_eq!(parse_dev("8"), None);
    }
}
