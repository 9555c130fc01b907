//! The CephFS driver (ceph-csi's cephfs.csi.ceph.com): volumes are subvolumes
//! of a filesystem, shared by every node that mounts them. `controller` makes
//! them (subvolumes, snapshots, clones, quotas); `node` mounts them.

pub mod controller;
pub mod node;

pub use controller::CephFsController;
