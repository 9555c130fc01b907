//! The desired cluster in the terms the plan needs, derived from the
//! declarative model (`rookery_api`) once, so plan code does not walk YAML.

use std::path::PathBuf;

use crate::naming::mds_ids;

use rookery_api::{CephFilesystem, Manifest, PoolSpec, CEPHFS_APPLICATION};
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

/// A CephFS filesystem the cluster should have, and its metadata servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredFilesystem {
    pub name: String,
    /// `<fs>-metadata`, application cephfs.
    pub metadata_pool: DesiredPool,
    /// In spec order; the first is the filesystem's default data pool.
    pub data_pools: Vec<DesiredPool>,
    /// Active ranks (Ceph's `max_mds`).
    pub max_mds: u32,
    /// Standbys follow an active's journal (`allow_standby_replay`).
    pub standby_replay: bool,
    /// The MDS daemon ids (`<fs>-a`, `<fs>-b`, ...): `max_mds` actives plus
    /// as many standbys, as Rook runs them.
    pub mds: Vec<String>,
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
    /// The CephFS CSI plugin's `/metrics` and `/healthz`.
    pub csi_cephfs_metrics: u16,
    /// The CephFS CSI node plugin's `/metrics` and `/healthz`.
    pub csi_cephfs_node_metrics: u16,
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
    /// CephFS filesystems, with their own pools.
    #[serde(default)]
    pub filesystems: Vec<DesiredFilesystem>,
    /// Mgr modules to enable (includes `dashboard` when the dashboard is on).
    pub mgr_modules: Vec<String>,
    pub dashboard_ssl: bool,
    pub ports: Ports,
    /// Pool size used for pools Ceph creates on its own (e.g. the mgr's).
    pub default_pool_size: u32,
    pub ratios: FullRatios,
    /// When a mon out of quorum is replaced.
    #[serde(default)]
    pub mon_health: MonHealth,
    /// Each mon on its own loopback address, counting up from this one
    /// (`spec.network.firstMonAddress`); None: all on 127.0.0.1.
    #[serde(default)]
    pub first_mon_ip: Option<std::net::Ipv4Addr>,
}

/// `spec.healthCheck.daemonHealth.mon`, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonHealth {
    /// False when `disabled`.
    pub failover: bool,
    pub interval: std::time::Duration,
    pub timeout: std::time::Duration,
}

impl Default for MonHealth {
    fn default() -> Self {
        Self {
            failover: true,
            interval: rookery_api::DEFAULT_MON_INTERVAL,
            timeout: rookery_api::DEFAULT_MON_TIMEOUT,
        }
    }
}

impl DesiredCluster {
    /// What the mon decision works with.
    pub fn mon_policy(&self) -> crate::mons::MonPolicy {
        crate::mons::MonPolicy {
            count: self.mons,
            timeout: self.mon_health.timeout,
            failover: self.mon_health.failover,
        }
    }

    pub fn dashboard_enabled(&self) -> bool {
        self.mgr_modules.iter().any(|m| m == "dashboard")
    }

    pub fn prometheus_enabled(&self) -> bool {
        self.mgr_modules.iter().any(|m| m == "prometheus")
    }

    /// Every pool the spec asks for: block pools, then each filesystem's
    /// metadata and data pools.
    pub fn all_pools(&self) -> impl Iterator<Item = &DesiredPool> {
        self.pools.iter().chain(
            self.filesystems
                .iter()
                .flat_map(|f| std::iter::once(&f.metadata_pool).chain(&f.data_pools)),
        )
    }

