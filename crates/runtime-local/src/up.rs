//! `rookery up`: from a spec to a running, healthy cluster — or from an
//! existing cluster directory back to running. Every step is idempotent;
//! `core::plan_daemons` decides what must be created and what only started.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rookery_core::{evaluate, plan_daemons, DaemonPlan, DesiredCluster, ObservedDaemons};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::ceph_ops::Admin;
use crate::config;
use crate::daemons::{self, Kind};
use crate::error::{Error, IoContext, Result};
use crate::events::EventLog;
use crate::filesystem::FilesystemReport;
use crate::layout::{write_atomic, Layout};
use crate::mon::state::MonState;
use crate::osd::{devices, devices_up};
use crate::progress::Progress;
use crate::supervisor::Supervisor;
use crate::{csi_up, mds, mgr, mon, osd, ports};

/// What `up` reports when the cluster is up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpSummary {
    pub fsid: String,
    pub conf: String,
    pub mons: u32,
    pub osds: u32,
    pub health: String,
    /// Health checks still open (expected warnings), in words.
    pub remaining: Vec<String>,
    pub services: BTreeMap<String, String>,
    /// CSI driver name -> endpoint.
    pub csi: BTreeMap<String, String>,
    /// CSI driver name -> its Prometheus metrics URL.
    #[serde(default)]
    pub csi_metrics: BTreeMap<String, String>,
    /// CSI driver name -> its node plugin.
    #[serde(default)]
    pub csi_node: BTreeMap<String, crate::status::CsiNodeStatus>,
    /// CephFS filesystems, with the daemons holding their ranks.
    #[serde(default)]
    pub filesystems: Vec<FilesystemReport>,
    /// Seconds from start until every filesystem rank was up:active.
    #[serde(default)]
    pub mds_active_after: Option<f64>,
    /// Seconds from start until all OSDs were up.
    pub osds_up_after: f64,
    pub total_secs: f64,
}

