//! The cluster handle: configured while unshared ([`ClusterBuilder`]), then connected
//! and shared ([`Cluster`]).

use std::ffi::{c_char, c_int, CStr};
use std::ptr;

use libc::size_t;

use super::{check, string_from_buf, Errno};
use crate::rados::{self, rados_t};

/// An unconnected cluster handle. Configuration calls take `&mut self` because
/// librados does not synchronize them; the handle is shut down on drop.
#[derive(Debug)]
pub struct ClusterBuilder {
    handle: rados_t,
}

// SAFETY: the handle is a heap object not tied to the creating thread; `&mut self` on
// every configuration call means it is never used from two threads at once.
unsafe impl Send for ClusterBuilder {}

impl ClusterBuilder {
    /// Creates a handle for `name` (e.g. `client.admin`) in the cluster named `ceph`.
    pub fn new(name: &CStr) -> Result<Self, Errno> {
        let mut handle: rados_t = ptr::null_mut();
        // SAFETY: `handle` is a valid out-pointer; both strings are NUL-terminated and
        // only read during the call (librados copies them).
        check(unsafe { rados::rados_create2(&mut handle, c"ceph".as_ptr(), name.as_ptr(), 0) })?;
        Ok(Self { handle })
    }

    /// Reads a ceph.conf file.
    pub fn conf_read_file(&mut self, path: &CStr) -> Result<(), Errno> {
        // SAFETY: the handle is live and unconnected; `path` is NUL-terminated and
        // only read during the call.
        check(unsafe { rados::rados_conf_read_file(self.handle, path.as_ptr()) })?;
        Ok(())
    }

    /// Sets one configuration option.
    pub fn conf_set(&mut self, option: &CStr, value: &CStr) -> Result<(), Errno> {
        // SAFETY: the handle is live and unconnected; both strings are NUL-terminated
        // and copied by librados.
        check(unsafe { rados::rados_conf_set(self.handle, option.as_ptr(), value.as_ptr()) })?;
        Ok(())
    }

    /// Connects; on failure the handle is shut down (by drop) and the errno returned.
    pub fn connect(self) -> Result<Cluster, Errno> {
        // SAFETY: the handle is live and unconnected, and owned by `self`.
        check(unsafe { rados::rados_connect(self.handle) })?;
        let handle = self.handle;
        // Ownership moves to the Cluster: skip our Drop so it is shut down once.
        std::mem::forget(self);
        Ok(Cluster { handle })
    }
}

impl Drop for ClusterBuilder {
    fn drop(&mut self) {
        // SAFETY: the handle came from rados_create2 and is shut down exactly once;
        // rados_shutdown also frees handles that never connected.
        unsafe { rados::rados_shutdown(self.handle) }
    }
}

/// A connected cluster handle, shut down on drop. Share it behind an `Arc`: I/O
/// contexts keep it alive.
#[derive(Debug)]
pub struct Cluster {
    handle: rados_t,
}

// SAFETY: librados documents a connected `rados_t` as thread-safe; after connect we
// only call functions that do not reconfigure the handle.
unsafe impl Send for Cluster {}
// SAFETY: as above; every method takes `&self` and librados synchronizes internally.
unsafe impl Sync for Cluster {}

/// What a successful mon/mgr command returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// The reply payload (JSON when `"format": "json"` was asked for).
    pub outbuf: Vec<u8>,
    /// The human-readable status line.
    pub outs: String,
}

/// A failed mon/mgr command: the errno and Ceph's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFailure {
    pub errno: Errno,
    pub outs: String,
}

type CommandFn = unsafe extern "C" fn(
    rados_t,
    *mut *const c_char,
    size_t,
    *const c_char,
    size_t,
    *mut *mut c_char,
    *mut size_t,
    *mut *mut c_char,
    *mut size_t,
) -> c_int;

impl Cluster {
    pub(crate) fn raw(&self) -> rados_t {
        self.handle
    }

    /// The cluster fsid, as text.
    pub fn fsid(&self) -> Result<String, Errno> {
        let mut buf: [c_char; 64] = [0; 64];
        // SAFETY: the handle is connected; librados writes at most `buf.len()` bytes,
        // NUL included, or fails with ERANGE.
        check(unsafe { rados::rados_cluster_fsid(self.handle, buf.as_mut_ptr(), buf.len()) })?;
        Ok(string_from_buf(&buf))
    }

    /// The id of the pool named `name`.
    pub fn pool_lookup(&self, name: &CStr) -> Result<i64, Errno> {
        // SAFETY: the handle is connected; `name` is NUL-terminated and only read.
        let id = unsafe { rados::rados_pool_lookup(self.handle, name.as_ptr()) };
        if id < 0 {
            Err(i32::try_from(-id).unwrap_or(libc::EIO))
        } else {
            Ok(id)
        }
    }

    /// Sends one JSON command to the monitors.
    pub fn mon_command(&self, cmd: &CStr, inbuf: &[u8]) -> Result<CommandOutput, CommandFailure> {
        self.command(rados::rados_mon_command, cmd, inbuf)
    }

    /// Sends one JSON command to the active manager.
    pub fn mgr_command(&self, cmd: &CStr, inbuf: &[u8]) -> Result<CommandOutput, CommandFailure> {
        self.command(rados::rados_mgr_command, cmd, inbuf)
    }

    fn command(
        &self,
        f: CommandFn,
        cmd: &CStr,
        inbuf: &[u8],
    ) -> Result<CommandOutput, CommandFailure> {
        let mut cmds = [cmd.as_ptr()];
        let (mut outbuf, mut outbuf_len) = (ptr::null_mut(), 0);
        let (mut outs, mut outs_len) = (ptr::null_mut(), 0);
        // SAFETY: the handle is connected; `cmds` holds one NUL-terminated string and
        // `inbuf` is valid for `inbuf.len()` bytes, both only read during the call;
        // the four out-pointers are valid locals.
        let ret = unsafe {
            f(
                self.handle,
                cmds.as_mut_ptr(),
                cmds.len(),
                inbuf.as_ptr().cast(),
                inbuf.len(),
                &mut outbuf,
                &mut outbuf_len,
                &mut outs,
                &mut outs_len,
            )
        };
        // SAFETY: librados set each pointer to NULL or to a malloc'ed buffer of the
        // reported length, which we own; take_buffer frees each exactly once.
        let (outbuf, outs) =
            unsafe { (take_buffer(outbuf, outbuf_len), take_buffer(outs, outs_len)) };
        let outs = String::from_utf8_lossy(&outs).into_owned();
        match check(ret) {
            Ok(_) => Ok(CommandOutput { outbuf, outs }),
            Err(errno) => Err(CommandFailure { errno, outs }),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SAFETY: the handle is connected and this is its only owner; every IoCtx holds
        // an Arc to us, so none outlives the shutdown.
        unsafe { rados::rados_shutdown(self.handle) }
    }
}

/// Copies a librados-allocated buffer and frees it.
///
/// # Safety
/// `buf` must be NULL or a buffer of at least `len` bytes allocated by librados and
/// not yet freed; it must not be used afterwards.
unsafe fn take_buffer(buf: *mut c_char, len: size_t) -> Vec<u8> {
    if buf.is_null() {
        return Vec::new();
    }
    // SAFETY: per the contract, `buf` is valid for `len` bytes.
    let data = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) }.to_vec();
    // SAFETY: per the contract, librados allocated `buf` and it is freed only here.
    unsafe { rados::rados_buffer_free(buf) };
    data
}
