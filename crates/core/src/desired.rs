//! The desired cluster in the terms the plan needs, derived from the
//! declarative model (`rookery_api`) once, so plan code does not walk YAML.

use std::path::PathBuf;

use rookery_api::Manifest;
use serde::{Deserialize, Serialize};

/// What backs one OSD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum OsdBacking {
    /// A sparse file of `size` bytes inside the cluster directory.
    File { size: u64 },
    /// A whole block device, used only when it is blank.
    Device { path: PathBuf },
}

impl OsdBacking {
    /// How people refer to it: "10 GiB file" or "/dev/sdb".
    pub fn describe(&self) -> String {
        match self {
            OsdBacking::File { size } => format!("{} GiB file", size >> 30),
            OsdBacking::Device { path } => path.display().to_string(),
        }
    }
}

/// A replicated pool the cluster should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredPool {
    pub name: String,
    pub size: u32,
    pub min_size: u32,
    pub pg_num: u32,
    pub application: String,
}

/// Loopback ports of the cluster's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    pub mon_v2: u16,
    pub mon_v1: u16,
    pub prometheus: u16,
    pub dashboard: u16,
    /// The RBD CSI plugin's `/metrics` and `/healthz`.
    pub csi_metrics: u16,
    /// The RBD CSI node plugin's `/metrics` and `/healthz`.
    pub csi_node_metrics: u16,
}

/// When Ceph stops writes (full), backfill, and warns (nearfull).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FullRatios {
    pub full: f64,
    pub backfillfull: f64,
    pub nearfull: f64,
}

impl Default for FullRatios {
    /// Lower than Ceph's 0.95: on small file-backed OSDs the headroom keeps
    /// bluestore itself from running out of space, so clients get ENOSPC
    /// and no OSD aborts.
    fn default() -> Self {
        Self {
            full: 0.85,
            backfillfull: 0.80,
            nearfull: 0.75,
        }
    }
}

/// The cluster as the spec asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredCluster {
    pub name: String,
    pub mons: u32,
    pub mgrs: u32,
    /// One entry per OSD slot, in order: files first, then devices.
    pub osds: Vec<OsdBacking>,
    pub pools: Vec<DesiredPool>,
    /// Mgr modules to enable (includes `dashboard` when the dashboard is on).
    pub mgr_modules: Vec<String>,
    pub dashboard_ssl: bool,
    pub ports: Ports,
    /// Pool size used for pools Ceph creates on its own (e.g. the mgr's).
    pub default_pool_size: u32,
    pub ratios: FullRatios,
}

impl DesiredCluster {
    pub fn dashboard_enabled(&self) -> bool {
        self.mgr_modules.iter().any(|m| m == "dashboard")
    }

    pub fn prometheus_enabled(&self) -> bool {
        self.mgr_modules.iter().any(|m| m == "prometheus")
    }

    /// pg_num for a pool: a small power of two that keeps the per-OSD PG count
    /// low on small clusters (the autoscaler grows it when data arrives).
    pub fn pg_num_for(osd_count: usize) -> u32 {
        match osd_count {
            0..=3 => 16,
            4..=9 => 32,
            _ => 64,
        }
    }
}

/// Ports come validated (1..=65535) from the spec; clamp instead of panic.
fn port(p: u32) -> u16 {
    u16::try_from(p).unwrap_or(u16::MAX)
}

/// The desired cluster of a validated manifest.
pub fn from_manifest(m: &Manifest) -> DesiredCluster {
    let spec = &m.cluster.spec;
    let files = &spec.storage.files;
    let mut osds: Vec<OsdBacking> = (0..files.count)
        .map(|_| OsdBacking::File {
            size: files.size.bytes(),
        })
        .collect();
    osds.extend(
        spec.storage
            .devices
            .iter()
            .filter_map(|d| d.path().ok())
            .map(|p| OsdBacking::Device { path: p.into() }),
    );
    let osd_count = osds.len();
    let pools = m
        .pools
        .iter()
        .map(|p| {
            let size = p.spec.replicated.size;
            DesiredPool {
                name: p.pool_name().to_string(),
                size,
                min_size: min_size(size),
                pg_num: DesiredCluster::pg_num_for(osd_count),
                application: p.spec.application().to_string(),
            }
        })
        .collect();
    let defaults = FullRatios::default();
    let st = &spec.storage;
    DesiredCluster {
        name: m.cluster.metadata.name.clone(),
        mons: spec.mon.count,
        mgrs: spec.mgr.count,
        default_pool_size: (osd_count as u32).clamp(1, 3),
        osds,
        pools,
        mgr_modules: spec.local_mgr_modules(),
        dashboard_ssl: spec.dashboard.ssl,
        ports: Ports {
            mon_v2: port(spec.network.ports.mon_v2),
            mon_v1: port(spec.network.ports.mon_v1),
            prometheus: port(spec.network.ports.prometheus),
            dashboard: port(spec.dashboard.port()),
            csi_metrics: port(spec.network.ports.csi_metrics),
            csi_node_metrics: port(spec.network.ports.csi_node_metrics),
        },
        ratios: FullRatios {
            full: st.full_ratio.unwrap_or(defaults.full),
            backfillfull: st.backfill_full_ratio.unwrap_or(defaults.backfillfull),
            nearfull: st.near_full_ratio.unwrap_or(defaults.nearfull),
        },
    }
}

/// Ceph's rule: writes need a majority of replicas.
pub fn min_size(size: u32) -> u32 {
    if size <= 2 {
        1
    } else {
        size / 2 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_make_a_three_osd_cluster_with_an_rbd_pool() {
        let d = from_manifest(&Manifest::local_default());
        assert_eq!(d.mons, 1);
        assert_eq!(d.mgrs, 1);
        assert_eq!(d.osds, vec![OsdBacking::File { size: 10 << 30 }; 3]);
        assert_eq!(d.pools.len(), 1);
        assert_eq!(d.pools[0].name, "rbd");
        assert_eq!((d.pools[0].size, d.pools[0].min_size), (3, 2));
        assert_eq!(d.pools[0].application, "rbd");
        assert_eq!(d.mgr_modules, ["prometheus", "dashboard"]);
        assert_eq!(d.ports.mon_v2, 3300);
        assert_eq!(d.ports.dashboard, 8443);
        assert_eq!(d.default_pool_size, 3);
        assert_eq!(d.ratios, FullRatios::default());
    }

    #[test]
    fn files_then_devices_and_ratios_from_the_spec() {
        let yaml = "apiVersion: ceph.rook.io/v1\nkind: CephCluster\nmetadata:\n  name: x\nspec:\n  storage:\n    fullRatio: 0.9\n    files:\n      count: 1\n      size: 12Gi\n    devices:\n      - name: sdb\n";
        let m = rookery_api::load_manifest(yaml).unwrap();
        let d = from_manifest(&m);
        assert_eq!(
            d.osds,
            vec![
                OsdBacking::File { size: 12 << 30 },
                OsdBacking::Device {
                    path: "/dev/sdb".into()
                }
            ]
        );
        assert_eq!(d.ratios.full, 0.9);
        assert_eq!(d.ratios.nearfull, 0.75);
        assert_eq!(d.default_pool_size, 2);
    }

    #[test]
    fn min_size_is_a_majority() {
        assert_eq!(min_size(1), 1);
        assert_eq!(min_size(2), 1);
        assert_eq!(min_size(3), 2);
        assert_eq!(min_size(5), 3);
    }
}
