//! A pool I/O context with a fixed namespace: whole-object and omap operations.

use std::ffi::{c_char, c_int, CStr};
use std::ptr;
use std::sync::Arc;

use libc::size_t;

use super::{check, Cluster, Errno};
use crate::rados::{self, rados_ioctx_t, rados_omap_iter_t, rados_read_op_t, rados_write_op_t};

/// Largest single `rados_read`: the C call returns the byte count as an `int`.
const MAX_READ_CHUNK: usize = 64 << 20;

/// Omap key/value pairs, keys in the order the OSD returned them (sorted).
pub type OmapEntries = Vec<(Vec<u8>, Vec<u8>)>;

/// One step of a compound write ([`IoCtx::write_op`]).
#[derive(Debug, Clone, Copy)]
pub enum WriteStep<'a> {
    /// Creates the object if it does not exist (never fails because it does).
    Create,
    /// Cancels the whole op (ECANCELED) unless omap key `key` holds exactly
    /// `value`. A key that is not set compares as the empty value.
    OmapCmpEq { key: &'a [u8], value: &'a [u8] },
    /// Sets omap keys.
    OmapSet(&'a [(&'a [u8], &'a [u8])]),
    /// Removes omap keys; keys that are not set are ignored.
    OmapRmKeys(&'a [&'a [u8]]),
}

/// An I/O context for one pool and one namespace, destroyed on drop.
///
/// The namespace is set at creation and never changed, so sharing is sound: librados
/// only forbids concurrent *changes* to an ioctx's state.
#[derive(Debug)]
pub struct IoCtx {
    handle: rados_ioctx_t,
    // Keeps the cluster connected for as long as this ioctx exists.
    _cluster: Arc<Cluster>,
}

// SAFETY: librados I/O contexts may be used from any thread; the state that is not
// synchronized (namespace, locator, snapshot) is fixed before the value is returned.
unsafe impl Send for IoCtx {}
// SAFETY: as above; all methods take `&self` and only issue operations.
unsafe impl Sync for IoCtx {}

impl IoCtx {
    /// Opens `pool`, then sets `namespace` (None: the default namespace).
    pub fn new(
        cluster: Arc<Cluster>,
        pool: &CStr,
        namespace: Option<&CStr>,
    ) -> Result<Self, Errno> {
        let mut handle: rados_ioctx_t = ptr::null_mut();
        // SAFETY: the cluster is connected; `pool` is NUL-terminated and only read;
        // `handle` is a valid out-pointer.
        check(unsafe { rados::rados_ioctx_create(cluster.raw(), pool.as_ptr(), &mut handle) })?;
        let io = Self {
            handle,
            _cluster: cluster,
        };
        if let Some(ns) = namespace {
            // SAFETY: the ioctx is live and not yet shared; librados copies `ns`.
            unsafe { rados::rados_ioctx_set_namespace(io.handle, ns.as_ptr()) };
        }
        Ok(io)
    }

    /// Makes writes to a full pool (or a full cluster) fail with ENOSPC, or
    /// EDQUOT at a pool quota, instead of waiting until there is room: the
    /// OSD runs such an op and refuses it only if it would add bytes or
    /// objects, so deletes still succeed. librbd images opened through this
    /// ioctx inherit the flag. Call before sharing the ioctx (`&mut self`).
    pub fn set_pool_full_try(&mut self) {
        // SAFETY: the ioctx is live and, through `&mut self`, not used by
        // another thread; the call only sets a flag on it.
        unsafe { rados::rados_set_pool_full_try(self.handle) }
    }

    pub(crate) fn raw(&self) -> rados_ioctx_t {
        self.handle
    }

    /// Replaces the object's data with `data`, creating it if needed.
    pub fn write_full(&self, oid: &CStr, data: &[u8]) -> Result<(), Errno> {
        // SAFETY: the ioctx is live; `oid` is NUL-terminated and `data` valid for its
        // length, both only read during the synchronous call.
        check(unsafe {
            rados::rados_write_full(self.handle, oid.as_ptr(), data.as_ptr().cast(), data.len())
        })?;
        Ok(())
    }

