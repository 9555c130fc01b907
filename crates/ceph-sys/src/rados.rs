//! librados declarations (Pacific, `rados/librados.h`), only the subset rookery uses.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uint, c_void};

use libc::{size_t, time_t};

/// Cluster handle (`rados_t`).
pub type rados_t = *mut c_void;
/// Pool I/O context (`rados_ioctx_t`).
pub type rados_ioctx_t = *mut c_void;
/// Compound write operation (`rados_write_op_t`).
pub type rados_write_op_t = *mut c_void;
/// Compound read operation (`rados_read_op_t`).
pub type rados_read_op_t = *mut c_void;
/// Omap iterator (`rados_omap_iter_t`).
pub type rados_omap_iter_t = *mut c_void;

/// `rados_write_op_create`: succeed if the object exists already.
pub const LIBRADOS_CREATE_IDEMPOTENT: c_int = 0;
/// `rados_write_op_create`: fail with EEXIST if the object exists.
pub const LIBRADOS_CREATE_EXCLUSIVE: c_int = 1;
/// No flags for `rados_*_op_operate`.
pub const LIBRADOS_OPERATION_NOFLAG: c_int = 0;
/// `rados_write_op_omap_cmp`: the stored value must equal the given one.
pub const LIBRADOS_CMPXATTR_OP_EQ: u8 = 1;

extern "C" {
    pub fn rados_create2(
        pcluster: *mut rados_t,
        clustername: *const c_char,
        name: *const c_char,
        flags: u64,
    ) -> c_int;
    pub fn rados_conf_read_file(cluster: rados_t, path: *const c_char) -> c_int;
    pub fn rados_conf_set(cluster: rados_t, option: *const c_char, value: *const c_char) -> c_int;
    pub fn rados_connect(cluster: rados_t) -> c_int;
    pub fn rados_shutdown(cluster: rados_t);
    pub fn rados_cluster_fsid(cluster: rados_t, buf: *mut c_char, len: size_t) -> c_int;

    pub fn rados_mon_command(
        cluster: rados_t,
        cmd: *mut *const c_char,
        cmdlen: size_t,
        inbuf: *const c_char,
        inbuflen: size_t,
        outbuf: *mut *mut c_char,
        outbuflen: *mut size_t,
        outs: *mut *mut c_char,
        outslen: *mut size_t,
    ) -> c_int;
    pub fn rados_mgr_command(
        cluster: rados_t,
        cmd: *mut *const c_char,
        cmdlen: size_t,
        inbuf: *const c_char,
        inbuflen: size_t,
        outbuf: *mut *mut c_char,
        outbuflen: *mut size_t,
        outs: *mut *mut c_char,
        outslen: *mut size_t,
    ) -> c_int;
    pub fn rados_buffer_free(buf: *mut c_char);

    pub fn rados_pool_lookup(cluster: rados_t, pool_name: *const c_char) -> i64;
    pub fn rados_ioctx_create(
        cluster: rados_t,
        pool_name: *const c_char,
        ioctx: *mut rados_ioctx_t,
    ) -> c_int;
    pub fn rados_ioctx_destroy(io: rados_ioctx_t);
    pub fn rados_ioctx_set_namespace(io: rados_ioctx_t, nspace: *const c_char);
    pub fn rados_set_pool_full_try(io: rados_ioctx_t);

    pub fn rados_write_full(
        io: rados_ioctx_t,
        oid: *const c_char,
        buf: *const c_char,
        len: size_t,
    ) -> c_int;
    pub fn rados_read(
        io: rados_ioctx_t,
        oid: *const c_char,
        buf: *mut c_char,
        len: size_t,
        off: u64,
    ) -> c_int;
    pub fn rados_remove(io: rados_ioctx_t, oid: *const c_char) -> c_int;
    pub fn rados_stat(
        io: rados_ioctx_t,
        o: *const c_char,
        psize: *mut u64,
        pmtime: *mut time_t,
    ) -> c_int;

    pub fn rados_create_write_op() -> rados_write_op_t;
    pub fn rados_release_write_op(write_op: rados_write_op_t);
    pub fn rados_write_op_create(
        write_op: rados_write_op_t,
        exclusive: c_int,
        category: *const c_char,
    );
    pub fn rados_write_op_omap_set2(
        write_op: rados_write_op_t,
        keys: *const *const c_char,
        vals: *const *const c_char,
        key_lens: *const size_t,
        val_lens: *const size_t,
        num: size_t,
    );
    pub fn rados_write_op_omap_cmp2(
        write_op: rados_write_op_t,
        key: *const c_char,
        comparison_operator: u8,
        val: *const c_char,
        key_len: size_t,
        val_len: size_t,
        prval: *mut c_int,
    );
    pub fn rados_write_op_omap_rm_keys2(
        write_op: rados_write_op_t,
        keys: *const *const c_char,
        key_lens: *const size_t,
        keys_len: size_t,
    );
    pub fn rados_write_op_operate(
        write_op: rados_write_op_t,
        io: rados_ioctx_t,
        oid: *const c_char,
        mtime: *mut time_t,
        flags: c_int,
    ) -> c_int;

    pub fn rados_create_read_op() -> rados_read_op_t;
    pub fn rados_release_read_op(read_op: rados_read_op_t);
    pub fn rados_read_op_omap_get_vals2(
        read_op: rados_read_op_t,
        start_after: *const c_char,
        filter_prefix: *const c_char,
        max_return: u64,
        iter: *mut rados_omap_iter_t,
        pmore: *mut u8,
        prval: *mut c_int,
    );
    pub fn rados_read_op_omap_get_vals_by_keys2(
        read_op: rados_read_op_t,
        keys: *const *const c_char,
        num_keys: size_t,
        key_lens: *const size_t,
        iter: *mut rados_omap_iter_t,
        prval: *mut c_int,
    );
    pub fn rados_read_op_operate(
        read_op: rados_read_op_t,
        io: rados_ioctx_t,
        oid: *const c_char,
        flags: c_int,
    ) -> c_int;

    pub fn rados_omap_get_next2(
        iter: rados_omap_iter_t,
        key: *mut *mut c_char,
        val: *mut *mut c_char,
        key_len: *mut size_t,
        val_len: *mut size_t,
    ) -> c_int;
    pub fn rados_omap_iter_size(iter: rados_omap_iter_t) -> c_uint;
    pub fn rados_omap_get_end(iter: rados_omap_iter_t);
}
