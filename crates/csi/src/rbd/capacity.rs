//! GetCapacity (a pool's MAX AVAIL, as `ceph df` reports it) and the
//! capabilities the controller advertises: only what it implements.

use std::time::Duration;

use rookery_ceph::commands::Df;
use rookery_csi_proto::v1::controller_service_capability::{rpc, Rpc, Type};
use rookery_csi_proto::v1::{
    ControllerGetCapabilitiesResponse, ControllerServiceCapability, GetCapacityRequest,
    GetCapacityResponse,
};

use super::params::{check_cluster_id, keys, required, unsupported};
use super::RbdController;
use crate::request::{RequestError, Result};

/// How often to ask `df` for a pool the mgr has not reported yet.
const DF_ATTEMPTS: u32 = 20;
const DF_RETRY: Duration = Duration::from_millis(500);

/// CREATE_DELETE_VOLUME, EXPAND_VOLUME, LIST_VOLUMES, GET_CAPACITY,
/// SINGLE_NODE_MULTI_WRITER, CREATE_DELETE_SNAPSHOT, LIST_SNAPSHOTS, CLONE_VOLUME.
pub(crate) fn capabilities() -> ControllerGetCapabilitiesResponse {
    let rpcs = [
        rpc::Type::CreateDeleteVolume,
        rpc::Type::ExpandVolume,
        rpc::Type::ListVolumes,
        rpc::Type::GetCapacity,
        rpc::Type::SingleNodeMultiWriter,
        rpc::Type::CreateDeleteSnapshot,
        rpc::Type::ListSnapshots,
        rpc::Type::CloneVolume,
    ];
    ControllerGetCapabilitiesResponse {
        capabilities: rpcs
            .into_iter()
            .map(|t| ControllerServiceCapability {
                r#type: Some(Type::Rpc(Rpc { r#type: t as i32 })),
            })
            .collect(),
    }
}

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
        let mut attempts = 0;
        let max_avail = loop {
            let df = self
                .inner
                .rados
                .mon_command(&Df)
                .await
                .map_err(|e| RequestError::ceph("read pool usage (ceph df)", e))?;
            if let Some(p) = df.pools.iter().find(|p| p.name == pool) {
                break p.stats.max_avail;
            }
            attempts += 1;
            if attempts >= DF_ATTEMPTS {
                return Err(RequestError::Unavailable(format!(
                    "pool '{pool}' exists but `ceph df` has no usage for it yet; the mgr \
                     reports new pools within seconds, retry"
                )));
            }
            tokio::time::sleep(DF_RETRY).await;
        };
        Ok(GetCapacityResponse {
            available_capacity: i64::try_from(max_avail).unwrap_or(i64::MAX),
            ..Default::default()
        })
    }
}
