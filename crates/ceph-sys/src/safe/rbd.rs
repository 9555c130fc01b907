//! RBD images: creation options, pool-level calls, and an open image handle.

use std::ffi::{c_char, c_int, CStr};
use std::marker::PhantomData;
use std::ptr;

use super::{check, string_from_buf, Errno, IoCtx};
use crate::rbd::{self as ffi, rbd_image_options_t, rbd_image_spec_t, rbd_image_t};

/// Image creation options, destroyed on drop. Not shared: librbd writes back into it
/// during create.
#[derive(Debug)]
pub struct ImageOptions(rbd_image_options_t);

impl ImageOptions {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let mut opts: rbd_image_options_t = ptr::null_mut();
        // SAFETY: `opts` is a valid out-pointer; librbd always allocates.
        unsafe { ffi::rbd_image_options_create(&mut opts) };
        Self(opts)
    }

    /// Sets a numeric option (`RBD_IMAGE_OPTION_*`).
    pub fn set_u64(&mut self, option: c_int, value: u64) -> Result<(), Errno> {
        // SAFETY: the options object is live and exclusively borrowed.
        check(unsafe { ffi::rbd_image_options_set_uint64(self.0, option, value) })?;
        Ok(())
    }

    /// Sets a string option (`RBD_IMAGE_OPTION_*`).
    pub fn set_string(&mut self, option: c_int, value: &CStr) -> Result<(), Errno> {
        // SAFETY: the options object is live and exclusively borrowed; librbd copies
        // the NUL-terminated value.
        check(unsafe { ffi::rbd_image_options_set_string(self.0, option, value.as_ptr()) })?;
        Ok(())
    }
}

impl Drop for ImageOptions {
    fn drop(&mut self) {
        // SAFETY: created by rbd_image_options_create, destroyed exactly once.
        unsafe { ffi::rbd_image_options_destroy(self.0) }
    }
}

/// An image's id and name, as listed in a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    pub id: String,
    pub name: String,
}

/// Creates an image of `size` bytes.
pub fn create(io: &IoCtx, name: &CStr, size: u64, opts: &mut ImageOptions) -> Result<(), Errno> {
    // SAFETY: ioctx and options are live (librbd duplicates the ioctx internally and
    // does not change it); `name` is NUL-terminated and copied.
    check(unsafe { ffi::rbd_create4(io.raw(), name.as_ptr(), size, opts.0) })?;
    Ok(())
}

/// Clones `parent@snap` into a new image `child` (both in `io`'s pool).
pub fn clone(
    io: &IoCtx,
    parent: &CStr,
    snap: &CStr,
    child: &CStr,
    opts: &mut ImageOptions,
) -> Result<(), Errno> {
    // SAFETY: the ioctx and options are live; all names are NUL-terminated and
    // copied; librbd only reads the ioctx (used as parent and child context).
    check(unsafe {
        ffi::rbd_clone3(
            io.raw(),
            parent.as_ptr(),
            snap.as_ptr(),
            io.raw(),
            child.as_ptr(),
            opts.0,
        )
    })?;
    Ok(())
}

/// Removes an image and its data.
pub fn remove(io: &IoCtx, name: &CStr) -> Result<(), Errno> {
    // SAFETY: the ioctx is live; `name` is NUL-terminated and only read.
    check(unsafe { ffi::rbd_remove(io.raw(), name.as_ptr()) })?;
    Ok(())
}

/// Moves an image to the pool's trash, restorable for `delay_secs`.
pub fn trash_move(io: &IoCtx, name: &CStr, delay_secs: u64) -> Result<(), Errno> {
    // SAFETY: the ioctx is live; `name` is NUL-terminated and only read.
    check(unsafe { ffi::rbd_trash_move(io.raw(), name.as_ptr(), delay_secs) })?;
    Ok(())
}

/// Removes an image from the trash by id, deleting its data. `force` also removes
/// an image whose deferment time has not passed yet.
pub fn trash_remove(io: &IoCtx, id: &CStr, force: bool) -> Result<(), Errno> {
    // SAFETY: the ioctx is live; `id` is NUL-terminated and only read.
    check(unsafe { ffi::rbd_trash_remove(io.raw(), id.as_ptr(), force) })?;
    Ok(())
}