/// Brings the cluster to running. Daemons are started through `sup`, which
/// keeps them running after this returns.
pub async fn bring_up(
    layout: &Layout,
    desired: &DesiredCluster,
    sup: &Supervisor,
    events: &EventLog,
    progress: &Progress,
    timeout: Duration,
) -> Result<UpSummary> {
    let mds_needed = !desired.filesystems.is_empty();
    for kind in [Kind::Mon, Kind::Mgr, Kind::Osd, Kind::Mds] {
        if kind == Kind::Mds && !mds_needed {
            continue;
        }
        if !daemons::installed(kind.program()) {
            return Err(Error::Refused(format!(
                "{} is not installed; install Ceph first (apt-get install ceph ceph-mds ceph-mgr-dashboard)",
                kind.program()
            )));
        }
    }
    let deadline = Instant::now() + timeout;
    let observed = ObservedDaemons {
        mons: mon::existing(layout),
        mgrs: mgr::existing(layout),
        osd_slots: osd::observed_slots(layout),
        mds: mds::existing(layout),
    };
    let mut plan = plan_daemons(desired, &observed);
    for w in &plan.warnings {
        progress.warn("spec", w.clone());
    }
    // The mon set (and their addresses) comes from mon/state.json.
    layout
        .create_dirs()
        .ctx("cannot create cluster directory", layout.root())?;
    let mon_state = MonState::ensure(layout, desired)?;
    // Before anything is created: a busy port must not leave a half-made
    // cluster behind.
    check_ports(layout, desired, sup, &plan, &mon_state)?;
    check_space(layout, desired, &plan)?;
    let fsid = ensure_identity(layout, desired, &mon_state)?;
    if plan.bootstrap {
        events.record("bootstrap", None, format!("new cluster {fsid}"));
    }

    // Mons first: nothing else can join without them.
    let step = progress.step("mon", format!("starting {}", plan.start_mons.join(", ")));
    for id in &plan.create_mons {
        mon::create(layout, id, None).await?;
    }
    for id in &plan.start_mons {
        sup.start(daemons::spec(layout, Kind::Mon, id));
    }
    let admin = Admin::connect_until(layout, deadline).await?;
    // A majority is a quorum: a mon that stays out (down, cut off) is the
    // mon watcher's to replace after bring-up, not a reason to fail `up`.
    let majority = plan.start_mons.len() / 2 + 1;
    let in_quorum = wait_for(&admin, deadline, "mon quorum", |s| {
        (s.mons_in_quorum as usize >= majority)
            .then_some(s.mons_in_quorum)
            .ok_or(format!(
                "{} of {} mons in quorum",
                s.mons_in_quorum,
                plan.start_mons.len()
            ))
    })
    .await?;
    step.done(format!("quorum of {in_quorum}"));

    let step = progress.step("mgr", format!("starting {}", plan.start_mgrs.join(", ")));
    for id in &plan.create_mgrs {
        mgr::create(layout, &admin, id).await?;
    }
    mgr::configure_modules(&admin, desired).await?;
    for id in &plan.start_mgrs {
        sup.start(daemons::spec(layout, Kind::Mgr, id));
    }
    step.done("started");

    let disks = devices::Env {
        ctx: crate::reconcile::Context {
            layout: layout.clone(),
            desired: std::sync::Arc::new(desired.clone()),
            admin: admin.clone(),
            sup: sup.clone(),
            events: events.clone(),
        },
        progress: progress.clone(),
    };
    // Disks gone while the cluster was down keep their OSD stopped; OSDs
    // being removed stay stopped.
    let at_start = match devices_up::before_osds(&disks).await {
        Ok(s) => s,
        Err(e) => {
            progress.warn("devices", format!("disks not checked: {e}"));
            devices_up::DisksAtStart {
                skip: crate::osd::remove::held_down(layout),
                started: Vec::new(),
            }
        }
    };
    plan.start_osds.retain(|id| !at_start.skip.contains(id));
    start_osds(layout, &admin, sup, events, progress, &plan).await?;
    let on_disks = match devices_up::after_osds(&disks).await {
        Ok(ids) => ids,
        Err(e) => {
            progress.warn("devices", format!("no new disks used: {e}"));
            Vec::new()
        }
    };
    let osd_total =
        (plan.start_osds.len() + plan.create_osds.len() + at_start.started.len() + on_disks.len())
            as u32;
    let widest = desired.all_pools().map(|p| p.size).max().unwrap_or(1);
    if let Some(w) = devices_up::check_enough(layout, osd_total, widest).await? {
        progress.warn("osd", w);
    }
    let step = progress.step("osd", format!("waiting for {osd_total} OSDs up and in"));
    // `down` sets noout so a clean stop does not mark OSDs out; undo it.
    admin.unset_flag("noout").await?;
    admin.set_full_ratios(&desired.ratios).await?;
    wait_for(&admin, deadline, "OSDs up and in", |s| {
        (s.osds_up >= osd_total && s.osds_in >= osd_total)
            .then_some(())
            .ok_or(format!(
                "{}/{} up, {}/{} in",
                s.osds_up, osd_total, s.osds_in, osd_total
            ))
    })
    .await?;
    let osds_up_after = progress.elapsed();
    step.done(format!("{osd_total} up, {osd_total} in"));

    let step = progress.step("pools", "ensuring pools");
    let mut created = Vec::new();
    for pool in &desired.pools {
        if admin.ensure_pool(pool).await? {
            created.push(pool.name.clone());
            events.record("pool-created", None, format!("pool {} created", pool.name));
        }
    }
    step.done(if created.is_empty() {
        "all present".to_string()
    } else {
        format!("created {}", created.join(", "))
    });

    if mds_needed {
        mds::ensure_filesystems(layout, desired, &admin, sup, events, progress, &plan).await?;
    }

    let plugins = csi_up::start(layout, desired, &admin, sup, progress, deadline).await?;

    let services = mgr::enable_modules(
        layout,
        &admin,
        desired,
        progress,
        deadline.saturating_duration_since(Instant::now()),
    )
    .await?;

    let (filesystems, mds_active_after) = if mds_needed {
        let r = mds::wait_active(layout, &admin, desired, progress, deadline).await?;
        (r, Some(progress.elapsed()))
    } else {
        (Vec::new(), None)
    };

    let step = progress.step("health", "waiting for all PGs active+clean and HEALTH_OK");
    let mons = majority as u32;
    let missing = |r: rookery_core::Readiness| r.waiting_for.join("; ");
    wait_for(&admin, deadline, "the cluster to become available", |s| {
        let r = evaluate(s, mons, osd_total);
        r.available.then_some(()).ok_or_else(|| missing(r))
    })
    .await?;
    // Available now; give health a short while to settle to OK, and report
    // what is left if it does not.
    let settle = Instant::now()
        + Duration::from_secs(30).min(deadline.saturating_duration_since(Instant::now()));
    let snap = match wait_for(&admin, settle, "HEALTH_OK", |s| {
        let r = evaluate(s, mons, osd_total);
        r.healthy.then(|| s.clone()).ok_or_else(|| missing(r))
    })
    .await
    {
        Ok(s) => s,
        Err(_) => admin.snapshot().await?,
    };
    let final_state = evaluate(&snap, mons, osd_total);
    step.done(snap.health.clone());
    for w in &final_state.waiting_for {
        progress.warn("health", w.clone());
    }
    events.record("up", None, format!("cluster up: {}", snap.health));
    Ok(UpSummary {
        fsid,
        conf: layout.conf().display().to_string(),
        mons: plan.start_mons.len() as u32,
        osds: osd_total,
        health: snap.health,
        remaining: final_state.waiting_for,
        services,
        csi: plugins.csi,
        csi_metrics: plugins.csi_metrics,
        csi_node: plugins.csi_node,
        filesystems,
        mds_active_after,
        osds_up_after,
        total_secs: progress.elapsed(),
    })
}

