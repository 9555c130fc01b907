//! What a request asks for, checked and converted from the generated types:
//! access modes, StorageClass parameters as ceph-csi reads them, and capacity.

use std::collections::HashMap;

use rookery_ceph::rbd::parse_features;
use rookery_csi_proto::v1::volume_capability::{access_mode::Mode, AccessType};
use rookery_csi_proto::v1::{CapacityRange, VolumeCapability};

use crate::request::{RequestError, Result};

pub(crate) const MIB: u64 = 1 << 20;
/// ceph-csi's size when the request gives none.
pub(crate) const DEFAULT_SIZE: u64 = 1 << 30;
/// ceph-csi's `imageFeatures` when the StorageClass gives none.
pub(crate) const DEFAULT_FEATURES: &str = "layering";

/// Parameter keys, as ceph-csi spells them.
pub(crate) mod keys {
    pub const CLUSTER_ID: &str = "clusterID";
    pub const POOL: &str = "pool";
    pub const IMAGE_FEATURES: &str = "imageFeatures";
    pub const DATA_POOL: &str = "dataPool";
    pub const IMAGE_NAME: &str = "imageName";
    pub const JOURNAL_POOL: &str = "journalPool";
    /// The CO's own keys (secret references, PVC names), never passed on.
    pub const CO_PREFIX: &str = "csi.storage.k8s.io/";
}

/// Why a capability is refused, or None when the RBD driver supports it: RWO,
/// RWOP and RWO with several writers on one node for both access types; several
/// writers on several nodes only on raw block (no filesystem survives that).
pub(crate) fn unsupported(cap: &VolumeCapability) -> Option<String> {
    let Some(mode) = cap.access_mode.as_ref() else {
        return Some("access_mode is missing".into());
    };
    let Some(access_type) = cap.access_type.as_ref() else {
        return Some("access_type is missing: give mount or block".into());
    };
    let block = matches!(access_type, AccessType::Block(_));
    match Mode::try_from(mode.mode) {
        Ok(Mode::SingleNodeWriter | Mode::SingleNodeSingleWriter | Mode::SingleNodeMultiWriter) => {
            None
        }
        Ok(Mode::MultiNodeMultiWriter) if block => None,
        Ok(Mode::MultiNodeMultiWriter) => {
            Some("MULTI_NODE_MULTI_WRITER is supported only with block access, not mount".into())
        }
        Ok(other) => Some(format!(
            "{} is not supported; use SINGLE_NODE_WRITER, SINGLE_NODE_SINGLE_WRITER, \
             SINGLE_NODE_MULTI_WRITER, or MULTI_NODE_MULTI_WRITER with block access",
            other.as_str_name()
        )),
        Err(_) => Some(format!("access mode {} is unknown", mode.mode)),
    }
}

/// Checks `volume_capabilities`: present, and every entry supported.
pub(crate) fn check_capabilities(caps: &[VolumeCapability]) -> Result<()> {
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

/// Whether every capability asks for raw block access.
pub(crate) fn is_block(cap: Option<&VolumeCapability>) -> bool {
    matches!(
        cap.and_then(|c| c.access_type.as_ref()),
        Some(AccessType::Block(_))
    )
}

/// The StorageClass parameters of a CreateVolume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VolumeParams {
    pub pool: String,
    pub features: String,
    pub feature_bits: u64,
    pub data_pool: Option<String>,
    /// The parameters without the CO's own keys, passed back as volume_context.
    pub context: HashMap<String, String>,
}

