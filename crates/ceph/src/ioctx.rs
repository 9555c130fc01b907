//! Objects and omap in one pool and namespace.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rookery_ceph_sys::safe::{self, WriteStep};

use crate::blocking::{c_name, run};
use crate::error::{Error, Result};
use crate::rados::Rados;

/// An I/O context bound to one pool and namespace. Cheap to clone, safe to share.
#[derive(Clone)]
pub struct IoCtx {
    inner: Arc<Inner>,
}

struct Inner {
    // Declared before `_rados`: the ioctx is destroyed before the cluster reference drops.
    io: Arc<safe::IoCtx>,
    pool: String,
    namespace: Option<String>,
    _rados: Rados,
}

impl fmt::Debug for IoCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoCtx")
            .field("pool", &self.inner.pool)
            .field("namespace", &self.inner.namespace)
            .finish()
    }
}

/// Size and modification time of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectStat {
    pub size: u64,
    pub mtime: SystemTime,
}

impl IoCtx {
    pub(crate) async fn open(rados: Rados, pool: &str, namespace: Option<&str>) -> Result<Self> {
        let c_pool = c_name("pool name", pool)?;
        let c_ns = namespace.map(|ns| c_name("namespace", ns)).transpose()?;
        let op = match namespace {
            Some(ns) => format!("open of pool '{pool}' namespace '{ns}'"),
            None => format!("open of pool '{pool}'"),
        };
        let cluster = rados.cluster();
        let io = run(|| op.clone(), {
            let op = op.clone();
            move || {
                let mut io = safe::IoCtx::new(cluster, &c_pool, c_ns.as_deref())
                    .map_err(|e| Error::ceph(op, e))?;
                // librados' default parks a write to a full pool until there is
                // room, so a CSI call would hang until its deadline: fail with
                // ENOSPC instead (deletes still go through, so a full cluster
                // can be emptied). No filesystem sits on these writes, so an
                // error is always better than a wait.
                io.set_pool_full_try();
                Ok(io)
            }
        })
        .await?;
        Ok(Self {
            inner: Arc::new(Inner {
                io: Arc::new(io),
                pool: pool.to_owned(),
                namespace: namespace.map(str::to_owned),
                _rados: rados,
            }),
        })
    }

    /// The pool name.
    pub fn pool(&self) -> &str {
        &self.inner.pool
    }

    /// The namespace, None for the default one.
    pub fn namespace(&self) -> Option<&str> {
        self.inner.namespace.as_deref()
    }

    /// `in pool 'p'` or `in pool 'p' namespace 'ns'`, for error messages.
    pub(crate) fn location(&self) -> String {
        match &self.inner.namespace {
            Some(ns) => format!("in pool '{}' namespace '{ns}'", self.inner.pool),
            None => format!("in pool '{}'", self.inner.pool),
        }
    }

    pub(crate) fn raw(&self) -> Arc<safe::IoCtx> {
        Arc::clone(&self.inner.io)
    }

    /// Runs `f` on a blocking thread with the ioctx and the object name as a C string.
    async fn with_object<T, F>(&self, what: &str, obj: &str, f: F) -> Result<T>
    where
        F: FnOnce(&safe::IoCtx, &std::ffi::CStr) -> Result<T, i32> + Send + 'static,
        T: Send + 'static,
    {
        let c_obj = c_name("object name", obj)?;
        let op = format!("{what} of object '{obj}' {}", self.location());
        let io = self.raw();
        run(|| op.clone(), {
            let op = op.clone();
            move || f(&io, &c_obj).map_err(|e| Error::ceph(op, e))
        })
        .await
    }

    /// Creates the object, empty, unless it exists.
    pub async fn ensure_exists(&self, obj: &str) -> Result<()> {
        self.with_object("create", obj, |io, oid| {
            io.write_op(oid, &[WriteStep::Create])
        })
        .await
    }

    /// Replaces the object's data, creating the object if needed.
    pub async fn write_full(&self, obj: &str, data: &[u8]) -> Result<()> {
        let data = data.to_vec();
        self.with_object("write", obj, move |io, oid| io.write_full(oid, &data))
            .await
    }

    /// The whole object's data.
    pub async fn read(&self, obj: &str) -> Result<Vec<u8>> {
        self.with_object("read", obj, |io, oid| io.read_full(oid))
            .await
    }

    /// Removes the object (ENOENT if missing).
    pub async fn remove(&self, obj: &str) -> Result<()> {
        self.with_object("remove", obj, |io, oid| io.remove(oid))
            .await
    }

    /// Up to `len` bytes of the object from `offset`, in one round trip (no stat
    /// first, unlike [`Self::read`]).
    pub async fn read_at(&self, obj: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        self.with_object("read", obj, move |io, oid| {
            let mut buf = vec![0; len];
            let n = io.read(oid, &mut buf, offset)?;
            buf.truncate(n);
            Ok(buf)
        })
        .await
    }

