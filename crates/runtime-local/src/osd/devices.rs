//! Disks becoming OSDs after bring-up, and OSDs whose disk goes or comes
//! back: a reconcile [`Part`] that scans the host's block devices every few
//! seconds, judges them with the spec's selection (`rookery discover`'s
//! rules) and carries out `core::devices::plan_disks`.
//!
//! A scan runs on a blocking thread with a time limit: the supervisor's
//! runtime has one thread, and a device that does not answer must never
//! hold it up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rookery_core::devices::{plan_disks, DiskAction, DiskIdentity, KnownDisk, SeenDevice};
use rookery_core::OsdBacking;
use rookery_discover::{scan, Device, Roots, Selection, Verdict};

use super::{remove, state};
use crate::daemons::{self, Kind};
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::osd::{self, DiskInfo, RecordKey, SlotRecord};
use crate::progress::Progress;
use crate::reconcile::{Context, Part, Step};

/// How long one scan of the host's devices may take.
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(10);

/// The spec's selection (`spec.storage`), from the cluster's stored spec.
pub fn selection(layout: &Layout) -> Result<Selection> {
    let path = layout.spec();
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Selection::default());
    };
    let m = rookery_api::load_manifest(&text).map_err(|e| {
        Error::Spec(format!(
            "cannot read the stored spec {}: {e}",
            path.display()
        ))
    })?;
    Selection::from_spec(&m.cluster.spec.storage)
        .map_err(|e| Error::Spec(format!("spec.storage: {e}")))
}

/// Scans on a blocking thread, at most one at a time per process: while a
/// scan is stuck on a device, later ones fail at once instead of piling up.
pub async fn scan_bounded() -> Result<Vec<Device>> {
    static BUSY: AtomicBool = AtomicBool::new(false);
    if BUSY.swap(true, Ordering::SeqCst) {
        return Err(Error::Refused(
            "the previous device scan has not finished (a device does not answer)".into(),
        ));
    }
    let task = tokio::task::spawn_blocking(|| {
        let r = scan(&Roots::default());
        BUSY.store(false, Ordering::SeqCst);
        r
    });
    match tokio::time::timeout(SCAN_TIMEOUT, task).await {
        Ok(Ok(r)) => r.map_err(|e| Error::Refused(format!("cannot list block devices: {e}"))),
        Ok(Err(e)) => Err(Error::Refused(format!("device scan failed: {e}"))),
        Err(_) => Err(Error::Refused(format!(
            "scanning block devices took more than {}s; a device does not answer",
            SCAN_TIMEOUT.as_secs()
        ))),
    }
}

/// A device's identity, as the disk plan knows disks.
pub fn identity_of(d: &Device) -> DiskIdentity {
    DiskIdentity::of(
        d.wwn.as_deref(),
        d.serial.as_deref(),
        d.backing_file.as_deref(),
        &d.path,
    )
}

fn seen(devices: &[Device], sel: &Selection) -> Vec<SeenDevice> {
    devices
        .iter()
        .map(|d| SeenDevice {
            path: d.path.clone(),
            identity: identity_of(d),
            size_bytes: d.size_bytes,
            usable: sel.judge(d) == Verdict::Use,
            detaching: d.detaching,
            read: d.probe_error.is_none() && d.not_probed.is_none(),
            osd_uuid: d.bluestore_osd.clone(),
        })
        .collect()
}

/// The disks behind OSDs, from their records. A record made before disks
/// had identities (a spec device) gets one from the device at its path.
/// Some OSD record of this cluster is on a device (not a file).
fn has_disk_osds(layout: &Layout) -> bool {
    osd::all_records(layout)
        .iter()
        .any(|(_, rec)| matches!(rec.backing, OsdBacking::Device { .. }))
}

fn known(layout: &Layout, devices: &[Device]) -> Vec<KnownDisk> {
    let mut out = Vec::new();
    for (key, mut rec) in osd::all_records(layout) {
        let OsdBacking::Device { path } = rec.backing.clone() else {
            continue;
        };
        let path = path.display().to_string();
        if rec.disk.is_none() {
            // Only the disk that carries this OSD's label (or, before mkfs,
            // whatever is at its path) is taken to be it.
            let ours = |d: &&Device| {
                d.path == path && (!rec.ready || d.bluestore_osd.as_deref() == Some(&rec.uuid))
            };
            let Some(d) = devices.iter().find(ours) else {
                continue;
            };
            rec.disk = Some(DiskInfo {
                identity: identity_of(d),
                size_bytes: d.size_bytes,
            });
            if let Err(e) = osd::write_record(layout, key, &rec) {
                tracing::warn!(error = %e, "cannot record a disk's identity");
            }
        }
        let Some(disk) = rec.disk.clone() else {
            continue;
        };
        let mut state = rec.disk_state(layout);
        // An OSD being removed is the removal's: no gone or back for it.
        if rec.id.is_some_and(|id| remove::in_progress(layout, id)) {
            state = rookery_core::devices::DiskState::Removed;
        }
        out.push(KnownDisk {
            key: key.name(),
            osd: rec.id,
            uuid: rec.uuid.clone(),
            gone_why: rec.gone.clone(),
            identity: disk.identity,
            path,
            size_bytes: disk.size_bytes,
            state,
        });
    }
    out
}