impl VolumeParams {
    /// Reads the parameters; `cluster_id` is ours, the request's must match it.
    pub fn parse(params: &HashMap<String, String>, cluster_id: &str) -> Result<Self> {
        check_cluster_id(params, cluster_id)?;
        let pool = required(params, keys::POOL)?;
        let features = params
            .get(keys::IMAGE_FEATURES)
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
            .unwrap_or(DEFAULT_FEATURES)
            .to_owned();
        let feature_bits = parse_features(&features)
            .map_err(|e| RequestError::invalid("parameters.imageFeatures", e.to_string()))?;
        let data_pool = params
            .get(keys::DATA_POOL)
            .filter(|p| !p.is_empty())
            .cloned();
        let mut context: HashMap<String, String> = params
            .iter()
            .filter(|(k, _)| !k.starts_with(keys::CO_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        context.insert(keys::IMAGE_FEATURES.into(), features.clone());
        Ok(Self {
            pool,
            features,
            feature_bits,
            data_pool,
            context,
        })
    }
}

/// `clusterID` must be given and name this cluster, as ceph-csi requires.
pub(crate) fn check_cluster_id(params: &HashMap<String, String>, cluster_id: &str) -> Result<()> {
    let given = required(params, keys::CLUSTER_ID)?;
    if given != cluster_id {
        return Err(RequestError::invalid(
            "parameters.clusterID",
            format!("{given:?} is not the cluster this controller serves ({cluster_id:?})"),
        ));
    }
    Ok(())
}

/// A required, non-empty parameter.
pub(crate) fn required(params: &HashMap<String, String>, key: &'static str) -> Result<String> {
    match params.get(key).map(|v| v.trim()) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(RequestError::Invalid {
            field: param_field(key),
            reason: format!("the StorageClass parameter '{key}' is required"),
        }),
    }
}

fn param_field(key: &str) -> &'static str {
    match key {
        keys::CLUSTER_ID => "parameters.clusterID",
        keys::POOL => "parameters.pool",
        _ => "parameters",
    }
}

/// The size to create: `required_bytes` rounded up to MiB (as ceph-csi rounds),
/// 1 GiB when the request gives none; never above `limit_bytes`.
pub(crate) fn volume_size(range: Option<&CapacityRange>) -> Result<u64> {
    let (required, limit) = range.map_or((0, 0), |r| (r.required_bytes, r.limit_bytes));
    let required = non_negative("capacity_range.required_bytes", required)?;
    let limit = non_negative("capacity_range.limit_bytes", limit)?;
    if limit > 0 && required > limit {
        return Err(RequestError::invalid(
            "capacity_range",
            format!("required_bytes {required} is above limit_bytes {limit}"),
        ));
    }
    let size = if required == 0 {
        match limit {
            0 => DEFAULT_SIZE,
            l => DEFAULT_SIZE.min(l / MIB * MIB),
        }
    } else {
        required.div_ceil(MIB) * MIB
    };
    if size == 0 || (limit > 0 && size > limit) {
        return Err(RequestError::OutOfRange(format!(
            "capacity_range: no size in whole MiB fits between required_bytes {required} and \
             limit_bytes {limit}; RBD volumes are sized in MiB"
        )));
    }
    Ok(size)
}

/// Whether an existing volume of `size` bytes satisfies `range` (CSI's rule for
/// a repeated CreateVolume: compatible, or ALREADY_EXISTS).
pub(crate) fn fits(size: u64, range: Option<&CapacityRange>) -> bool {
    let (required, limit) = range.map_or((0, 0), |r| (r.required_bytes, r.limit_bytes));
    let required = u64::try_from(required).unwrap_or(0);
    let limit = u64::try_from(limit).unwrap_or(0);
    let wanted = if required == 0 && limit == 0 {
        DEFAULT_SIZE
    } else {
        required
    };
    size >= wanted && (limit == 0 || size <= limit)
}

