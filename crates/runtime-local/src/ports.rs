//! Port checks before anything starts, so a busy port is a clear error
//! instead of a daemon crash-looping in the background.

use std::net::TcpListener;

use rookery_core::DesiredCluster;

use crate::config::ADDR;
use crate::error::{Error, Result};

/// A port a daemon will bind, and the spec field that chooses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortUse {
    pub port: u16,
    pub what: String,
    pub field: &'static str,
}

/// The ports the active mgr's modules will bind.
pub fn mgr_modules(desired: &DesiredCluster) -> Vec<PortUse> {
    let mut out = Vec::new();
    if desired.dashboard_enabled() {
        out.push(PortUse {
            port: desired.ports.dashboard,
            what: "mgr dashboard".into(),
            field: "spec.dashboard.port",
        });
    }
    if desired.prometheus_enabled() {
        out.push(PortUse {
            port: desired.ports.prometheus,
            what: "mgr prometheus".into(),
            field: "spec.network.ports.prometheus",
        });
    }
    out
}

/// The RBD CSI node plugin's metrics and liveness port.
pub fn csi_node_metrics(desired: &DesiredCluster) -> PortUse {
    PortUse {
        port: desired.ports.csi_node_metrics,
        what: "RBD CSI node plugin metrics".into(),
        field: "spec.network.ports.csiNodeMetrics",
    }
}

/// The RBD CSI plugin's metrics and liveness port.
pub fn csi_metrics(desired: &DesiredCluster) -> PortUse {
    PortUse {
        port: desired.ports.csi_metrics,
        what: "RBD CSI plugin metrics".into(),
        field: "spec.network.ports.csiMetrics",
    }
}

/// The CephFS CSI plugin's metrics and liveness port.
pub fn csi_cephfs_metrics(desired: &DesiredCluster) -> PortUse {
    PortUse {
        port: desired.ports.csi_cephfs_metrics,
        what: "CephFS CSI plugin metrics".into(),
        field: "spec.network.ports.csiCephfsMetrics",
    }
}

/// The CephFS CSI node plugin's metrics and liveness port.
pub fn csi_cephfs_node_metrics(desired: &DesiredCluster) -> PortUse {
    PortUse {
        port: desired.ports.csi_cephfs_node_metrics,
        what: "CephFS CSI node plugin metrics".into(),
        field: "spec.network.ports.csiCephfsNodeMetrics",
    }
}

/// A port nothing listens on right now (for throwaway clusters).
pub fn free_loopback_port() -> std::io::Result<u16> {
    TcpListener::bind((ADDR, 0))?.local_addr().map(|a| a.port())
}

/// Fails with the first port that cannot be bound on loopback.
pub fn check_free(uses: &[PortUse]) -> Result<()> {
    check_free_at(std::net::Ipv4Addr::LOCALHOST, uses)
}

/// As [`check_free`], on loopback address `ip` (mons may each have their own).
pub fn check_free_at(ip: std::net::Ipv4Addr, uses: &[PortUse]) -> Result<()> {
    for u in uses {
        if TcpListener::bind((ip, u.port)).is_err() {
            return Err(Error::PortInUse {
                port: u.port,
                what: u.what.clone(),
                field: u.field,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_port_is_named_with_its_spec_field() {
        let busy = TcpListener::bind((ADDR, 0)).unwrap();
        let port = busy.local_addr().unwrap().port();
        let err = check_free(&[PortUse {
            port,
            what: "mon.a msgr2".into(),
            field: "spec.network.ports.monV2",
        }])
        .unwrap_err()
        .to_string();
        assert!(err.contains(&format!("port {port} (mon.a msgr2)")), "{err}");
        assert!(err.contains("spec.network.ports.monV2"), "{err}");
        drop(busy);
    }
}
