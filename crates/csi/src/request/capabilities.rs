//! What every controller answers about capabilities: the advertised RPCs, and
//! ValidateVolumeCapabilities once the driver has found the volume.

use rookery_csi_proto::v1::controller_service_capability::{rpc, Rpc, Type};
use rookery_csi_proto::v1::validate_volume_capabilities_response::Confirmed;
use rookery_csi_proto::v1::{
    ControllerGetCapabilitiesResponse, ControllerServiceCapability,
    ValidateVolumeCapabilitiesRequest, ValidateVolumeCapabilitiesResponse, VolumeCapability,
};

use super::{RequestError, Result};

/// What both controllers advertise: only what they implement.
pub(crate) const CONTROLLER_RPCS: [rpc::Type; 8] = [
    rpc::Type::CreateDeleteVolume,
    rpc::Type::ExpandVolume,
    rpc::Type::ListVolumes,
    rpc::Type::GetCapacity,
    rpc::Type::SingleNodeMultiWriter,
    rpc::Type::CreateDeleteSnapshot,
    rpc::Type::ListSnapshots,
    rpc::Type::CloneVolume,
];

/// The ControllerGetCapabilities reply advertising [`CONTROLLER_RPCS`].
pub(crate) fn controller_capabilities() -> ControllerGetCapabilitiesResponse {
    ControllerGetCapabilitiesResponse {
        capabilities: CONTROLLER_RPCS
            .iter()
            .map(|t| ControllerServiceCapability {
                r#type: Some(Type::Rpc(Rpc { r#type: *t as i32 })),
            })
            .collect(),
    }
}

/// Checks a request's `volume_capabilities`: present, and every entry one the
/// driver supports (`unsupported` says why not).
pub(crate) fn check_capabilities(
    caps: &[VolumeCapability],
    unsupported: fn(&VolumeCapability) -> Option<String>,
) -> Result<()> {
    if caps.is_empty() {
        return Err(RequestError::invalid(
            "volume_capabilities",
            "at least one volume capability is required",
        ));
    }
    for (i, cap) in caps.iter().enumerate() {
        if let Some(reason) = unsupported(cap) {
            return Err(RequestError::invalid(
                "volume_capabilities",
                format!("entry {i}: {reason}"),
            ));
        }
    }
    Ok(())
}

/// The fields ValidateVolumeCapabilities requires, checked before any lookup.
pub(crate) fn check_validate_request(req: &ValidateVolumeCapabilitiesRequest) -> Result<()> {
    if req.volume_id.is_empty() {
        return Err(RequestError::invalid("volume_id", "it is empty"));
    }
    if req.volume_capabilities.is_empty() {
        return Err(RequestError::invalid(
            "volume_capabilities",
            "at least one volume capability is required",
        ));
    }
    Ok(())
}

/// The reply for an existing volume: everything confirmed, or the reasons
/// `unsupported` gives for the capabilities the driver refuses.
pub(crate) fn validate_reply(
    req: ValidateVolumeCapabilitiesRequest,
    unsupported: fn(&VolumeCapability) -> Option<String>,
) -> ValidateVolumeCapabilitiesResponse {
    let refused: Vec<String> = req
        .volume_capabilities
        .iter()
        .filter_map(unsupported)
        .collect();
    if !refused.is_empty() {
        return ValidateVolumeCapabilitiesResponse {
            confirmed: None,
            message: refused.join("; "),
        };
    }
    ValidateVolumeCapabilitiesResponse {
        confirmed: Some(Confirmed {
            volume_context: req.volume_context,
            volume_capabilities: req.volume_capabilities,
            parameters: req.parameters,
            mutable_parameters: req.mutable_parameters,
        }),
        message: String::new(),
    }
}

/// A capability with access mode `mode`, raw block or a mount, for the
/// drivers' parameter tests.
#[cfg(test)]
pub(crate) fn test_capability(
    mode: rookery_csi_proto::v1::volume_capability::access_mode::Mode,
    block: bool,
) -> VolumeCapability {
    use rookery_csi_proto::v1::volume_capability::{
        AccessMode, AccessType, BlockVolume, MountVolume,
    };
    VolumeCapability {
        access_mode: Some(AccessMode { mode: mode as i32 }),
        access_type: Some(if block {
            AccessType::Block(BlockVolume {})
        } else {
            AccessType::Mount(MountVolume::default())
        }),
    }
}