/// Lists the trash of the ioctx's pool and namespace as (id, name) pairs.
pub fn trash_list(io: &IoCtx) -> Result<Vec<ImageSpec>, Errno> {
    let mut capacity = 16;
    loop {
        let mut entries: Vec<ffi::rbd_trash_image_info_t> = Vec::with_capacity(capacity);
        let mut count = capacity;
        // SAFETY: `entries` has room for `count` entries (a dangling but non-null and
        // aligned pointer when empty); librbd fills at most `count`, or fails with
        // ERANGE and the needed count without touching the entries.
        let ret = unsafe { ffi::rbd_trash_list(io.raw(), entries.as_mut_ptr(), &mut count) };
        if ret == -libc::ERANGE && count > capacity {
            capacity = count;
            continue;
        }
        check(ret)?;
        // SAFETY: on success librbd initialized the first `count` (<= capacity) entries.
        unsafe { entries.set_len(count.min(capacity)) };
        let images = entries
            .iter()
            .map(|e| ImageSpec {
                // SAFETY: librbd strdup'ed both strings (non-null, NUL-terminated).
                id: unsafe { c_string(e.id) },
                // SAFETY: as above.
                name: unsafe { c_string(e.name) },
            })
            .collect();
        // SAFETY: frees the strings of the `entries.len()` initialized entries once.
        unsafe { ffi::rbd_trash_list_cleanup(entries.as_mut_ptr(), entries.len()) };
        return Ok(images);
    }
}

/// Lists the images of the ioctx's pool and namespace.
pub fn list(io: &IoCtx) -> Result<Vec<ImageSpec>, Errno> {
    let mut capacity = 64;
    loop {
        let mut specs: Vec<rbd_image_spec_t> = Vec::with_capacity(capacity);
        let mut count = capacity;
        // SAFETY: `specs` has room for `count` entries (a dangling but non-null and
        // aligned pointer when empty); librbd zeroes and fills at most `count`.
        let ret = unsafe { ffi::rbd_list2(io.raw(), specs.as_mut_ptr(), &mut count) };
        if ret == -libc::ERANGE && count > capacity {
            // Too small: `count` now holds the needed size; nothing was allocated.
            capacity = count;
            continue;
        }
        check(ret)?;
        // SAFETY: on success librbd initialized the first `count` (<= capacity) entries.
        unsafe { specs.set_len(count.min(capacity)) };
        let images = specs
            .iter()
            .map(|s| ImageSpec {
                // SAFETY: librbd strdup'ed both strings (non-null, NUL-terminated).
                id: unsafe { c_string(s.id) },
                // SAFETY: as above.
                name: unsafe { c_string(s.name) },
            })
            .collect();
        // SAFETY: frees the strings of the `specs.len()` initialized entries once.
        unsafe { ffi::rbd_image_spec_list_cleanup(specs.as_mut_ptr(), specs.len()) };
        return Ok(images);
    }
}

/// Size and layout of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageStat {
    pub size: u64,
    pub obj_size: u64,
    pub num_objs: u64,
    pub order: i32,
}

/// An open image, closed on drop. Borrows the ioctx it was opened with so that
/// cluster cannot shut down under it. Deliberately neither Send nor Sync: it lives
/// inside one blocking call.
#[derive(Debug)]
pub struct Image<'io> {
    handle: rbd_image_t,
    _io: PhantomData<&'io IoCtx>,
}

impl<'io> Image<'io> {
    /// Opens the image for reading and writing.
    pub fn open(io: &'io IoCtx, name: &CStr) -> Result<Self, Errno> {
        let mut handle: rbd_image_t = ptr::null_mut();
        // SAFETY: the ioctx is live; `name` is NUL-terminated; a NULL snapshot name
        // opens the head; `handle` is a valid out-pointer.
        check(unsafe { ffi::rbd_open(io.raw(), name.as_ptr(), &mut handle, ptr::null()) })?;
        Ok(Self {
            handle,
            _io: PhantomData,
        })
    }

    /// Opens the image read-only (no header watch for writes, no lock).
    pub fn open_read_only(io: &'io IoCtx, name: &CStr) -> Result<Self, Errno> {
        let mut handle: rbd_image_t = ptr::null_mut();
        // SAFETY: as in `open`.
        check(unsafe {
            ffi::rbd_open_read_only(io.raw(), name.as_ptr(), &mut handle, ptr::null())
        })?;
        Ok(Self {
            handle,
            _io: PhantomData,
        })
    }

    /// Grows or shrinks the image to `size` bytes.
    pub fn resize(&mut self, size: u64) -> Result<(), Errno> {
        // SAFETY: the image is open and exclusively borrowed.
        check(unsafe { ffi::rbd_resize(self.handle, size) })?;
        Ok(())
    }

