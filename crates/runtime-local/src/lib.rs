//! The local runtime: a Ceph cluster on this host, its daemons run as
//! supervised processes from one cluster directory.
//!
//! `run::run_foreground` is the supervisor process (bring-up, then
//! supervision); `launcher` starts it in the background and follows its
//! progress; `status` and `down` work from any process.

pub mod capacity;
pub mod ceph_ops;
pub mod cephfs_mounts;
pub mod comeback;
pub mod config;
pub mod csi;
pub mod csi_report;
mod csi_up;
pub mod daemons;
pub mod down;
pub mod error;
pub mod events;
pub mod filesystem;
pub mod keys;
pub mod launcher;
pub mod layout;
pub mod lock;
pub mod mds;
pub mod mgr;
pub mod mon;
pub mod osd;
pub mod ports;
pub mod procs;
pub mod progress;
pub mod reconcile;
pub mod run;
pub mod spec;
pub mod status;
pub mod supervisor;
pub mod up;
pub mod volumes;

pub use error::{Error, Result};
pub use layout::Layout;
pub use run::{run_foreground, RunOptions};
pub use up::UpSummary;

/// Running as root (the default cluster directory depends on it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
