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

impl Drop for Image<'_> {
    fn drop(&mut self) {
        // SAFETY: opened by rbd_open*, closed exactly once. A close error leaves
        // nothing for us to recover.
        unsafe { ffi::rbd_close(self.handle) };
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
