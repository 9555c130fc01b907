//! The cluster's spec: given with `-f`, else the one stored with the cluster,
//! else the defaults. The effective spec is stored in the cluster directory
//! so a later `up` without `-f` resumes exactly this cluster.

use rookery_api::Manifest;
use rookery_core::DesiredCluster;

use crate::error::{Error, IoContext, Result};
use crate::layout::{write_atomic, Layout};
use crate::progress::Progress;

/// A throwaway cluster's spec (benchmarks, tests): `osds` file OSDs of
/// `osd_gib` GiB, the `rbd` pool at `pool_size`, the mgr modules on or off,
/// no filesystem, and free loopback ports so it can run beside any other
/// cluster. See [`Throwaway`] for one with a filesystem.
pub fn throwaway(
    name: &str,
    osds: u32,
    osd_gib: u64,
    pool_size: u32,
    modules: bool,
) -> Result<String> {
    Throwaway {
        name: name.to_string(),
        osds,
        osd_gib,
        pool_size,
        modules,
        filesystem: false,
    }
    .yaml()
}

/// A throwaway cluster, as [`throwaway`] makes it, with or without the
/// default filesystem `myfs` (its pools at `pool_size`, one active MDS and a
/// standby-replay).
#[derive(Debug, Clone)]
pub struct Throwaway {
    pub name: String,
    pub osds: u32,
    pub osd_gib: u64,
    pub pool_size: u32,
    pub modules: bool,
    pub filesystem: bool,
}

impl Throwaway {
    /// The spec as YAML, with fresh free ports.
    pub fn yaml(&self) -> Result<String> {
        throwaway_manifest(self)?
            .to_yaml()
            .map_err(|e| Error::Spec(format!("cannot write the spec: {e}")))
    }
}

fn throwaway_manifest(t: &Throwaway) -> Result<Manifest> {
    let Throwaway {
        name,
        osds,
        osd_gib,
        pool_size,
        modules,
        filesystem,
    } = t.clone();
    let free_port = || -> Result<u32> {
        crate::ports::free_loopback_port()
            .map(u32::from)
            .map_err(|e| Error::Refused(format!("no free port on 127.0.0.1: {e}")))
    };
    let mut m = Manifest::local_default();
    m.cluster.metadata.name = name.to_string();
    let spec = &mut m.cluster.spec;
    spec.storage.files.count = osds;
    spec.storage.files.size = rookery_api::Quantity::gib(osd_gib);
    spec.dashboard.enabled = modules;
    spec.dashboard.port = Some(free_port()?);
    for module in &mut spec.mgr.modules {
        module.enabled = modules;
    }
    let ports = &mut spec.network.ports;
    ports.mon_v2 = free_port()?;
    ports.mon_v1 = free_port()?;
    ports.prometheus = free_port()?;
    ports.csi_metrics = free_port()?;
    ports.csi_node_metrics = free_port()?;
    ports.csi_cephfs_metrics = free_port()?;
    ports.csi_cephfs_node_metrics = free_port()?;
    for pool in &mut m.pools {
        pool.spec.replicated.size = pool_size;
        pool.spec.replicated.require_safe_replica_size = pool_size > 1;
    }
    if !filesystem {
        m.filesystems.clear();
    }
    for fs in &mut m.filesystems {
        let spec = &mut fs.spec;
        for pool in spec.metadata_pool.iter_mut().chain(&mut spec.data_pools) {
            pool.replicated.size = pool_size;
            pool.replicated.require_safe_replica_size = pool_size > 1;
        }
    }
    Ok(m)
}

/// A throwaway spec (`yaml`, e.g. from [`Throwaway::yaml`]) turned into one
/// with `count` mons for tests and benchmarks, each on its own loopback
/// address from `first` (so one can be cut off: `mon::fault`), looked at
/// every `interval` and replaced after `timeout` (Go durations: `2s`, `10m`).
pub fn with_mons(
    yaml: &str,
    count: u32,
    first: std::net::Ipv4Addr,
    interval: &str,
    timeout: &str,
) -> Result<String> {
    let mut m = parse(yaml)?;
    let spec = &mut m.cluster.spec;
    spec.mon.count = count;
    spec.network.first_mon_address = Some(first.to_string());
    let mon = &mut spec.health_check.daemon_health.mon;
    mon.interval = Some(interval.to_string());
    mon.timeout = Some(timeout.to_string());
    validate(&m)?;
    m.to_yaml()
        .map_err(|e| Error::Spec(format!("cannot write the spec: {e}")))
}