/// What the disk part and bring-up work with.
#[derive(Debug, Clone)]
pub struct Env {
    pub ctx: Context,
    pub progress: Progress,
}

/// The plan for the devices on the host now.
pub async fn plan(layout: &Layout, sel: &Selection) -> Result<(Vec<Device>, Vec<DiskAction>)> {
    if !sel.selects_any() && !has_disk_osds(layout) {
        // A cluster of file OSDs only (the default): no disk can become an
        // OSD and none can go; reading every device each turn is waste.
        return Ok((Vec::new(), Vec::new()));
    }
    let devices = scan_bounded().await?;
    let actions = plan_disks(&seen(&devices, sel), &known(layout, &devices));
    Ok((devices, actions))
}

/// Carries out one action; returns the OSD it started, if any.
pub async fn apply(env: &Env, devices: &[Device], action: DiskAction) -> Result<Option<u32>> {
    let ctx = &env.ctx;
    match action {
        DiskAction::Gone { key, osd, why } => {
            let key = parse_key(&key)?;
            let mut rec = record(&ctx.layout, key)?;
            if let Some(id) = osd {
                ctx.sup.stop(&format!("osd.{id}")).await;
                state::mark_down_out(&ctx.admin, id).await?;
            }
            rec.gone = Some(why.clone());
            osd::write_record(&ctx.layout, key, &rec)?;
            let name = osd.map(|id| format!("osd.{id}"));
            let msg = match &name {
                Some(n) => format!("{n}: {why}; stopped it and marked it down and out"),
                None => why,
            };
            ctx.events.record("disk-gone", name.as_deref(), msg);
            Ok(None)
        }
        DiskAction::Back { key, osd, path } => {
            let key = parse_key(&key)?;
            let mut rec = record(&ctx.layout, key)?;
            let Some(id) = osd else { return Ok(None) };
            relink(&ctx.layout, id, &path)?;
            let was_gone = rec.gone.take().is_some();
            rec.backing = OsdBacking::Device {
                path: path.clone().into(),
            };
            osd::write_record(&ctx.layout, key, &rec)?;
            ctx.sup
                .start(daemons::spec(&ctx.layout, Kind::Osd, &id.to_string()));
            state::mark_in(&ctx.admin, id).await?;
            let who = describe(devices, &path);
            let msg = if was_gone {
                format!("osd.{id}: disk back at {who}; started it and marked it in")
            } else {
                format!("osd.{id}: its disk is now {who}")
            };
            ctx.events
                .record("disk-back", Some(&format!("osd.{id}")), msg);
            Ok(Some(id))
        }
        DiskAction::Create {
            path,
            identity,
            size_bytes,
        } => {
            let key = osd::next_disk_key(&ctx.layout);
            let who = describe(devices, &path);
            ctx.events.record(
                "disk-added",
                None,
                format!("new disk {who} matches the selection: creating an OSD on it"),
            );
            let disk = DiskInfo {
                identity,
                size_bytes,
            };
            let id = create(env, key, &path, Some(disk), false).await?;
            ctx.events.record(
                "osd-created",
                Some(&format!("osd.{id}")),
                format!("osd.{id} created on {who}"),
            );
            Ok(Some(id))
        }
        DiskAction::Resume { key, path } => {
            let key = parse_key(&key)?;
            let id = create(env, key, &path, None, true).await?;
            let who = describe(devices, &path);
            ctx.events.record(
                "osd-created",
                Some(&format!("osd.{id}")),
                format!("osd.{id} created on {who} (finished an interrupted creation)"),
            );
            Ok(Some(id))
        }
    }
}

async fn create(
    env: &Env,
    key: RecordKey,
    path: &str,
    disk: Option<DiskInfo>,
    resume: bool,
) -> Result<u32> {
    let ctx = &env.ctx;
    let backing = OsdBacking::Device { path: path.into() };
    let id = osd::create_at(
        &ctx.layout,
        &ctx.admin,
        key,
        &backing,
        disk,
        resume,
        &env.progress,
    )
    .await?;
    ctx.sup
        .start(daemons::spec(&ctx.layout, Kind::Osd, &id.to_string()));
    // New OSDs come in on their first boot; an earlier id's "out" may linger.
    state::mark_in(&ctx.admin, id).await?;
    Ok(id)
}

