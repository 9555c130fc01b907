//! The local cluster's CSI plugin: its least-privilege cephx users (as Rook
//! creates them for ceph-csi) and the supervised `rookery csi` process that
//! serves the CSI socket, and its metrics and liveness on a loopback port.

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

/// The supervised daemon's name.
pub const RBD_DAEMON: &str = "csi.rbd";

pub fn keyring_path(layout: &Layout, user: &CsiUser) -> PathBuf {
    layout
        .keys_dir()
        .join(format!("client.{}.keyring", user.id))
}

/// `unix://<dir>/run/csi-rbd.sock`.
pub fn rbd_endpoint(layout: &Layout) -> String {
    format!("unix://{}", layout.run_dir().join("csi-rbd.sock").display())
}

/// Where the RBD plugin serves Prometheus metrics (`/healthz` beside it).
pub fn rbd_metrics_url(metrics_port: u16) -> String {
    format!("http://{ADDR}:{metrics_port}/metrics")
}

/// The ports of the stored spec (those the running plugins were started
/// with), or None when there is no readable spec.
pub fn stored_ports(layout: &Layout) -> Option<rookery_core::desired::Ports> {
    let text = std::fs::read_to_string(layout.spec()).ok()?;
    let manifest = rookery_api::load_manifest(&text).ok()?;
    Some(rookery_core::desired::from_manifest(&manifest).ports)
}

/// Gets (or creates) the CSI users' keys and writes their keyrings (0600).
pub async fn ensure_users(layout: &Layout, admin: &Admin) -> Result<()> {
    for user in [RBD_PROVISIONER, RBD_NODE] {
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

/// A `rookery csi --type rbd` daemon: `role_args`, then the cluster, the user
/// and the metrics address every plugin gets. `marker` is the argument that
/// identifies this plugin's process.
fn plugin_spec(
    name: &str,
    exe: &std::path::Path,
    role_args: Vec<String>,
    user: &CsiUser,
    layout: &Layout,
    metrics_port: u16,
    marker: String,
) -> DaemonSpec {
    let mut args: Vec<String> = ["csi", "--type", "rbd"].map(String::from).to_vec();
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
    std::fs::read_to_string(rbd_node_state_dir(layout).join(MAPPER_FILE))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}
