//! The local cluster's CSI plugins: their least-privilege cephx users (as Rook
//! creates them for ceph-csi) and the supervised `rookery csi` processes that
//! serve the CSI sockets, with metrics and liveness on loopback ports. RBD
//! always runs; CephFS (controller and node) when the cluster has a filesystem.

use std::path::PathBuf;

use crate::ceph_ops::Admin;
use crate::config::ADDR;
use crate::error::{IoContext, Result};
use crate::keys::{render_keyring, KeyringEntry};
use crate::layout::{write_atomic, Layout};
use crate::supervisor::DaemonSpec;

/// A cephx user of the CSI plugins and its caps.
#[derive(Debug, Clone, Copy)]
pub struct CsiUser {
    /// Without `client.`.
    pub id: &'static str,
    pub caps: &'static [(&'static str, &'static str)],
}

/// Creates and deletes images and reads pool usage (Rook's caps for it).
pub const RBD_PROVISIONER: CsiUser = CsiUser {
    id: "csi-rbd-provisioner",
    caps: &[
        ("mon", "profile rbd"),
        ("mgr", "allow rw"),
        ("osd", "profile rbd"),
    ],
};

/// Maps images on a node: no mgr access, no pool administration.
pub const RBD_NODE: CsiUser = CsiUser {
    id: "csi-rbd-node",
    caps: &[("mon", "profile rbd"), ("osd", "profile rbd")],
};

/// Creates subvolumes and snapshots through the mgr `volumes` module and
/// reads the journal in the metadata pool (Rook's caps for it).
pub const CEPHFS_PROVISIONER: CsiUser = CsiUser {
    id: "csi-cephfs-provisioner",
    caps: &[
        ("mon", "allow r"),
        ("mgr", "allow rw"),
        ("osd", "allow rw tag cephfs metadata=*"),
    ],
};

/// Mounts volumes on a node: file data and metadata through the MDS.
pub const CEPHFS_NODE: CsiUser = CsiUser {
    id: "csi-cephfs-node",
    caps: &[
        ("mon", "allow r"),
        ("mgr", "allow rw"),
        ("osd", "allow rw tag cephfs *=*"),
        ("mds", "allow rw"),
    ],
};

/// The supervised daemon's name.
pub const RBD_DAEMON: &str = "csi.rbd";

/// The CSI drivers the local runtime runs, as `rookery csi --type` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Rbd,
    CephFs,
}

impl Driver {
    /// `rookery csi --type`.
    pub fn type_arg(self) -> &'static str {
        match self {
            Self::Rbd => "rbd",
            Self::CephFs => "cephfs",
        }
    }

    /// The CSI driver name (keys of status' and `up`'s CSI maps).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rbd => "rbd.csi.ceph.com",
            Self::CephFs => "cephfs.csi.ceph.com",
        }
    }
}

pub fn keyring_path(layout: &Layout, user: &CsiUser) -> PathBuf {
    layout
        .keys_dir()
        .join(format!("client.{}.keyring", user.id))
}

/// `unix://<dir>/run/csi-rbd.sock`.
pub fn rbd_endpoint(layout: &Layout) -> String {
    format!("unix://{}", layout.run_dir().join("csi-rbd.sock").display())
}

/// Where a plugin with metrics on `metrics_port` serves Prometheus metrics
/// (`/healthz` beside it).
pub fn metrics_url(metrics_port: u16) -> String {
    format!("http://{ADDR}:{metrics_port}/metrics")
}

/// The ports of the stored spec (those the running plugins were started
/// with), or None when there is no readable spec.
pub fn stored_ports(layout: &Layout) -> Option<rookery_core::desired::Ports> {
    let text = std::fs::read_to_string(layout.spec()).ok()?;
    let manifest = rookery_api::load_manifest(&text).ok()?;
    Some(rookery_core::desired::from_manifest(&manifest).ports)
}

