//! The supervisor process: holds the cluster lock, brings the cluster up,
//! then keeps its daemons running and the cluster reconciled (SIGHUP: look
//! now) until SIGTERM/SIGINT, and stops them in order.

use std::sync::Arc;
use std::time::Duration;

use rookery_core::DesiredCluster;
use tokio::signal::unix::{signal, SignalKind};

use crate::ceph_ops::Admin;
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::layout::Layout;
use crate::lock;
use crate::progress::Progress;
use crate::reconcile::{self, Part};
use crate::spec;
use crate::supervisor::Supervisor;
use crate::up::{bring_up, UpSummary};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub layout: Layout,
    /// The spec given with `-f` (YAML text), if any.
    pub spec_yaml: Option<String>,
    /// Limit for the bring-up.
    pub timeout: Duration,
    /// Print progress to stdout (foreground at a terminal).
    pub echo: bool,
}

/// Runs the supervisor in this process until a stop signal.
pub async fn run_foreground(opts: RunOptions) -> Result<()> {
    let layout = &opts.layout;
    layout
        .create_dirs()
        .map_err(|e| Error::Refused(format!("cannot create {}: {e}", layout.root().display())))?;
    let progress = Progress::new(Some(layout.progress()), opts.echo).map_err(|e| {
        Error::Refused(format!("cannot write {}: {e}", layout.progress().display()))
    })?;
    let _lock = match lock::acquire(layout) {
        Ok(Ok(l)) => l,
        Ok(Err(pid)) => {
            let msg = format!(
                "the cluster at {} is already running (supervisor pid {})",
                layout.root().display(),
                pid.map(|p| p.to_string())
                    .unwrap_or_else(|| "unknown".into())
            );
            progress.failed(msg.clone());
            return Err(Error::Refused(msg));
        }
        Err(e) => return Err(Error::Refused(format!("cannot lock the cluster: {e}"))),
    };
    let events = EventLog::new(layout.events());
    let sup = Supervisor::new(layout.clone(), events.clone());
    let mut term = signal(SignalKind::terminate()).map_err(|e| Error::Refused(e.to_string()))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| Error::Refused(e.to_string()))?;

    let mut hup = signal(SignalKind::hangup()).map_err(|e| Error::Refused(e.to_string()))?;

    let work = async {
        let desired = spec::load(layout, opts.spec_yaml.as_deref(), &progress)?;
        let summary = bring_up(layout, &desired, &sup, &events, &progress, opts.timeout).await?;
        Ok((desired, summary))
    };
    let outcome: Option<Result<(DesiredCluster, UpSummary)>> = tokio::select! {
        r = work => Some(r),
        _ = term.recv() => None,
        _ = int.recv() => None,
    };
    let desired = match outcome {
        Some(Ok((desired, summary))) => {
            let data = serde_json::to_value(&summary).unwrap_or_default();
            progress.ready(format!("cluster is up: {}", summary.health), data);
            desired
        }
        Some(Err(e)) => {
            progress.failed(e.to_string());
            sup.stop_all().await;
            return Err(e);
        }
        None => {
            progress.failed("stopped by a signal during bring-up");
            sup.stop_all().await;
            return Ok(());
        }
    };
    let (waker, parts) = match Admin::connect(layout, Duration::from_secs(30)).await {
        Ok(admin) => {
            let ctx = reconcile::Context {
                layout: layout.clone(),
                desired: Arc::new(desired),
                admin,
                sup: sup.clone(),
                events: events.clone(),
            };
            let parts = reconcile_parts(layout, &ctx.desired);
            let (waker, tasks) = reconcile::start(ctx, parts);
            (Some(waker), tasks)
        }
        Err(e) => {
            // The daemons are supervised either way; say why nothing heals.
            tracing::error!(error = %e, "cannot connect to the cluster: no reconciling until the next `up`");
            (None, Vec::new())
        }
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                if let Some(w) = &waker {
                    w.wake();
                }
            }
        }
    }
    for p in parts {
        p.abort();
    }
    events.record("down", None, "stopping the cluster");
    sup.stop_all().await;
    events.record("stopped", None, "cluster stopped");
    Ok(())
}

/// What the supervisor keeps reconciling after bring-up.
fn reconcile_parts(layout: &Layout, desired: &DesiredCluster) -> Vec<Box<dyn Part>> {
    vec![
        Box::new(crate::mon::watch::MonWatch::new(
            desired.mon_health.interval,
        )),
        Box::new(crate::osd::devices::DevicePart::new(layout)),
        Box::new(crate::osd::remove::RemovalPart),
    ]
}
