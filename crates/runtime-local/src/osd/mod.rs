//! OSDs: one slot per desired backing (sparse file or blank device), plus
//! one record per disk the selection found (`osd/disks/<n>.json`). A record
//! holds its uuid and key *before* Ceph is asked for an id, so a creation
//! cut short is finished with the same identity instead of leaking an OSD;
//! after `rookery osd remove` it stays as a tombstone.

pub mod devices;
pub mod devices_up;
pub mod remove;
pub mod remove_flow;
pub mod report;
pub mod state;

use std::io::Read;
use std::path::Path;

use rookery_core::devices::{DiskIdentity, DiskState};
use rookery_core::plan::OsdCreate;
use rookery_core::{OsdBacking, OsdSlotState};
use serde::{Deserialize, Serialize};

use crate::ceph_ops::Admin;
use crate::daemons::{run_tool, Kind};
use crate::error::{Error, IoContext, Result};
use crate::keys::{render_keyring, CephxKey, KeyringEntry};
use crate::layout::{write_atomic, Layout};
use crate::progress::Progress;

/// The record of one slot (`osd/slots/<n>.json`, mode 0600: holds the key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotRecord {
    pub uuid: String,
    pub key: String,
    pub backing: OsdBacking,
    #[serde(default)]
    pub id: Option<u32>,
    #[serde(default)]
    pub ready: bool,
    /// For a device: how it is recognised after a rename, and its size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskInfo>,
    /// Why the disk cannot serve the OSD now ("disk gone: /dev/loop3 (file
    /// /x.img)"); the OSD is stopped, down and out meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone: Option<String>,
    /// Unix time of `rookery osd remove`: a tombstone, never recreated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<u64>,
}

/// A device backing's identity and size when it became an OSD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskInfo {
    pub identity: DiskIdentity,
    pub size_bytes: u64,
}

impl SlotRecord {
    /// Where the disk stands, for the disk plan.
    pub fn disk_state(&self, layout: &Layout) -> DiskState {
        if self.removed_at.is_some() {
            DiskState::Removed
        } else if self.gone.is_some() {
            DiskState::Gone
        } else if self.is_ready(layout) {
            DiskState::Active
        } else {
            DiskState::Creating
        }
    }

    fn is_ready(&self, layout: &Layout) -> bool {
        matches!((self.ready, self.id), (true, Some(id)) if layout.osd_dir(id).join("ready").exists())
    }
}

/// Which record: a spec slot, or a disk the selection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum RecordKey {
    Slot(usize),
    Disk(usize),
}

impl RecordKey {
    pub fn path(self, layout: &Layout) -> std::path::PathBuf {
        match self {
            RecordKey::Slot(n) => layout.osd_slot(n),
            RecordKey::Disk(n) => layout.osd_disk_record(n),
        }
    }

