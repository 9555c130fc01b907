//! OSDs: one slot per desired backing (sparse file or blank device). A slot
//! records its uuid and key *before* Ceph is asked for an id, so a creation
//! cut short is finished with the same identity instead of leaking an OSD.

use std::io::Read;
use std::path::Path;

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
}

pub fn read_slot(layout: &Layout, slot: usize) -> Option<SlotRecord> {
    let text = std::fs::read_to_string(layout.osd_slot(slot)).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_slot(layout: &Layout, slot: usize, rec: &SlotRecord) -> Result<()> {
    let path = layout.osd_slot(slot);
    let json = serde_json::to_vec_pretty(rec).map_err(|e| Error::Spec(e.to_string()))?;
    write_atomic(&path, &json, 0o600).ctx("cannot write OSD slot", &path)
}

/// The state of every recorded slot, in slot order.
pub fn observed_slots(layout: &Layout) -> Vec<OsdSlotState> {
    let mut out = Vec::new();
    for slot in 0.. {
        let Some(rec) = read_slot(layout, slot) else {
            break;
        };
        out.push(match (rec.ready, rec.id) {
            (true, Some(id)) if layout.osd_dir(id).join("ready").exists() => {
                OsdSlotState::Ready { id }
            }
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

/// Creates one OSD (or finishes an interrupted creation) and returns its id.
pub async fn create(
    layout: &Layout,
    admin: &Admin,
    plan: &OsdCreate,
    progress: &Progress,
) -> Result<u32> {
    let rec = match (plan.resume_uuid.as_ref(), read_slot(layout, plan.slot)) {
        (Some(_), Some(rec)) => rec,
        _ => {
            if let OsdBacking::Device { path } = &plan.backing {
                check_blank(path)?;
            }
            let rec = SlotRecord {
                uuid: uuid::Uuid::new_v4().to_string(),
                key: CephxKey::generate()?.expose().to_string(),
                backing: plan.backing.clone(),
                id: None,
                ready: false,
            };
            write_slot(layout, plan.slot, &rec)?;
            rec
        }
    };
    let step = progress.step(
        &format!("osd slot {}", plan.slot),
        format!("creating OSD on {}", plan.backing.describe()),
    );
    let key = CephxKey::from_text(rec.key.clone());
    let id = admin.osd_new(&rec.uuid, &key).await?;
    let mut rec = SlotRecord {
        id: Some(id),
        ..rec
    };
    write_slot(layout, plan.slot, &rec)?;

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
    write_slot(layout, plan.slot, &rec)?;
    step.done(format!("osd.{id} created"));
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        write_slot(&layout, 0, &rec(0, true)).unwrap();
        std::fs::create_dir_all(layout.osd_dir(0)).unwrap();
        std::fs::write(layout.osd_dir(0).join("ready"), "ready").unwrap();
        write_slot(&layout, 1, &rec(1, false)).unwrap();
        // ready in the record but the OSD's own marker is missing: redo.
        write_slot(&layout, 2, &rec(2, true)).unwrap();
        assert_eq!(
            observed_slots(&layout),
            vec![
                OsdSlotState::Ready { id: 0 },
                OsdSlotState::Interrupted { uuid: "u1".into() },
                OsdSlotState::Interrupted { uuid: "u2".into() },
            ]
        );
    }
}
