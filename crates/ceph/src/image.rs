//! An RBD image held open for block I/O by a long-lived server (the FUSE image
//! server), from plain threads: its calls block and return errno values, with
//! no allocation on the data path.

use std::sync::Arc;

use rookery_ceph_sys::safe::SharedImage;

use crate::blocking::{c_name, run};
use crate::error::{Error, Result};
use crate::ioctx::IoCtx;

/// An open image, shareable between threads; closed on drop.
#[derive(Debug, Clone)]
pub struct BlockImage {
    inner: Arc<SharedImage>,
    // The ioctx keeps the cluster connection alive as long as the image.
    _io: IoCtx,
}

impl BlockImage {
    /// Opens image `name` of the ioctx's pool for reading and writing. The
    /// ioctx's pool-full-try setting carries over to the image's data path:
    /// a write that needs room in a full pool fails with ENOSPC.
    pub async fn open(io: &IoCtx, name: &str) -> Result<Self> {
        let c_image = c_name("image name", name)?;
        let op = format!("rbd open of image '{name}' {}", io.location());
        let raw = io.raw();
        let image = run(|| op.clone(), {
            let op = op.clone();
            move || SharedImage::open(raw, &c_image).map_err(|e| Error::ceph(op, e))
        })
        .await?;
        Ok(Self {
            inner: Arc::new(image),
            _io: io.clone(),
        })
    }

    /// The image's size in bytes (follows resizes made elsewhere).
    pub fn size(&self) -> Result<u64, i32> {
        self.inner.size()
    }

    /// Reads into `buf` from `offset`; returns the bytes read.
    pub fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<usize, i32> {
        self.inner.read_into(offset, buf)
    }

    /// Writes `data` at `offset`; returns the bytes written.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<usize, i32> {
        self.inner.write(offset, data)
    }

    /// Zeroes a byte range, deallocating whole objects.
    pub fn write_zeroes(&self, offset: u64, len: usize) -> Result<(), i32> {
        self.inner.write_zeroes(offset, len)
    }

    /// Makes every acknowledged write stable in the cluster.
    pub fn flush(&self) -> Result<(), i32> {
        self.inner.flush()
    }
}
