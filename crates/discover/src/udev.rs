//! udev's database (`/run/udev/data/b<major>:<minor>`), when udevd runs.
//!
//! Only a fallback and a source of identity (serial, WWN, by-id links): rookery
//! probes signatures itself, since udev is often absent in containers.

use std::collections::BTreeMap;

/// What udev knows about one block device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UdevInfo {
    /// `E:KEY=VALUE` properties.
    pub props: BTreeMap<String, String>,
    /// `S:` symlinks, as `/dev/...` paths.
    pub links: Vec<String>,
}

impl UdevInfo {
    /// A property, if set and not empty.
    pub fn get(&self, key: &str) -> Option<String> {
        self.props.get(key).filter(|v| !v.is_empty()).cloned()
    }
}

/// Parses one udev data file; `dev_root` prefixes the symlinks (normally `/dev`).
pub fn parse_udev(text: &str, dev_root: &str) -> UdevInfo {
    let mut info = UdevInfo::default();
    for line in text.lines() {
        if let Some(prop) = line.strip_prefix("E:") {
            if let Some((k, v)) = prop.split_once('=') {
                info.props.insert(k.to_owned(), v.to_owned());
            }
        } else if let Some(link) = line.strip_prefix("S:") {
            info.links.push(format!("{dev_root}/{link}"));
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_and_links() {
        let text = "S:disk/by-id/wwn-0x5000c500a1b2c3d4\nI:123\nE:ID_SERIAL=ST4000_Z1\nE:ID_WWN=0x5000c500a1b2c3d4\nE:ID_FS_TYPE=\n";
        let u = parse_udev(text, "/dev");
        assert_eq!(u.get("ID_SERIAL").as_deref(), Some("ST4000_Z1"));
        assert_eq!(u.get("ID_WWN").as_deref(), Some("0x5000c500a1b2c3d4"));
        assert_eq!(u.get("ID_FS_TYPE"), None, "empty means unset");
        assert_eq!(u.links, vec!["/dev/disk/by-id/wwn-0x5000c500a1b2c3d4"]);
    }
}
