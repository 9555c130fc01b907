//! Starting the CSI plugins during `up`: RBD always, CephFS when the cluster
//! has a filesystem, controller and node role each, every one with its own
//! metrics port. `up` returns once every plugin's socket is there.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rookery_core::DesiredCluster;

use crate::ceph_ops::Admin;
use crate::csi;
use crate::csi_report::{self, CsiEndpoints};
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::ports::{self, PortUse};
use crate::progress::Progress;
use crate::supervisor::{DaemonSpec, Supervisor};

/// One plugin daemon the cluster runs.
pub struct Plugin {
    pub spec: DaemonSpec,
    pub endpoint: String,
    /// Its metrics port, for the port check before anything starts.
    pub port: PortUse,
}

/// The plugin daemons `desired` calls for, in start order.
pub fn plugins(layout: &Layout, desired: &DesiredCluster, exe: &Path) -> Vec<Plugin> {
    let p = desired.ports;
    let mut out = vec![
        Plugin {
            spec: csi::rbd_spec(layout, exe, p.csi_metrics),
            endpoint: csi::rbd_endpoint(layout),
            port: ports::csi_metrics(desired),
        },
        Plugin {
            spec: csi::rbd_node_spec(layout, exe, p.csi_node_metrics),
            endpoint: csi::rbd_node_endpoint(layout),
            port: ports::csi_node_metrics(desired),
        },
    ];
    if !desired.filesystems.is_empty() {
        out.push(Plugin {
            spec: csi::cephfs_spec(layout, exe, p.csi_cephfs_metrics),
            endpoint: csi::cephfs_endpoint(layout),
            port: ports::csi_cephfs_metrics(desired),
        });
        out.push(Plugin {
            spec: csi::cephfs_node_spec(layout, exe, p.csi_cephfs_node_metrics),
            endpoint: csi::cephfs_node_endpoint(layout),
            port: ports::csi_cephfs_node_metrics(desired),
        });
    }
    out
}

/// Makes the plugins' users and starts the plugins; returns what `up`
/// reports about them.
pub async fn start(
    layout: &Layout,
    desired: &DesiredCluster,
    admin: &Admin,
    sup: &Supervisor,
    progress: &Progress,
    deadline: Instant,
) -> Result<CsiEndpoints> {
    let cephfs = !desired.filesystems.is_empty();
    let step = progress.step(
        "csi",
        if cephfs {
            "starting the RBD and CephFS CSI plugins"
        } else {
            "starting the RBD CSI plugins"
        },
    );
    csi::ensure_users(layout, admin, cephfs).await?;
    let exe = std::env::current_exe().ctx("cannot find the rookery binary", "/proc/self/exe")?;
    for p in plugins(layout, desired, &exe) {
        let name = p.spec.name.clone();
        sup.start(p.spec);
        wait_for_socket(layout, &name, &p.endpoint, deadline).await?;
    }
    let found = csi_report::observe(layout, Some(desired.ports));
    let said: Vec<String> = found
        .csi
        .iter()
        .map(|(driver, endpoint)| format!("{driver} on {endpoint}"))
        .collect();
    step.done(said.join(", "));
    Ok(found)
}

/// Waits for a CSI plugin to create its socket (it connects to the cluster
/// first), so `up` returns with the endpoint usable.
async fn wait_for_socket(
    layout: &Layout,
    daemon: &str,
    endpoint: &str,
    deadline: Instant,
) -> Result<()> {
    let path = PathBuf::from(endpoint.trim_start_matches("unix://"));
    while !path.exists() {
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("the CSI plugin's socket {}", path.display()),
                secs: 0,
                missing: format!("see {}", layout.daemon_output(daemon).display()),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