/// Gets (or creates) the CSI users' keys and writes their keyrings (0600):
/// the RBD users, and the CephFS users when `cephfs`.
pub async fn ensure_users(layout: &Layout, admin: &Admin, cephfs: bool) -> Result<()> {
    let mut users = vec![RBD_PROVISIONER, RBD_NODE];
    if cephfs {
        users.extend([CEPHFS_PROVISIONER, CEPHFS_NODE]);
    }
    for user in users {
        let entity = format!("client.{}", user.id);
        let key = admin.auth_get_or_create(&entity, user.caps).await?;
        let path = keyring_path(layout, &user);
        let text = render_keyring(&[KeyringEntry {
            entity,
            key,
            caps: vec![],
        }]);
        write_atomic(&path, text.as_bytes(), 0o600).ctx("cannot write keyring", &path)?;
    }
    Ok(())
}

/// The RBD plugin, controller role, as the provisioner user, with metrics and
/// its liveness self-probe on `metrics_port` (loopback).
pub fn rbd_spec(layout: &Layout, exe: &std::path::Path, metrics_port: u16) -> DaemonSpec {
    let conf = layout.conf().display().to_string();
    plugin_spec(
        Driver::Rbd,
        RBD_DAEMON,
        exe,
        vec![
            "--endpoint".into(),
            rbd_endpoint(layout),
            "--controller".into(),
        ],
        &RBD_PROVISIONER,
        layout,
        metrics_port,
        conf,
    )
}

/// A `rookery csi --type <driver>` daemon: `role_args`, then the cluster, the
/// user and the metrics address every plugin gets. `marker` is the argument
/// that identifies this plugin's process.
#[allow(clippy::too_many_arguments)]
fn plugin_spec(
    driver: Driver,
    name: &str,
    exe: &std::path::Path,
    role_args: Vec<String>,
    user: &CsiUser,
    layout: &Layout,
    metrics_port: u16,
    marker: String,
) -> DaemonSpec {
    let mut args: Vec<String> = ["csi", "--type", driver.type_arg()]
        .map(String::from)
        .to_vec();
    args.extend(role_args);
    args.extend([
        "--conf".into(),
        layout.conf().display().to_string(),
        "--user".into(),
        user.id.into(),
        "--keyring".into(),
        keyring_path(layout, user).display().to_string(),
        "--metrics-address".into(),
        format!("{ADDR}:{metrics_port}"),
    ]);
    DaemonSpec {
        name: name.to_string(),
        program: exe.display().to_string(),
        args,
        marker,
    }
}

/// The supervised RBD node plugin's name.
pub const RBD_NODE_DAEMON: &str = "csi.rbd-node";

/// `unix://<dir>/run/csi-rbd-node.sock`: the node plugin's socket.
pub fn rbd_node_endpoint(layout: &Layout) -> String {
    format!(
        "unix://{}",
        layout.run_dir().join("csi-rbd-node.sock").display()
    )
}

/// Where the node plugin keeps its FUSE mount points: `<dir>/csi/rbd-node`.
pub fn rbd_node_state_dir(layout: &Layout) -> PathBuf {
    layout.root().join("csi").join("rbd-node")
}

/// Where `rookery volume mount` stages volumes: `<dir>/csi/staging/<name>`.
pub fn rbd_staging_dir(layout: &Layout) -> PathBuf {
    layout.root().join("csi").join("staging")
}

/// The RBD plugin, node role (ceph-csi's csi-rbdplugin DaemonSet), as the node
/// user, with metrics and liveness on `metrics_port`. It maps with krbd where
/// the kernel has it, else rbd-fuse.
pub fn rbd_node_spec(layout: &Layout, exe: &std::path::Path, metrics_port: u16) -> DaemonSpec {
    let role = vec![
        "--endpoint".into(),
        rbd_node_endpoint(layout),
        "--node".into(),
        "--state-dir".into(),
        rbd_node_state_dir(layout).display().to_string(),
    ];
    // Its own socket: the argument that tells it from the controller plugin.
    let marker = rbd_node_endpoint(layout);
    plugin_spec(
        Driver::Rbd,
        RBD_NODE_DAEMON,
        exe,
        role,
        &RBD_NODE,
        layout,
        metrics_port,
        marker,
    )
}

