//! The steps of `rookery osd remove`, run by the command's own process
//! (see [`crate::osd::remove`] for the record it shares with the supervisor).

use std::time::{Duration, Instant};

use rookery_ceph::commands as cmd;
use rookery_core::removal::{check_removal, Drain, OsdLoad, PoolLoad};
use serde::Serialize;

use super::state;
use crate::ceph_ops::Admin;
use crate::error::{CephContext, Error, Result};
use crate::events::{now_secs, EventLog};
use crate::layout::Layout;
use crate::lock;
use crate::osd::remove::{self as rec, Removal, Stage};
use crate::osd::{self, RecordKey, SlotRecord};

/// What to do.
#[derive(Debug, Clone)]
pub struct RemoveOptions {
    pub id: u32,
    pub force: bool,
    /// Limit for draining and stopping.
    pub timeout: Duration,
}

/// Progress, for the command to show.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "stage", rename_all = "lowercase")]
pub enum Progress {
    Draining { detail: String },
    Stopping,
    Purging,
}

/// What was removed.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveReport {
    pub id: u32,
    /// "10 GiB file" or the device path.
    pub backing: String,
    pub forced: bool,
    pub drained_secs: f64,
    pub total_secs: f64,
    /// What happened to the backing's data.
    pub data: String,
}

/// Removes OSD `opts.id`; `show` hears about progress.
pub async fn remove(
    layout: &Layout,
    opts: &RemoveOptions,
    mut show: impl FnMut(&Progress),
) -> Result<RemoveReport> {
    let id = opts.id;
    let start = Instant::now();
    let supervisor = lock::running_supervisor(layout).ok_or_else(|| {
        Error::Refused(format!(
            "the cluster at {} is not running; start it with `rookery up --dir {}` first",
            layout.root().display(),
            layout.root().display()
        ))
    })?;
    let (key, record) = osd::record_of(layout, id).ok_or_else(|| unknown(layout, id))?;
    let admin = Admin::connect(layout, Duration::from_secs(30)).await?;
    let events = EventLog::new(layout.events());
    let name = format!("osd.{id}");
    let dump = state::dump(&admin).await?;
    let in_map = dump.osds.iter().any(|o| o.osd == id);
    let mut removal = match rec::read(layout, id) {
        Some(r) if r.stage != Stage::Cancelled => r,
        _ => {
            if !opts.force && in_map {
                if let Err(refusal) = check(&admin, id, &dump).await {
                    let msg = format!(
                        "refused to remove {name}: {}; nothing was changed. Add OSDs or lower \
the pool's size first, or pass --force to remove it anyway (data with no other copy is lost)",
                        refusal.reason
                    );
                    events.record("osd-remove-refused", Some(&name), msg.clone());
                    return Err(Error::Refused(msg));
                }
            }
            let r = Removal {
                id,
                stage: Stage::Draining,
                force: opts.force,
                started: now_secs(),
            };
            rec::write(layout, &r)?;
            events.record(
                "osd-draining",
                Some(&name),
                format!("{name} marked out; its data moves to the other OSDs"),
            );
            r
        }
    };
    let deadline = start + opts.timeout;
    let result = async {
        if removal.stage == Stage::Draining && in_map {
            state::mark_out(&admin, id).await?;
            if !removal.force {
                drain(&admin, id, deadline, &mut show).await?;
            }
        }
        let drained_secs = start.elapsed().as_secs_f64();
        if removal.stage == Stage::Draining {
            removal.stage = Stage::Stopping;
            rec::write(layout, &removal)?;
        }
        show(&Progress::Stopping);
        wait_stopped(layout, supervisor, id, deadline).await?;
        show(&Progress::Purging);
        if in_map {
            state::mark_down(&admin, id).await?;
            state::purge(&admin, id, removal.force).await?;
        }
        Ok::<f64, Error>(drained_secs)
    }
    .await;
    let drained_secs = match result {
        Ok(s) => s,
        Err(e) => {
            put_back(layout, &admin, supervisor, id).await;
            let msg = format!("removal of {name} failed: {e}; it is back in");
            events.record("osd-remove-failed", Some(&name), msg.clone());
            return Err(Error::Refused(msg));
        }
    };
    let data = forget(layout, key, record.clone(), id)?;
    rec::clear(layout, id);
    let how = if removal.force { " (forced)" } else { "" };
    events.record(
        "osd-removed",
        Some(&name),
        format!(
            "{name} on {} removed{how}; {data}",
            record.backing.describe()
        ),
    );
    Ok(RemoveReport {
        id,
        backing: record.backing.describe(),
        forced: removal.force,
        drained_secs,
        total_secs: start.elapsed().as_secs_f64(),
        data,
    })
}

fn unknown(layout: &Layout, id: u32) -> Error {
    let ids: Vec<String> = osd::all_records(layout)
        .iter()
        .filter(|(_, r)| r.removed_at.is_none())
        .filter_map(|(_, r)| r.id.map(|i| i.to_string()))
        .collect();
    Error::Refused(format!(
        "osd.{id} is not an OSD of the cluster at {} (its OSDs: {})",
        layout.root().display(),
        if ids.is_empty() {
            "none".into()
        } else {
            ids.join(", ")
        }
    ))
}

