//! I/O contexts and ids of the pools volumes live in, cached: every request names
//! a pool (CreateVolume) or a pool id (a volume ID), and opening an ioctx or asking
//! the mons for a name per request would cost a round trip each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rookery_ceph::commands::OsdPoolLsDetail;
use rookery_ceph::{IoCtx, Rados};

use crate::request::{RequestError, Result};

/// A pool a volume lives in.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    pub name: String,
    pub id: i64,
    pub io: IoCtx,
}

/// The pool's RBD trash directory object. librbd makes it on the first trash
/// move, but a full pool refuses new objects: made now, while there is room,
/// deleting a volume keeps working on a full cluster (an existing object takes
/// trash entries, which add no data).
const RBD_TRASH: &str = "rbd_trash";

async fn ensure_trash(io: &IoCtx) {
    if let Err(e) = io.ensure_exists(RBD_TRASH).await {
        tracing::warn!(pool = io.pool(), error = %e, "cannot create the RBD trash object");
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Pools {
    rados: Rados,
    by_name: Arc<Mutex<HashMap<String, Pool>>>,
}

impl Pools {
    pub fn new(rados: Rados) -> Self {
        Self {
            rados,
            by_name: Arc::default(),
        }
    }

    /// The pool named `name`; NotFound when the cluster has none.
    pub async fn by_name(&self, name: &str) -> Result<Pool> {
        if let Some(pool) = self.cached(|p| p.name == name) {
            return Ok(pool);
        }
        let not_found = |e: rookery_ceph::Error| {
            if e.is_not_found() {
                RequestError::NotFound(format!(
                    "pool '{name}' does not exist; create it or fix the StorageClass parameter 'pool'"
                ))
            } else {
                RequestError::ceph(format!("open pool '{name}'"), e)
            }
        };
        let id = self.rados.pool_id(name).await.map_err(not_found)?;
        let io = self.rados.ioctx(name, None).await.map_err(not_found)?;
        ensure_trash(&io).await;
        let pool = Pool {
            name: name.to_owned(),
            id,
            io,
        };
        self.lock().insert(name.to_owned(), pool.clone());
        Ok(pool)
    }

    /// The pool with id `id`, or None when it does not exist (any more).
    pub async fn by_id(&self, id: i64) -> Result<Option<Pool>> {
        if let Some(pool) = self.cached(|p| p.id == id) {
            return Ok(Some(pool));
        }
        let name = self
            .list()
            .await?
            .into_iter()
            .find(|(pool_id, _, _)| *pool_id == id)
            .map(|(_, name, _)| name);
        match name {
            Some(name) => match self.by_name(&name).await {
                Ok(pool) => Ok(Some(pool)),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    /// Why pool `id` refuses writes now, if it does: it is on a full OSD
    /// (`full`) or at its quota (`full_quota`). None for a pool with room or
    /// one that does not exist.
    pub async fn refusing_writes(&self, id: i64) -> Result<Option<String>> {
        let pools = self
            .rados
            .mon_command(&OsdPoolLsDetail)
            .await
            .map_err(|e| RequestError::ceph("list the pools", e))?;
        Ok(pools
            .into_iter()
            .find(|p| p.pool_id == id)
            .and_then(|p| refusal(&p.pool_name, &p.flags_names)))
    }

    /// Ids and names of the pools tagged for RBD, by id.
    pub async fn rbd_pools(&self) -> Result<Vec<(i64, String)>> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .filter(|(_, _, rbd)| *rbd)
            .map(|(id, name, _)| (id, name))
            .collect())
    }

    /// Every pool as (id, name, tagged for rbd), by id.
    async fn list(&self) -> Result<Vec<(i64, String, bool)>> {
        let pools = self
            .rados
            .mon_command(&OsdPoolLsDetail)
            .await
            .map_err(|e| RequestError::ceph("list the pools", e))?;
        let mut ids: Vec<(i64, String, bool)> = pools
            .into_iter()
            .map(|p| {
                let rbd = p.application_metadata.contains_key("rbd");
                (p.pool_id, p.pool_name, rbd)
            })
            .collect();
        ids.sort();
        // Forget pools that are gone, so a recreated name gets a fresh ioctx.
        self.lock()
            .retain(|name, p| ids.iter().any(|(id, n, _)| *id == p.id && n == name));
        Ok(ids)
    }

    fn cached(&self, pred: impl Fn(&Pool) -> bool) -> Option<Pool> {
        self.lock().values().find(|p| pred(p)).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pool>> {
        self.by_name
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why a pool with these flags (`hashpspool,full`) refuses writes, if it does.
fn refusal(name: &str, flags: &str) -> Option<String> {
    let flags: Vec<&str> = flags.split(',').collect();
    let why = if flags.contains(&"full_quota") {
        "is at its quota"
    } else if flags.contains(&"full") {
        "is on a full OSD"
    } else {
        return None;
    };
    Some(format!(
        "pool '{name}' {why}: Ceph refuses writes that add data"
    ))
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn full_and_quota_flags_refuse_writes() {
        assert_eq!(refusal("rbd", "hashpspool"), None);
        assert_eq!(refusal("rbd", ""), None);
        let full = refusal("rbd", "hashpspool,full,selfmanaged_snaps").unwrap();
        assert!(full.contains("pool 'rbd' is on a full OSD"), "{full}");
        let quota = refusal("rbd", "hashpspool,full_quota").unwrap();
        assert!(quota.contains("at its quota"), "{quota}");
    }
}
