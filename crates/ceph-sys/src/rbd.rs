//! librbd declarations (Pacific, `rbd/librbd.h`), only the subset rookery uses.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int};

use libc::size_t;

use crate::rados::rados_ioctx_t;

/// Open image handle (`rbd_image_t`).
pub type rbd_image_t = *mut std::ffi::c_void;
/// Image creation options (`rbd_image_options_t`).
pub type rbd_image_options_t = *mut std::ffi::c_void;

pub const RBD_MAX_IMAGE_NAME_SIZE: usize = 96;
pub const RBD_MAX_BLOCK_NAME_SIZE: usize = 24;

// Option names for `rbd_image_options_set_*` (the anonymous enum in librbd.h).
pub const RBD_IMAGE_OPTION_FORMAT: c_int = 0;
pub const RBD_IMAGE_OPTION_FEATURES: c_int = 1;
pub const RBD_IMAGE_OPTION_ORDER: c_int = 2;
pub const RBD_IMAGE_OPTION_STRIPE_UNIT: c_int = 3;
pub const RBD_IMAGE_OPTION_STRIPE_COUNT: c_int = 4;
pub const RBD_IMAGE_OPTION_DATA_POOL: c_int = 10;
pub const RBD_IMAGE_OPTION_CLONE_FORMAT: c_int = 12;

// Feature bits (`rbd/features.h`).
pub const RBD_FEATURE_LAYERING: u64 = 1 << 0;
pub const RBD_FEATURE_STRIPINGV2: u64 = 1 << 1;
pub const RBD_FEATURE_EXCLUSIVE_LOCK: u64 = 1 << 2;
pub const RBD_FEATURE_OBJECT_MAP: u64 = 1 << 3;
pub const RBD_FEATURE_FAST_DIFF: u64 = 1 << 4;
pub const RBD_FEATURE_DEEP_FLATTEN: u64 = 1 << 5;
pub const RBD_FEATURE_JOURNALING: u64 = 1 << 6;
pub const RBD_FEATURE_DATA_POOL: u64 = 1 << 7;

/// `rbd_image_spec_t`: both strings are malloc'ed by librbd, freed by
/// `rbd_image_spec_list_cleanup`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rbd_image_spec_t {
    pub id: *mut c_char,
    pub name: *mut c_char,
}

/// `rbd_image_info_t` (the prefix and parent fields are deprecated but part of the layout).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rbd_image_info_t {
    pub size: u64,
    pub obj_size: u64,
    pub num_objs: u64,
    pub order: c_int,
    pub block_name_prefix: [c_char; RBD_MAX_BLOCK_NAME_SIZE],
    pub parent_pool: i64,
    pub parent_name: [c_char; RBD_MAX_IMAGE_NAME_SIZE],
}

/// `rbd_trash_image_info_t`: `id` and `name` are malloc'ed by librbd, freed by
/// `rbd_trash_list_cleanup`. `source` is the `rbd_trash_image_source_t` enum.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rbd_trash_image_info_t {
    pub id: *mut c_char,
    pub name: *mut c_char,
    pub source: c_int,
    pub deletion_time: libc::time_t,
    pub deferment_end_time: libc::time_t,
}

// LP64: 2*8 + 4 (+4 padding) + 2*8.
const _: () = assert!(std::mem::size_of::<rbd_trash_image_info_t>() == 40);

// The layout must match the C struct on LP64: 3*8 + 4 + 24 (+4 padding) + 8 + 96.
const _: () = assert!(std::mem::size_of::<rbd_image_info_t>() == 160);

extern "C" {
    pub fn rbd_image_options_create(opts: *mut rbd_image_options_t);
    pub fn rbd_image_options_destroy(opts: rbd_image_options_t);
    pub fn rbd_image_options_set_string(
        opts: rbd_image_options_t,
        optname: c_int,
        optval: *const c_char,
    ) -> c_int;
    pub fn rbd_image_options_set_uint64(
        opts: rbd_image_options_t,
        optname: c_int,
        optval: u64,
    ) -> c_int;

    pub fn rbd_image_spec_list_cleanup(images: *mut rbd_image_spec_t, num_images: size_t);
    pub fn rbd_list2(
        io: rados_ioctx_t,
        images: *mut rbd_image_spec_t,
        max_images: *mut size_t,
    ) -> c_int;

    pub fn rbd_create4(
        io: rados_ioctx_t,
        name: *const c_char,
        size: u64,
        opts: rbd_image_options_t,
    ) -> c_int;
    pub fn rbd_remove(io: rados_ioctx_t, name: *const c_char) -> c_int;
    pub fn rbd_clone3(
        p_ioctx: rados_ioctx_t,
        p_name: *const c_char,
        p_snapname: *const c_char,
        c_ioctx: rados_ioctx_t,
        c_name: *const c_char,
        c_opts: rbd_image_options_t,
    ) -> c_int;
    pub fn rbd_trash_move(io: rados_ioctx_t, name: *const c_char, delay: u64) -> c_int;
    pub fn rbd_trash_list(
        io: rados_ioctx_t,
        trash_entries: *mut rbd_trash_image_info_t,
        num_entries: *mut size_t,
    ) -> c_int;
    pub fn rbd_trash_list_cleanup(trash_entries: *mut rbd_trash_image_info_t, num_entries: size_t);
    pub fn rbd_trash_remove(io: rados_ioctx_t, id: *const c_char, force: bool) -> c_int;

    pub fn rbd_open(
        io: rados_ioctx_t,
        name: *const c_char,
        image: *mut rbd_image_t,
        snap_name: *const c_char,
    ) -> c_int;
    pub fn rbd_open_read_only(
        io: rados_ioctx_t,
        name: *const c_char,
        image: *mut rbd_image_t,
        snap_name: *const c_char,
    ) -> c_int;
    pub fn rbd_close(image: rbd_image_t) -> c_int;
    pub fn rbd_resize(image: rbd_image_t, size: u64) -> c_int;
    pub fn rbd_stat(image: rbd_image_t, info: *mut rbd_image_info_t, infosize: size_t) -> c_int;
    pub fn rbd_get_id(image: rbd_image_t, id: *mut c_char, id_len: size_t) -> c_int;
    pub fn rbd_get_block_name_prefix(
        image: rbd_image_t,
        prefix: *mut c_char,
        prefix_len: size_t,
    ) -> c_int;
    pub fn rbd_get_features(image: rbd_image_t, features: *mut u64) -> c_int;
    pub fn rbd_snap_create(image: rbd_image_t, snapname: *const c_char) -> c_int;
    pub fn rbd_snap_remove(image: rbd_image_t, snapname: *const c_char) -> c_int;
    pub fn rbd_flatten(image: rbd_image_t) -> c_int;
    pub fn rbd_read(image: rbd_image_t, ofs: u64, len: size_t, buf: *mut c_char) -> libc::ssize_t;
    pub fn rbd_write(
        image: rbd_image_t,
        ofs: u64,
        len: size_t,
        buf: *const c_char,
    ) -> libc::ssize_t;
    pub fn rbd_write_zeroes(
        image: rbd_image_t,
        ofs: u64,
        len: size_t,
        zero_flags: c_int,
        op_flags: c_int,
    ) -> libc::ssize_t;
    pub fn rbd_flush(image: rbd_image_t) -> c_int;
    pub fn rbd_get_size(image: rbd_image_t, size: *mut u64) -> c_int;
    pub fn rbd_get_create_timestamp(image: rbd_image_t, timestamp: *mut libc::timespec) -> c_int;
}
