//! The kernel's mount table (`/proc/self/mountinfo`), the one source of truth
//! for what is staged and published on this node. Nothing about mounts is kept
//! in the plugin's memory, so a restarted plugin sees exactly what its
//! predecessor left.

use std::io;
use std::path::{Path, PathBuf};

/// One line of mountinfo (see proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// `major:minor` of the mounted filesystem (or of the device node's
    /// filesystem, for a bind-mounted device file).
    pub dev: (u32, u32),
    /// The path inside that filesystem that is mounted here (`/` for a whole
    /// filesystem; `/loop3` for a bind mount of `/dev/loop3` from devtmpfs).
    pub root: PathBuf,
    pub mount_point: PathBuf,
    pub fs_type: String,
    /// The mount source, e.g. `/dev/loop3` or `rbd-fuse`.
    pub source: String,
    /// Per-mount options, e.g. `rw,relatime`.
    pub options: String,
}

impl MountEntry {
    pub fn read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }

    /// Whether `other` shows the same filesystem subtree (a bind mount of it,
    /// or the mount it was bound from).
    pub fn same_source(&self, other: &MountEntry) -> bool {
        self.dev == other.dev && self.root == other.root
    }
}

/// The current mount table of this process's mount namespace.
pub fn read() -> io::Result<Vec<MountEntry>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(parse(&text))
}

/// The topmost mount at exactly `path` (later lines stack over earlier ones).
pub fn at(path: &Path) -> io::Result<Option<MountEntry>> {
    Ok(find(&read()?, path).cloned())
}

/// The topmost entry mounted at `path` in `table`.
pub fn find<'a>(table: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    table.iter().rev().find(|e| e.mount_point == path)
}

/// Parses mountinfo text; malformed lines are skipped (the kernel writes none).
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountEntry> {
    // id parent major:minor root mount_point options [optional...] - fstype source super_options
    let (head, tail) = line.split_once(" - ")?;
    let mut head = head.split(' ');
    let _id = head.next()?;
    let _parent = head.next()?;
    let (major, minor) = head.next()?.split_once(':')?;
    let root = unescape(head.next()?);
    let mount_point = unescape(head.next()?);
    let options = head.next()?.to_owned();
    let mut tail = tail.split(' ');
    let fs_type = tail.next()?.to_owned();
    let source = unescape(tail.next()?);
    Some(MountEntry {
        dev: (major.parse().ok()?, minor.parse().ok()?),
        root: PathBuf::from(root),
        mount_point: PathBuf::from(mount_point),
        fs_type,
        source,
        options,
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let octal = field
                .get(i + 1..i + 4)
                .filter(|o| o.bytes().all(|b| (b'0'..=b'7').contains(&b)))
                .and_then(|o| u8::from_str_radix(o, 8).ok());
            if let Some(b) = octal {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
98 22 7:3 / /var/lib/kubelet/stage/vol rw,relatime shared:50 - ext4 /dev/loop3 rw
99 22 7:3 / /pods/a\\040b/mount rw,relatime shared:50 - ext4 /dev/loop3 rw
100 22 0:5 /loop4 /pods/blk ro,nosuid - devtmpfs udev rw,size=100k
101 22 0:48 / /state/fuse/x rw,nosuid,nodev - fuse.rbd-fuse rbd-fuse rw,user_id=0
102 22 7:3 / /var/lib/kubelet/stage/vol ro,relatime shared:50 - ext4 /dev/loop3 rw
";

    #[test]
    fn parses_fields_and_escapes() {
        let t = parse(SAMPLE);
        assert_eq!(t.len(), 6);
        assert_eq!(t[1].dev, (7, 3));
        assert_eq!(t[1].source, "/dev/loop3");
        assert_eq!(t[1].fs_type, "ext4");
        assert_eq!(t[2].mount_point, PathBuf::from("/pods/a b/mount"));
        assert_eq!(t[3].root, PathBuf::from("/loop4"));
        assert!(t[3].read_only());
        assert!(!t[1].read_only());
        assert_eq!(t[4].fs_type, "fuse.rbd-fuse");
    }

    #[test]
    fn finds_the_topmost_mount_and_its_binds() {
        let t = parse(SAMPLE);
        let staged = find(&t, Path::new("/var/lib/kubelet/stage/vol")).unwrap();
        assert!(staged.read_only(), "the later line stacks over the earlier");
        let binds: Vec<_> = t.iter().filter(|e| e.same_source(staged)).collect();
        assert_eq!(binds.len(), 3);
        assert!(find(&t, Path::new("/nowhere")).is_none());
    }

    #[test]
    fn skips_malformed_lines_and_keeps_lone_backslashes() {
        assert!(parse("garbage\n1 2 x / / rw - ext4 a rw\n").is_empty());
        assert_eq!(unescape("a\\b"), "a\\b");
        assert_eq!(unescape("a\\134b"), "a\\b");
        assert_eq!(unescape("end\\04"), "end\\04");
    }
}
