//! ListVolumes (the journals of every pool tagged for RBD, in pool-id then
//! request-name order) and ValidateVolumeCapabilities.
//!
//! Pages and tokens as [`crate::request::paging`] makes them, the pools being
//! the locations.

use std::collections::HashMap;

use rookery_csi_proto::v1::list_volumes_response::Entry;
use rookery_csi_proto::v1::{
    ListVolumesRequest, ListVolumesResponse, ValidateVolumeCapabilitiesRequest,
    ValidateVolumeCapabilitiesResponse, Volume,
};

use super::params::{keys, unsupported};
use super::pools::Pool;
use super::RbdController;
use crate::journal::{JournalEntry, JournalKind};
use crate::request::capabilities::{check_validate_request, validate_reply};
use crate::request::{paging, Result};

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
        check_validate_request(&req)?;
        self.find_existing(&req.volume_id, JournalKind::Volume)
            .await?;
        Ok(validate_reply(req, unsupported))
    }
}