/// The file in which the node plugin records the mapper it chose.
pub const MAPPER_FILE: &str = "mapper";

/// The mapper the running node plugin chose (`krbd` or `rbd-fuse`).
pub fn rbd_node_mapper(layout: &Layout) -> Option<String> {
    read_choice(&rbd_node_state_dir(layout).join(MAPPER_FILE))
}

/// A one-word file a node plugin writes at start, trimmed; None when absent.
fn read_choice(path: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The supervised CephFS plugin (controller role).
pub const CEPHFS_DAEMON: &str = "csi.cephfs";
/// The supervised CephFS node plugin.
pub const CEPHFS_NODE_DAEMON: &str = "csi.cephfs-node";

/// `unix://<dir>/run/csi-cephfs.sock`.
pub fn cephfs_endpoint(layout: &Layout) -> String {
    format!(
        "unix://{}",
        layout.run_dir().join("csi-cephfs.sock").display()
    )
}

/// `unix://<dir>/run/csi-cephfs-node.sock`.
pub fn cephfs_node_endpoint(layout: &Layout) -> String {
    format!(
        "unix://{}",
        layout.run_dir().join("csi-cephfs-node.sock").display()
    )
}

/// Where the CephFS node plugin keeps its stage records: `<dir>/csi/cephfs-node`.
pub fn cephfs_node_state_dir(layout: &Layout) -> PathBuf {
    layout.root().join("csi").join("cephfs-node")
}

/// Where `rookery volume --type fs mount` stages volumes:
/// `<dir>/csi/cephfs-staging/<name>` (apart from RBD's, as names may repeat).
pub fn cephfs_staging_dir(layout: &Layout) -> PathBuf {
    layout.root().join("csi").join("cephfs-staging")
}

/// The CephFS plugin, controller role (ceph-csi's csi-cephfsplugin
/// provisioner), as the provisioner user.
pub fn cephfs_spec(layout: &Layout, exe: &std::path::Path, metrics_port: u16) -> DaemonSpec {
    let role = vec![
        "--endpoint".into(),
        cephfs_endpoint(layout),
        "--controller".into(),
    ];
    // The socket tells it from the RBD plugins, which share the conf.
    let marker = cephfs_endpoint(layout);
    plugin_spec(
        Driver::CephFs,
        CEPHFS_DAEMON,
        exe,
        role,
        &CEPHFS_PROVISIONER,
        layout,
        metrics_port,
        marker,
    )
}

/// The CephFS plugin, node role, as the node user. It mounts with the kernel
/// client where the kernel has one, else ceph-fuse.
pub fn cephfs_node_spec(layout: &Layout, exe: &std::path::Path, metrics_port: u16) -> DaemonSpec {
    let role = vec![
        "--endpoint".into(),
        cephfs_node_endpoint(layout),
        "--node".into(),
        "--state-dir".into(),
        cephfs_node_state_dir(layout).display().to_string(),
    ];
    let marker = cephfs_node_endpoint(layout);
    plugin_spec(
        Driver::CephFs,
        CEPHFS_NODE_DAEMON,
        exe,
        role,
        &CEPHFS_NODE,
        layout,
        metrics_port,
        marker,
    )
}

/// The file in which the CephFS node plugin records the mounter it chose.
pub use rookery_csi::cephfs::node::MOUNTER_FILE;

/// The mounter the running CephFS node plugin chose (`kernel` or `fuse`).
pub fn cephfs_node_mounter(layout: &Layout) -> Option<String> {
    read_choice(&cephfs_node_state_dir(layout).join(MOUNTER_FILE))
}
