//! Carries out one monmap change ([`MonChange`]) step by step: make the new
//! mon from the current monmap, start it and wait for it in quorum, remove
//! the old one from the monmap, stop it and delete its store, and write
//! ceph.conf without it. Each step is recorded in `mon/state.json` once
//! done, and each is idempotent, so a supervisor killed mid-way does the
//! interrupted step again and goes on.
//!
//! Clients: everything on this host reads the cluster's ceph.conf (the CSI
//! plugins connect with it, ceph-fuse mounts with it), and connected
//! clients get the new monmap from the mons themselves; the kernel clients'
//! mon addresses are read from `mon dump` at each map or mount.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rookery_ceph::commands::{MonGetmap, MonRm, QuorumStatus};
use rookery_core::mons::ChangeReason;
use rookery_core::{ChangeStep, MonChange};

use crate::ceph_ops::Admin;
use crate::config;
use crate::daemons::{self, Kind};
use crate::error::{CephContext, Error, IoContext, Result};
use crate::layout::write_atomic;
use crate::mon;
use crate::mon::state::MonState;
use crate::procs;
use crate::reconcile::Context;

/// How long a new mon may take to join the quorum before the step fails
/// (and is tried again at the next turn).
const JOIN_TIMEOUT: Duration = Duration::from_secs(120);

/// Records `change` as started and carries it out through `admin`.
pub async fn start(
    ctx: &Context,
    admin: &Admin,
    state: &mut MonState,
    change: MonChange,
) -> Result<()> {
    if let Some(add) = &change.add {
        let index = rookery_core::naming::letter_index(add);
        state.highest_id = state.highest_id.max(index);
    }
    state.change = Some(change.clone());
    state.save(&ctx.layout)?;
    tracing::info!(change = %change.describe(), "mon change started");
    ctx.events.record(
        "mon-change-started",
        change
            .remove
            .as_ref()
            .map(|r| format!("mon.{r}"))
            .as_deref(),
        change.describe_action(),
    );
    resume(ctx, admin, state).await
}

/// Carries the recorded change on from its recorded step to the end.
pub async fn resume(ctx: &Context, admin: &Admin, state: &mut MonState) -> Result<()> {
    while let Some(change) = state.change.clone() {
        run_step(ctx, admin, state, &change).await?;
        match change.next_step() {
            Some(next) => {
                state.change = Some(MonChange {
                    step: next,
                    ..change
                });
            }
            None => {
                state.change = None;
                if let Some(old) = &change.remove {
                    state.out_since.remove(old);
                }
                let (kind, daemon) = match (&change.reason, &change.add, &change.remove) {
                    (ChangeReason::OutOfQuorum { .. }, Some(_), Some(old)) => {
                        ("mon-failover", Some(old))
                    }
                    (_, Some(add), None) => ("mon-added", Some(add)),
                    (_, _, old) => ("mon-removed", old.as_ref()),
                };
                let daemon = daemon.map(|d| format!("mon.{d}"));
                ctx.events
                    .record(kind, daemon.as_deref(), change.describe());
            }
        }
        state.save(&ctx.layout)?;
    }
    Ok(())
}

async fn run_step(
    ctx: &Context,
    admin: &Admin,
    state: &mut MonState,
    change: &MonChange,
) -> Result<()> {
    tracing::info!(step = ?change.step, add = ?change.add, remove = ?change.remove, "mon change step");
    match (change.step, &change.add, &change.remove) {
        (ChangeStep::Create, Some(add), _) => create(ctx, admin, state, add).await,
        (ChangeStep::Join, Some(add), _) => join(ctx, admin, add).await,
        (ChangeStep::Remove, _, Some(old)) => remove(ctx, admin, old).await,
        (ChangeStep::Cleanup, _, old) => cleanup(ctx, state, old.as_deref()).await,
        // A step this change has no part in (never planned so): nothing to do.
        _ => Ok(()),
    }
}