/// Gathers the figures and asks `core::removal`.
async fn check(
    admin: &Admin,
    id: u32,
    dump: &cmd::OsdDumpReply,
) -> std::result::Result<(), rookery_core::removal::Refusal> {
    let figures = async {
        let df = state::df(admin).await?;
        let pools = admin
            .rados()
            .mon_command(&cmd::OsdPoolLsDetail)
            .await
            .ceph("osd pool ls")?;
        let usage = admin.rados().mon_command(&cmd::Df).await.ceph("df")?;
        Ok::<_, Error>((df, pools, usage))
    }
    .await;
    let (df, pools, usage) = figures.map_err(|e| rookery_core::removal::Refusal {
        reason: format!("cannot tell whether the data stays available ({e})"),
        pool: None,
    })?;
    let osds: Vec<OsdLoad> = dump
        .osds
        .iter()
        .map(|o| {
            let d = df.iter().find(|n| n.id == o.osd);
            OsdLoad {
                id: o.osd,
                up: o.up,
                in_: o.in_,
                total: d.map_or(0, |n| n.kb << 10),
                used: d.map_or(0, |n| n.kb_used << 10),
                data: d.map_or(0, |n| n.kb_used_data << 10),
            }
        })
        .collect();
    let pools: Vec<PoolLoad> = pools
        .iter()
        .map(|p| PoolLoad {
            name: p.pool_name.clone(),
            size: p.size,
            stored: usage
                .pools
                .iter()
                .find(|u| u.name == p.pool_name)
                .map_or(0, |u| u.stats.stored),
        })
        .collect();
    check_removal(id, &osds, &pools, dump.backfillfull_ratio)
}

/// Waits until nothing is left on the OSD and every PG is active+clean.
async fn drain(
    admin: &Admin,
    id: u32,
    deadline: Instant,
    show: &mut impl FnMut(&Progress),
) -> Result<()> {
    let mut last = String::new();
    loop {
        let df = state::df(admin).await?;
        let snap = admin.snapshot().await?;
        let d = Drain {
            pgs_on_osd: df.iter().find(|n| n.id == id).map_or(0, |n| n.pgs),
            pgs_clean: snap.pgs_clean,
            pgs_total: snap.pgs,
        };
        let detail = d.describe(id);
        if detail != last {
            show(&Progress::Draining {
                detail: detail.clone(),
            });
            last = detail.clone();
        }
        if d.done() && state::safe_to_destroy(admin, id).await.unwrap_or(false) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("osd.{id} to drain"),
                secs: 0,
                missing: detail,
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn wake(supervisor: u32) {
    if supervisor > 0 {
        crate::procs::signal(supervisor, nix::sys::signal::Signal::SIGHUP);
    }
}

/// Asks the supervisor to stop the daemon and waits until it says so.
async fn wait_stopped(layout: &Layout, supervisor: u32, id: u32, deadline: Instant) -> Result<()> {
    // Stopping an OSD takes a few seconds; allow it even after a long drain.
    let deadline = deadline.max(Instant::now() + Duration::from_secs(60));
    wake(supervisor);
    loop {
        if rec::read(layout, id).is_some_and(|r| r.stage == Stage::Stopped) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("the supervisor to stop osd.{id}"),
                secs: 60,
                missing: "its removal record still says stopping".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A failed removal: the daemon runs again and the OSD is back in.
async fn put_back(layout: &Layout, admin: &Admin, supervisor: u32, id: u32) {
    match rec::read(layout, id) {
        Some(mut r) if matches!(r.stage, Stage::Stopping | Stage::Stopped) => {
            r.stage = Stage::Cancelled;
            if rec::write(layout, &r).is_ok() {
                wake(supervisor);
            }
        }
        _ => rec::clear(layout, id),
    }
    if let Err(e) = state::mark_in(admin, id).await {
        tracing::warn!(error = %e, osd = id, "cannot mark the OSD in again");
    }
}

/// Deletes the OSD's data directory and leaves a tombstone in its record.
/// Returns what became of the data, for people.
fn forget(layout: &Layout, key: RecordKey, mut record: SlotRecord, id: u32) -> Result<String> {
    let dir = layout.osd_dir(id);
    if dir.exists() {
        // A device's `block` is a symlink: removed, not followed.
        std::fs::remove_dir_all(&dir).map_err(|e| Error::Io {
            what: "cannot delete the OSD's data",
            path: dir.clone(),
            source: e,
        })?;
    }
    let _ = std::fs::remove_file(layout.daemon_pid(&format!("osd.{id}")));
    record.removed_at = Some(now_secs());
    record.key.clear();
    record.gone = None;
    osd::write_record(layout, key, &record)?;
    Ok(match &record.backing {
        rookery_core::OsdBacking::File { .. } => {
            format!("its file in {} is deleted", dir.display())
        }
        rookery_core::OsdBacking::Device { path } => format!(
            "{} is left as Ceph left it (a BlueStore label); wipe it (wipefs -a) to use it again",
            path.display()
        ),
    })
}