    /// Reads into `buf` from `offset`; returns the number of bytes read (0 past the end).
    pub fn read(&self, oid: &CStr, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let len = buf.len().min(MAX_READ_CHUNK);
        // SAFETY: the ioctx is live; `buf` is writable for `len` bytes and librados
        // writes at most `len`; `oid` is NUL-terminated.
        let n = check(unsafe {
            rados::rados_read(
                self.handle,
                oid.as_ptr(),
                buf.as_mut_ptr().cast(),
                len,
                offset,
            )
        })?;
        Ok(n as usize)
    }

    /// Reads the whole object, however it changes size meanwhile.
    pub fn read_full(&self, oid: &CStr) -> Result<Vec<u8>, Errno> {
        let (size, _) = self.stat(oid)?;
        // One byte more than the object size: a short read then proves we hit the end.
        let mut chunk = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        chunk = chunk.clamp(4096, MAX_READ_CHUNK);
        let mut data = Vec::new();
        loop {
            let offset = data.len();
            data.resize(offset + chunk, 0);
            let n = self.read(oid, &mut data[offset..], offset as u64)?;
            data.truncate(offset + n);
            if n < chunk {
                return Ok(data);
            }
        }
    }

    /// Removes the object.
    pub fn remove(&self, oid: &CStr) -> Result<(), Errno> {
        // SAFETY: the ioctx is live; `oid` is NUL-terminated and only read.
        check(unsafe { rados::rados_remove(self.handle, oid.as_ptr()) })?;
        Ok(())
    }

    /// Size in bytes and modification time (seconds since the epoch).
    pub fn stat(&self, oid: &CStr) -> Result<(u64, libc::time_t), Errno> {
        let mut size = 0u64;
        let mut mtime: libc::time_t = 0;
        // SAFETY: the ioctx is live; `oid` is NUL-terminated; both out-pointers are
        // valid locals.
        check(unsafe { rados::rados_stat(self.handle, oid.as_ptr(), &mut size, &mut mtime) })?;
        Ok((size, mtime))
    }

    /// Sets omap keys in one write op that also creates the object if missing.
    pub fn omap_set(&self, oid: &CStr, entries: &[(&[u8], &[u8])]) -> Result<(), Errno> {
        let keys: Vec<*const c_char> = entries.iter().map(|(k, _)| k.as_ptr().cast()).collect();
        let vals: Vec<*const c_char> = entries.iter().map(|(_, v)| v.as_ptr().cast()).collect();
        let key_lens: Vec<size_t> = entries.iter().map(|(k, _)| k.len()).collect();
        let val_lens: Vec<size_t> = entries.iter().map(|(_, v)| v.len()).collect();
        let op = WriteOp::new()?;
        // SAFETY: `op` is a live write op; a NULL category is allowed (unused).
        unsafe {
            rados::rados_write_op_create(op.0, rados::LIBRADOS_CREATE_IDEMPOTENT, ptr::null())
        };
        // SAFETY: the four arrays have `entries.len()` elements, each pointer valid for
        // its length; librados copies keys and values into the op before returning,
        // and all of them outlive `op` anyway.
        unsafe {
            rados::rados_write_op_omap_set2(
                op.0,
                keys.as_ptr(),
                vals.as_ptr(),
                key_lens.as_ptr(),
                val_lens.as_ptr(),
                entries.len(),
            )
        };
        op.operate(self, oid)
    }

