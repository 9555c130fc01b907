//! The tonic `Controller` service, written once for every driver: each RPC
//! goes through the driver's `run` (deadline, locks, in-flight bookkeeping) to
//! the driver's method of the same purpose; the RPCs rookery does not offer
//! answer UNIMPLEMENTED naming the driver.
//!
//! A driver type provides `run` and the methods `create`, `delete`,
//! `validate`, `list`, `capacity`, `create_snapshot`, `delete_snapshot`,
//! `list_snapshots`, `expand`; both advertise the same capabilities.

/// Implements `Controller` for `$ty`, whose unimplemented RPCs name `$what`.
macro_rules! controller_service {
    ($ty:ty, $what:literal) => {
        mod controller_service_impl {
            use rookery_csi_proto::v1::controller_server::Controller;
            use rookery_csi_proto::v1::*;
            use tonic::{Request, Response, Status};

            fn unimplemented(rpc: &str) -> Status {
                Status::unimplemented(format!(
                    "{rpc} is not implemented by the rookery {} controller",
                    $what
                ))
            }

            #[tonic::async_trait]
            impl Controller for $ty {
                async fn create_volume(
                    &self,
                    request: Request<CreateVolumeRequest>,
                ) -> Result<Response<CreateVolumeResponse>, Status> {
                    let r = request.into_inner();
                    self.run("CreateVolume", move |c| async move { c.create(r).await })
                        .await
                }

                async fn delete_volume(
                    &self,
                    request: Request<DeleteVolumeRequest>,
                ) -> Result<Response<DeleteVolumeResponse>, Status> {
                    let r = request.into_inner();
                    self.run("DeleteVolume", move |c| async move { c.delete(r).await })
                        .await
                }

                async fn validate_volume_capabilities(
                    &self,
                    request: Request<ValidateVolumeCapabilitiesRequest>,
                ) -> Result<Response<ValidateVolumeCapabilitiesResponse>, Status> {
                    let r = request.into_inner();
                    self.run("ValidateVolumeCapabilities", move |c| async move {
                        c.validate(r).await
                    })
                    .await
                }

                async fn list_volumes(
                    &self,
                    request: Request<ListVolumesRequest>,
                ) -> Result<Response<ListVolumesResponse>, Status> {
                    let r = request.into_inner();
                    self.run("ListVolumes", move |c| async move { c.list(r).await })
                        .await
                }

                async fn get_capacity(
                    &self,
                    request: Request<GetCapacityRequest>,
                ) -> Result<Response<GetCapacityResponse>, Status> {
                    let r = request.into_inner();
                    self.run("GetCapacity", move |c| async move { c.capacity(r).await })
                        .await
                }

                async fn create_snapshot(
                    &self,
                    request: Request<CreateSnapshotRequest>,
                ) -> Result<Response<CreateSnapshotResponse>, Status> {
                    let r = request.into_inner();
                    self.run("CreateSnapshot", move |c| async move {
                        c.create_snapshot(r).await
                    })
                    .await
                }

                async fn delete_snapshot(
                    &self,
                    request: Request<DeleteSnapshotRequest>,
                ) -> Result<Response<DeleteSnapshotResponse>, Status> {
                    let r = request.into_inner();
                    self.run("DeleteSnapshot", move |c| async move {
                        c.delete_snapshot(r).await
                    })
                    .await
                }

                async fn list_snapshots(
                    &self,
                    request: Request<ListSnapshotsRequest>,
                ) -> Result<Response<ListSnapshotsResponse>, Status> {
                    let r = request.into_inner();
                    self.run("ListSnapshots", move |c| async move {
                        c.list_snapshots(r).await
                    })
                    .await
                }

                async fn controller_expand_volume(
                    &self,
                    request: Request<ControllerExpandVolumeRequest>,
                ) -> Result<Response<ControllerExpandVolumeResponse>, Status> {
                    let r = request.into_inner();
                    self.run("ControllerExpandVolume", move |c| async move {
                        c.expand(r).await
                    })
                    .await
                }

                async fn controller_publish_volume(
                    &self,
                    _request: Request<ControllerPublishVolumeRequest>,
                ) -> Result<Response<ControllerPublishVolumeResponse>, Status> {
                    Err(unimplemented("ControllerPublishVolume"))
                }

                async fn controller_unpublish_volume(
                    &self,
                    _request: Request<ControllerUnpublishVolumeRequest>,
                ) -> Result<Response<ControllerUnpublishVolumeResponse>, Status> {
                    Err(unimplemented("ControllerUnpublishVolume"))
                }

                async fn controller_list_volume_health(
                    &self,
                    _request: Request<ControllerListVolumeHealthRequest>,
                ) -> Result<Response<ControllerListVolumeHealthResponse>, Status> {
                    Err(unimplemented("ControllerListVolumeHealth"))
                }

                async fn controller_get_volume_health(
                    &self,
                    _request: Request<ControllerGetVolumeHealthRequest>,
                ) -> Result<Response<ControllerGetVolumeHealthResponse>, Status> {
                    Err(unimplemented("ControllerGetVolumeHealth"))
                }

                async fn get_snapshot(
                    &self,
                    _request: Request<GetSnapshotRequest>,
                ) -> Result<Response<GetSnapshotResponse>, Status> {
                    Err(unimplemented("GetSnapshot"))
                }

                async fn controller_get_volume(
                    &self,
                    _request: Request<ControllerGetVolumeRequest>,
                ) -> Result<Response<ControllerGetVolumeResponse>, Status> {
                    Err(unimplemented("ControllerGetVolume"))
                }

                async fn controller_modify_volume(
                    &self,
                    _request: Request<ControllerModifyVolumeRequest>,
                ) -> Result<Response<ControllerModifyVolumeResponse>, Status> {
                    Err(unimplemented("ControllerModifyVolume"))
                }

                async fn controller_get_capabilities(
                    &self,
                    _request: Request<ControllerGetCapabilitiesRequest>,
                ) -> Result<Response<ControllerGetCapabilitiesResponse>, Status> {
                    Ok(Response::new(
                        crate::request::capabilities::controller_capabilities(),
                    ))
                }
            }
        }
    };
}
pub(crate) use controller_service;
