//! Making an RBD image a block device on this node. Two mappers: the kernel's
//! rbd module (krbd) where it exists, else the FUSE mapper (rookery's image
//! server) plus a loop device. The
//! plugin probes once at start; `--mapper` forces one for the plugin, and a
//! volume's `mounter` parameter (ceph-csi's StorageClass key) for one volume.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rookery_ceph::Rados;

use super::{fuse, krbd};
use crate::error::Error;

pub use crate::node::creds::Credentials;

/// Which mapper makes the block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapperKind {
    /// The kernel rbd module (ceph-csi's `mounter: rbd`).
    Krbd,
    /// rookery's FUSE image server exposing the image as a file, and a loop
    /// device over it. Named `rbd-fuse` (stage records and the `mounter`
    /// parameter keep that name) though Ceph's rbd-fuse is no longer used.
    RbdFuse,
}

impl MapperKind {
    /// The mapper this node can use: krbd if the kernel has it, else rbd-fuse.
    pub fn probe() -> Self {
        if krbd::available() {
            Self::Krbd
        } else {
            Self::RbdFuse
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Krbd => "krbd",
            Self::RbdFuse => "rbd-fuse",
        }
    }
}

impl fmt::Display for MapperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MapperKind {
    type Err = String;
    /// Accepts ceph-csi's `rbd` for the kernel mapper too.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "krbd" | "rbd" => Ok(Self::Krbd),
            "rbd-fuse" | "fuse" => Ok(Self::RbdFuse),
            "rbd-nbd" => Err("rbd-nbd is not supported by rookery; use krbd or rbd-fuse".into()),
            other => Err(format!(
                "unknown mapper {other:?}; use krbd (alias rbd) or rbd-fuse"
            )),
        }
    }
}

/// How long a device may take to show an image's new size.
const REFRESH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What to map.
#[derive(Debug, Clone, Copy)]
pub struct MapRequest<'a> {
    pub volume_id: &'a str,
    pub pool: &'a str,
    pub image: &'a str,
}

/// The mappers of one node plugin.
#[derive(Debug, Clone)]
pub(super) struct Mappers {
    pub state_dir: PathBuf,
    pub creds: Credentials,
    pub rados: Rados,
    pub default: MapperKind,
}

impl Mappers {
    /// Maps `req` with `kind`; returns the block device.
    pub async fn map(&self, kind: MapperKind, req: &MapRequest<'_>) -> Result<PathBuf, Error> {
        match kind {
            MapperKind::Krbd if !krbd::available() => Err(Error::Node {
                doing: format!("map image {}/{}", req.pool, req.image),
                errno: None,
                detail: "this kernel has no rbd module; use the rbd-fuse mapper".into(),
            }),
            MapperKind::Krbd => krbd::map(&self.rados, req, &self.creds).await,
            MapperKind::RbdFuse => fuse::map(&self.state_dir, req, &self.creds).await,
        }
    }

    /// Unmaps what [`Mappers::map`] made for `volume_id`.
    pub async fn unmap(
        &self,
        kind: MapperKind,
        volume_id: &str,
        device: &Path,
    ) -> Result<(), Error> {
        match kind {
            MapperKind::Krbd => krbd::unmap(device),
            MapperKind::RbdFuse => fuse::unmap(&self.state_dir, volume_id).await,
        }
    }

    /// After the image grew to `wanted` bytes: make the device show it; returns
    /// the device's size then (less than `wanted` if it did not get there).
    pub async fn refresh_size(
        &self,
        kind: MapperKind,
        device: &Path,
        wanted: u64,
    ) -> Result<u64, Error> {
        // The kernel client follows the image header by itself; FUSE caches the
        // file's attributes for a second, so the loop device may need a few goes.
        let start = std::time::Instant::now();
        loop {
            if kind == MapperKind::RbdFuse {
                fuse::refresh_size(device).await?;
            }
            let size = crate::node::fs::device_size(device)?;
            if size >= wanted || start.elapsed() > REFRESH_WAIT {
                return Ok(size);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Why `device` no longer works, if it does not: a loop device whose
    /// FUSE image server is gone.
    pub fn broken(&self, kind: MapperKind, device: &Path) -> Option<String> {
        match kind {
            MapperKind::Krbd => (!device.exists()).then(|| format!("{} is gone", device.display())),
            MapperKind::RbdFuse => match fuse::backing_file(device) {
                None => Some(format!("loop device {} is detached", device.display())),
                Some(file) if !fuse::file_alive(&file) => Some(format!(
                    "the FUSE image server (rookery-rbd-fuse) serving {} is gone; unstage and \
                     stage the volume again",
                    device.display()
                )),
                Some(_) => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapper_names() {
        assert_eq!("rbd".parse::<MapperKind>(), Ok(MapperKind::Krbd));
        assert_eq!("rbd-fuse".parse::<MapperKind>(), Ok(MapperKind::RbdFuse));
        assert!("rbd-nbd"
            .parse::<MapperKind>()
            .unwrap_err()
            .contains("not supported"));
        assert!("x".parse::<MapperKind>().unwrap_err().contains("use krbd"));
        assert_eq!(MapperKind::RbdFuse.to_string(), "rbd-fuse");
    }
}
