//! Which disks of this host may become OSDs, and why the others may not.
//!
//! - [`inventory`]: the block devices, from sysfs, udev (when it runs) and the
//!   devices' own first bytes ([`probe`]), plus mounts ([`mounts`]).
//! - [`rules`]: `spec.storage`'s selection applied to one device: use it, or the
//!   reasons not to, each a sentence for people.
//! - [`backing`]: which loop devices must not even be read (FUSE, network or
//!   invisible backing files).
//! - [`watch`]: hot-plug and change detection by polling, debounced.
//!
//! Only reads: nothing here writes to a device.

pub mod backing;
#[cfg(test)]
mod fixtures;
pub mod inventory;
pub mod mounts;
pub mod probe;
pub mod rules;
pub mod udev;
pub mod watch;

pub use inventory::{scan, Device, DeviceKind, Roots};
pub use rules::{Selection, Verdict, DEFAULT_MIN_SIZE};
pub use watch::{Debouncer, Event};

use std::path::{Path, PathBuf};

/// What went wrong while discovering devices.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path} (discovery needs /sys and /proc: run on the host, or mount them into the container)")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{field} {pattern:?} is not a valid regular expression (write one like ^sd[b-d]$)")]
    Regex {
        field: &'static str,
        pattern: String,
        #[source]
        source: regex::Error,
    },
}

impl Error {
    fn read(path: &Path, source: std::io::Error) -> Self {
        Error::Read {
            path: path.to_owned(),
            source,
        }
    }
}
