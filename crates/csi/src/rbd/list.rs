//! ListVolumes (the journals of every pool tagged for RBD, in pool-id then
//! request-name order) and ValidateVolumeCapabilities.
//!
//! Pages and tokens as [`crate::request::paging`] makes them, the pools being
//! the locations.

use std::collections::HashMap;

use rookery_csi_proto::v1::list_volumes_response::Entry;
use rookery_csi_proto::v1::validate_volume_capabilities_response::Confirmed;
use rookery_csi_proto::v1::{
    ListVolumesRequest, ListVolumesResponse, ValidateVolumeCapabilitiesRequest,
    ValidateVolumeCapabilitiesResponse, Volume,
};

use super::params::{keys, unsupported};
use super::pools::Pool;
use super::RbdController;
use crate::journal::{JournalEntry, JournalKind};
use crate::request::{paging, RequestError, Result};

impl RbdController {
    pub(crate) async fn list(&self, req: ListVolumesRequest) -> Result<ListVolumesResponse> {
        let (found, next_token) = self
            .journal_page(JournalKind::Volume, req.max_entries, &req.starting_token)
            .await?;
        let mut entries = Vec::with_capacity(found.len());
        for (pool, entry) in found {
            let location = entry.image_pool_id.unwrap_or(pool.id);
            entries.push(Entry {
                volume: Some(Volume {
                    volume_id: self.volume_id(location, &entry.uuid)?,
                    volume_context: HashMap::from([
                        (keys::CLUSTER_ID.to_owned(), self.inner.cluster_id.clone()),
                        (keys::POOL.to_owned(), pool.name.clone()),
                    ]),
                    ..Default::default()
                }),
                status: None,
            });
        }
        Ok(ListVolumesResponse {
            entries,
            next_token,
        })
    }

    /// Up to `max_entries` journal entries of `kind` from `starting_token` on, across
    /// the RBD pools, and the token of the next page ("" at the end).
    pub(crate) async fn journal_page(
        &self,
        kind: JournalKind,
        max_entries: i32,
        starting_token: &str,
    ) -> Result<(Vec<(Pool, JournalEntry)>, String)> {
        let mut locations = Vec::new();
        for (pool_id, pool_name) in self.inner.pools.rbd_pools().await? {
            match self.inner.pools.by_name(&pool_name).await {
                Ok(pool) => {
                    let journal = self.journal(&pool, kind);
                    locations.push((pool_id, pool, journal));
                }
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            }
        }
        paging::page(&locations, max_entries, starting_token).await
    }

    pub(crate) async fn validate(
        &self,
        req: ValidateVolumeCapabilitiesRequest,
    ) -> Result<ValidateVolumeCapabilitiesResponse> {
        if req.volume_id.is_empty() {
            return Err(RequestError::invalid("volume_id", "it is empty"));
        }
        if req.volume_capabilities.is_empty() {
            return Err(RequestError::invalid(
                "volume_capabilities",
                "at least one volume capability is required",
            ));
        }
        self.find_existing(&req.volume_id, JournalKind::Volume)
            .await?;
        let refused: Vec<String> = req
            .volume_capabilities
            .iter()
            .filter_map(unsupported)
            .collect();
        if !refused.is_empty() {
            return Ok(ValidateVolumeCapabilitiesResponse {
                confirmed: None,
                message: refused.join("; "),
            });
        }
        Ok(ValidateVolumeCapabilitiesResponse {
            confirmed: Some(Confirmed {
                volume_context: req.volume_context,
                volume_capabilities: req.volume_capabilities,
                parameters: req.parameters,
                mutable_parameters: req.mutable_parameters,
            }),
            message: String::new(),
        })
    }
}