    pub fn stat(&self) -> Result<ImageStat, Errno> {
        // SAFETY: rbd_image_info_t is plain data; all-zero is a valid value.
        let mut info: ffi::rbd_image_info_t = unsafe { std::mem::zeroed() };
        // SAFETY: the image is open; `info` is a valid, correctly sized out-struct.
        check(unsafe { ffi::rbd_stat(self.handle, &mut info, std::mem::size_of_val(&info)) })?;
        Ok(ImageStat {
            size: info.size,
            obj_size: info.obj_size,
            num_objs: info.num_objs,
            order: info.order,
        })
    }

    /// The image id (format 2 images).
    pub fn id(&self) -> Result<String, Errno> {
        let mut buf: [c_char; 128] = [0; 128];
        // SAFETY: the image is open; librbd writes at most `buf.len()` bytes, NUL
        // included, or fails with ERANGE.
        check(unsafe { ffi::rbd_get_id(self.handle, buf.as_mut_ptr(), buf.len()) })?;
        Ok(string_from_buf(&buf))
    }

    /// The prefix of the image's data objects, e.g. `rbd_data.<id>`.
    pub fn block_name_prefix(&self) -> Result<String, Errno> {
        let mut buf: [c_char; 128] = [0; 128];
        // SAFETY: as in `id`.
        check(unsafe { ffi::rbd_get_block_name_prefix(self.handle, buf.as_mut_ptr(), buf.len()) })?;
        Ok(string_from_buf(&buf))
    }

    /// The image's feature bits (`RBD_FEATURE_*`).
    pub fn features(&self) -> Result<u64, Errno> {
        let mut features = 0u64;
        // SAFETY: the image is open; `features` is a valid out-pointer.
        check(unsafe { ffi::rbd_get_features(self.handle, &mut features) })?;
        Ok(features)
    }
}

impl Image<'_> {
    /// Creates snapshot `name` of the image.
    pub fn snap_create(&mut self, name: &CStr) -> Result<(), Errno> {
        // SAFETY: the image is open and exclusively borrowed; `name` is copied.
        check(unsafe { ffi::rbd_snap_create(self.handle, name.as_ptr()) })?;
        Ok(())
    }

    /// Removes snapshot `name` (with v2 clones of it, into the trash namespace).
    pub fn snap_remove(&mut self, name: &CStr) -> Result<(), Errno> {
        // SAFETY: as in `snap_create`.
        check(unsafe { ffi::rbd_snap_remove(self.handle, name.as_ptr()) })?;
        Ok(())
    }

    /// Writes `data` at byte `offset`; returns the bytes written.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        // SAFETY: the image is open and exclusively borrowed; librbd reads exactly
        // `data.len()` bytes from the slice.
        let ret = unsafe { ffi::rbd_write(self.handle, offset, data.len(), data.as_ptr().cast()) };
        ssize(ret)
    }

    /// Reads up to `len` bytes at byte `offset` (fewer at the end of the image).
    pub fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; len];
        // SAFETY: the image is open; `buf` has room for `len` bytes, librbd writes at
        // most that many.
        let ret = unsafe { ffi::rbd_read(self.handle, offset, len, buf.as_mut_ptr().cast()) };
        buf.truncate(ssize(ret)?);
        Ok(buf)
    }

    /// Copies the parent's data in, detaching the image from its parent.
    pub fn flatten(&mut self) -> Result<(), Errno> {
        // SAFETY: the image is open and exclusively borrowed.
        check(unsafe { ffi::rbd_flatten(self.handle) })?;
        Ok(())
    }

    /// When the image was created, as seconds and nanoseconds since the epoch.
    pub fn create_timestamp(&self) -> Result<(i64, i64), Errno> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: the image is open; `ts` is a valid out-pointer.
        check(unsafe { ffi::rbd_get_create_timestamp(self.handle, &mut ts) })?;
        Ok((ts.tv_sec, ts.tv_nsec))
    }
}

impl Drop for Image<'_> {
    fn drop(&mut self) {
        // SAFETY: opened by rbd_open*, closed exactly once. A close error leaves
        // nothing for us to recover.
        unsafe { ffi::rbd_close(self.handle) };
    }
}

/// A byte count or a negative errno, as librbd's read and write return them.
pub(super) fn ssize(ret: libc::ssize_t) -> Result<usize, Errno> {
    if ret < 0 {
        Err(i32::try_from(-ret).unwrap_or(libc::EIO))
    } else {
        Ok(usize::try_from(ret).unwrap_or(0))
    }
}

/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string.
unsafe fn c_string(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: per the contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}
