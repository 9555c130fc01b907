//! Disks at bring-up: before the spec's OSDs start, disks that went while
//! the cluster was down keep their OSD stopped (and down, out); disk OSDs
//! found by the selection start. After them, new matching disks become OSDs,
//! so a spec with only a `deviceFilter` comes up with its disks.

use std::collections::BTreeSet;

use rookery_core::devices::{DiskAction, DiskState};
use rookery_discover::{Device, Selection, Verdict};

use crate::daemons::{self, Kind};
use crate::error::{Error, Result};
use crate::osd::devices::{apply, create_all, plan, selection, Env};
use crate::osd::{self, RecordKey};

/// What the disks say before the OSDs start.
#[derive(Debug, Default)]
pub struct DisksAtStart {
    /// Spec OSDs not to start: their disk is gone.
    pub skip: BTreeSet<u32>,
    /// Disk OSDs (outside the spec's slots) started here.
    pub started: Vec<u32>,
}

pub async fn before_osds(env: &Env) -> Result<DisksAtStart> {
    let layout = &env.ctx.layout;
    let sel = selection(layout)?;
    let (devices, actions) = plan(layout, &sel).await?;
    let mut out = DisksAtStart {
        skip: crate::osd::remove::held_down(layout),
        started: Vec::new(),
    };
    let mut handled = BTreeSet::new();
    for action in actions {
        match &action {
            DiskAction::Gone { osd, key, .. } | DiskAction::Back { osd, key, .. } => {
                handled.insert(key.clone());
                let gone = matches!(action, DiskAction::Gone { .. });
                let started = apply(env, &devices, action.clone()).await?;
                if gone {
                    out.skip.extend(*osd);
                } else if key.starts_with("disk-") {
                    out.started.extend(started);
                }
            }
            DiskAction::Create { .. } | DiskAction::Resume { .. } => {}
        }
    }
    for (key, rec) in osd::all_records(layout) {
        let Some(id) = rec.id else { continue };
        if handled.contains(&key.name()) || out.skip.contains(&id) {
            continue;
        }
        match rec.disk_state(layout) {
            DiskState::Gone => {
                out.skip.insert(id);
            }
            DiskState::Active if matches!(key, RecordKey::Disk(_)) => {
                env.ctx
                    .sup
                    .start(daemons::spec(layout, Kind::Osd, &id.to_string()));
                out.started.push(id);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// New matching disks (and interrupted creations) become OSDs, in parallel.
pub async fn after_osds(env: &Env) -> Result<Vec<u32>> {
    let layout = &env.ctx.layout;
    let sel = selection(layout)?;
    let (devices, actions) = plan(layout, &sel).await?;
    let creations: Vec<DiskAction> = actions
        .into_iter()
        .filter(|a| matches!(a, DiskAction::Create { .. } | DiskAction::Resume { .. }))
        .collect();
    if creations.is_empty() {
        return Ok(Vec::new());
    }
    let step = env.progress.step(
        "osd",
        format!("creating {} OSD(s) on disks", creations.len()),
    );
    let mut ids = Vec::new();
    for (_, r) in create_all(env, devices, creations).await {
        ids.extend(r?);
    }
    step.done(format!("created {}", ids.len()));
    Ok(ids)
}

/// Refuses a cluster without any OSD, naming what the selection saw; a
/// warning when a pool keeps more copies than there are OSDs.
pub async fn check_enough(
    layout: &crate::Layout,
    osds: u32,
    widest_pool: u32,
) -> Result<Option<String>> {
    if osds >= widest_pool.max(1) {
        return Ok(None);
    }
    let sel = selection(layout)?;
    let devices = crate::osd::devices::scan_bounded()
        .await
        .unwrap_or_default();
    let found = format!(
        "{} found no more usable disk{}",
        describe_selection(&sel),
        refused_devices(&devices, &sel)
    );
    if osds > 0 {
        return Ok(Some(format!(
            "{osds} OSD(s) for pools of {widest_pool} copies: PGs stay undersized; {found}"
        )));
    }
    Err(Error::Refused(format!(
        "the cluster would have no OSD: {found}; attach blank disks it matches (`rookery \
discover -f {}` says why each disk is or is not used), or set spec.storage.files.count",
        layout.spec().display()
    )))
}

/// "deviceFilter ^loop9$", as the spec wrote it.
fn describe_selection(sel: &Selection) -> String {
    if !sel.devices.is_empty() {
        format!("the devices list ({})", sel.devices.join(", "))
    } else if let Some(re) = &sel.device_filter {
        format!("deviceFilter {}", re.as_str())
    } else if let Some(re) = &sel.device_path_filter {
        format!("devicePathFilter {}", re.as_str())
    } else if sel.use_all_devices {
        "useAllDevices".to_string()
    } else {
        "no device selection".to_string()
    }
}

/// Devices the selection names but refuses, with their reasons: "; /dev/loop3:
/// smaller than 5 GiB (1 GiB)".
fn refused_devices(devices: &[Device], sel: &Selection) -> String {
    let mut out = String::new();
    for d in devices {
        if let Verdict::Skip(reasons) = sel.judge(d) {
            let selected = !reasons.iter().any(|r| {
                r.starts_with("not in the devices list")
                    || r.starts_with("does not match")
                    || r.starts_with("not selected")
            });
            if selected {
                out.push_str(&format!("; {}: {}", d.path, reasons.join(", ")));
            }
        }
    }
    out
}
