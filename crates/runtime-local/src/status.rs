//! `rookery status`: the cluster as Ceph reports it (health, quorum, mgr,
//! OSDs, pools, capacity) plus what only the supervisor knows (daemon pids
//! and restarts, recent events). Works without Ceph when the cluster is down.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::ceph_ops::{Admin, CephReport};
use crate::down::{live_daemons, LiveDaemon};
use crate::events::{Event, EventLog};
use crate::layout::Layout;
use crate::lock;
use crate::procs;
use crate::supervisor::DaemonStatus;

pub use crate::csi_report::CsiNodeStatus;
pub use crate::osd::report::{DeviceStatus, OsdStatus};

/// Everything `status` shows; `--output json` prints it as is.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub dir: String,
    pub conf: String,
    pub fsid: Option<String>,
    /// The supervisor is running.
    pub running: bool,
    pub supervisor_pid: Option<u32>,
    pub supervisor_rss_bytes: Option<u64>,
    /// From Ceph; None when the cluster is stopped or unreachable.
    pub ceph: Option<CephReport>,
    /// Why `ceph` is missing, when the supervisor runs.
    pub ceph_error: Option<String>,
    pub services: BTreeMap<String, String>,
    /// CSI driver name -> endpoint, for plugins whose socket is present.
    pub csi: BTreeMap<String, String>,
    /// CSI driver name -> its Prometheus metrics URL (`/healthz` beside it),
    /// for the same plugins.
    pub csi_metrics: BTreeMap<String, String>,
    /// CSI driver name -> its node plugin (socket and mapper), when running.
    pub csi_node: BTreeMap<String, CsiNodeStatus>,
    pub dashboard_password_file: Option<String>,
    pub daemons: Vec<DaemonStatus>,
    /// Daemons still running without a supervisor (the next `up` adopts them).
    pub unsupervised: Vec<LiveDaemon>,
    /// Every OSD of this cluster: backing, up/in, "disk gone: ...".
    pub osds: Vec<OsdStatus>,
    /// The host's block devices with `rookery discover`'s verdict for this
    /// cluster's selection.
    pub devices: Vec<DeviceStatus>,
    /// Why `devices` is empty, when the scan failed.
    pub devices_error: Option<String>,
    pub events: Vec<Event>,
    /// The mon change in progress and the mons out of quorum, as the mon
    /// watcher last saw them.
    pub mons: Option<crate::mon::state::MonReport>,
}

pub async fn gather(layout: &Layout, timeout: Duration) -> StatusReport {
    let supervisor_pid = lock::running_supervisor(layout);
    let running = supervisor_pid.is_some();
    let admin = if running {
        Some(Admin::connect(layout, timeout).await)
    } else {
        None
    };
    let (ceph, ceph_error) = match &admin {
        Some(Ok(admin)) => match admin.report().await {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e.to_string())),
        },
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    let admin = admin.and_then(|a| a.ok()).filter(|_| ceph.is_some());
    let osds = crate::osd::report::osds(layout, admin.as_ref()).await;
    let (devices, devices_error) = match crate::osd::report::devices(layout).await {
        Ok(d) => (d, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let services = ceph
        .as_ref()
        .map(|c| c.services.clone())
        .unwrap_or_default();
    let daemons: Vec<DaemonStatus> = if running {
        std::fs::read(layout.daemons_state())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let pw = layout.dashboard_password();
    let plugins = if running {
        crate::csi_report::observe(layout, crate::csi::stored_ports(layout))
    } else {
        crate::csi_report::CsiEndpoints::default()
    };
    StatusReport {
        dir: layout.root().display().to_string(),
        conf: layout.conf().display().to_string(),
        fsid: std::fs::read_to_string(layout.fsid())
            .ok()
            .map(|s| s.trim().to_string()),
        running,
        supervisor_pid,
        supervisor_rss_bytes: supervisor_pid.and_then(procs::rss_bytes),
        ceph,
        ceph_error,
        services,
        csi: plugins.csi,
        csi_metrics: plugins.csi_metrics,
        csi_node: plugins.csi_node,
        dashboard_password_file: pw.exists().then(|| pw.display().to_string()),
        daemons,
        unsupervised: if running {
            Vec::new()
        } else {
            live_daemons(layout)
        },
        osds,
        devices,
        devices_error,
        events: EventLog::new(layout.events()).tail(12),
        mons: crate::mon::state::MonReport::read(layout),
    }
}
