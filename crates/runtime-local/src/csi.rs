//! The local cluster's CSI plugin: its least-privilege cephx users (as Rook
//! creates them for ceph-csi) and the supervised `rookery csi` process that
//! serves the CSI socket.

use std::path::PathBuf;

use crate::ceph_ops::Admin;
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

/// The RBD plugin, controller role, as the provisioner user.
pub fn rbd_spec(layout: &Layout, exe: &std::path::Path) -> DaemonSpec {
    let conf = layout.conf().display().to_string();
    let args = [
        "csi",
        "--type",
        "rbd",
        "--endpoint",
        &rbd_endpoint(layout),
        "--controller",
        "--conf",
        &conf,
        "--user",
        RBD_PROVISIONER.id,
        "--keyring",
        &keyring_path(layout, &RBD_PROVISIONER).display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    DaemonSpec {
        name: RBD_DAEMON.to_string(),
        program: exe.display().to_string(),
        args,
        marker: conf,
    }
}
