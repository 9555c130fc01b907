//! ListVolumes (the volume journals of every filesystem, in FSCID then
//! request-name order, paged as [`crate::request::paging`] pages), GetCapacity
//! (MAX AVAIL of the filesystem's first data pool), ValidateVolumeCapabilities
//! and the advertised capabilities.

use std::collections::HashMap;

use rookery_csi_proto::v1::list_volumes_response::Entry;
use rookery_csi_proto::v1::{
    GetCapacityRequest, GetCapacityResponse, ListVolumesRequest, ListVolumesResponse,
    ValidateVolumeCapabilitiesRequest, ValidateVolumeCapabilitiesResponse, Volume,
};

use super::params::unsupported;
use super::subvolume::Subvolumes;
use super::volume::keys;
use super::CephFsController;
use crate::journal::JournalKind;
use crate::request::capabilities::{check_validate_request, validate_reply};
use crate::request::capacity::max_avail;
use crate::request::params::{check_cluster_id, keys as param_keys, required};
use crate::request::{paging, RequestError, Result};

impl CephFsController {
    pub(crate) async fn list(&self, req: ListVolumesRequest) -> Result<ListVolumesResponse> {
        let locations: Vec<_> = self
            .inner
            .filesystems
            .all()
            .await?
            .into_iter()
            .map(|fs| (fs.fscid, fs.clone(), fs.volumes()))
            .collect();
        let (found, next_token) =
            paging::page(&locations, req.max_entries, &req.starting_token).await?;
        let mut entries = Vec::with_capacity(found.len());
        for (fs, entry) in found {
            let attributes = match fs.volumes().get_attributes(&entry.uuid).await {
                Ok(a) => a,
                // Being created or deleted right now.
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e.into()),
            };
            let sv = Subvolumes {
                rados: &self.inner.rados,
                fs: &fs.name,
            };
            let quota = match sv.info(&attributes.image_name).await {
                Ok(info) => info.quota().unwrap_or(0),
                Err(e) if e.is_not_found() => continue,
                // A clone still copying has no info yet; list it all the same.
                Err(_) => 0,
            };
            entries.push(Entry {
                volume: Some(Volume {
                    capacity_bytes: i64::try_from(quota).unwrap_or(i64::MAX),
                    volume_id: self.id_of(fs.fscid, &entry.uuid)?,
                    volume_context: HashMap::from([
                        (keys::CLUSTER_ID.to_owned(), self.inner.cluster_id.clone()),
                        (keys::FS_NAME.to_owned(), fs.name.clone()),
                        (keys::SUBVOLUME_NAME.to_owned(), attributes.image_name),
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

    pub(crate) async fn capacity(&self, req: GetCapacityRequest) -> Result<GetCapacityResponse> {
        check_cluster_id(&req.parameters, &self.inner.cluster_id)?;
        let fs_name = required(&req.parameters, param_keys::FS_NAME)?;
        if req
            .volume_capabilities
            .iter()
            .any(|c| unsupported(c).is_some())
        {
            return Ok(GetCapacityResponse::default());
        }
        let fs = self.inner.filesystems.by_name(&fs_name).await?;
        let pool = match req.parameters.get(param_keys::POOL) {
            Some(p) if !p.is_empty() => p.clone(),
            _ => fs.data_pools.first().cloned().ok_or_else(|| {
                RequestError::FailedPrecondition(format!("filesystem '{fs_name}' has no data pool"))
            })?,
        };
        let available = max_avail(&self.inner.rados, &pool).await?;
        Ok(GetCapacityResponse {
            available_capacity: i64::try_from(available).unwrap_or(i64::MAX),
            ..Default::default()
        })
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
