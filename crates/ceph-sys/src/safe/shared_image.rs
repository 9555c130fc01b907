//! An open image shared between threads, for a long-lived block server (the
//! FUSE image server): unlike [`super::Image`], which lives inside one blocking
//! call, this one is `Send + Sync` and owns a reference to its ioctx.

use std::ffi::CStr;
use std::ptr;
use std::sync::Arc;

use super::rbd::ssize;
use super::{check, Errno, IoCtx};
use crate::rbd::{self as ffi, rbd_image_t};

/// An image opened for reading and writing, closed on drop.
#[derive(Debug)]
pub struct SharedImage {
    handle: rbd_image_t,
    // Keeps the ioctx (and through it the cluster) alive until after the close.
    _io: Arc<IoCtx>,
}

// SAFETY: librbd's image handle is a heap object not tied to the opening
// thread (librbd runs its own threads on it).
unsafe impl Send for SharedImage {}
// SAFETY: librbd synchronizes concurrent I/O (read, write, discard, flush,
// get_size) on one image internally (ImageCtx locks; qemu and rbd-fuse issue
// such calls from many threads). Close needs `&mut`, i.e. no concurrent call.
unsafe impl Sync for SharedImage {}

impl SharedImage {
    /// Opens the head of image `name` for reading and writing.
    pub fn open(io: Arc<IoCtx>, name: &CStr) -> Result<Self, Errno> {
        let mut handle: rbd_image_t = ptr::null_mut();
        // SAFETY: the ioctx is live (we hold an Arc); `name` is NUL-terminated;
        // a NULL snapshot name opens the head; `handle` is a valid out-pointer.
        check(unsafe { ffi::rbd_open(io.raw(), name.as_ptr(), &mut handle, ptr::null()) })?;
        Ok(Self { handle, _io: io })
    }

    /// The image's current size in bytes (librbd follows resizes by others).
    pub fn size(&self) -> Result<u64, Errno> {
        let mut size = 0u64;
        // SAFETY: the image is open; `size` is a valid out-pointer.
        check(unsafe { ffi::rbd_get_size(self.handle, &mut size) })?;
        Ok(size)
    }

    /// Reads into `buf` from byte `offset`; returns the bytes read (fewer at
    /// the end of the image).
    pub fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: the image is open; `buf` is valid for `buf.len()` bytes and
        // librbd writes at most that many.
        let ret = unsafe { ffi::rbd_read(self.handle, offset, buf.len(), buf.as_mut_ptr().cast()) };
        ssize(ret)
    }

    /// Writes `data` at byte `offset`; returns the bytes written.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        // SAFETY: the image is open; librbd reads exactly `data.len()` bytes
        // from the slice and copies them before returning.
        let ret = unsafe { ffi::rbd_write(self.handle, offset, data.len(), data.as_ptr().cast()) };
        ssize(ret)
    }

    /// Zeroes `len` bytes from `offset`, deallocating whole objects (reads
    /// then return zeroes, unlike a discard, which may skip partial objects).
    pub fn write_zeroes(&self, offset: u64, len: usize) -> Result<(), Errno> {
        // SAFETY: the image is open; plain integer arguments (no flags: thin).
        let ret = unsafe { ffi::rbd_write_zeroes(self.handle, offset, len, 0, 0) };
        ssize(ret).map(drop)
    }

    /// Returns once every write acknowledged before is stable in the cluster.
    pub fn flush(&self) -> Result<(), Errno> {
        // SAFETY: the image is open.
        check(unsafe { ffi::rbd_flush(self.handle) })?;
        Ok(())
    }
}

impl Drop for SharedImage {
    fn drop(&mut self) {
        // SAFETY: opened by rbd_open, closed exactly once; `&mut self` means no
        // other call is running on it. A close error leaves nothing to recover.
        unsafe { ffi::rbd_close(self.handle) };
    }
}
