//! `rookery down`: stop the supervisor (which stops its daemons in order),
//! then make sure no daemon of this cluster is left, by pid file.
//! `--purge` deletes the cluster directory, and only a cluster directory.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::ceph_ops::Admin;
use crate::daemons::Kind;
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::lock;
use crate::procs;

/// What `down` did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DownReport {
    pub supervisor_stopped: Option<u32>,
    /// Daemons found running without a supervisor and stopped.
    pub strays_stopped: Vec<String>,
    /// Daemons that did not exit even after SIGKILL: stuck in the kernel
    /// (uninterruptible I/O, e.g. on a stalled FUSE mount or device). They
    /// exit when that I/O ends; `down` does not wait for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stuck: Vec<String>,
    pub purged: bool,
}

/// True if the directory holds a rookery cluster (an fsid written by us).
pub fn is_cluster_dir(layout: &Layout) -> bool {
    layout.fsid().is_file() && layout.conf().is_file()
}

pub async fn down(layout: &Layout, purge: bool, confirmed: bool) -> Result<DownReport> {
    let root = layout.root().display().to_string();
    if purge && !confirmed {
        return Err(Error::Refused(format!(
            "refusing to delete the cluster at {root} and all its data without --yes-really-destroy-data"
        )));
    }
    if !is_cluster_dir(layout) {
        if purge && layout.root().exists() {
            return Err(Error::Refused(format!(
                "{root} does not look like a rookery cluster (no fsid and ceph.conf); not deleting it"
            )));
        }
        return Err(Error::Refused(format!(
            "there is no rookery cluster at {root}; pass --dir to name its directory"
        )));
    }
    let mounted = crate::volumes::mounted(layout);
    if !mounted.is_empty() && !purge {
        let paths: Vec<String> = mounted
            .iter()
            .map(|m| m.mount_point.display().to_string())
            .collect();
        return Err(Error::Refused(format!(
            "volumes of this cluster are still mounted at {}; their I/O would hang once the \
             cluster stops — unmount them first (`rookery volume unmount NAME`, with \
             `--type fs` for CephFS volumes)",
            paths.join(", ")
        )));
    }
    let mut report = DownReport::default();
    if purge {
        // The data goes anyway; never walk into a live mount while deleting.
        crate::volumes::release_all(layout);
    }
    if let Some(pid) = lock::running_supervisor(layout) {
        if !purge {
            // A planned stop must not mark OSDs out and start rebalancing.
            if let Ok(admin) = Admin::connect(layout, Duration::from_secs(5)).await {
                let _ = admin.set_flag("noout").await;
            }
        }
        stop_supervisor(layout, pid).await;
        report.supervisor_stopped = Some(pid);
    }
    let (stopped, stuck) = stop_strays(layout).await;
    report.strays_stopped = stopped;
    report.stuck = stuck;
    if purge {
        std::fs::remove_dir_all(layout.root()).ctx("cannot delete", layout.root())?;
        report.purged = true;
    }
    Ok(report)
}

async fn stop_supervisor(layout: &Layout, pid: u32) {
    procs::signal(pid, Signal::SIGTERM);
    // The supervisor stops its daemons with a 30 s grace period each batch.
    let deadline = Instant::now() + Duration::from_secs(150);
    while lock::running_supervisor(layout).is_some() {
        if Instant::now() > deadline {
            tracing::warn!(pid, "supervisor did not stop; killing it");
            procs::signal(pid, Signal::SIGKILL);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A daemon of this cluster found running by its pid file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveDaemon {
    pub name: String,
    pub pid: u32,
}

/// Daemons whose pid files point at live processes of this cluster. Without
/// a supervisor these are strays (left by a supervisor that was killed).
pub fn live_daemons(layout: &Layout) -> Vec<LiveDaemon> {
    let marker = layout.conf().display().to_string();
    let mut found: Vec<LiveDaemon> = std::fs::read_dir(layout.run_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let name = file.strip_suffix(".pid")?.to_string();
            let program = match name.split('.').next()? {
                "mon" => Kind::Mon.program(),
                "mgr" => Kind::Mgr.program(),
                "mds" => Kind::Mds.program(),
                "osd" => Kind::Osd.program(),
                // Our own plugins run this binary (matched by file name).
                "csi" => "rookery",
                _ => return None,
            };
            let pid = procs::read_pid(&e.path())?;
            procs::is_ours(pid, program, &marker).then_some(LiveDaemon { name, pid })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// Stops the strays and clears their pid files. Returns the names of those
/// stopped, and of those stuck past SIGKILL.
pub async fn stop_strays(layout: &Layout) -> (Vec<String>, Vec<String>) {
    let (mut stopped, mut stuck) = (Vec::new(), Vec::new());
    for d in live_daemons(layout) {
        if procs::terminate(d.pid, Duration::from_secs(30)).await {
            let _ = std::fs::remove_file(layout.daemon_pid(&d.name));
            stopped.push(d.name);
        } else {
            tracing::warn!(daemon = %d.name, pid = d.pid, "did not exit after SIGKILL: stuck in uninterruptible I/O");
            stuck.push(format!("{} (pid {})", d.name, d.pid));
        }
    }
    (stopped, stuck)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn purge_needs_confirmation_and_a_cluster_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("precious"), b"x").unwrap();
        let layout = Layout::new(dir.path());
        let err = down(&layout, true, false).await.unwrap_err().to_string();
        assert!(err.contains("--yes-really-destroy-data"), "{err}");
        let err = down(&layout, true, true).await.unwrap_err().to_string();
        assert!(
            err.contains("does not look like a rookery cluster"),
            "{err}"
        );
        assert!(dir.path().join("precious").exists());
    }
}