    /// `slot-2`, `disk-0`: the disk plan's key.
    pub fn name(self) -> String {
        match self {
            RecordKey::Slot(n) => format!("slot-{n}"),
            RecordKey::Disk(n) => format!("disk-{n}"),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let (kind, n) = s.split_once('-')?;
        let n = n.parse().ok()?;
        match kind {
            "slot" => Some(RecordKey::Slot(n)),
            "disk" => Some(RecordKey::Disk(n)),
            _ => None,
        }
    }
}

pub fn read_slot(layout: &Layout, slot: usize) -> Option<SlotRecord> {
    read_record(layout, RecordKey::Slot(slot))
}

pub fn read_record(layout: &Layout, key: RecordKey) -> Option<SlotRecord> {
    let text = std::fs::read_to_string(key.path(layout)).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
fn write_slot(layout: &Layout, slot: usize, rec: &SlotRecord) -> Result<()> {
    write_record(layout, RecordKey::Slot(slot), rec)
}

pub fn write_record(layout: &Layout, key: RecordKey, rec: &SlotRecord) -> Result<()> {
    let path = key.path(layout);
    let json = serde_json::to_vec_pretty(rec).map_err(|e| Error::Spec(e.to_string()))?;
    write_atomic(&path, &json, 0o600).ctx("cannot write OSD record", &path)
}

/// Every record, spec slots first, then disks, each in order.
pub fn all_records(layout: &Layout) -> Vec<(RecordKey, SlotRecord)> {
    let mut out = Vec::new();
    for key in [RecordKey::Slot as fn(usize) -> RecordKey, RecordKey::Disk] {
        for n in 0.. {
            let Some(rec) = read_record(layout, key(n)) else {
                break;
            };
            out.push((key(n), rec));
        }
    }
    out
}

/// The record of the OSD `id` that is not a tombstone (ids are reused
/// after a purge, so an old tombstone may carry the same id).
pub fn record_of(layout: &Layout, id: u32) -> Option<(RecordKey, SlotRecord)> {
    all_records(layout)
        .into_iter()
        .find(|(_, r)| r.id == Some(id) && r.removed_at.is_none())
}

/// The next free disk record number.
pub fn next_disk_key(layout: &Layout) -> RecordKey {
    let n = (0..)
        .find(|n| !layout.osd_disk_record(*n).exists())
        .unwrap_or(0);
    RecordKey::Disk(n)
}

/// The state of every recorded slot, in slot order.
pub fn observed_slots(layout: &Layout) -> Vec<OsdSlotState> {
    let mut out = Vec::new();
    for slot in 0.. {
        let Some(rec) = read_slot(layout, slot) else {
            break;
        };
        out.push(match (rec.removed_at, rec.id) {
            (Some(_), Some(id)) => OsdSlotState::Removed { id },
            _ if rec.is_ready(layout) => OsdSlotState::Ready {
                id: rec.id.unwrap_or_default(),
            },
            _ => OsdSlotState::Interrupted { uuid: rec.uuid },
        });
    }
    out
}

/// Refuses a device that holds anything: a partition table, a filesystem
/// or any other data shows up as non-zero bytes at its start or end.
pub fn check_blank(device: &Path) -> Result<()> {
    let not_blank = |why: String| Error::DeviceNotBlank {
        device: device.to_path_buf(),
        why,
    };
    let meta = std::fs::metadata(device).ctx("cannot inspect device", device)?;
    use std::os::unix::fs::FileTypeExt;
    if !meta.file_type().is_block_device() {
        return Err(not_blank("it is not a block device".into()));
    }
    let mut f = std::fs::File::open(device).ctx("cannot open device", device)?;
    let mut head = vec![0u8; 1 << 20];
    let n = f.read(&mut head).ctx("cannot read device", device)?;
    if head[..n].iter().any(|b| *b != 0) {
        return Err(not_blank(
            "its first MiB is not zero: a partition table, filesystem or other data".into(),
        ));
    }
    Ok(())
}

/// `check_blank` off the async threads, bounded: a device that does not
/// answer is not blank as far as rookery can tell.
pub async fn check_blank_bounded(device: &Path) -> Result<()> {
    let path = device.to_path_buf();
    let read = tokio::task::spawn_blocking(move || check_blank(&path));
    match tokio::time::timeout(std::time::Duration::from_secs(10), read).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(Error::Refused(format!(
            "blank check of {} failed: {e}",
            device.display()
        ))),
        Err(_) => Err(Error::DeviceNotBlank {
            device: device.to_path_buf(),
            why: "reading its first MiB did not finish within 10 s".into(),
        }),
    }
}

/// Creates one OSD of the spec (or finishes an interrupted creation) and
/// returns its id.
pub async fn create(
    layout: &Layout,
    admin: &Admin,
    plan: &OsdCreate,
    progress: &Progress,
) -> Result<u32> {
    let resume = plan.resume_uuid.is_some();
    create_at(
        layout,
        admin,
        RecordKey::Slot(plan.slot),
        &plan.backing,
        None,
        resume,
        progress,
    )
    .await
}

/// Creates the OSD of record `key` on `backing`: the record first (after a
/// last blank check of a device), then `osd new`, then mkfs. With `resume`,
/// an existing record's uuid and key are used again.
pub async fn create_at(
    layout: &Layout,
    admin: &Admin,
    at: RecordKey,
    backing: &OsdBacking,
    disk: Option<DiskInfo>,
    resume: bool,
    progress: &Progress,
) -> Result<u32> {
    let rec = match (resume, read_record(layout, at)) {
        (true, Some(mut rec)) => {
            // A resumed disk may have come back under another name.
            rec.backing = backing.clone();
            rec
        }
        _ => {
            if let OsdBacking::Device { path } = backing {
                check_blank_bounded(path).await?;
            }
            let rec = SlotRecord {
                uuid: uuid::Uuid::new_v4().to_string(),
                key: CephxKey::generate()?.expose().to_string(),
                backing: backing.clone(),
                id: None,
                ready: false,
                disk,
                gone: None,
                removed_at: None,
            };
            write_record(layout, at, &rec)?;
            rec
        }
    };
    let label = match at {
        RecordKey::Slot(n) => format!("osd slot {n}"),
        RecordKey::Disk(n) => format!("osd disk {n}"),
    };
    let step = progress.step(&label, format!("creating OSD on {}", backing.describe()));
    let key = CephxKey::from_text(rec.key.clone());
    let id = admin.osd_new(&rec.uuid, &key).await?;
    let mut rec = SlotRecord {
        id: Some(id),
        ..rec
    };
    write_record(layout, at, &rec)?;

    let dir = layout.osd_dir(id);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).ctx("cannot clear half-made OSD", &dir)?;
    }
    std::fs::create_dir_all(&dir).ctx("cannot create", &dir)?;
    let keyring = render_keyring(&[KeyringEntry {
        entity: format!("osd.{id}"),
        key,
        caps: vec![],
    }]);
    write_atomic(&dir.join("keyring"), keyring.as_bytes(), 0o600)
        .ctx("cannot write keyring", dir.join("keyring"))?;

    let mut args: Vec<String> = [
        "--mkfs",
        "-i",
        &id.to_string(),
        "-c",
        &layout.conf().display().to_string(),
        "--osd-uuid",
        &rec.uuid,
    ]
    .map(String::from)
    .to_vec();
    match &rec.backing {
        OsdBacking::File { size } => {
            // bluestore creates the sparse `block` file itself.
            args.push("--bluestore-block-size".into());
            args.push(size.to_string());
        }
        OsdBacking::Device { path } => {
            std::os::unix::fs::symlink(path, dir.join("block"))
                .ctx("cannot link device", dir.join("block"))?;
        }
    }
    run_tool(layout, &format!("osd.{id}"), Kind::Osd.program(), &args).await?;
    rec.ready = true;
    write_record(layout, at, &rec)?;
    step.done(format!("osd.{id} created"));
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_name_and_parse() {
        for k in [RecordKey::Slot(2), RecordKey::Disk(0)] {
            assert_eq!(RecordKey::parse(&k.name()), Some(k));
        }
        assert_eq!(RecordKey::parse("disk-x"), None);
        assert_eq!(RecordKey::parse("other-1"), None);
    }

    #[test]
    fn regular_file_is_refused_as_device() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x");
        std::fs::write(&f, b"").unwrap();
        let err = check_blank(&f).unwrap_err().to_string();
        assert!(err.contains("not a block device"), "{err}");
        assert!(err.contains("spec.storage.devices"), "{err}");
    }

    #[test]
    fn slots_are_observed_in_order_and_unfinished_ones_are_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_dirs().unwrap();
        let rec = |id, ready| SlotRecord {
            uuid: format!("u{id}"),
            key: "k".into(),
            backing: OsdBacking::File { size: 1 },
            id: Some(id),
            ready,
            disk: None,
            gone: None,
            removed_at: None,
        };
        write_slot(&layout, 0, &rec(0, true)).unwrap();
        std::fs::create_dir_all(layout.osd_dir(0)).unwrap();
        std::fs::write(layout.osd_dir(0).join("ready"), "ready").unwrap();
        write_slot(&layout, 1, &rec(1, false)).unwrap();
        // ready in the record but the OSD's own marker is missing: redo.
        write_slot(&layout, 2, &rec(2, true)).unwrap();
        // A tombstone stays one, whatever else the record says.
        let mut gone = rec(3, true);
        gone.removed_at = Some(1);
        write_slot(&layout, 3, &gone).unwrap();
        assert_eq!(
            observed_slots(&layout),
            vec![
                OsdSlotState::Ready { id: 0 },
                OsdSlotState::Interrupted { uuid: "u1".into() },
                OsdSlotState::Interrupted { uuid: "u2".into() },
                OsdSlotState::Removed { id: 3 },
            ]
        );
    }
}
