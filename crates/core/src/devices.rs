//! Disks becoming OSDs, going and coming back: from the devices seen on the
//! host (already judged by the selection rules) and the disks that already
//! back OSDs, what to do. Pure; the runtime executes it.
//!
//! A disk is recognised by what stays when its `/dev` name changes: its WWN,
//! else its serial, else — for a loop device — the file behind it (a loop
//! device's name can differ after a detach and attach).

use rookery_api::human_bytes;
use serde::{Deserialize, Serialize};

/// What identifies a disk across renames.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "by", content = "value")]
pub enum DiskIdentity {
    Wwn(String),
    Serial(String),
    /// The file behind a loop device.
    BackingFile(String),
    /// Nothing better: the device path (a rename loses the disk).
    Path(String),
}

impl DiskIdentity {
    /// The best identity the device offers.
    pub fn of(
        wwn: Option<&str>,
        serial: Option<&str>,
        backing_file: Option<&str>,
        path: &str,
    ) -> Self {
        let set = |s: Option<&str>| s.filter(|v| !v.trim().is_empty()).map(str::to_owned);
        if let Some(w) = set(wwn) {
            DiskIdentity::Wwn(w)
        } else if let Some(s) = set(serial) {
            DiskIdentity::Serial(s)
        } else if let Some(f) = set(backing_file) {
            DiskIdentity::BackingFile(f)
        } else {
            DiskIdentity::Path(path.to_owned())
        }
    }

    /// For people: "WWN 0x5000", "serial WD_1", "file /srv/disk.img".
    pub fn describe(&self) -> String {
        match self {
            DiskIdentity::Wwn(w) => format!("WWN {w}"),
            DiskIdentity::Serial(s) => format!("serial {s}"),
            DiskIdentity::BackingFile(f) => format!("file {f}"),
            DiskIdentity::Path(_) => "no WWN or serial".to_owned(),
        }
    }
}

/// A device on the host now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenDevice {
    pub path: String,
    pub identity: DiskIdentity,
    pub size_bytes: u64,
    /// The selection wants it and nothing speaks against it (blank, big
    /// enough, not mounted ...).
    pub usable: bool,
    /// A loop device detached while open: going away.
    pub detaching: bool,
    /// Its first bytes were read, so `osd_uuid` can be trusted.
    pub read: bool,
    /// The OSD uuid of the BlueStore label on it.
    pub osd_uuid: Option<String>,
}

/// Where a disk that backs (or backed) an OSD stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DiskState {
    /// Recorded before `osd new`; mkfs has not finished.
    Creating,
    Active,
    /// Missing or failing; its OSD is stopped, down and out.
    Gone,
    /// Its OSD was removed (`rookery osd remove`): never touched again.
    Removed,
}

/// A disk rookery has put (or is putting) an OSD on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDisk {
    /// The runtime's name for its record.
    pub key: String,
    pub osd: Option<u32>,
    /// The OSD's uuid, which its disk's BlueStore label carries.
    pub uuid: String,
    /// For a gone disk: why, as last recorded.
    pub gone_why: Option<String>,
    pub identity: DiskIdentity,
    /// Where it was last seen.
    pub path: String,
    pub size_bytes: u64,
    pub state: DiskState,
}

/// One step for the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskAction {
    /// A new usable disk: record it, `osd new`, mkfs, start.
    Create {
        path: String,
        identity: DiskIdentity,
        size_bytes: u64,
    },
    /// Finish an interrupted creation with the recorded identity.
    Resume { key: String, path: String },
    /// Stop the OSD, mark it down and out; `why` is for status and events.
    Gone {
        key: String,
        osd: Option<u32>,
        why: String,
    },
    /// The disk is back (maybe under another name): point the OSD at
    /// `path`, start it, mark it in.
    Back {
        key: String,
        osd: Option<u32>,
        path: String,
    },
}

/// What to do, known disks first (in their order), then new disks by path.
pub fn plan_disks(seen: &[SeenDevice], known: &[KnownDisk]) -> Vec<DiskAction> {
    let count = |id: &DiskIdentity| seen.iter().filter(|s| &s.identity == id).count();
    // Two devices over one identity (a file attached twice): which one is the
    // disk cannot be told, so neither is touched.
    let find = |id: &DiskIdentity| match count(id) {
        1 => seen.iter().find(|s| &s.identity == id),
        _ => None,
    };
    let mut actions = Vec::new();
    for k in known {
        let now = find(&k.identity);
        let ambiguous = count(&k.identity) > 1;
        match k.state {
            DiskState::Removed => {}
            DiskState::Creating => {
                if let Some(s) = now.filter(|s| !s.detaching) {
                    actions.push(DiskAction::Resume {
                        key: k.key.clone(),
                        path: s.path.clone(),
                    });
                }
            }
            // Attached twice: its OSD keeps whichever device it holds open.
            DiskState::Active if ambiguous => {}
            DiskState::Active => {
                if let Some(why) = trouble(k, now) {
                    actions.push(DiskAction::Gone {
                        key: k.key.clone(),
                        osd: k.osd,
                        why,
                    });
                } else if let Some(s) = now.filter(|s| s.path != k.path) {
                    actions.push(DiskAction::Back {
                        key: k.key.clone(),
                        osd: k.osd,
                        path: s.path.clone(),
                    });
                }
            }
            DiskState::Gone => match (trouble(k, now), now) {
                (None, Some(s)) => actions.push(DiskAction::Back {
                    key: k.key.clone(),
                    osd: k.osd,
                    path: s.path.clone(),
                }),
                // Still not usable, for a new reason (back, but blank): say so.
                (Some(why), Some(_)) if k.gone_why.as_ref() != Some(&why) => {
                    actions.push(DiskAction::Gone {
                        key: k.key.clone(),
                        osd: k.osd,
                        why,
                    })
                }
                _ => {}
            },
        }
    }
    let mut new: Vec<&SeenDevice> = seen
        .iter()
        .filter(|s| s.usable && !s.detaching && count(&s.identity) == 1)
        .filter(|s| {
            // A removed OSD's disk that was wiped is a new disk.
            !known
                .iter()
                .any(|k| k.identity == s.identity && k.state != DiskState::Removed)
        })
        .collect();
    new.sort_by(|a, b| a.path.cmp(&b.path));
    actions.extend(new.into_iter().map(|s| DiskAction::Create {
        path: s.path.clone(),
        identity: s.identity.clone(),
        size_bytes: s.size_bytes,
    }));
    actions
}

/// Why an OSD's disk cannot serve it now, or None.
fn trouble(k: &KnownDisk, now: Option<&SeenDevice>) -> Option<String> {
    let who = format!("{} ({})", k.path, k.identity.describe());
    match now {
        None => Some(format!("disk gone: {who}")),
        Some(s) if s.detaching => Some(format!("disk gone: {who} is being detached")),
        Some(s) if s.size_bytes < k.size_bytes => Some(format!(
            "disk failed: {who} shrank from {} to {}",
            human_bytes(k.size_bytes),
            human_bytes(s.size_bytes)
        )),
        Some(s) if s.read && s.osd_uuid.as_deref() != Some(k.uuid.as_str()) => Some(format!(
            "disk replaced: {who} no longer holds this OSD's data (no BlueStore label of it)"
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
