//! What a request asks for, checked and converted from the generated types:
//! access modes, StorageClass parameters as ceph-csi reads them, and capacity.

use std::collections::HashMap;

use rookery_ceph::rbd::parse_features;
use rookery_csi_proto::v1::volume_capability::{access_mode::Mode, AccessType};
use rookery_csi_proto::v1::VolumeCapability;

pub(crate) use crate::request::params::{
    check_cluster_id, fits, required, volume_context, volume_size, MIB,
};
use crate::request::{RequestError, Result};

/// ceph-csi's `imageFeatures` when the StorageClass gives none.
pub(crate) const DEFAULT_FEATURES: &str = "layering";

/// Parameter keys, as ceph-csi spells them.
pub(crate) mod keys {
    pub use crate::request::params::keys::{CLUSTER_ID, POOL};
    pub const IMAGE_FEATURES: &str = "imageFeatures";
    pub const DATA_POOL: &str = "dataPool";
    pub const IMAGE_NAME: &str = "imageName";
    pub const JOURNAL_POOL: &str = "journalPool";
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

/// Checks `volume_capabilities`: present, and every entry one RBD supports.
pub(crate) fn check_capabilities(caps: &[VolumeCapability]) -> Result<()> {
    crate::request::capabilities::check_capabilities(caps, unsupported)
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
        let mut context = volume_context(params);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::capabilities::test_capability as cap;

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
