//! Rules for the `CephCluster`: daemons, mgr modules, ports, storage.

use std::collections::BTreeMap;

use super::limits::*;
use super::{Checker, FieldError, Platform};
use crate::cluster::KUBERNETES_ONLY_MGR_MODULES;
use crate::health::{parse_duration, DURATION_FORMS};
use crate::meta::{label_problem, subdomain_problem};
use crate::warnings::Report;
use crate::{CephCluster, ClusterSpec, Warning};

pub(super) fn check(
    cluster: &CephCluster,
    platform: Platform,
    errors: &mut Vec<FieldError>,
    warnings: &mut Vec<Warning>,
) {
    let mut c = Checker {
        object: cluster.object_ref(),
        platform,
        errors,
    };
    let meta = &cluster.metadata;
    if let Some(problem) = subdomain_problem(&meta.name) {
        c.error(
            "metadata.name",
            format!("{:?} is not a valid Kubernetes name: {problem}", meta.name),
        );
    }
    if let Some(ns) = &meta.namespace {
        if let Some(problem) = label_problem(ns) {
            c.error(
                "metadata.namespace",
                format!("{ns:?} is not a valid Kubernetes namespace: {problem}"),
            );
        }
    }
    let spec = &cluster.spec;
    check_daemons(spec, &mut c);
    check_mgr_modules(
        spec,
        &mut c,
        &mut Report::new(cluster.object_ref(), warnings),
    );
    if c.local() {
        check_ports(spec, &mut c);
    }
    check_storage(spec, &mut c);
    check_mon_health(spec, &mut c);
}

/// `spec.healthCheck.daemonHealth.mon` and `spec.network.firstMonAddress`.
fn check_mon_health(spec: &ClusterSpec, c: &mut Checker<'_>) {
    let mon = &spec.health_check.daemon_health.mon;
    let fields = [("interval", &mon.interval), ("timeout", &mon.timeout)];
    for (name, value) in fields {
        let Some(text) = value else { continue };
        let path = format!("spec.healthCheck.daemonHealth.mon.{name}");
        match parse_duration(text) {
            Err(problem) => c.error(&path, format!("{problem}; {DURATION_FORMS}")),
            Ok(d) if d < MIN_MON_HEALTH_DURATION => c.error(
                &path,
                format!(
                    "{text:?} is shorter than 1s; use 1s or more (Rook's default: {})",
                    if name == "interval" { "45s" } else { "10m" }
                ),
            ),
            Ok(_) => {}
        }
    }
    if !c.local() {
        return;
    }
    if let Err(problem) = spec.network.first_mon_ip() {
        c.error("spec.network.firstMonAddress", problem);
    }
}

fn check_daemons(spec: &ClusterSpec, c: &mut Checker<'_>) {
    let mons = spec.mon.count;
    match mons {
        0 => c.error(
            "spec.mon.count",
            "0 monitors cannot run a cluster; use 1, 3 or 5".into(),
        ),
        n if n > MAX_MONS => c.error(
            "spec.mon.count",
            format!("{n} is more than {MAX_MONS}; use 1, 3 or 5"),
        ),
        n if n % 2 == 0 => c.error(
            "spec.mon.count",
            format!("{n} is even; use an odd number (1, 3, 5) so the monitors can form a majority"),
        ),
        _ => {}
    }
    one_host(
        c,
        "spec.mon.allowMultiplePerNode",
        mons,
        spec.mon.allow_multiple_per_node,
        "monitors",
    );
    let mgrs = spec.mgr.count;
    match mgrs {
        0 => c.error(
            "spec.mgr.count",
            "0; the cluster needs a manager for its status and modules: use 1 or 2".into(),
        ),
        n if n > MAX_MGRS => c.error(
            "spec.mgr.count",
            format!("{n} is more than {MAX_MGRS} (one active, one standby); use 1 or 2"),
        ),
        _ => {}
    }
    one_host(
        c,
        "spec.mgr.allowMultiplePerNode",
        mgrs,
        spec.mgr.allow_multiple_per_node,
        "managers",
    );
}