fn non_negative(field: &'static str, value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| RequestError::invalid(field, format!("{value} is negative")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rookery_csi_proto::v1::volume_capability::{AccessMode, BlockVolume, MountVolume};

    fn cap(mode: Mode, block: bool) -> VolumeCapability {
        VolumeCapability {
            access_mode: Some(AccessMode { mode: mode as i32 }),
            access_type: Some(if block {
                AccessType::Block(BlockVolume {})
            } else {
                AccessType::Mount(MountVolume::default())
            }),
        }
    }

    fn range(required: i64, limit: i64) -> Option<CapacityRange> {
        Some(CapacityRange {
            required_bytes: required,
            limit_bytes: limit,
        })
    }

    #[test]
    fn access_modes() {
        for mode in [
            Mode::SingleNodeWriter,
            Mode::SingleNodeSingleWriter,
            Mode::SingleNodeMultiWriter,
        ] {
            assert_eq!(unsupported(&cap(mode, false)), None);
            assert_eq!(unsupported(&cap(mode, true)), None);
        }
        assert_eq!(unsupported(&cap(Mode::MultiNodeMultiWriter, true)), None);
        assert!(unsupported(&cap(Mode::MultiNodeMultiWriter, false)).is_some());
        assert!(unsupported(&cap(Mode::MultiNodeReaderOnly, false))
            .unwrap()
            .contains("MULTI_NODE_READER_ONLY"));
        let err = check_capabilities(&[]).unwrap_err();
        assert!(err.to_string().contains("volume_capabilities"), "{err}");
        let mut no_type = cap(Mode::SingleNodeWriter, false);
        no_type.access_type = None;
        assert!(check_capabilities(&[no_type]).is_err());
    }

    #[test]
    fn sizes_round_up_to_mib() {
        assert_eq!(volume_size(None).unwrap(), DEFAULT_SIZE);
        assert_eq!(volume_size(range(1, 0).as_ref()).unwrap(), MIB);
        assert_eq!(
            volume_size(range(MIB as i64 + 1, 0).as_ref()).unwrap(),
            2 * MIB
        );
        assert_eq!(
            volume_size(range(0, 10 * MIB as i64).as_ref()).unwrap(),
            10 * MIB
        );
        let e = volume_size(range(MIB as i64 + 1, MIB as i64 + 2).as_ref()).unwrap_err();
        assert!(matches!(e, RequestError::OutOfRange(_)), "{e}");
        assert!(volume_size(range(-1, 0).as_ref()).is_err());
        assert!(volume_size(range(5, 4).as_ref()).is_err());
        assert!(fits(DEFAULT_SIZE, None));
        assert!(fits(2 * MIB, range(MIB as i64, 0).as_ref()));
        assert!(!fits(MIB, range(2 * MIB as i64, 0).as_ref()));
        assert!(!fits(3 * MIB, range(MIB as i64, 2 * MIB as i64).as_ref()));
    }

    #[test]
    fn parameters_as_ceph_csi_reads_them() {
        let p = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ok = VolumeParams::parse(
            &p(&[
                ("clusterID", "fsid"),
                ("pool", "rbd"),
                ("csi.storage.k8s.io/provisioner-secret-name", "s"),
            ]),
            "fsid",
        )
        .unwrap();
        assert_eq!(ok.pool, "rbd");
        assert_eq!(ok.features, "layering");
        assert_eq!(ok.feature_bits, 1);
        assert_eq!(ok.data_pool, None);
        assert_eq!(ok.context.len(), 3, "{:?}", ok.context);
        let e = VolumeParams::parse(&p(&[("clusterID", "fsid")]), "fsid").unwrap_err();
        assert!(e.to_string().contains("parameters.pool"), "{e}");
        let e = VolumeParams::parse(&p(&[("pool", "rbd")]), "fsid").unwrap_err();
        assert!(e.to_string().contains("clusterID"), "{e}");
        let e = VolumeParams::parse(&p(&[("clusterID", "other"), ("pool", "rbd")]), "fsid")
            .unwrap_err();
        assert_eq!(e.code(), crate::error::CsiCode::InvalidArgument);
        let e = VolumeParams::parse(
            &p(&[
                ("clusterID", "fsid"),
                ("pool", "rbd"),
                ("imageFeatures", "bogus"),
            ]),
            "fsid",
        )
        .unwrap_err();
        assert!(e.to_string().contains("imageFeatures"), "{e}");
    }
}