    /// Applies `steps` to one object atomically, in one round trip: all of them or,
    /// if one fails (a comparison: ECANCELED), none.
    pub fn write_op(&self, oid: &CStr, steps: &[WriteStep<'_>]) -> Result<(), Errno> {
        let cmps = steps
            .iter()
            .filter(|s| matches!(s, WriteStep::OmapCmpEq { .. }))
            .count();
        // librados keeps a pointer to each comparison's result until `operate`:
        // a boxed slice never moves or grows.
        let mut results: Box<[c_int]> = vec![0; cmps].into_boxed_slice();
        let mut next_result = results.iter_mut();
        let op = WriteOp::new()?;
        for step in steps {
            match *step {
                WriteStep::Create => {
                    // SAFETY: `op` is a live write op; a NULL category is allowed (unused).
                    unsafe {
                        rados::rados_write_op_create(
                            op.0,
                            rados::LIBRADOS_CREATE_IDEMPOTENT,
                            ptr::null(),
                        )
                    }
                }
                WriteStep::OmapCmpEq { key, value } => {
                    let result = next_result.next().ok_or(libc::EINVAL)?;
                    // SAFETY: key and value are valid for their lengths and copied into
                    // the op before this returns; `result` points into `results`, which
                    // is neither moved nor freed before `operate` below has returned.
                    unsafe {
                        rados::rados_write_op_omap_cmp2(
                            op.0,
                            key.as_ptr().cast(),
                            rados::LIBRADOS_CMPXATTR_OP_EQ,
                            value.as_ptr().cast(),
                            key.len(),
                            value.len(),
                            result,
                        )
                    }
                }
                WriteStep::OmapSet(entries) => {
                    let keys: Vec<*const c_char> =
                        entries.iter().map(|(k, _)| k.as_ptr().cast()).collect();
                    let vals: Vec<*const c_char> =
                        entries.iter().map(|(_, v)| v.as_ptr().cast()).collect();
                    let key_lens: Vec<size_t> = entries.iter().map(|(k, _)| k.len()).collect();
                    let val_lens: Vec<size_t> = entries.iter().map(|(_, v)| v.len()).collect();
                    // SAFETY: the four arrays have `entries.len()` elements, each pointer
                    // valid for its length; librados copies keys and values into the op
                    // before returning.
                    unsafe {
                        rados::rados_write_op_omap_set2(
                            op.0,
                            keys.as_ptr(),
                            vals.as_ptr(),
                            key_lens.as_ptr(),
                            val_lens.as_ptr(),
                            entries.len(),
                        )
                    }
                }
                WriteStep::OmapRmKeys(keys) => {
                    let ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr().cast()).collect();
                    let lens: Vec<size_t> = keys.iter().map(|k| k.len()).collect();
                    // SAFETY: both arrays have `keys.len()` elements, each pointer valid
                    // for its length; librados copies the keys before returning.
                    unsafe {
                        rados::rados_write_op_omap_rm_keys2(
                            op.0,
                            ptrs.as_ptr(),
                            lens.as_ptr(),
                            keys.len(),
                        )
                    }
                }
            }
        }
        op.operate(self, oid)?;
        for r in results.iter() {
            check(*r)?;
        }
        Ok(())
    }

    /// Removes omap keys (missing keys are not an error; a missing object is ENOENT).
    pub fn omap_rm_keys(&self, oid: &CStr, keys: &[&[u8]]) -> Result<(), Errno> {
        let ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr().cast()).collect();
        let lens: Vec<size_t> = keys.iter().map(|k| k.len()).collect();
        let op = WriteOp::new()?;
        // SAFETY: both arrays have `keys.len()` elements, each pointer valid for its
        // length; librados copies the keys before returning.
        unsafe {
            rados::rados_write_op_omap_rm_keys2(op.0, ptrs.as_ptr(), lens.as_ptr(), keys.len())
        };
        op.operate(self, oid)
    }

    /// Up to `max` entries with keys after `start_after` (empty: from the start),
    /// and whether more follow.
    pub fn omap_get_vals(
        &self,
        oid: &CStr,
        start_after: &CStr,
        max: u64,
    ) -> Result<(OmapEntries, bool), Errno> {
        let op = ReadOp::new()?;
        let mut iter = OmapIter(ptr::null_mut());
        let mut more: u8 = 0;
        let mut rval: c_int = 0;
        // SAFETY: `op` is live; `start_after` is NUL-terminated and copied; a NULL
        // filter means none. librados stores `iter`, `more` and `rval` pointers and
        // writes them during `operate` below, while all three locals are still alive.
        unsafe {
            rados::rados_read_op_omap_get_vals2(
                op.0,
                start_after.as_ptr(),
                ptr::null(),
                max,
                &mut iter.0,
                &mut more,
                &mut rval,
            )
        };
        op.operate(self, oid)?;
        check(rval)?;
        Ok((iter.drain()?, more != 0))
    }

    /// The values of the given keys; absent keys are simply missing from the result.
    pub fn omap_get_vals_by_keys(&self, oid: &CStr, keys: &[&[u8]]) -> Result<OmapEntries, Errno> {
        let ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr().cast()).collect();
        let lens: Vec<size_t> = keys.iter().map(|k| k.len()).collect();
        let op = ReadOp::new()?;
        let mut iter = OmapIter(ptr::null_mut());
        let mut rval: c_int = 0;
        // SAFETY: both arrays have `keys.len()` elements, each pointer valid for its
        // length (copied by librados); `iter` and `rval` outlive `operate` below,
        // during which librados writes them.
        unsafe {
            rados::rados_read_op_omap_get_vals_by_keys2(
                op.0,
                ptrs.as_ptr(),
                keys.len(),
                lens.as_ptr(),
                &mut iter.0,
                &mut rval,
            )
        };
        op.operate(self, oid)?;
        check(rval)?;
        iter.drain()
    }
}

