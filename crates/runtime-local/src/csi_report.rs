//! What `status` and `up` say about the CSI plugins: for every driver whose
//! socket is present, its endpoint, metrics URL and node plugin, keyed by CSI
//! driver name (`rbd.csi.ceph.com`, `cephfs.csi.ceph.com`).

use std::collections::BTreeMap;
use std::path::Path;

use rookery_core::desired::Ports;
use serde::{Deserialize, Serialize};

use crate::csi::{self, Driver};
use crate::layout::Layout;

/// A node plugin: where it serves and how it attaches volumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsiNodeStatus {
    pub endpoint: String,
    /// RBD: `krbd` or `rbd-fuse`, as the plugin chose it; None before it has
    /// (and for CephFS).
    pub mapper: Option<String>,
    /// CephFS: `kernel` or `fuse`, as the plugin chose it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounter: Option<String>,
    /// Its Prometheus metrics URL (`/healthz` beside it).
    pub metrics: Option<String>,
}

impl CsiNodeStatus {
    /// "maps images with krbd", "mounts volumes with fuse": for people.
    pub fn attachment(&self) -> String {
        match (&self.mapper, &self.mounter) {
            (_, Some(m)) => format!("mounts volumes with {m}"),
            (Some(m), None) => format!("maps images with {m}"),
            (None, None) => "mapper not chosen yet".into(),
        }
    }
}

/// The CSI maps of `status` and the `up` summary.
#[derive(Debug, Clone, Default)]
pub struct CsiEndpoints {
    /// Driver name -> controller endpoint.
    pub csi: BTreeMap<String, String>,
    /// Driver name -> the controller's metrics URL.
    pub csi_metrics: BTreeMap<String, String>,
    /// Driver name -> its node plugin.
    pub csi_node: BTreeMap<String, CsiNodeStatus>,
}

fn socket_present(endpoint: &str) -> bool {
    Path::new(endpoint.trim_start_matches("unix://")).exists()
}

/// The plugins whose sockets exist now; metrics URLs from `ports` (those the
/// plugins were started with), when known.
pub fn observe(layout: &Layout, ports: Option<Ports>) -> CsiEndpoints {
    let mut out = CsiEndpoints::default();
    for driver in [Driver::Rbd, Driver::CephFs] {
        let name = driver.name().to_owned();
        let (controller, node, metrics, node_metrics) = match driver {
            Driver::Rbd => (
                csi::rbd_endpoint(layout),
                csi::rbd_node_endpoint(layout),
                ports.map(|p| p.csi_metrics),
                ports.map(|p| p.csi_node_metrics),
            ),
            Driver::CephFs => (
                csi::cephfs_endpoint(layout),
                csi::cephfs_node_endpoint(layout),
                ports.map(|p| p.csi_cephfs_metrics),
                ports.map(|p| p.csi_cephfs_node_metrics),
            ),
        };
        if socket_present(&controller) {
            out.csi.insert(name.clone(), controller);
            if let Some(port) = metrics {
                out.csi_metrics.insert(name.clone(), csi::metrics_url(port));
            }
        }
        if socket_present(&node) {
            let (mapper, mounter) = match driver {
                Driver::Rbd => (csi::rbd_node_mapper(layout), None),
                Driver::CephFs => (None, csi::cephfs_node_mounter(layout)),
            };
            out.csi_node.insert(
                name,
                CsiNodeStatus {
                    endpoint: node,
                    mapper,
                    mounter,
                    metrics: node_metrics.map(csi::metrics_url),
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_plugin_says_how_it_attaches() {
        let mut n = CsiNodeStatus {
            endpoint: "unix:///x".into(),
            mapper: Some("krbd".into()),
            mounter: None,
            metrics: None,
        };
        assert_eq!(n.attachment(), "maps images with krbd");
        n.mapper = None;
        n.mounter = Some("fuse".into());
        assert_eq!(n.attachment(), "mounts volumes with fuse");
        let json = serde_json::to_value(&n).unwrap();
        assert_eq!(json["mounter"], "fuse");
    }
}