/// fsid, ceph.conf and bootstrap keys: made once, the conf rewritten each
/// time from the spec.
fn ensure_identity(layout: &Layout, desired: &DesiredCluster, mons: &MonState) -> Result<String> {
    layout
        .create_dirs()
        .ctx("cannot create cluster directory", layout.root())?;
    let fsid = match std::fs::read_to_string(layout.fsid()) {
        Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
        _ => {
            let fsid = uuid::Uuid::new_v4().to_string();
            write_atomic(&layout.fsid(), format!("{fsid}\n").as_bytes(), 0o644)
                .ctx("cannot write", layout.fsid())?;
            fsid
        }
    };
    let conf = config::render(desired, &fsid, layout, &mons.mons);
    write_atomic(&layout.conf(), conf.as_bytes(), 0o644).ctx("cannot write", layout.conf())?;
    mon::ensure_bootstrap_keys(layout)?;
    Ok(fsid)
}

/// Busy ports are an error up front — except those of daemons a previous
/// supervisor left running, which will be adopted.
fn check_ports(
    layout: &Layout,
    desired: &DesiredCluster,
    sup: &Supervisor,
    plan: &DaemonPlan,
    mons: &MonState,
) -> Result<()> {
    for id in &plan.start_mons {
        let spec = daemons::spec(layout, Kind::Mon, id);
        if sup.adoptable(&spec).is_none() && !sup.is_supervised(&spec.name) {
            match mons.entry(id) {
                Some(m) if !m.address_usable() => tracing::warn!(
                    daemon = %spec.name, ip = %m.ip,
                    "the mon's address is not available on this host (cut off?); it cannot start, and is replaced after the failover timeout"
                ),
                Some(m) => ports::check_free_at(m.ip, &m.port_uses())?,
                None => {}
            }
        }
    }
    let mut uses = Vec::new();
    let mgr_running = plan.start_mgrs.iter().any(|id| {
        let spec = daemons::spec(layout, Kind::Mgr, id);
        sup.adoptable(&spec).is_some() || sup.is_supervised(&spec.name)
    });
    if !mgr_running {
        uses.extend(ports::mgr_modules(desired));
    }
    // A plugin's metrics port is free unless that plugin runs already.
    if let Ok(exe) = std::env::current_exe() {
        for p in csi_up::plugins(layout, desired, &exe) {
            if sup.adoptable(&p.spec).is_none() && !sup.is_supervised(&p.spec.name) {
                uses.push(p.port);
            }
        }
    }
    ports::check_free(&uses)
}

