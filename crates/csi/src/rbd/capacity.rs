//! GetCapacity: a pool's MAX AVAIL, as `ceph df` reports it.

use rookery_csi_proto::v1::{GetCapacityRequest, GetCapacityResponse};

use super::params::{check_cluster_id, keys, required, unsupported};
use super::RbdController;
use crate::request::capacity::max_avail;
use crate::request::Result;

impl RbdController {
    pub(crate) async fn capacity(&self, req: GetCapacityRequest) -> Result<GetCapacityResponse> {
        check_cluster_id(&req.parameters, &self.inner.cluster_id)?;
        let pool = required(&req.parameters, keys::POOL)?;
        // The spec: capabilities we cannot serve leave no capacity for them.
        if req
            .volume_capabilities
            .iter()
            .any(|c| unsupported(c).is_some())
        {
            return Ok(GetCapacityResponse::default());
        }
        // Missing pools are NOT_FOUND at once; a new pool shows in `df` only once
        // the mgr has reported its stats, a few seconds after creation.
        self.inner.pools.by_name(&pool).await?;
        let max_avail = max_avail(&self.inner.rados, &pool).await?;
        Ok(GetCapacityResponse {
            available_capacity: i64::try_from(max_avail).unwrap_or(i64::MAX),
            ..Default::default()
        })
    }
}