    /// Every MDS daemon id, of all filesystems.
    pub fn mds_ids(&self) -> impl Iterator<Item = &String> {
        self.filesystems.iter().flat_map(|f| &f.mds)
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
        .map(|p| desired_pool(p.pool_name(), &p.spec, p.spec.application(), osd_count))
        .collect();
    let filesystems = m
        .filesystems
        .iter()
        .map(|f| desired_filesystem(f, osd_count))
        .collect();
    let defaults = FullRatios::default();
    let st = &spec.storage;
    let mon_health = &spec.health_check.daemon_health.mon;
    DesiredCluster {
        name: m.cluster.metadata.name.clone(),
        mons: spec.mon.count,
        mgrs: spec.mgr.count,
        default_pool_size: (osd_count as u32).clamp(1, 3),
        osds,
        pools,
        filesystems,
        mgr_modules: spec.local_mgr_modules(),
        dashboard_ssl: spec.dashboard.ssl,
        ports: Ports {
            mon_v2: port(spec.network.ports.mon_v2),
            mon_v1: port(spec.network.ports.mon_v1),
            prometheus: port(spec.network.ports.prometheus),
            dashboard: port(spec.dashboard.port()),
            csi_metrics: port(spec.network.ports.csi_metrics),
            csi_node_metrics: port(spec.network.ports.csi_node_metrics),
            csi_cephfs_metrics: port(spec.network.ports.csi_cephfs_metrics),
            csi_cephfs_node_metrics: port(spec.network.ports.csi_cephfs_node_metrics),
        },
        ratios: FullRatios {
            full: st.full_ratio.unwrap_or(defaults.full),
            backfillfull: st.backfill_full_ratio.unwrap_or(defaults.backfillfull),
            nearfull: st.near_full_ratio.unwrap_or(defaults.nearfull),
        },
        mon_health: MonHealth {
            failover: !mon_health.disabled,
            interval: mon_health.interval(),
            timeout: mon_health.timeout(),
        },
        first_mon_ip: spec.network.first_mon_ip().ok().flatten(),
    }
}

fn desired_pool(name: &str, spec: &PoolSpec, application: &str, osd_count: usize) -> DesiredPool {
    let size = spec.replicated.size;
    DesiredPool {
        name: name.to_string(),
        size,
        min_size: min_size(size),
        pg_num: DesiredCluster::pg_num_for(osd_count),
        application: application.to_string(),
    }
}

/// A validated filesystem (it has a metadata pool and data pools).
fn desired_filesystem(f: &CephFilesystem, osd_count: usize) -> DesiredFilesystem {
    let meta = f.spec.metadata_pool.clone().unwrap_or_default();
    let data_pools = f
        .spec
        .data_pools
        .iter()
        .zip(f.data_pool_names())
        .map(|(p, name)| desired_pool(&name, p, CEPHFS_APPLICATION, osd_count))
        .collect();
    let server = &f.spec.metadata_server;
    DesiredFilesystem {
        name: f.fs_name().to_string(),
        metadata_pool: desired_pool(
            &f.metadata_pool_name(),
            &meta,
            CEPHFS_APPLICATION,
            osd_count,
        ),
        data_pools,
        max_mds: server.active_count,
        standby_replay: server.active_standby,
        mds: mds_ids(f.fs_name(), f.mds_count()),
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
        assert_eq!(d.filesystems.len(), 1);
        let fs = &d.filesystems[0];
        assert_eq!(fs.name, "myfs");
        assert_eq!(fs.metadata_pool.name, "myfs-metadata");
        assert_eq!(fs.metadata_pool.application, "cephfs");
        assert_eq!((fs.metadata_pool.size, fs.metadata_pool.min_size), (3, 2));
        assert_eq!(fs.data_pools.len(), 1);
        assert_eq!(fs.data_pools[0].name, "myfs-replicated");
        assert_eq!(fs.data_pools[0].application, "cephfs");
        assert_eq!(fs.max_mds, 1);
        assert!(fs.standby_replay);
        assert_eq!(fs.mds, ["myfs-a", "myfs-b"]);
        let pools: Vec<&str> = d.all_pools().map(|p| p.name.as_str()).collect();
        assert_eq!(pools, ["rbd", "myfs-metadata", "myfs-replicated"]);
    }

    #[test]
    fn filesystems_get_rook_pool_names_and_twice_their_active_mds() {
        let yaml = "apiVersion: ceph.rook.io/v1\nkind: CephCluster\nmetadata: {name: x}\n---\n\
apiVersion: ceph.rook.io/v1\nkind: CephFilesystem\nmetadata: {name: shared}\nspec:\n  \
metadataPool: {replicated: {size: 2}}\n  dataPools: [{replicated: {size: 3}}, {name: ssd, \
replicated: {size: 1, requireSafeReplicaSize: false}}]\n  metadataServer: {activeCount: 2}\n";
        let m = rookery_api::load_manifest(yaml).unwrap();
        m.validate().unwrap();
        let d = from_manifest(&m);
        let fs = &d.filesystems[0];
        assert_eq!(fs.metadata_pool.name, "shared-metadata");
        assert_eq!((fs.metadata_pool.size, fs.metadata_pool.min_size), (2, 1));
        let data: Vec<(&str, u32)> = fs
            .data_pools
            .iter()
            .map(|p| (p.name.as_str(), p.size))
            .collect();
        assert_eq!(data, [("shared-data0", 3), ("shared-ssd", 1)]);
        assert_eq!(fs.max_mds, 2);
        assert!(!fs.standby_replay);
        assert_eq!(fs.mds, ["shared-a", "shared-b", "shared-c", "shared-d"]);
        let ids: Vec<&String> = d.mds_ids().collect();
        assert_eq!(ids.len(), 4);
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