/// Sparse OSD files grow as data arrives: if the host's filesystem cannot
/// hold them up to the full ratio, the host disk fills before Ceph's own
/// full check fires and OSDs abort. Refuse that up front.
fn check_space(layout: &Layout, desired: &DesiredCluster, plan: &DaemonPlan) -> Result<()> {
    let new_bytes: u64 = plan
        .create_osds
        .iter()
        .filter_map(|o| match o.backing {
            rookery_core::OsdBacking::File { size } => Some(size),
            rookery_core::OsdBacking::Device { .. } => None,
        })
        .sum();
    if new_bytes == 0 {
        return Ok(());
    }
    let probe = layout
        .root()
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(layout.root());
    let st = nix::sys::statvfs::statvfs(probe).map_err(|e| {
        Error::Refused(format!(
            "cannot read free space of {}: {e}",
            probe.display()
        ))
    })?;
    let free = st.blocks_available() as u64 * st.fragment_size() as u64;
    let needed = (new_bytes as f64 * desired.ratios.full) as u64;
    if free < needed {
        return Err(Error::Refused(format!(
            "{} has {} GiB free, but the {} new OSD file(s) can grow to {} GiB before the cluster counts as full; \
             free space there, or lower spec.storage.files.count or spec.storage.files.size",
            probe.display(),
            free >> 30,
            plan.create_osds.len(),
            needed >> 30
        )));
    }
    Ok(())
}

/// Starts existing OSDs and creates new ones in parallel (mkfs is the slow
/// part of a bring-up; it runs concurrently for every new OSD).
async fn start_osds(
    layout: &Layout,
    admin: &Admin,
    sup: &Supervisor,
    events: &EventLog,
    progress: &Progress,
    plan: &DaemonPlan,
) -> Result<()> {
    for id in &plan.start_osds {
        sup.start(daemons::spec(layout, Kind::Osd, &id.to_string()));
    }
    if plan.create_osds.is_empty() {
        return Ok(());
    }
    let step = progress.step(
        "osd",
        format!("creating {} OSD(s) in parallel", plan.create_osds.len()),
    );
    let mut tasks = JoinSet::new();
    for create in plan.create_osds.clone() {
        let (layout, admin, progress) = (layout.clone(), admin.clone(), progress.clone());
        tasks.spawn(async move { osd::create(&layout, &admin, &create, &progress).await });
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(id)) => {
                events.record(
                    "osd-created",
                    Some(&format!("osd.{id}")),
                    format!("osd.{id} created"),
                );
                sup.start(daemons::spec(layout, Kind::Osd, &id.to_string()));
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(Error::Refused(format!("OSD creation task failed: {e}")));
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    step.done("created");
    Ok(())
}

/// Polls the cluster status until `check` passes or the deadline.
async fn wait_for<T>(
    admin: &Admin,
    deadline: Instant,
    what: &str,
    check: impl Fn(&rookery_core::ClusterSnapshot) -> std::result::Result<T, String>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        let missing = match admin.snapshot().await {
            Ok(s) => match check(&s) {
                Ok(v) => return Ok(v),
                Err(m) => m,
            },
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what.to_string(),
                secs: start.elapsed().as_secs(),
                missing,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
