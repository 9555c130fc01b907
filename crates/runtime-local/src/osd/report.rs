//! The OSD and device sections of `rookery status`: every OSD with what
//! backs it and where it stands, and every block device of the host with
//! `rookery discover`'s verdict for this cluster's selection.

use rookery_api::human_bytes as human_size;
use rookery_core::OsdBacking;
use rookery_discover::{Device, Verdict};
use serde::Serialize;

use super::remove::{self, Stage};
use super::state;
use crate::ceph_ops::Admin;
use crate::layout::Layout;
use crate::osd::devices::{identity_of, scan_bounded, selection};
use crate::osd::{self, RecordKey};

/// One OSD of this cluster (tombstones included).
#[derive(Debug, Clone, Serialize)]
pub struct OsdStatus {
    pub id: Option<u32>,
    /// "10 GiB file" or the device path.
    pub backing: String,
    /// For a device: "file /x.img", "serial X", "WWN Y".
    pub identity: Option<String>,
    /// `spec` (files and listed devices) or `selection` (found by a filter).
    pub source: &'static str,
    /// From Ceph; None when it does not answer or the OSD is not in its map.
    pub up: Option<bool>,
    #[serde(rename = "in")]
    pub in_: Option<bool>,
    /// "up, in", "disk gone: /dev/loop3 (file /x.img)", "draining (removal)",
    /// "removed", "creating".
    pub state: String,
}

/// One block device of the host, as `rookery discover` reports it, and the
/// OSD it backs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceStatus {
    #[serde(flatten)]
    pub device: Device,
    /// `use` or `skip`.
    pub verdict: &'static str,
    pub reasons: Vec<String>,
    pub osd: Option<u32>,
}

/// Every OSD record with Ceph's view of it.
pub async fn osds(layout: &Layout, admin: Option<&Admin>) -> Vec<OsdStatus> {
    let map = match admin {
        Some(a) => state::dump(a).await.ok(),
        None => None,
    };
    osd::all_records(layout)
        .into_iter()
        .map(|(key, rec)| {
            let ceph = rec
                .id
                .filter(|_| rec.removed_at.is_none())
                .and_then(|id| map.as_ref()?.osds.iter().find(|o| o.osd == id));
            let removal = rec.id.and_then(|id| remove::read(layout, id));
            let state = if rec.removed_at.is_some() {
                "removed".to_string()
            } else if let Some(why) = &rec.gone {
                why.clone()
            } else if let Some(r) = removal.filter(|r| r.stage != Stage::Cancelled) {
                format!("being removed ({:?})", r.stage).to_lowercase()
            } else if !rec.ready {
                "creating".to_string()
            } else {
                match ceph {
                    Some(o) => format!(
                        "{}, {}",
                        if o.up { "up" } else { "down" },
                        if o.in_ { "in" } else { "out" }
                    ),
                    None if map.is_some() => "not in the OSD map".to_string(),
                    None => "unknown (Ceph does not answer)".to_string(),
                }
            };
            let backing = match &rec.backing {
                OsdBacking::File { .. } => rec.backing.describe(),
                OsdBacking::Device { path } => path.display().to_string(),
            };
            OsdStatus {
                id: rec.id,
                backing,
                identity: rec
                    .disk
                    .as_ref()
                    .map(|d| format!("{}, {}", d.identity.describe(), human_size(d.size_bytes))),
                source: match key {
                    RecordKey::Slot(_) => "spec",
                    RecordKey::Disk(_) => "selection",
                },
                up: ceph.map(|o| o.up),
                in_: ceph.map(|o| o.in_),
                state,
            }
        })
        .collect()
}

/// The host's devices judged by this cluster's selection, or why not.
pub async fn devices(layout: &Layout) -> Result<Vec<DeviceStatus>, String> {
    let sel = selection(layout).map_err(|e| e.to_string())?;
    let devices = scan_bounded().await.map_err(|e| e.to_string())?;
    let records = osd::all_records(layout);
    Ok(devices
        .into_iter()
        .map(|d| {
            let id = identity_of(&d);
            let osd = records
                .iter()
                .filter(|(_, r)| r.removed_at.is_none())
                .find(|(_, r)| r.disk.as_ref().is_some_and(|k| k.identity == id))
                .and_then(|(_, r)| r.id);
            let (verdict, reasons) = match sel.judge(&d) {
                Verdict::Use => ("use", Vec::new()),
                Verdict::Skip(r) => ("skip", r),
            };
            DeviceStatus {
                device: d,
                verdict,
                reasons,
                osd,
            }
        })
        .collect())
}