/// Everything runs on this host: more than one daemon of a kind needs
/// `allowMultiplePerNode`.
fn one_host(c: &mut Checker<'_>, field: &'static str, count: u32, allow: bool, what: &str) {
    if c.local() && count > 1 && !allow {
        c.error(
            field,
            format!(
                "false, but the local runtime runs all {count} {what} on this host; set it to \
true or use count: 1"
            ),
        );
    }
}

fn check_mgr_modules(spec: &ClusterSpec, c: &mut Checker<'_>, r: &mut Report<'_>) {
    for (i, m) in spec.mgr.modules.iter().enumerate() {
        let path = format!("spec.mgr.modules[{i}]");
        let name = &m.name;
        let starts_ok = name.starts_with(|ch: char| ch.is_ascii_lowercase());
        let chars_ok = name
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if name.is_empty() {
            c.error(
                &format!("{path}.name"),
                "empty; give the module's name, e.g. pg_autoscaler".into(),
            );
        } else if !starts_ok || !chars_ok {
            c.error(
                &format!("{path}.name"),
                format!(
                    "{name:?} is not a mgr module name; those are lowercase letters, digits \
and '_' (e.g. pg_autoscaler)"
                ),
            );
        } else if m.enabled && KUBERNETES_ONLY_MGR_MODULES.contains(&name.as_str()) {
            r.advice(
                &path,
                format!(
                    "the {name:?} module works only inside Kubernetes; the local runtime does \
not enable it"
                ),
            );
        }
    }
}

/// A port range one service listens on.
struct PortUse {
    path: &'static str,
    first: u32,
    count: u32,
}

impl PortUse {
    fn last(&self) -> u32 {
        self.first + self.count.max(1) - 1
    }

    fn describe(&self) -> String {
        if self.count > 1 {
            format!(
                "ports {} to {} for {} monitors",
                self.first,
                self.last(),
                self.count
            )
        } else {
            format!("port {}", self.first)
        }
    }
}

fn check_ports(spec: &ClusterSpec, c: &mut Checker<'_>) {
    let ports = &spec.network.ports;
    // With an address per mon they all listen on the same two ports.
    let mons = if spec.network.first_mon_address.is_some() {
        1
    } else {
        spec.mon.count.clamp(1, MAX_MONS)
    };
    let mut uses = vec![
        PortUse {
            path: "spec.network.ports.monV2",
            first: ports.mon_v2,
            count: mons,
        },
        PortUse {
            path: "spec.network.ports.monV1",
            first: ports.mon_v1,
            count: mons,
        },
        // The local CSI plugins always run, so their ports are always in use.
        PortUse {
            path: "spec.network.ports.csiMetrics",
            first: ports.csi_metrics,
            count: 1,
        },
        PortUse {
            path: "spec.network.ports.csiNodeMetrics",
            first: ports.csi_node_metrics,
            count: 1,
        },
        // The CephFS plugins run only with a filesystem, but one may be added
        // to the manifest at any time: keep their ports reserved regardless.
        PortUse {
            path: "spec.network.ports.csiCephfsMetrics",
            first: ports.csi_cephfs_metrics,
            count: 1,
        },
        PortUse {
            path: "spec.network.ports.csiCephfsNodeMetrics",
            first: ports.csi_cephfs_node_metrics,
            count: 1,
        },
    ];
    if spec.mgr_modules_enabled().iter().any(|m| m == "prometheus") {
        uses.push(PortUse {
            path: "spec.network.ports.prometheus",
            first: ports.prometheus,
            count: 1,
        });
    }
    if spec.dashboard.enabled {
        uses.push(PortUse {
            path: "spec.dashboard.port",
            first: spec.dashboard.port(),
            count: 1,
        });
    }
    // Out-of-range ports are reported, then left out of the overlap check.
    uses.retain(|u| {
        if u.first == 0 || u.first > 65535 {
            c.error(u.path, format!("{} is not a port; use 1 to 65535", u.first));
            false
        } else if u.last() > 65535 {
            c.error(
                u.path,
                format!(
                    "{} leaves no room for {} monitors (they need {}); use a lower port",
                    u.first,
                    u.count,
                    u.describe()
                ),
            );
            false
        } else {
            true
        }
    });
    for (j, b) in uses.iter().enumerate() {
        if let Some(a) = uses[..j]
            .iter()
            .find(|a| a.first <= b.last() && b.first <= a.last())
        {
            c.error(
                b.path,
                format!(
                    "{} overlaps {} ({}); give each service its own port",
                    b.describe(),
                    a.path,
                    a.describe()
                ),
            );
        }
    }
}

