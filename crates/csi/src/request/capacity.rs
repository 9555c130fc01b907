//! A pool's MAX AVAIL as `ceph df` reports it, for every controller's
//! GetCapacity.

use std::time::Duration;

use rookery_ceph::commands::Df;
use rookery_ceph::Rados;

use super::{RequestError, Result};

/// How often to ask `df` for a pool the mgr has not reported yet.
const DF_ATTEMPTS: u32 = 20;
const DF_RETRY: Duration = Duration::from_millis(500);

/// Bytes that can still be written to `pool` (MAX AVAIL). A new pool shows in
/// `df` only once the mgr has reported its stats, a few seconds after creation.
pub(crate) async fn max_avail(rados: &Rados, pool: &str) -> Result<u64> {
    let mut attempts = 0;
    loop {
        let df = rados
            .mon_command(&Df)
            .await
            .map_err(|e| RequestError::ceph("read pool usage (ceph df)", e))?;
        if let Some(p) = df.pools.iter().find(|p| p.name == pool) {
            return Ok(p.stats.max_avail);
        }
        attempts += 1;
        if attempts >= DF_ATTEMPTS {
            return Err(RequestError::Unavailable(format!(
                "pool '{pool}' exists but `ceph df` has no usage for it yet; the mgr \
                 reports new pools within seconds, retry"
            )));
        }
        tokio::time::sleep(DF_RETRY).await;
    }
}