/// Places the new mon (free ports), writes ceph.conf with it, and makes its
/// store from the current monmap.
async fn create(ctx: &Context, admin: &Admin, state: &mut MonState, add: &str) -> Result<()> {
    if state.entry(add).is_none() {
        let entry = state.place_new(&ctx.desired, add)?;
        state.mons.push(entry);
        state.save(&ctx.layout)?;
    }
    write_conf(ctx, state)?;
    let map = admin.rados().mon_command(&MonGetmap).await.ceph(format!(
        "mon.{add}: cannot get the monmap it is to be made from"
    ))?;
    let path = ctx.layout.run_dir().join(format!("mon.{add}.monmap"));
    write_atomic(&path, &map, 0o600).ctx("cannot write", &path)?;
    mon::create(&ctx.layout, add, Some(&path)).await?;
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Starts the new mon (again, after a restart: starting a supervised one is
/// a no-op) and waits until it is in quorum.
async fn join(ctx: &Context, admin: &Admin, add: &str) -> Result<()> {
    ctx.sup.start(daemons::spec(&ctx.layout, Kind::Mon, add));
    let started = Instant::now();
    loop {
        let q = tokio::time::timeout(
            Duration::from_secs(5),
            admin.rados().mon_command(&QuorumStatus),
        )
        .await;
        let last = match q {
            Ok(Ok(q)) if q.quorum_names.iter().any(|n| n == add) => return Ok(()),
            Ok(Ok(q)) => format!("quorum is {}", q.quorum_names.join(",")),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer to quorum_status within 5s".to_string(),
        };
        if started.elapsed() > JOIN_TIMEOUT {
            return Err(Error::Timeout {
                what: format!("mon.{add} to join the quorum"),
                secs: started.elapsed().as_secs(),
                missing: last,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Removes `old` from the monmap (if it is still there) and stops it. A
/// mon out of quorum is stopped first: still running, out of the monmap and
/// with an address, it would ask the quorum to add it back. A mon in quorum
/// (scale-down) is removed first, and stopped only once the quorum has shown
/// a monmap without it: stopping it while the change is not committed would
/// leave a monmap it still counts in (two mons, one stopped: no quorum).
async fn remove(ctx: &Context, admin: &Admin, old: &str) -> Result<()> {
    mon::retire(&ctx.layout, old)?;
    let q = quorum_status(admin).await?;
    let in_quorum = q.quorum_names.iter().any(|n| n == old);
    if !in_quorum {
        stop_for_good(ctx, old).await;
    }
    if q.monmap.mons.iter().any(|m| m.name == old) {
        let rm = MonRm {
            name: old.to_string(),
        };
        tokio::time::timeout(COMMAND_TIMEOUT, admin.rados().mon_command(&rm))
            .await
            .map_err(|_| Error::Timeout {
                what: format!("mon rm {old}"),
                secs: COMMAND_TIMEOUT.as_secs(),
                missing: "an answer from the quorum".into(),
            })?
            .ceph(format!("cannot remove mon.{old} from the monmap"))?;
    }
    if in_quorum {
        confirm_removed(admin, old).await?;
    }
    stop_for_good(ctx, old).await;
    Ok(())
}

/// How long one mon command may wait for the quorum.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

async fn quorum_status(admin: &Admin) -> Result<rookery_ceph::commands::QuorumStatusReply> {
    tokio::time::timeout(
        Duration::from_secs(5),
        admin.rados().mon_command(&QuorumStatus),
    )
    .await
    .map_err(|_| Error::Timeout {
        what: "quorum_status".into(),
        secs: 5,
        missing: "an answer from a mon in quorum".into(),
    })?
    .ceph("quorum_status")
}

/// Waits until a quorum of the monmap without `old` answers with it gone.
async fn confirm_removed(admin: &Admin, old: &str) -> Result<()> {
    let started = Instant::now();
    loop {
        let last = match quorum_status(admin).await {
            Ok(q) => {
                let gone = !q.monmap.mons.iter().any(|m| m.name == old);
                let majority = q
                    .quorum_names
                    .iter()
                    .filter(|n| q.monmap.mons.iter().any(|m| m.name == **n))
                    .count()
                    * 2
                    > q.monmap.mons.len();
                if gone && majority {
                    return Ok(());
                }
                format!(
                    "monmap {}, quorum {}",
                    q.monmap
                        .mons
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    q.quorum_names.join(",")
                )
            }
            Err(e) => e.to_string(),
        };
        if started.elapsed() > COMMAND_TIMEOUT {
            return Err(Error::Timeout {
                what: format!("a quorum without mon.{old} (it keeps running until then)"),
                secs: started.elapsed().as_secs(),
                missing: last,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Stops mon `old` at once: its store is about to be deleted, so there is
/// nothing to shut down cleanly, and a frozen (SIGSTOPped) or cut-off mon
/// would hold SIGTERM for the supervisor's whole grace period.
async fn stop_for_good(ctx: &Context, old: &str) {
    let name = format!("mon.{old}");
    let pid = ctx
        .sup
        .status()
        .iter()
        .find(|d| d.name == name)
        .and_then(|d| d.pid);
    let kill = async {
        if let Some(pid) = pid {
            // After the supervisor has marked it stopping, so the exit is
            // taken as the stop, not as a crash to restart.
            tokio::time::sleep(Duration::from_millis(100)).await;
            procs::signal(pid, Signal::SIGKILL);
        }
    };
    tokio::join!(ctx.sup.stop(&name), kill);
}

/// Deletes the old mon's store; writes ceph.conf without it.
async fn cleanup(ctx: &Context, state: &mut MonState, old: Option<&str>) -> Result<()> {
    if let Some(old) = old {
        mon::delete(&ctx.layout, old)?;
        state.mons.retain(|m| m.id != old);
        state.save(&ctx.layout)?;
    }
    write_conf(ctx, state)
}

/// ceph.conf from the mon set of `state`.
fn write_conf(ctx: &Context, state: &MonState) -> Result<()> {
    let path = ctx.layout.fsid();
    let fsid = std::fs::read_to_string(&path).ctx("cannot read", &path)?;
    let conf = config::render(&ctx.desired, fsid.trim(), &ctx.layout, &state.mons);
    let path = ctx.layout.conf();
    write_atomic(&path, conf.as_bytes(), 0o644).ctx("cannot write", &path)
}
