//! CSI for Ceph: the mechanisms ceph-csi has for RBD and CephFS, written
//! once and shared by both backends — the versioned volume-ID codec, the
//! name journal in RADOS omap, per-volume try-locks — and the gRPC services.

pub mod cephfs;
pub mod error;
pub mod grpc;
pub mod journal;
pub mod locks;
pub mod metrics;
pub mod node;
pub mod rbd;
pub mod request;
pub mod volume_id;
