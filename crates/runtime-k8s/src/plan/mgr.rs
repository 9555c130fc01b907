//! The mgrs: one Deployment per mgr (`rook-ceph-mgr-a`, `-b`) once its key
//! exists, the Services `rook-ceph-mgr` (prometheus, 9283) and
//! `rook-ceph-mgr-dashboard` (8443), both pointing at the active mgr, and
//! the mgr modules the spec enables.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ContainerPort, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use rookery_api::CephCluster;
use rookery_core::plan::mon_ids as letter_ids;

use super::input::{CephObserved, Owned};
use super::meta::{daemon_labels, selector_labels};
use super::mon::Keys;
use super::object::Object;
use super::ops::{CephOp, KeyFormat, KeySecret};
use super::pod::{self, Runtime};

/// The prometheus module's port.
pub const METRICS_PORT: i32 = 9283;
/// The metrics Service (Rook's name).
pub const METRICS_SERVICE: &str = "rook-ceph-mgr";
/// The dashboard Service (Rook's name).
pub const DASHBOARD_SERVICE: &str = "rook-ceph-mgr-dashboard";

/// `rook-ceph-mgr-<id>`.
pub fn mgr_name(id: &str) -> String {
    format!("rook-ceph-mgr-{id}")
}

/// The Secret holding a daemon's keyring: `rook-ceph-<daemon>-keyring`.
pub fn keyring_secret(daemon: &str) -> String {
    format!("rook-ceph-{daemon}-keyring")
}

/// The mgrs' objects and Ceph operations.
pub fn plan_mgrs(
    rt: &Runtime,
    cluster: &CephCluster,
    keys: &Keys,
    owned: &Owned,
    ceph: Option<&CephObserved>,
) -> (Vec<Object>, Vec<CephOp>) {
    let spec = &cluster.spec;
    let ids = letter_ids(spec.mgr.count);
    let mut objects = Vec::new();
    let mut ops = Vec::new();
    for id in &ids {
        let secret = keyring_secret(&format!("mgr-{id}"));
        if owned.secret(&secret).is_some() {
            objects.push(deployment(rt, keys, id, spec.dashboard.port()));
        } else if ceph.is_some() {
            ops.push(CephOp::AuthGetOrCreate {
                entity: format!("mgr.{id}"),
                caps: caps(&[
                    ("mds", "allow *"),
                    ("mon", "allow profile mgr"),
                    ("osd", "allow *"),
                ]),
                secret: KeySecret {
                    name: secret,
                    format: KeyFormat::Keyring,
                },
            });
        }
    }
    // The Services follow the active mgr; before Ceph says which, the one
    // they already point at, else the first.
    let current = owned.service(METRICS_SERVICE).and_then(|s| {
        s.spec
            .as_ref()?
            .selector
            .as_ref()?
            .get("ceph_daemon_id")
            .cloned()
    });
    let active = ceph
        .and_then(|c| c.active_mgr.clone())
        .or(current)
        .unwrap_or_else(|| ids[0].clone());
    objects.push(service(
        rt,
        METRICS_SERVICE,
        &active,
        "http-metrics",
        METRICS_PORT,
    ));
    if spec.dashboard.enabled {
        let name = if spec.dashboard.ssl {
            "https-dashboard"
        } else {
            "http-dashboard"
        };
        let port = i32::try_from(spec.dashboard.port()).unwrap_or(8443);
        objects.push(service(rt, DASHBOARD_SERVICE, &active, name, port));
    }
    if let Some(ceph) = ceph {
        for module in spec.mgr_modules_enabled() {
            if !ceph.mgr_modules.contains(&module) {
                ops.push(CephOp::MgrModuleEnable { module });
            }
        }
    }
    (objects, ops)
}

/// `(type, cap)` pairs as owned strings.
pub fn caps(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn service(rt: &Runtime, name: &str, active: &str, port_name: &str, port: i32) -> Object {
    let mut labels = BTreeMap::from([
        ("app".to_owned(), "rook-ceph-mgr".to_owned()),
        ("rook_cluster".to_owned(), rt.owner.namespace.clone()),
    ]);
    let meta = rt.owner.meta(name, labels.clone());
    labels.insert("ceph_daemon_id".into(), active.into());
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(labels),
            ports: Some(vec![ServicePort {
                name: Some(port_name.into()),
                port,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::Int(port)),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
    .into()
}

fn deployment(rt: &Runtime, keys: &Keys, id: &str, dashboard_port: u32) -> Object {
    let (volumes, mounts) = pod::split(vec![
        pod::keyring(&keyring_secret(&format!("mgr-{id}"))),
        pod::scratch_dir(&format!("/var/lib/ceph/mgr/ceph-{id}")),
    ]);
    let mut mgr = rt.container("mgr", &["ceph-mgr"], rt.daemon_args(&keys.fsid, id));
    mgr.volume_mounts = Some(mounts);
    let port = |name: &str, p: i32| ContainerPort {
        name: Some(name.into()),
        container_port: p,
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    };
    mgr.ports = Some(vec![
        port("mgr", 6800),
        port("http-metrics", METRICS_PORT),
        port("dashboard", i32::try_from(dashboard_port).unwrap_or(8443)),
    ]);
    let pod = rt.pod(Vec::new(), vec![mgr], volumes, None);
    rt.deployment(
        &mgr_name(id),
        daemon_labels(&rt.owner, "mgr", id),
        selector_labels(&rt.owner, "mgr", id),
        pod,
        1,
    )
    .into()
}