/// Parses and validates a spec; returns its warnings, or every error at once.
pub fn check(yaml: &str) -> Result<Vec<String>> {
    let manifest = parse(yaml)?;
    validate(&manifest)
}

fn parse(yaml: &str) -> Result<Manifest> {
    rookery_api::load_manifest(yaml).map_err(|e| Error::Spec(format!("invalid cluster spec: {e}")))
}

fn validate(manifest: &Manifest) -> Result<Vec<String>> {
    let mut warnings: Vec<String> = manifest.warnings.iter().map(|w| w.to_string()).collect();
    match manifest.validate() {
        Ok(w) => {
            warnings.extend(w.iter().map(|w| w.to_string()));
            warnings.dedup();
            Ok(warnings)
        }
        Err(errors) => Err(Error::Spec(format!("invalid cluster spec:\n{errors}"))),
    }
}

/// Chooses, validates and stores the spec; returns what the plan works from.
pub fn load(layout: &Layout, given: Option<&str>, progress: &Progress) -> Result<DesiredCluster> {
    let stored = layout.spec();
    let manifest = match given {
        Some(yaml) => parse(yaml)?,
        None if stored.exists() => {
            let text = std::fs::read_to_string(&stored).ctx("cannot read", &stored)?;
            parse(&text)?
        }
        None => Manifest::local_default(),
    };
    for w in validate(&manifest)? {
        progress.warn("spec", w);
    }
    let yaml = manifest
        .to_yaml()
        .map_err(|e| Error::Spec(format!("cannot store the spec: {e}")))?;
    write_atomic(&stored, yaml.as_bytes(), 0o644).ctx("cannot write", &stored)?;
    Ok(rookery_core::desired::from_manifest(&manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throwaway_spec_is_valid_and_has_what_was_asked() {
        let yaml = throwaway("t", 1, 10, 1, false).unwrap();
        assert!(check(&yaml).is_ok(), "{yaml}");
        let m = parse(&yaml).unwrap();
        let d = rookery_core::from_manifest(&m);
        assert_eq!(d.osds.len(), 1);
        assert_eq!(d.pools[0].size, 1);
        assert!(d.mgr_modules.is_empty());
        let p = d.ports;
        let all = [
            p.mon_v2,
            p.mon_v1,
            p.prometheus,
            p.dashboard,
            p.csi_metrics,
            p.csi_node_metrics,
            p.csi_cephfs_metrics,
            p.csi_cephfs_node_metrics,
        ];
        assert!(all.iter().all(|p| *p > 1024), "{all:?}");
        assert!(d.filesystems.is_empty());
        let with_modules =
            rookery_core::from_manifest(&parse(&throwaway("t", 3, 10, 3, true).unwrap()).unwrap());
        assert_eq!(with_modules.mgr_modules, ["prometheus", "dashboard"]);
    }

    #[test]
    fn throwaway_with_a_filesystem_sizes_its_pools_like_the_rbd_pool() {
        let t = Throwaway {
            name: "t".into(),
            osds: 1,
            osd_gib: 10,
            pool_size: 1,
            modules: false,
            filesystem: true,
        };
        let yaml = t.yaml().unwrap();
        assert!(check(&yaml).is_ok(), "{yaml}");
        let d = rookery_core::from_manifest(&parse(&yaml).unwrap());
        let fs = &d.filesystems[0];
        assert_eq!(fs.name, "myfs");
        assert_eq!((fs.metadata_pool.size, fs.data_pools[0].size), (1, 1));
        assert_eq!(fs.mds, ["myfs-a", "myfs-b"]);
        assert!(fs.standby_replay);
    }
}