/// "/dev/loop5 (file /x.img, 6 GiB)".
fn describe(devices: &[Device], path: &str) -> String {
    match devices.iter().find(|d| d.path == path) {
        Some(d) => format!(
            "{path} ({}, {})",
            identity_of(d).describe(),
            rookery_api::human_bytes(d.size_bytes)
        ),
        None => path.to_owned(),
    }
}

/// Points the OSD's `block` at the disk's current name (atomically).
fn relink(layout: &Layout, id: u32, path: &str) -> Result<()> {
    let dir = layout.osd_dir(id);
    let block = dir.join("block");
    if std::fs::read_link(&block).is_ok_and(|t| t == std::path::Path::new(path)) {
        return Ok(());
    }
    let tmp = dir.join("block.new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(path, &tmp).ctx("cannot link device", &tmp)?;
    std::fs::rename(&tmp, &block).ctx("cannot link device", &block)
}

fn parse_key(key: &str) -> Result<RecordKey> {
    RecordKey::parse(key).ok_or_else(|| Error::Refused(format!("unknown OSD record {key}")))
}

fn record(layout: &Layout, key: RecordKey) -> Result<SlotRecord> {
    osd::read_record(layout, key)
        .ok_or_else(|| Error::Refused(format!("the OSD record {} is missing", key.name())))
}

/// The reconcile part: new disks become OSDs; gone disks take their OSD
/// down and out; disks that come back bring it back.
#[derive(Debug)]
pub struct DevicePart {
    selection: Arc<Selection>,
    /// A creation that failed is not tried again at once (mkfs on a bad
    /// disk would fail every tick).
    failed: std::collections::BTreeMap<String, std::time::Instant>,
}

impl DevicePart {
    pub fn new(layout: &Layout) -> Self {
        let selection = selection(layout).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "no device selection: no disk becomes an OSD");
            Selection::default()
        });
        DevicePart {
            selection: Arc::new(selection),
            failed: Default::default(),
        }
    }
}

const RETRY_AFTER: Duration = Duration::from_secs(60);

impl Part for DevicePart {
    fn name(&self) -> &'static str {
        "devices"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(2)
    }

    fn tick<'a>(&'a mut self, ctx: &'a Context) -> Step<'a> {
        Box::pin(async move {
            let (devices, actions) = plan(&ctx.layout, &self.selection).await?;
            let env = Env {
                ctx: ctx.clone(),
                progress: Progress::new(None, false).ctx("progress", ctx.layout.root())?,
            };
            self.failed.retain(|_, t| t.elapsed() < RETRY_AFTER);
            let actions: Vec<DiskAction> = actions
                .into_iter()
                .filter(|a| !self.failed.contains_key(&tag(a)))
                .collect();
            let (creations, others): (Vec<_>, Vec<_>) = actions.into_iter().partition(is_creation);
            let mut first_error = None;
            for action in others {
                if let Err(e) = apply(&env, &devices, action).await {
                    first_error.get_or_insert(e);
                }
            }
            for (tag, result) in create_all(&env, devices, creations).await {
                if let Err(e) = result {
                    self.failed.insert(tag, std::time::Instant::now());
                    first_error.get_or_insert(e);
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }
}

fn is_creation(a: &DiskAction) -> bool {
    matches!(a, DiskAction::Create { .. } | DiskAction::Resume { .. })
}

/// Runs creations in parallel (mkfs is the slow part); a failure is an
/// `osd-create-failed` event. Returns each action's tag and outcome.
pub async fn create_all(
    env: &Env,
    devices: Vec<Device>,
    creations: Vec<DiskAction>,
) -> Vec<(String, Result<Option<u32>>)> {
    let devices = Arc::new(devices);
    let mut tasks = tokio::task::JoinSet::new();
    for action in creations {
        let (env, devices) = (env.clone(), devices.clone());
        tasks.spawn(async move {
            let tag = tag(&action);
            let r = apply(&env, &devices, action).await;
            if let Err(e) = &r {
                env.ctx
                    .events
                    .record("osd-create-failed", None, format!("cannot {tag}: {e}"));
            }
            (tag, r)
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(r) => out.push(r),
            Err(e) => out.push((
                "create".into(),
                Err(Error::Refused(format!("OSD creation task failed: {e}"))),
            )),
        }
    }
    out
}

/// What an action is about, to remember failures by.
fn tag(a: &DiskAction) -> String {
    match a {
        DiskAction::Create { path, .. } => format!("create an OSD on {path}"),
        DiskAction::Resume { key, path } => format!("finish the OSD of {key} on {path}"),
        DiskAction::Gone { key, .. } => format!("gone {key}"),
        DiskAction::Back { key, .. } => format!("back {key}"),
    }
}