    pub async fn stat(&self, obj: &str) -> Result<ObjectStat> {
        let (size, mtime) = self
            .with_object("stat", obj, |io, oid| io.stat(oid))
            .await?;
        let secs = u64::try_from(mtime).unwrap_or(0);
        Ok(ObjectStat {
            size,
            mtime: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        })
    }

    /// Sets omap keys, creating the object if missing, in one atomic write.
    pub async fn omap_set(&self, obj: &str, entries: &BTreeMap<String, Vec<u8>>) -> Result<()> {
        let entries: Vec<(Vec<u8>, Vec<u8>)> = entries
            .iter()
            .map(|(k, v)| (k.clone().into_bytes(), v.clone()))
            .collect();
        self.with_object("omap set", obj, move |io, oid| {
            let pairs: Vec<(&[u8], &[u8])> = entries
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_slice()))
                .collect();
            io.omap_set(oid, &pairs)
        })
        .await
    }

    /// Applies every change only if every changed key now holds its
    /// `expected` value (a key that is not set holds the empty value): one
    /// atomic write, so two writers cannot both see the old value. Creates
    /// the object when a change sets a key. Ok(false) when a comparison failed
    /// (or, with removals only, the object does not exist): nothing written.
    pub async fn omap_compare_and_write(&self, obj: &str, changes: Vec<OmapCas>) -> Result<bool> {
        let done = self
            .with_object("conditional omap write", obj, move |io, oid| {
                let sets: Vec<(&[u8], &[u8])> = changes
                    .iter()
                    .filter_map(|c| Some((c.key.as_bytes(), c.new.as_deref()?)))
                    .collect();
                let removes: Vec<&[u8]> = changes
                    .iter()
                    .filter(|c| c.new.is_none())
                    .map(|c| c.key.as_bytes())
                    .collect();
                let mut steps = Vec::with_capacity(changes.len() + 3);
                if !sets.is_empty() {
                    steps.push(WriteStep::Create);
                }
                steps.extend(changes.iter().map(|c| WriteStep::OmapCmpEq {
                    key: c.key.as_bytes(),
                    value: &c.expected,
                }));
                if !sets.is_empty() {
                    steps.push(WriteStep::OmapSet(&sets));
                }
                if !removes.is_empty() {
                    steps.push(WriteStep::OmapRmKeys(&removes));
                }
                io.write_op(oid, &steps)
            })
            .await;
        match done {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == Some(libc::ECANCELED) || e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The values of `keys`; keys that are not set are absent from the map.
    pub async fn omap_get(&self, obj: &str, keys: &[&str]) -> Result<BTreeMap<String, Vec<u8>>> {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
        let op = format!("omap get of object '{obj}' {}", self.location());
        let entries = self
            .with_object("omap get", obj, move |io, oid| {
                let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                io.omap_get_vals_by_keys(oid, &keys)
            })
            .await?;
        entries
            .into_iter()
            .map(|(k, v)| Ok((utf8_key(&op, k)?, v)))
            .collect()
    }

    /// Up to `max` entries with keys sorted after `start_after` ("" for the first
    /// page), and whether more follow.
    pub async fn omap_list(
        &self,
        obj: &str,
        start_after: &str,
        max: usize,
    ) -> Result<(Vec<(String, Vec<u8>)>, bool)> {
        let c_start = c_name("omap key", start_after)?;
        let op = format!("omap list of object '{obj}' {}", self.location());
        let max = u64::try_from(max).unwrap_or(u64::MAX);
        let (entries, more) = self
            .with_object("omap list", obj, move |io, oid| {
                io.omap_get_vals(oid, &c_start, max)
            })
            .await?;
        let entries = entries
            .into_iter()
            .map(|(k, v)| Ok((utf8_key(&op, k)?, v)))
            .collect::<Result<_>>()?;
        Ok((entries, more))
    }

    /// Removes omap keys; keys that are not set are ignored (a missing object is ENOENT).
    pub async fn omap_remove(&self, obj: &str, keys: &[&str]) -> Result<()> {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
        self.with_object("omap remove", obj, move |io, oid| {
            let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            io.omap_rm_keys(oid, &keys)
        })
        .await
    }
}

/// One key's change in [`IoCtx::omap_compare_and_write`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OmapCas {
    pub key: String,
    /// What the key must hold for the write to happen; empty: not set.
    pub expected: Vec<u8>,
    /// The new value; None removes the key.
    pub new: Option<Vec<u8>>,
}

fn utf8_key(op: &str, key: Vec<u8>) -> Result<String> {
    String::from_utf8(key).map_err(|e| Error::UnexpectedReply {
        op: op.to_owned(),
        detail: format!(
            "omap key {:?} is not UTF-8",
            String::from_utf8_lossy(e.as_bytes())
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_keys_are_reported() {
        assert_eq!(
            utf8_key("op", b"csi.volume.a".to_vec()).unwrap(),
            "csi.volume.a"
        );
        let err = utf8_key("omap list of object 'o' in pool 'p'", vec![0xff, b'a']).unwrap_err();
        assert!(err.to_string().contains("is not UTF-8"), "{err}");
    }
}