fn check_storage(spec: &ClusterSpec, c: &mut Checker<'_>) {
    if c.local() {
        check_files(spec, c);
    }
    let storage = &spec.storage;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, d) in storage.devices.iter().enumerate() {
        let field = if d.fullpath.as_deref().is_some_and(|p| !p.is_empty()) {
            "fullpath"
        } else {
            "name"
        };
        let path = format!("spec.storage.devices[{i}].{field}");
        match d.path() {
            Err(problem) => c.error(&path, problem),
            Ok(dev) => {
                if let Some(first) = seen.get(&dev) {
                    c.error(
                        &path,
                        format!(
                            "{dev} is already listed as spec.storage.devices[{first}]; list \
each device once"
                        ),
                    );
                } else {
                    seen.insert(dev, i);
                }
            }
        }
    }
    check_ratios(spec, c);
}

/// `spec.storage.files` and the OSD count: the local runtime's OSDs.
fn check_files(spec: &ClusterSpec, c: &mut Checker<'_>) {
    let storage = &spec.storage;
    let files = &storage.files;
    if files.count > MAX_FILE_OSDS {
        c.error(
            "spec.storage.files.count",
            format!(
                "{} is more than {MAX_FILE_OSDS}; each file-backed OSD is a ceph-osd process \
on this host: use at most {MAX_FILE_OSDS}",
                files.count
            ),
        );
    }
    if files.count > 0 && files.size < MIN_FILE_SIZE {
        c.error(
            "spec.storage.files.size",
            format!(
                "{} is smaller than {MIN_FILE_SIZE}: bluestore on smaller files runs out of \
space and the OSDs abort (ENOSPC); use {MIN_FILE_SIZE} or more (the files are sparse, so \
unused space costs nothing)",
                files.size
            ),
        );
    }
    if files.size > MAX_FILE_SIZE {
        c.error(
            "spec.storage.files.size",
            format!(
                "{} is larger than {MAX_FILE_SIZE}; use at most {MAX_FILE_SIZE} per file and \
more files instead",
                files.size
            ),
        );
    }
    // With a filter, the disks are counted on the host (`up` refuses there
    // when none matches).
    if spec.osd_count() == 0 && !storage.filters_devices() {
        c.error(
            "spec.storage",
            "no OSDs: files.count is 0, no devices are listed and neither deviceFilter nor \
useAllDevices is set; set spec.storage.files.count (e.g. 3), list disks in \
spec.storage.devices, or select them with spec.storage.deviceFilter"
                .into(),
        );
    }
}

fn check_ratios(spec: &ClusterSpec, c: &mut Checker<'_>) {
    let s = &spec.storage;
    let ratios = [
        ("nearFullRatio", s.near_full_ratio),
        ("backfillFullRatio", s.backfill_full_ratio),
        ("fullRatio", s.full_ratio),
    ];
    for (name, value) in ratios {
        if let Some(v) = value {
            if !(v > 0.0 && v <= 1.0) {
                c.error(
                    &format!("spec.storage.{name}"),
                    format!("{v} is not a ratio; use a number above 0 and at most 1, e.g. 0.85"),
                );
            }
        }
    }
    for (i, (low_name, low)) in ratios.iter().enumerate() {
        for (high_name, high) in &ratios[i + 1..] {
            if let (Some(low), Some(high)) = (low, high) {
                if low > high {
                    c.error(
                        &format!("spec.storage.{low_name}"),
                        format!(
                            "{low} is above {high_name} {high}; Ceph needs nearFullRatio <= \
backfillFullRatio <= fullRatio"
                        ),
                    );
                }
            }
        }
    }
}