impl Drop for IoCtx {
    fn drop(&mut self) {
        // SAFETY: the handle came from rados_ioctx_create, is destroyed once, and the
        // cluster (held by `_cluster`) is still connected.
        unsafe { rados::rados_ioctx_destroy(self.handle) }
    }
}

/// A write op, released on drop.
struct WriteOp(rados_write_op_t);

impl WriteOp {
    fn new() -> Result<Self, Errno> {
        // SAFETY: no preconditions; the result is checked for NULL.
        let op = unsafe { rados::rados_create_write_op() };
        if op.is_null() {
            return Err(libc::ENOMEM);
        }
        Ok(Self(op))
    }

    fn operate(&self, io: &IoCtx, oid: &CStr) -> Result<(), Errno> {
        // SAFETY: op and ioctx are live; `oid` is NUL-terminated; a NULL mtime means
        // "now". The call is synchronous, so every buffer the op refers to is alive.
        check(unsafe {
            rados::rados_write_op_operate(self.0, io.handle, oid.as_ptr(), ptr::null_mut(), 0)
        })?;
        Ok(())
    }
}

impl Drop for WriteOp {
    fn drop(&mut self) {
        // SAFETY: created by rados_create_write_op, released exactly once.
        unsafe { rados::rados_release_write_op(self.0) }
    }
}

/// A read op, released on drop.
struct ReadOp(rados_read_op_t);

impl ReadOp {
    fn new() -> Result<Self, Errno> {
        // SAFETY: no preconditions; the result is checked for NULL.
        let op = unsafe { rados::rados_create_read_op() };
        if op.is_null() {
            return Err(libc::ENOMEM);
        }
        Ok(Self(op))
    }

    fn operate(&self, io: &IoCtx, oid: &CStr) -> Result<(), Errno> {
        // SAFETY: op and ioctx are live; `oid` is NUL-terminated. The call is
        // synchronous; the out-pointers registered on the op belong to the caller's
        // frame, which outlives this call.
        check(unsafe { rados::rados_read_op_operate(self.0, io.handle, oid.as_ptr(), 0) })?;
        Ok(())
    }
}

impl Drop for ReadOp {
    fn drop(&mut self) {
        // SAFETY: created by rados_create_read_op, released exactly once.
        unsafe { rados::rados_release_read_op(self.0) }
    }
}

/// An omap iterator filled by a read op, freed on drop. Declared after its `ReadOp`,
/// so it is dropped first.
struct OmapIter(rados_omap_iter_t);

impl OmapIter {
    /// Copies every entry out. Only call after the read op succeeded: before that the
    /// iterator is not positioned.
    fn drain(&self) -> Result<OmapEntries, Errno> {
        let mut entries = Vec::new();
        loop {
            let (mut key, mut val): (*mut c_char, *mut c_char) = (ptr::null_mut(), ptr::null_mut());
            let (mut key_len, mut val_len): (size_t, size_t) = (0, 0);
            // SAFETY: the iterator is live and was positioned by a successful operate;
            // all four out-pointers are valid locals.
            check(unsafe {
                rados::rados_omap_get_next2(self.0, &mut key, &mut val, &mut key_len, &mut val_len)
            })?;
            if key.is_null() {
                return Ok(entries);
            }
            // SAFETY: librados returned pointers into the iterator's current entry,
            // valid for the reported lengths until the next call; we copy them now.
            // An empty value may come back as NULL.
            let (k, v) = unsafe { (copy_bytes(key, key_len), copy_bytes(val, val_len)) };
            entries.push((k, v));
        }
    }
}

impl Drop for OmapIter {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the iterator was allocated by the read op setup and is freed
            // exactly once, whether or not the op ran.
            unsafe { rados::rados_omap_get_end(self.0) }
        }
    }
}

/// # Safety
/// `ptr` must be NULL or valid for reads of `len` bytes.
unsafe fn copy_bytes(ptr: *const c_char, len: size_t) -> Vec<u8> {
    if ptr.is_null() || len == 0 {
        return Vec::new();
    }
    // SAFETY: per the contract.
    unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }.to_vec()
}
